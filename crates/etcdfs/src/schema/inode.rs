//! The inode record and its compact binary encoding (varints; about 21 bytes for a fresh
//! file, up to ~55 with four distinct times).
//!
//! Format 2 (written since birth times and chunk counts) adds the birth time and the number of
//! stored data chunks; format 1 records (written by earlier versions) still decode, with no
//! birth time and an unknown chunk count, and are rewritten as format 2 on their next change.

use super::varint;

/// The format written.
const FORMAT: u8 = 2;
/// The format before birth times and chunk counts.
const FORMAT_1: u8 = 1;

/// Flag bits of a format-2 record.
const ATIME_IS_MTIME: u64 = 1;
const CTIME_IS_MTIME: u64 = 1 << 1;
const HAS_BTIME: u64 = 1 << 2;
const BTIME_IS_MTIME: u64 = 1 << 3;
const HAS_CHUNKS: u64 = 1 << 4;
const CHUNKS_PAST_EOF: u64 = 1 << 5;
/// The birth time is stored whole (seconds, nanoseconds) rather than as nanoseconds before
/// mtime (used when that difference does not fit an i64).
const BTIME_WHOLE: u64 = 1 << 6;
const FLAGS_2: u64 = (1 << 7) - 1;

/// `later - earlier` in nanoseconds, if it fits an i64.
fn nanos_between(earlier: Timestamp, later: Timestamp) -> Option<i64> {
    let ns = |t: Timestamp| i128::from(t.secs) * 1_000_000_000 + i128::from(t.nsecs);
    i64::try_from(ns(later) - ns(earlier)).ok()
}

/// `t` moved `nanos` earlier; `None` on overflow.
fn nanos_before(t: Timestamp, nanos: i64) -> Option<Timestamp> {
    let total = i128::from(t.secs) * 1_000_000_000 + i128::from(t.nsecs) - i128::from(nanos);
    Some(Timestamp {
        secs: i64::try_from(total.div_euclid(1_000_000_000)).ok()?,
        nsecs: u32::try_from(total.rem_euclid(1_000_000_000)).ok()?,
    })
}

/// File types, as the `S_IFMT` bits of `mode` shifted right by 12 (the d_type values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Fifo,
    CharDevice,
    Directory,
    BlockDevice,
    Regular,
    Symlink,
    Socket,
}

impl FileType {
    /// The type of a `mode` (with its `S_IFMT` bits); `None` if they name no type.
    pub fn from_mode(mode: u32) -> Option<FileType> {
        FileType::from_byte(((mode & libc::S_IFMT) >> 12) as u8)
    }

    /// The d_type byte.
    pub fn to_byte(self) -> u8 {
        let fmt = match self {
            FileType::Fifo => libc::S_IFIFO,
            FileType::CharDevice => libc::S_IFCHR,
            FileType::Directory => libc::S_IFDIR,
            FileType::BlockDevice => libc::S_IFBLK,
            FileType::Regular => libc::S_IFREG,
            FileType::Symlink => libc::S_IFLNK,
            FileType::Socket => libc::S_IFSOCK,
        };
        (fmt >> 12) as u8
    }

    /// From a d_type byte.
    pub fn from_byte(b: u8) -> Option<FileType> {
        let fmt = u32::from(b) << 12;
        Some(match fmt {
            libc::S_IFIFO => FileType::Fifo,
            libc::S_IFCHR => FileType::CharDevice,
            libc::S_IFDIR => FileType::Directory,
            libc::S_IFBLK => FileType::BlockDevice,
            libc::S_IFREG => FileType::Regular,
            libc::S_IFLNK => FileType::Symlink,
            libc::S_IFSOCK => FileType::Socket,
            _ => return None,
        })
    }
}

/// Seconds and nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nsecs: u32,
}

impl Timestamp {
    /// The wall clock now.
    pub fn now() -> Timestamp {
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => Timestamp {
                secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                nsecs: d.subsec_nanos(),
            },
            Err(_) => Timestamp::default(),
        }
    }
}

/// The attributes of one inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    /// Type and permission bits.
    pub mode: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub rdev: u64,
    pub atime: Timestamp,
    pub mtime: Timestamp,
    pub ctime: Timestamp,
    /// A directory's parent directory (the root is its own parent); 0 for other types.
    pub parent: u64,
    /// A symlink's target; empty for other types.
    pub target: Vec<u8>,
    /// Birth time; `None` for inodes written by a version that did not record it.
    pub btime: Option<Timestamp>,
    /// Number of data chunk keys stored (`P c <ino> *`); `None` when unknown (an inode
    /// written by a version that did not count them).
    pub chunks: Option<u64>,
    /// Whether chunks may exist wholly past the size (fallocate with KEEP_SIZE allocated
    /// them; they hold zeros). Without it, no chunk starts at or past the size.
    pub chunks_past_eof: bool,
}

