//! Rule 1 regression: replies to requests the kernel has forgotten are not errors. Mount, open
//! and close a file, unmount at once — 200 times. RELEASE is answered (after a short delay, to
//! widen the race) while the connection tears down; the kernel refuses those replies with
//! ENOENT/ENODEV. No error-level log line, no panic, counters visible.

mod common;

use std::ffi::OsStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{require_kernel, with_deadline, LogCounter, TestMount};
use fusekit::{
    Filesystem, Ino, MountOptions, ReplyAttr, ReplyData, ReplyEmpty, ReplyEntry, ReplyOpen, Request,
};
use fusekit_examples::hello::{Hello, NAME};

/// hello, with a RELEASE that answers late when `delay` is set.
struct SlowRelease(Hello, Option<Duration>, Arc<AtomicUsize>);

impl Filesystem for SlowRelease {
    fn lookup(&self, req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        self.0.lookup(req, parent, name, reply)
    }
    fn getattr(&self, req: &Request<'_>, ino: Ino, fh: Option<u64>, reply: ReplyAttr) {
        self.0.getattr(req, ino, fh, reply)
    }
    fn open(&self, req: &Request<'_>, ino: Ino, flags: i32, reply: ReplyOpen) {
        self.0.open(req, ino, flags, reply)
    }
    fn read(
        &self,
        req: &Request<'_>,
        ino: Ino,
        fh: u64,
        offset: u64,
        size: u32,
        flags: i32,
        lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        self.0
            .read(req, ino, fh, offset, size, flags, lock_owner, reply)
    }
    fn release(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        _fh: u64,
        _flags: i32,
        _lock_owner: Option<u64>,
        _flush: bool,
        _flock_release: bool,
        reply: ReplyEmpty,
    ) {
        let Some(delay) = self.1 else {
            return reply.ok();
        };
        // Answer from another thread, a moment later: the unmount races this reply.
        let pending = Arc::clone(&self.2);
        pending.fetch_add(1, Ordering::SeqCst);
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            reply.ok();
            pending.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

#[test]
fn fast_unmount_after_close_200_times() {
    if !require_kernel("fast_unmount_after_close_200_times") {
        return;
    }
    let logs = LogCounter::install();
    with_deadline(Duration::from_secs(240), move || {
        let mut forgotten = 0;
        let mut after_unmount = 0;
        let pending = Arc::new(AtomicUsize::new(0));
        for i in 0..200 {
            // Half the iterations answer RELEASE at once, half a moment later.
            let delay = (i % 2 == 1).then(|| Duration::from_micros(200 * (i % 10)));
            let fs = SlowRelease(Hello::new(0, 0), delay, Arc::clone(&pending));
            let mount = TestMount::with_workers(fs, &MountOptions::new(), Some(2));
            let file = std::fs::File::open(mount.path().join(NAME))
                .unwrap_or_else(|e| panic!("iteration {i}: {e}"));
            drop(file);
            let handle = mount.finish_with_handle();
            let deadline = Instant::now() + Duration::from_secs(5);
            while pending.load(Ordering::SeqCst) > 0 {
                assert!(Instant::now() < deadline, "late replies never completed");
                std::thread::sleep(Duration::from_millis(1));
            }
            let stats = handle.snapshot();
            assert_eq!(
                stats.reply_errors, 0,
                "iteration {i}: reply errors {stats:?}"
            );
            assert_eq!(stats.dropped_replies, 0, "iteration {i}");
            forgotten += stats.replies_forgotten;
            after_unmount += stats.replies_after_unmount;
        }
        let messages = logs.messages.lock().unwrap().clone();
        assert_eq!(logs.errors(), 0, "error-level log lines: {messages:#?}");
        eprintln!("200 fast unmounts: {forgotten} replies refused with ENOENT, {after_unmount} with ENODEV (counted, not errors)");
    });
}
