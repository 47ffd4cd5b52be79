//! The byte ranges one lock owner holds on one inode: their encoding in a lock record's value,
//! the POSIX rule for changing them (a new lock or unlock replaces the owner's locks inside its
//! range, splitting and merging the rest), and the conflict rule (ranges of two different
//! owners overlap and at least one of them is a write lock). A flock is one range covering the
//! whole file.

/// Bytes of one encoded range: start and end (8 bytes each, big endian), the type (0 read,
/// 1 write), the pid (4 bytes, big endian).
const ENCODED_LEN: usize = 21;

/// One locked byte range `start..=end` (`end` as the kernel sent it: `i64::MAX` is "to the end
/// of the file").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRange {
    pub start: u64,
    pub end: u64,
    /// A write (exclusive) lock; else a read (shared) lock.
    pub write: bool,
    /// The process that took it, in the taking host's pid namespace.
    pub pid: u32,
}

impl LockRange {
    /// The ranges a lock record's value holds; `None` if it does not decode.
    pub fn decode_record(value: &[u8]) -> Option<Vec<LockRange>> {
        decode(value)
    }

    /// Whether this range, held by another owner, keeps a lock of `start..=end` from being
    /// taken.
    pub fn conflicts(&self, start: u64, end: u64, write: bool) -> bool {
        self.start <= end && start <= self.end && (self.write || write)
    }
}

/// The value of a lock record.
pub(crate) fn encode(ranges: &[LockRange]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ranges.len() * ENCODED_LEN);
    for r in ranges {
        out.extend_from_slice(&r.start.to_be_bytes());
        out.extend_from_slice(&r.end.to_be_bytes());
        out.push(u8::from(r.write));
        out.extend_from_slice(&r.pid.to_be_bytes());
    }
    out
}

/// The ranges of a lock record's value; `None` if it does not decode.
pub(crate) fn decode(value: &[u8]) -> Option<Vec<LockRange>> {
    if value.is_empty() || value.len() % ENCODED_LEN != 0 {
        return None;
    }
    value
        .chunks_exact(ENCODED_LEN)
        .map(|c| {
            let start = u64::from_be_bytes(c[0..8].try_into().ok()?);
            let end = u64::from_be_bytes(c[8..16].try_into().ok()?);
            let write = match c[16] {
                0 => false,
                1 => true,
                _ => return None,
            };
            let pid = u32::from_be_bytes(c[17..21].try_into().ok()?);
            (start <= end).then_some(LockRange {
                start,
                end,
                write,
                pid,
            })
        })
        .collect()
}

/// The owner's ranges after replacing whatever it holds in `start..=end` with `new`
/// (`Some((write, pid))`: a lock; `None`: an unlock). Adjacent or overlapping ranges of the
/// same type are merged; the result is sorted by start.
pub(crate) fn apply(
    ranges: &[LockRange],
    start: u64,
    end: u64,
    new: Option<(bool, u32)>,
) -> Vec<LockRange> {
    let mut out = Vec::with_capacity(ranges.len() + 2);
    for &r in ranges {
        if r.end < start || r.start > end {
            out.push(r);
            continue;
        }
        if r.start < start {
            out.push(LockRange {
                end: start - 1,
                ..r
            });
        }
        if r.end > end {
            out.push(LockRange {
                start: end + 1,
                ..r
            });
        }
    }
    if let Some((write, pid)) = new {
        out.push(LockRange {
            start,
            end,
            write,
            pid,
        });
    }
    out.sort_by_key(|r| r.start);
    let mut merged: Vec<LockRange> = Vec::with_capacity(out.len());
    for r in out {
        match merged.last_mut() {
            Some(p) if p.write == r.write && r.start <= p.end.saturating_add(1) => {
                p.end = p.end.max(r.end);
            }
            _ => merged.push(r),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u64, end: u64, write: bool) -> LockRange {
        LockRange {
            start,
            end,
            write,
            pid: 0,
        }
    }

    #[test]
    fn split_merge_and_unlock() {
        let l = apply(&[], 0, 99, Some((true, 0)));
        assert_eq!(l, vec![r(0, 99, true)]);
        let l = apply(&l, 10, 19, None);
        assert_eq!(l, vec![r(0, 9, true), r(20, 99, true)]);
        let l = apply(&l, 10, 19, Some((true, 0)));
        assert_eq!(l, vec![r(0, 99, true)]);
        let l = apply(&l, 50, i64::MAX as u64, Some((false, 0)));
        assert_eq!(l, vec![r(0, 49, true), r(50, i64::MAX as u64, false)]);
        assert!(apply(&l, 0, u64::MAX, None).is_empty());
    }

    #[test]
    fn conflicts_need_overlap_and_a_writer() {
        let held = r(10, 20, false);
        assert!(!held.conflicts(0, 9, true));
        assert!(!held.conflicts(15, 30, false));
        assert!(held.conflicts(20, 30, true));
        assert!(r(10, 20, true).conflicts(0, 10, false));
    }

    #[test]
    fn values_round_trip_and_garbage_is_refused() {
        let l = vec![
            r(0, 9, true),
            LockRange {
                pid: 4242,
                ..r(20, u64::MAX, false)
            },
        ];
        assert_eq!(decode(&encode(&l)), Some(l));
        assert_eq!(decode(b""), None);
        assert_eq!(decode(&[0; 20]), None);
        let mut bad_type = encode(&[r(0, 1, true)]);
        bad_type[16] = 7;
        assert_eq!(decode(&bad_type), None);
        assert_eq!(decode(&encode(&[r(5, 1, true)])), None, "start after end");
    }
}
