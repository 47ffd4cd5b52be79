//! When a read updates atime: the mount's policy (`relatime`, tmpfs's default, `noatime`,
//! `strictatime`). Times are fusekit's [`Timestamp`] (nanosecond resolution) and setattr's
//! [`fusekit::TimeOrNow`].

use fusekit::{AtimePolicy, Timestamp};

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

/// Whether an access at `now` updates atime under `policy`.
pub(crate) fn atime_due(
    policy: AtimePolicy,
    atime: Timestamp,
    mtime: Timestamp,
    ctime: Timestamp,
    now: Timestamp,
) -> bool {
    match policy {
        AtimePolicy::NoAtime => false,
        AtimePolicy::StrictAtime => true,
        AtimePolicy::Relatime => relatime_due(atime, mtime, ctime, now),
    }
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

    #[test]
    fn policies() {
        let t = |s| Timestamp::new(s, 0);
        assert!(!atime_due(AtimePolicy::NoAtime, t(10), t(20), t(5), t(30)));
        assert!(atime_due(
            AtimePolicy::StrictAtime,
            t(25),
            t(20),
            t(20),
            t(30)
        ));
        assert!(!atime_due(
            AtimePolicy::Relatime,
            t(25),
            t(20),
            t(20),
            t(30)
        ));
    }
}
