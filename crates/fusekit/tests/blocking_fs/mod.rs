//! A test filesystem whose reads block until interrupted: the root holds one file, `block`,
//! opened with direct I/O so that every read(2) is one synchronous, interruptible READ. Shared
//! by the /dev/fuse and io_uring interrupt tests.

use std::ffi::OsStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fusekit::abi::OpenOutFlags;
use fusekit::{
    Entry, Errno, FileAttr, FileType, Filesystem, Ino, ReplyAttr, ReplyData, ReplyEntry, ReplyOpen,
    Request, ROOT_ID,
};

/// The inode of `block`.
pub const FILE: Ino = 2;

/// What the handlers saw.
#[derive(Default)]
pub struct Counters {
    /// READs that reached the handler.
    pub reads_started: AtomicUsize,
    /// READs whose wait ended because the request was interrupted.
    pub interrupted: AtomicUsize,
    /// READs served on an io_uring queue thread (`fusekit-uring-*`).
    pub on_ring: AtomicUsize,
}

/// One file, `block`, whose reads wait until interrupted (or 30 s).
pub struct Blocking(pub Arc<Counters>);

fn attr(ino: Ino) -> FileAttr {
    let (mode, nlink) = if ino == ROOT_ID {
        (FileType::Directory.mode_bits() | 0o755, 2)
    } else {
        (FileType::RegularFile.mode_bits() | 0o644, 1)
    };
    FileAttr {
        ino,
        size: 4096,
        mode,
        nlink,
        ..FileAttr::default()
    }
}

impl Filesystem for Blocking {
    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        if parent == ROOT_ID && name == "block" {
            reply.entry(&Entry::new(attr(FILE), Duration::from_secs(60)))
        } else {
            reply.error(Errno::NOENT)
        }
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        reply.attr(&attr(ino), Duration::from_secs(60))
    }

    fn open(&self, _req: &Request<'_>, _ino: Ino, _flags: i32, reply: ReplyOpen) {
        reply.opened(0, OpenOutFlags::DIRECT_IO)
    }

    fn read(
        &self,
        req: &Request<'_>,
        _ino: Ino,
        _fh: u64,
        _offset: u64,
        _size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let on_ring = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("fusekit-uring-"));
        if on_ring {
            self.0.on_ring.fetch_add(1, Ordering::SeqCst);
        }
        self.0.reads_started.fetch_add(1, Ordering::SeqCst);
        if req.wait_interrupted(Some(Duration::from_secs(30))) {
            self.0.interrupted.fetch_add(1, Ordering::SeqCst);
            reply.error(Errno::INTR);
        } else {
            reply.data(b"not interrupted")
        }
    }
}
