//! Timestamps: nanosecond wall-clock times, `UTIME_NOW`/`UTIME_OMIT` requests and the
//! `relatime` rule that decides when a read updates atime (tmpfs's default mount behaviour).

use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time with nanosecond resolution, seconds relative to the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    /// Whole seconds since 1970-01-01T00:00:00Z (may be negative).
    pub sec: i64,
    /// Nanoseconds, always `< 1_000_000_000`.
    pub nsec: u32,
}

impl Timespec {
    /// A timestamp; `nsec` is reduced modulo one second into `sec`.
    pub const fn new(sec: i64, nsec: u32) -> Self {
        Self {
            sec: sec + (nsec / 1_000_000_000) as i64,
            nsec: nsec % 1_000_000_000,
        }
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Self::new(d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => {
                let d = e.duration();
                // Before the epoch: round towards minus infinity.
                if d.subsec_nanos() == 0 {
                    Self::new(-(d.as_secs() as i64), 0)
                } else {
                    Self::new(-(d.as_secs() as i64) - 1, 1_000_000_000 - d.subsec_nanos())
                }
            }
        }
    }
}

/// A time to set with `setattr`: an explicit value or "now" (`UTIME_NOW`). Leaving the field
/// `None` in [`crate::SetAttr`] is `UTIME_OMIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeOrNow {
    /// `UTIME_NOW`: the current time; needs ownership or write permission.
    Now,
    /// An explicit time; needs ownership (or root).
    Set(Timespec),
}

/// Seconds after which `relatime` refreshes atime even when it is newer than mtime and ctime.
const RELATIME_MAX_AGE: i64 = 24 * 60 * 60;

/// The Linux `relatime` rule: a read updates atime when atime is not newer than mtime or
/// ctime, or when it is at least a day old.
pub(crate) fn relatime_due(
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    now: Timespec,
) -> bool {
    atime <= mtime || atime <= ctime || now.sec.saturating_sub(atime.sec) >= RELATIME_MAX_AGE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_normalises_nanoseconds() {
        assert_eq!(
            Timespec::new(1, 1_500_000_000),
            Timespec {
                sec: 2,
                nsec: 500_000_000
            }
        );
    }

    #[test]
    fn relatime_rule() {
        let t = |s| Timespec::new(s, 0);
        // atime older than mtime: due.
        assert!(relatime_due(t(10), t(20), t(5), t(30)));
        // atime newer than both and fresh: not due.
        assert!(!relatime_due(t(25), t(20), t(20), t(30)));
        // atime newer but a day old: due.
        assert!(relatime_due(t(25), t(20), t(20), t(25 + 86_400)));
    }
}
