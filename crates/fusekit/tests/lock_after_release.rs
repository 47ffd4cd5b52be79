//! Lock requests are served after the RELEASEs queued before them (`conn::ReleaseFence`).
//!
//! The kernel sends RELEASE asynchronously: `close(a)` returns before the daemon has handled
//! it. A filesystem whose RELEASE drops the description's OFD lock or flock then races the
//! caller's next lock request through another descriptor, which another worker may serve
//! first. This filesystem makes the race certain — its RELEASE takes 30 ms — and the test
//! checks that locking through `b` right after closing `a` succeeds anyway, every time.

mod common;

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use common::{require_kernel, try_mount_pinned, with_deadline};
use fusekit::abi::{InitFlags, OpenOutFlags};
use fusekit::{
    Entry, Errno, FileAttr, FileType, Filesystem, Ino, KernelConfig, Lock, MountOptions, ReplyAttr,
    ReplyEmpty, ReplyEntry, ReplyOpen, Request, Transport, ROOT_ID,
};

const FILE: Ino = 2;
const NAME: &str = "locked";
const TTL: Duration = Duration::from_secs(60);
const SLOW_RELEASE: Duration = Duration::from_millis(30);

/// One file; one lock on it at a time (whole file, any kind), held by an open handle.
#[derive(Default)]
struct SlowRelease {
    next_fh: AtomicU64,
    holder: Mutex<Option<u64>>,
}

fn attr(ino: Ino) -> FileAttr {
    let mode = if ino == ROOT_ID {
        FileType::Directory.mode_bits() | 0o755
    } else {
        FileType::RegularFile.mode_bits() | 0o644
    };
    FileAttr {
        ino,
        mode,
        nlink: if ino == ROOT_ID { 2 } else { 1 },
        ..FileAttr::default()
    }
}

impl Filesystem for SlowRelease {
    fn init(&self, _req: &Request<'_>, config: &mut KernelConfig) -> Result<(), Errno> {
        config.enable_if_offered(InitFlags::POSIX_LOCKS | InitFlags::FLOCK_LOCKS);
        Ok(())
    }

    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        if parent == ROOT_ID && name == NAME {
            reply.entry(&Entry::new(attr(FILE), TTL))
        } else {
            reply.error(Errno::NOENT)
        }
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        match ino {
            ROOT_ID | FILE => reply.attr(&attr(ino), TTL),
            _ => reply.error(Errno::NOENT),
        }
    }

    fn open(&self, _req: &Request<'_>, _ino: Ino, _flags: i32, reply: ReplyOpen) {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed) + 1;
        reply.opened(fh, OpenOutFlags::empty());
    }

    fn flush(&self, _req: &Request<'_>, _ino: Ino, _fh: u64, _owner: u64, reply: ReplyEmpty) {
        reply.ok()
    }

    fn release(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        _flock_release: bool,
        reply: ReplyEmpty,
    ) {
        std::thread::sleep(SLOW_RELEASE);
        let mut holder = self.holder.lock().unwrap();
        if *holder == Some(fh) {
            *holder = None;
        }
        drop(holder);
        reply.ok()
    }

    fn setlk(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        fh: u64,
        _lock_owner: u64,
        lock: &Lock,
        _sleep: bool,
        _flock: bool,
        reply: ReplyEmpty,
    ) {
        let mut holder = self.holder.lock().unwrap();
        match *holder {
            _ if lock.typ == libc::F_UNLCK => {
                if *holder == Some(fh) {
                    *holder = None;
                }
                reply.ok()
            }
            Some(other) if other != fh => reply.error(Errno::AGAIN),
            _ => {
                *holder = Some(fh);
                reply.ok()
            }
        }
    }
}

fn ofd_write_lock(file: &std::fs::File) -> Result<(), std::io::Error> {
    // SAFETY: a zeroed flock is valid; the fields the call reads are set below.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: fcntl with F_OFD_SETLK reads one flock; `fl` lives across the call.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &mut fl) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn flock_exclusive(file: &std::fs::File) -> Result<(), std::io::Error> {
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[test]
fn locking_right_after_closing_the_holder_succeeds() {
    if !require_kernel("locking_right_after_closing_the_holder_succeeds") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let options = MountOptions::new().fsname("lock-after-release");
        let mnt = try_mount_pinned(SlowRelease::default(), &options, Transport::Dev, |s| {
            s.workers(2)
        })
        .expect("mount");
        let path = mnt.path().join(NAME);
        let open = || OpenOptions::new().read(true).write(true).open(&path);
        let rounds = 10;
        for (what, lock) in [
            ("OFD lock", ofd_write_lock as fn(&std::fs::File) -> _),
            ("flock", flock_exclusive),
        ] {
            for round in 0..rounds {
                let (a, b) = (open().unwrap(), open().unwrap());
                lock(&a).unwrap_or_else(|e| panic!("{what} on a, round {round}: {e}"));
                assert_eq!(
                    lock(&b).map_err(|e| e.raw_os_error()),
                    Err(Some(libc::EAGAIN)),
                    "{what}: b must conflict while a holds the lock"
                );
                drop(a);
                lock(&b).unwrap_or_else(|e| {
                    panic!("{what} on b right after closing a, round {round}: {e}")
                });
                drop(b);
            }
        }
        // Let the last RELEASEs finish before reading the counters.
        std::thread::sleep(SLOW_RELEASE * 3);
        let stats = mnt.finish();
        assert!(
            stats.locks_after_release >= 2 * rounds,
            "only {} lock requests waited for a RELEASE",
            stats.locks_after_release
        );
        assert_eq!(
            stats.request_id_gaps, 0,
            "a lock request waited for a request id no worker read"
        );
    });
}
