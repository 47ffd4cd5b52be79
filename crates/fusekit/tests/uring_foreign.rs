//! Rule 6 under load: 10,000 replies completed on a pool of foreign threads, with the rings
//! set up SINGLE_ISSUER | DEFER_TASKRUN (where entering the ring from another thread fails
//! with EEXIST). Every request is answered and no submission ever fails. Also: a reply still
//! held by the filesystem does not keep the session from ending on abort, and sending it
//! late is harmless.

mod uring_util;

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use fusekit::{Errno, Filesystem, Ino, ReplyAttr, Request, RingFlags, Transport};
use uring_util::{mount, reply_pool, require_uring, with_deadline, MiniFs};

const REPLIES: usize = 10_000;
const CLIENTS: usize = 4;

#[test]
fn ten_thousand_foreign_replies_single_issuer_defer_taskrun() {
    let Some(_param) = require_uring("ten_thousand_foreign_replies_single_issuer_defer_taskrun")
    else {
        return;
    };
    with_deadline(Duration::from_secs(120), || {
        let (pool, workers) = reply_pool(4);
        let mut fs = MiniFs::new();
        fs.foreign = Some(pool);
        let served = Arc::clone(&fs.served);
        let m = mount(fs, |s| {
            s.transport(Transport::Uring)
                .uring_ring_flags(RingFlags::SINGLE_ISSUER | RingFlags::DEFER_TASKRUN)
                .uring_queue_depth(16)
        })
        .expect("mount over io_uring");
        let file = m.path().join("target");
        std::fs::write(&file, b"0123456789").unwrap();
        let before = m.session().uring_stats().unwrap();

        let failures = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let file = file.clone();
                let failures = Arc::clone(&failures);
                std::thread::spawn(move || {
                    let f = std::fs::File::open(&file).unwrap();
                    for _ in 0..REPLIES / CLIENTS {
                        // Attribute TTL is zero: every fstat is a GETATTR, answered by the pool.
                        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
                        // SAFETY: valid fd and out pointer.
                        let r = unsafe { libc::fstat(f.as_raw_fd(), st.as_mut_ptr()) };
                        // SAFETY: fstat succeeded, so st is initialized.
                        if r != 0 || unsafe { st.assume_init() }.st_size != 10 {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        let after = m.session().uring_stats().unwrap();
        let getattrs_on_ring = served.lock().unwrap().by_op.get("getattr").map_or(0, |v| {
            v.iter().filter(|t| t.starts_with("fusekit-uring-")).count()
        });
        eprintln!("ring counters after {REPLIES} fstat calls: {after:?}");
        let stats = m.finish_with_handle();
        drop(workers);
        assert_eq!(
            failures.load(Ordering::Relaxed),
            0,
            "every fstat answered correctly"
        );
        let foreign = after.foreign_replies - before.foreign_replies;
        assert!(
            foreign >= REPLIES as u64,
            "foreign replies {foreign} ({after:?})"
        );
        assert!(
            getattrs_on_ring >= REPLIES,
            "GETATTRs served on the rings: {getattrs_on_ring}"
        );
        assert!(after.wakeups > 0 && after.wakeups <= foreign, "{after:?}");
        assert_eq!(
            after.submit_errors, 0,
            "no EEXIST or other submit error: {after:?}"
        );
        assert_eq!(after.commit_errors, 0, "{after:?}");
        let end = stats.snapshot();
        assert_eq!(end.reply_errors, 0, "{end:?}");
        assert_eq!(end.dropped_replies, 0, "{end:?}");
        let ring_end = stats.uring().unwrap();
        assert_eq!(ring_end.submit_errors, 0);
    });
}

/// GETATTR of inode 2 is kept (never answered) until the test says so.
struct HoldsOne {
    inner: MiniFs,
    held: Arc<Mutex<Option<ReplyAttr>>>,
    arrived: mpsc::SyncSender<()>,
}

impl Filesystem for HoldsOne {
    fn lookup(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &std::ffi::OsStr,
        reply: fusekit::ReplyEntry,
    ) {
        self.inner.lookup(req, parent, name, reply)
    }
    fn create(
        &self,
        req: &Request<'_>,
        parent: Ino,
        name: &std::ffi::OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: fusekit::ReplyCreate,
    ) {
        self.inner
            .create(req, parent, name, mode, umask, flags, reply)
    }
    fn getattr(&self, req: &Request<'_>, ino: Ino, fh: Option<u64>, reply: ReplyAttr) {
        if ino == fusekit::ROOT_ID {
            return self.inner.getattr(req, ino, fh, reply);
        }
        *self.held.lock().unwrap() = Some(reply);
        let _ = self.arrived.try_send(());
    }
}

#[test]
fn abort_with_a_held_reply_ends_the_session() {
    let Some(_param) = require_uring("abort_with_a_held_reply_ends_the_session") else {
        return;
    };
    with_deadline(Duration::from_secs(60), || {
        let held = Arc::new(Mutex::new(None));
        let (arrived_tx, arrived) = mpsc::sync_channel(1);
        let fs = HoldsOne {
            inner: MiniFs::new(),
            held: Arc::clone(&held),
            arrived: arrived_tx,
        };
        let m = mount(fs, |s| s.transport(Transport::Uring)).expect("mount over io_uring");
        let file = m.path().join("f");
        drop(std::fs::File::create(&file).unwrap());
        let stat = std::thread::spawn(move || std::fs::metadata(&file).map(|_| ()));
        arrived
            .recv_timeout(Duration::from_secs(10))
            .expect("GETATTR arrived");
        let unmounter = m.session().unmounter().unwrap();
        unmounter.abort().unwrap();
        let stats = m.finish_with_handle();
        let r = stat.join().unwrap();
        assert!(r.is_err(), "the held request failed with the connection");
        // The late reply finds the queue closed: counted, not an error, no crash.
        let reply = held.lock().unwrap().take().expect("reply was held");
        reply.error(Errno::IO);
        let end = stats.snapshot();
        assert_eq!(end.reply_errors, 0, "{end:?}");
        assert!(end.replies_after_unmount >= 1, "{end:?}");
    });
}
