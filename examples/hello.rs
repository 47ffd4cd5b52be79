//! hello: a read-only filesystem with one file, `hello.txt`. The smallest complete example of
//! the inode-level API: lookup, getattr, readdir, open and read.

use std::ffi::OsStr;
use std::time::Duration;

use fusekit::abi::OpenOutFlags;
use fusekit::{
    Entry, Errno, FileAttr, FileType, Filesystem, Ino, ReplyAttr, ReplyData, ReplyDirectory,
    ReplyEntry, ReplyOpen, Request, Timestamp, ROOT_ID,
};

/// The file's contents.
pub const CONTENT: &[u8] = b"Hello from fusekit!\n";
/// The file's name.
pub const NAME: &str = "hello.txt";

const FILE_ID: Ino = 2;
const TTL: Duration = Duration::from_secs(1);
const O_ACCMODE: i32 = 0o3;

/// The hello filesystem. Everything belongs to the user who mounted it.
#[derive(Debug)]
pub struct Hello {
    uid: u32,
    gid: u32,
    mounted_at: Timestamp,
}

impl Hello {
    /// A hello filesystem owned by `uid:gid`.
    pub fn new(uid: u32, gid: u32) -> Self {
        Hello {
            uid,
            gid,
            mounted_at: Timestamp::now(),
        }
    }

    fn attr(&self, ino: Ino) -> Option<FileAttr> {
        let (mode, nlink, size) = match ino {
            ROOT_ID => (FileType::Directory.mode_bits() | 0o555, 2, 0),
            FILE_ID => (
                FileType::RegularFile.mode_bits() | 0o444,
                1,
                CONTENT.len() as u64,
            ),
            _ => return None,
        };
        Some(FileAttr {
            ino,
            size,
            blocks: size.div_ceil(512),
            atime: self.mounted_at,
            mtime: self.mounted_at,
            ctime: self.mounted_at,
            mode,
            nlink,
            uid: self.uid,
            gid: self.gid,
            ..FileAttr::default()
        })
    }
}

impl Filesystem for Hello {
    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        match self.attr(FILE_ID) {
            Some(attr) if parent == ROOT_ID && name == NAME => reply.entry(&Entry::new(attr, TTL)),
            _ => reply.error(Errno::NOENT),
        }
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        match self.attr(ino) {
            Some(attr) => reply.attr(&attr, TTL),
            None => reply.error(Errno::NOENT),
        }
    }

    fn open(&self, _req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        if ino != FILE_ID {
            return reply.error(Errno::ISDIR);
        }
        if flags & O_ACCMODE != 0 {
            return reply.error(Errno::ACCESS);
        }
        reply.opened(0, OpenOutFlags::KEEP_CACHE);
    }

    fn read(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        _fh: u64,
        offset: u64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        if ino != FILE_ID {
            return reply.error(Errno::ISDIR);
        }
        let start = (offset as usize).min(CONTENT.len());
        let end = start.saturating_add(size as usize).min(CONTENT.len());
        reply.data(&CONTENT[start..end]);
    }

    fn readdir(
        &self,
        _req: &Request<'_>,
        ino: Ino,
        _fh: u64,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        if ino != ROOT_ID {
            return reply.error(Errno::NOTDIR);
        }
        let entries = [
            (ROOT_ID, FileType::Directory, "."),
            (ROOT_ID, FileType::Directory, ".."),
            (FILE_ID, FileType::RegularFile, NAME),
        ];
        // An entry's offset is the cookie of the entry after it: its index + 1.
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(*ino, i as u64 + 1, kind.dirent_type(), OsStr::new(name)) {
                break;
            }
        }
        reply.ok();
    }
}