impl Inode {
    /// The inode's file type.
    pub fn kind(&self) -> Option<FileType> {
        FileType::from_mode(self.mode)
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind() == Some(FileType::Directory)
    }

    /// A fresh inode: the three times and the birth time `now`, no data chunks.
    pub fn new(mode: u32, nlink: u64, uid: u32, gid: u32, rdev: u64, now: Timestamp) -> Inode {
        Inode {
            mode,
            nlink,
            uid,
            gid,
            size: 0,
            rdev,
            atime: now,
            mtime: now,
            ctime: now,
            parent: 0,
            target: Vec::new(),
            btime: Some(now),
            chunks: Some(0),
            chunks_past_eof: false,
        }
    }

    /// `FORMAT`, a flags varint (`ATIME_IS_MTIME`, `CTIME_IS_MTIME`, `HAS_BTIME`,
    /// `BTIME_IS_MTIME`, `HAS_CHUNKS`, `CHUNKS_PAST_EOF`, `BTIME_WHOLE`), mode, nlink, uid, gid,
    /// size, rdev, the chunk count if known, mtime (zigzag secs, nsecs), atime and ctime unless
    /// equal to mtime, the birth time unless absent or equal to mtime (as zigzag nanoseconds
    /// before mtime: a directory rewritten by every create in it carries ~5 bytes rather than
    /// ~10; whole with `BTIME_WHOLE`), parent, as varints; then the symlink target to the end.
    /// A fresh inode's four times are equal, so it stores one.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.target.len());
        out.push(FORMAT);
        let same_a = self.atime == self.mtime;
        let same_c = self.ctime == self.mtime;
        let same_b = self.btime == Some(self.mtime);
        let b_delta = self.btime.and_then(|b| nanos_between(b, self.mtime));
        let mut flags = 0;
        for (on, bit) in [
            (same_a, ATIME_IS_MTIME),
            (same_c, CTIME_IS_MTIME),
            (self.btime.is_some(), HAS_BTIME),
            (same_b, BTIME_IS_MTIME),
            (self.chunks.is_some(), HAS_CHUNKS),
            (self.chunks_past_eof, CHUNKS_PAST_EOF),
            (self.btime.is_some() && b_delta.is_none(), BTIME_WHOLE),
        ] {
            if on {
                flags |= bit;
            }
        }
        varint::put(&mut out, flags);
        for v in [
            u64::from(self.mode),
            self.nlink,
            u64::from(self.uid),
            u64::from(self.gid),
            self.size,
            self.rdev,
        ] {
            varint::put(&mut out, v);
        }
        if let Some(n) = self.chunks {
            varint::put(&mut out, n);
        }
        let mut put_time = |t: Timestamp| {
            varint::put(&mut out, varint::zigzag(t.secs));
            varint::put(&mut out, u64::from(t.nsecs));
        };
        put_time(self.mtime);
        if !same_a {
            put_time(self.atime);
        }
        if !same_c {
            put_time(self.ctime);
        }
        match (self.btime, b_delta) {
            (Some(_), Some(_)) if same_b => {}
            (Some(_), Some(d)) => varint::put(&mut out, varint::zigzag(d)),
            (Some(b), None) => put_time(b),
            (None, _) => {}
        }
        varint::put(&mut out, self.parent);
        out.extend_from_slice(&self.target);
        out
    }

    /// Parses [`Inode::encode`]'s output, and format-1 records.
    pub fn decode(input: &[u8]) -> Option<Inode> {
        let (&format, mut s) = input.split_first()?;
        let s = &mut s;
        let flags = varint::get(s)?;
        let flags = match format {
            FORMAT if flags <= FLAGS_2 => flags,
            // Format 1 has the two time bits only.
            FORMAT_1 if flags <= 3 => flags,
            _ => return None,
        };
        let mode = u32::try_from(varint::get(s)?).ok()?;
        let nlink = varint::get(s)?;
        let uid = u32::try_from(varint::get(s)?).ok()?;
        let gid = u32::try_from(varint::get(s)?).ok()?;
        let size = varint::get(s)?;
        let rdev = varint::get(s)?;
        let chunks = if flags & HAS_CHUNKS != 0 {
            Some(varint::get(s)?)
        } else {
            None
        };
        let mut time = || -> Option<Timestamp> {
            let secs = varint::unzigzag(varint::get(s)?);
            let nsecs = u32::try_from(varint::get(s)?).ok()?;
            (nsecs < 1_000_000_000).then_some(Timestamp { secs, nsecs })
        };
        let mtime = time()?;
        let atime = if flags & ATIME_IS_MTIME != 0 {
            mtime
        } else {
            time()?
        };
        let ctime = if flags & CTIME_IS_MTIME != 0 {
            mtime
        } else {
            time()?
        };
        let btime = match (
            flags & HAS_BTIME != 0,
            flags & BTIME_IS_MTIME != 0,
            flags & BTIME_WHOLE != 0,
        ) {
            (false, false, false) => None,
            (true, true, false) => Some(mtime),
            (true, false, false) => Some(nanos_before(mtime, varint::unzigzag(varint::get(s)?))?),
            (true, false, true) => Some(time()?),
            _ => return None,
        };
        let parent = varint::get(s)?;
        let inode = Inode {
            mode,
            nlink,
            uid,
            gid,
            size,
            rdev,
            atime,
            mtime,
            ctime,
            parent,
            target: s.to_vec(),
            btime,
            chunks,
            chunks_past_eof: flags & CHUNKS_PAST_EOF != 0,
        };
        inode.kind()?;
        Some(inode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(mode: u32, target: &[u8]) -> Inode {
        Inode {
            target: target.to_vec(),
            ..Inode::new(mode, 1, 1000, 1000, 0, Timestamp::now())
        }
    }

    /// A format-1 record as the previous version wrote it: flags (atime and ctime equal to
    /// mtime), mode, nlink, uid, gid, size, rdev, mtime, parent.
    fn format_1_record() -> Vec<u8> {
        let mut out = vec![FORMAT_1];
        for v in [
            3,
            u64::from(libc::S_IFREG | 0o644),
            1,
            1000,
            1000,
            70_000,
            0,
        ] {
            varint::put(&mut out, v);
        }
        varint::put(&mut out, varint::zigzag(1_700_000_000));
        varint::put(&mut out, 5);
        varint::put(&mut out, 0);
        out
    }

    #[test]
    fn round_trips() {
        for i in [
            sample(libc::S_IFREG | 0o644, b""),
            sample(libc::S_IFLNK | 0o777, b"../some/where"),
            Inode {
                parent: 77,
                nlink: 2,
                ..sample(libc::S_IFDIR | 0o755, b"")
            },
            Inode {
                atime: Timestamp { secs: -5, nsecs: 1 },
                ctime: Timestamp {
                    secs: 1 << 40,
                    nsecs: 999_999_999,
                },
                ..sample(libc::S_IFREG | 0o600, b"")
            },
            Inode {
                btime: Some(Timestamp {
                    secs: i64::MIN / 2,
                    nsecs: 3,
                }),
                ..sample(libc::S_IFREG | 0o600, b"")
            },
            Inode {
                btime: Some(Timestamp {
                    secs: -1,
                    nsecs: 999_999_999,
                }),
                ..sample(libc::S_IFREG | 0o600, b"")
            },
            Inode {
                btime: Some(Timestamp { secs: 9, nsecs: 0 }),
                chunks: Some(12345),
                chunks_past_eof: true,
                size: 1 << 33,
                ..sample(libc::S_IFREG | 0o600, b"")
            },
            Inode {
                btime: None,
                chunks: None,
                ..sample(libc::S_IFREG | 0o600, b"")
            },
        ] {
            assert_eq!(Inode::decode(&i.encode()), Some(i));
        }
    }

    #[test]
    fn format_1_records_still_decode() {
        let old = Inode::decode(&format_1_record()).expect("a format-1 record decodes");
        assert_eq!(old.size, 70_000);
        assert_eq!(
            old.mtime,
            Timestamp {
                secs: 1_700_000_000,
                nsecs: 5
            }
        );
        assert_eq!(old.atime, old.mtime);
        assert_eq!(
            (old.btime, old.chunks, old.chunks_past_eof),
            (None, None, false)
        );
        // Rewritten, it becomes format 2 and reads back the same.
        let new = old.encode();
        assert_eq!(new[0], FORMAT);
        assert_eq!(Inode::decode(&new), Some(old));
        // Format-2 flag bits are not valid in a format-1 record.
        let mut bad = format_1_record();
        bad[1] = 4;
        assert_eq!(Inode::decode(&bad), None);
    }

    #[test]
    fn empty_file_record_is_compact() {
        let len = sample(libc::S_IFREG | 0o644, b"").encode().len();
        assert!(len <= 24, "{len} bytes");
    }

    #[test]
    fn garbage_does_not_decode() {
        assert_eq!(Inode::decode(b""), None);
        assert_eq!(Inode::decode(b"\x03abc"), None);
        assert_eq!(Inode::decode(b"\x02\x7f"), None);
        assert_eq!(Inode::decode(&[1, 0x80]), None);
        // Mode 0 names no file type.
        let mut bad = sample(libc::S_IFREG, b"");
        bad.mode = 0o644;
        assert_eq!(Inode::decode(&bad.encode()), None);
    }
}
