//! The inode record and its compact binary encoding (varints; about 20 bytes for a fresh
//! file, up to ~45 with three distinct times).

use super::varint;

const FORMAT: u8 = 1;

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

    /// `FORMAT`, a flags varint (bit 0: atime equals mtime, bit 1: ctime equals mtime), mode,
    /// nlink, uid, gid, size, rdev, mtime (zigzag secs, nsecs), atime and ctime unless equal to
    /// mtime, parent, as varints; then the symlink target to the end. A fresh inode's three
    /// times are equal, so it stores one.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.target.len());
        out.push(FORMAT);
        let same_a = self.atime == self.mtime;
        let same_c = self.ctime == self.mtime;
        varint::put(&mut out, u64::from(same_a) | (u64::from(same_c) << 1));
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
        varint::put(&mut out, self.parent);
        out.extend_from_slice(&self.target);
        out
    }

    /// Parses [`Inode::encode`]'s output.
    pub fn decode(input: &[u8]) -> Option<Inode> {
        let (&format, mut s) = input.split_first()?;
        if format != FORMAT {
            return None;
        }
        let s = &mut s;
        let flags = varint::get(s)?;
        if flags > 3 {
            return None;
        }
        let mode = u32::try_from(varint::get(s)?).ok()?;
        let nlink = varint::get(s)?;
        let uid = u32::try_from(varint::get(s)?).ok()?;
        let gid = u32::try_from(varint::get(s)?).ok()?;
        let size = varint::get(s)?;
        let rdev = varint::get(s)?;
        let mut time = || -> Option<Timestamp> {
            let secs = varint::unzigzag(varint::get(s)?);
            let nsecs = u32::try_from(varint::get(s)?).ok()?;
            (nsecs < 1_000_000_000).then_some(Timestamp { secs, nsecs })
        };
        let mtime = time()?;
        let atime = if flags & 1 != 0 { mtime } else { time()? };
        let ctime = if flags & 2 != 0 { mtime } else { time()? };
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
        };
        inode.kind()?;
        Some(inode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(mode: u32, target: &[u8]) -> Inode {
        let now = Timestamp::now();
        Inode {
            mode,
            nlink: 1,
            uid: 1000,
            gid: 1000,
            size: 0,
            rdev: 0,
            atime: now,
            mtime: now,
            ctime: now,
            parent: 0,
            target: target.to_vec(),
        }
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
        ] {
            assert_eq!(Inode::decode(&i.encode()), Some(i));
        }
    }

    #[test]
    fn empty_file_record_is_compact() {
        let len = sample(libc::S_IFREG | 0o644, b"").encode().len();
        assert!(len <= 24, "{len} bytes");
    }

    #[test]
    fn garbage_does_not_decode() {
        assert_eq!(Inode::decode(b""), None);
        assert_eq!(Inode::decode(b"\x02abc"), None);
        assert_eq!(Inode::decode(&[1, 0x80]), None);
        // Mode 0 names no file type.
        let mut bad = sample(libc::S_IFREG, b"");
        bad.mode = 0o644;
        assert_eq!(Inode::decode(&bad.encode()), None);
    }
}
