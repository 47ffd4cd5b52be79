//! The `relatime` rule that decides when a read updates atime (tmpfs's default mount
//! behaviour). Times are fusekit's [`Timestamp`] (nanosecond resolution) and setattr's
//! [`fusekit::TimeOrNow`].

use fusekit::Timestamp;

/// Seconds after which `relatime` refreshes atime even when it is newer than mtime and ctime.
const RELATIME_MAX_AGE: i64 = 24 * 60 * 60;

/// The Linux `relatime` rule: a read updates atime when atime is not newer than mtime or
/// ctime, or when it is at least a day old.
pub(crate) fn relatime_due(
    atime: Timestamp,
    mtime: Timestamp,
    ctime: Timestamp,
    now: Timestamp,
) -> bool {
    atime <= mtime || atime <= ctime || now.secs.saturating_sub(atime.secs) >= RELATIME_MAX_AGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relatime_rule() {
        let t = |s| Timestamp::new(s, 0);
        // atime older than mtime: due.
        assert!(relatime_due(t(10), t(20), t(5), t(30)));
        // atime newer than both and fresh: not due.
        assert!(!relatime_due(t(25), t(20), t(20), t(30)));
        // atime newer but a day old: due.
        assert!(relatime_due(t(25), t(20), t(20), t(25 + 86_400)));
    }
}
