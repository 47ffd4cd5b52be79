//! What the session negotiates and how it is laid out: 1 MiB writes arrive whole (max_pages),
//! each worker has its own cloned /dev/fuse descriptor, and the default capabilities are on.

mod common;

use std::ffi::OsStr;
use std::io::Write;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{require_kernel, with_deadline, TestMount};
use fusekit::abi::{InitFlags, OpenOutFlags, WriteFlags};
use fusekit::{
    Entry, Errno, FileAttr, FileType, Filesystem, Ino, MountOptions, ReplyAttr, ReplyEntry,
    ReplyOpen, ReplyWrite, Request, SetAttr, Transport, ROOT_ID,
};

#[derive(Default)]
struct Sink {
    largest_write: AtomicU32,
    writes: AtomicUsize,
}

struct WriteSink(Arc<Sink>);

fn attr(ino: Ino) -> FileAttr {
    let (mode, nlink) = if ino == ROOT_ID {
        (FileType::Directory.mode_bits() | 0o755, 2)
    } else {
        (FileType::RegularFile.mode_bits() | 0o666, 1)
    };
    FileAttr {
        ino,
        mode,
        nlink,
        ..FileAttr::default()
    }
}

impl Filesystem for WriteSink {
    fn lookup(&self, _req: &Request<'_>, _parent: Ino, name: &OsStr, reply: ReplyEntry) {
        if name == "sink" {
            reply.entry(&Entry::new(attr(2), Duration::from_secs(1)))
        } else {
            reply.error(Errno::NOENT)
        }
    }
    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        reply.attr(&attr(ino), Duration::from_secs(1))
    }
    fn setattr(&self, _req: &Request<'_>, ino: Ino, _attr: &SetAttr, reply: ReplyAttr) {
        reply.attr(&attr(ino), Duration::from_secs(1))
    }
    fn open(&self, _req: &Request<'_>, _ino: Ino, _flags: i32, reply: ReplyOpen) {
        reply.opened(1, OpenOutFlags::empty())
    }
    fn write(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        _fh: u64,
        _offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyWrite,
    ) {
        self.0.writes.fetch_add(1, Ordering::SeqCst);
        self.0
            .largest_write
            .fetch_max(data.len() as u32, Ordering::SeqCst);
        reply.written(data.len() as u32)
    }
}

fn dev_fuse_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|t| t.as_os_str() == "/dev/fuse")
        .count()
}

#[test]
fn one_mib_writes_cloned_fds_and_default_capabilities() {
    if !require_kernel("one_mib_writes_cloned_fds_and_default_capabilities") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let sink = Arc::new(Sink::default());
        let before = dev_fuse_fds();
        // /dev/fuse explicitly: over io_uring only one /dev/fuse worker remains.
        let mount = TestMount::with_transport(
            WriteSink(Arc::clone(&sink)),
            &MountOptions::new(),
            Some(3),
            Transport::Dev,
        );
        assert_eq!(
            dev_fuse_fds() - before,
            3,
            "one /dev/fuse descriptor per worker"
        );

        let negotiated = mount.session().negotiated();
        assert_eq!(negotiated.minor, 45);
        assert_eq!(negotiated.max_write, 1 << 20);
        for flag in [
            InitFlags::ASYNC_READ,
            InitFlags::PARALLEL_DIROPS,
            InitFlags::MAX_PAGES,
            InitFlags::BIG_WRITES,
        ] {
            assert!(
                negotiated.flags.contains(flag),
                "{flag:?} not negotiated: {:?}",
                negotiated.flags
            );
        }
        assert!(
            !negotiated.flags.contains(InitFlags::WRITEBACK_CACHE),
            "writeback cache is opt-in"
        );

        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(mount.path().join("sink"))
            .unwrap();
        f.write_all(&vec![7u8; 4 << 20]).unwrap();
        drop(f);
        assert_eq!(
            sink.largest_write.load(Ordering::SeqCst),
            1 << 20,
            "a WRITE carries 1 MiB"
        );
        assert_eq!(
            sink.writes.load(Ordering::SeqCst),
            4,
            "4 MiB in four requests"
        );
        mount.finish();
        assert_eq!(dev_fuse_fds(), before, "worker descriptors closed");
    });
}
