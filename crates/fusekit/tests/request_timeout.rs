//! Request timeouts (FUSE_REQUEST_TIMEOUT, protocol 7.43): what the kernel does when a
//! filesystem that asked for a timeout with `KernelConfig::set_request_timeout` never answers
//! a request — measured on this machine's kernel and asserted here (see
//! docs/kernel-notes.md, "Request timeouts"). Two mounts run side by side with the same stuck
//! READ: one with a 1 s timeout, one without; the timed one is aborted, the other is not.
//! Runs over the test transport (`FUSEKIT_TEST_TRANSPORT`): the same was measured over
//! /dev/fuse and io_uring.

mod common;

use std::ffi::OsStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{require_kernel, try_mount, with_deadline, TestMount};
use fusekit::abi::{InitFlags, OpenOutFlags};
use fusekit::{
    Entry, Errno, FileAttr, FileType, Filesystem, Ino, KernelConfig, MountOptions, ReplyAttr,
    ReplyData, ReplyEntry, ReplyOpen, Request, ROOT_ID,
};

const FILE: Ino = 2;

/// The kernel raises any timeout below this to it and looks for expired requests this often,
/// counting from the connection's start (measured: with a 1 s timeout a READ stuck right
/// after mounting was aborted after 15.0 s, one stuck 8 s after mounting after 22.2 s).
const KERNEL_CHECK_PERIOD: Duration = Duration::from_secs(15);

/// One file, `stall`, whose READs are never answered: the reply handles are kept until
/// [`Stall::answer_all`] (or the end of the test) instead of being sent.
#[derive(Clone, Default)]
struct Stall {
    timeout: Option<Duration>,
    reads: Arc<AtomicUsize>,
    held: Arc<Mutex<Vec<ReplyData>>>,
    timeout_granted: Arc<Mutex<Option<Result<(), InitFlags>>>>,
}

impl Stall {
    fn answer_all(&self, data: &[u8]) {
        for reply in self.held.lock().unwrap().drain(..) {
            reply.data(data);
        }
    }
}

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

impl Filesystem for Stall {
    fn init(&self, _req: &Request<'_>, config: &mut KernelConfig) -> Result<(), Errno> {
        if let Some(t) = self.timeout {
            *self.timeout_granted.lock().unwrap() = Some(config.set_request_timeout(t));
        }
        Ok(())
    }

    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        if parent == ROOT_ID && name == "stall" {
            reply.entry(&Entry::new(attr(FILE), Duration::from_secs(60)))
        } else {
            reply.error(Errno::NOENT)
        }
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        // Not cached, so every stat(2) of the root is a request (and shows the connection state).
        reply.attr(&attr(ino), Duration::ZERO)
    }

    fn open(&self, _req: &Request<'_>, _ino: Ino, _flags: i32, reply: ReplyOpen) {
        // Direct I/O: the read(2) below is exactly one synchronous READ.
        reply.opened(0, OpenOutFlags::DIRECT_IO)
    }

    fn read(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        _fh: u64,
        _offset: u64,
        _size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        self.held.lock().unwrap().push(reply);
        self.reads.fetch_add(1, Ordering::SeqCst);
    }
}

fn mount(fs: Stall) -> TestMount {
    try_mount(fs, &MountOptions::new(), |s| s).expect("mount and start the session")
}

/// Reads `stall` in a thread; returns the thread and when its READ reached the handler.
fn start_stuck_read(mount: &TestMount, fs: &Stall) -> (JoinHandle<Result<usize, Errno>>, Instant) {
    let path = mount.path().join("stall");
    let reader = std::thread::spawn(move || {
        let file = std::fs::File::open(path).map_err(|e| Errno::from_io_error(&e).unwrap())?;
        let mut buf = [0u8; 64];
        rustix::io::read(&file, &mut buf)
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while fs.reads.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the READ never reached the handler"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    (reader, Instant::now())
}

fn stat_errno(path: &std::path::Path) -> Option<Errno> {
    rustix::fs::stat(path).err()
}

#[test]
fn kernel_aborts_the_connection_when_a_request_outlives_the_timeout() {
    if !require_kernel("kernel_aborts_the_connection_when_a_request_outlives_the_timeout") {
        return;
    }
    with_deadline(Duration::from_secs(120), || {
        let timed_fs = Stall {
            timeout: Some(Duration::from_secs(1)),
            ..Stall::default()
        };
        let plain_fs = Stall::default();
        let timed = mount(timed_fs.clone());
        let plain = mount(plain_fs.clone());
        let granted = *timed_fs.timeout_granted.lock().unwrap();
        assert_eq!(granted, Some(Ok(())), "the kernel offers REQUEST_TIMEOUT");
        assert!(timed
            .session()
            .negotiated()
            .flags
            .contains(InitFlags::REQUEST_TIMEOUT));
        assert!(!plain
            .session()
            .negotiated()
            .flags
            .contains(InitFlags::REQUEST_TIMEOUT));

        let (timed_reader, timed_start) = start_stuck_read(&timed, &timed_fs);
        let (plain_reader, _) = start_stuck_read(&plain, &plain_fs);

        // The timed mount: the caller gets an error once the kernel's check finds the READ
        // expired, and the whole connection is aborted.
        let limit = KERNEL_CHECK_PERIOD * 3;
        while !timed_reader.is_finished() {
            assert!(
                timed_start.elapsed() < limit,
                "no abort within {limit:?} of a 1 s request timeout"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let waited = timed_start.elapsed();
        let result = timed_reader.join().unwrap();
        eprintln!("1 s request timeout: the stuck read(2) ended after {waited:?} with {result:?}");
        assert_eq!(result, Err(Errno::CONNABORTED), "the stuck caller's error");
        assert!(
            waited >= KERNEL_CHECK_PERIOD - Duration::from_secs(1),
            "aborted after {waited:?}: sooner than the kernel's minimum of 15 s"
        );
        assert!(
            waited <= KERNEL_CHECK_PERIOD * 2 + Duration::from_secs(3),
            "aborted after {waited:?}: later than two check periods"
        );
        assert_eq!(
            stat_errno(timed.path()),
            Some(Errno::NOTCONN),
            "later requests on the aborted connection"
        );
        assert_eq!(
            stat_errno(&timed.path().join("stall")),
            Some(Errno::NOTCONN)
        );

        // The mount without a timeout: the same stuck READ, as old, is still waiting, and the
        // connection still serves other requests.
        std::thread::sleep(Duration::from_secs(2));
        assert!(
            !plain_reader.is_finished(),
            "without a timeout the stuck read must keep waiting"
        );
        assert_eq!(stat_errno(plain.path()), None, "the untimed mount works");
        plain_fs.answer_all(b"late");
        assert_eq!(
            plain_reader.join().unwrap(),
            Ok(4),
            "the late answer arrives"
        );

        // The aborted mount unmounts and its session ends without error; the kept reply,
        // dropped, goes nowhere (the kernel forgot the request).
        drop(timed_fs.held.lock().unwrap().drain(..).collect::<Vec<_>>());
        timed.finish();
        plain.finish();
    });
}
