//! Two things the ring must get right under concurrency:
//! - INTERRUPT still arrives over /dev/fuse while its request was delivered over the ring: a
//!   READ handler blocked on a queue thread observes the interrupt, the caller gets EINTR.
//! - Data integrity: several threads write and read back their own files with odd sizes (up
//!   to 1 MiB, straddling pages) at once, spread over every CPU's queue.

mod blocking_fs;
mod uring_util;

use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use blocking_fs::{Blocking, Counters};
use fusekit::Transport;
use uring_util::{mount, require_uring, with_deadline, MiniFs};

extern "C" fn ignore_signal(_: libc::c_int) {}

#[test]
fn interrupt_reaches_a_request_served_over_the_ring() {
    let Some(_param) = require_uring("interrupt_reaches_a_request_served_over_the_ring") else {
        return;
    };
    with_deadline(Duration::from_secs(60), || {
        // SAFETY: installs a do-nothing handler without SA_RESTART so the blocked read(2)
        // returns EINTR. Test process only.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = ignore_signal as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
                0
            );
        }
        let counters = Arc::new(Counters::default());
        let m = mount(Blocking(Arc::clone(&counters)), |s| {
            s.transport(Transport::Uring)
        })
        .expect("mount over io_uring");
        let path = m.path().join("block");
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let file = std::fs::File::open(path).unwrap();
            // SAFETY: pthread_self has no preconditions.
            tid_tx
                .send(unsafe { libc::pthread_self() } as usize)
                .unwrap();
            let mut buf = [0u8; 64];
            rustix::io::read(&file, &mut buf)
        });
        let tid = tid_rx.recv().unwrap() as libc::pthread_t;
        let deadline = Instant::now() + Duration::from_secs(10);
        while counters.reads_started.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "READ never reached the handler");
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: `tid` is a live thread of this process, blocked in read.
        assert_eq!(unsafe { libc::pthread_kill(tid, libc::SIGUSR1) }, 0);
        let result = reader.join().unwrap();
        assert_eq!(
            result,
            Err(rustix::io::Errno::INTR),
            "the caller sees EINTR"
        );
        assert_eq!(counters.interrupted.load(Ordering::SeqCst), 1);
        assert_eq!(
            counters.on_ring.load(Ordering::SeqCst),
            1,
            "READ served on the ring"
        );
        let ring = m.session().uring_stats().unwrap();
        let stats = m.finish_with_handle();
        assert!(ring.requests >= 3, "{ring:?}");
        assert!(
            stats.snapshot().interrupts >= 1,
            "INTERRUPT arrived over /dev/fuse"
        );
        assert_eq!(stats.snapshot().reply_errors, 0);
    });
}

#[test]
fn concurrent_writers_and_readers_keep_their_bytes() {
    let Some(_param) = require_uring("concurrent_writers_and_readers_keep_their_bytes") else {
        return;
    };
    with_deadline(Duration::from_secs(120), || {
        let m = mount(MiniFs::new(), |s| {
            s.transport(Transport::Uring).uring_queue_depth(3)
        })
        .expect("mount over io_uring");
        let root = m.path().to_path_buf();
        let threads: Vec<_> = (0..6u64)
            .map(|t| {
                let root = root.clone();
                std::thread::spawn(move || {
                    let path = root.join(format!("writer-{t}"));
                    let f = std::fs::OpenOptions::new()
                        .create(true)
                        .truncate(true)
                        .read(true)
                        .write(true)
                        .open(&path)
                        .unwrap();
                    // Reads bypass the page cache so they check what the filesystem got.
                    let direct = rustix::fs::open(
                        &path,
                        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECT,
                        rustix::fs::Mode::empty(),
                    )
                    .unwrap();
                    let read_direct = |buf: &mut [u8], off: u64| {
                        let mut done = 0;
                        while done < buf.len() {
                            let n = rustix::io::pread(&direct, &mut buf[done..], off + done as u64)
                                .unwrap();
                            assert!(n > 0, "short file");
                            done += n;
                        }
                    };
                    let mut model = Vec::new();
                    let mut seed = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                    for round in 0..40 {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        let len = 1 + (seed % (1 << 20)) as usize;
                        let off = (seed >> 24) as usize % (1 << 20);
                        let byte = (t * 40 + round) as u8;
                        let chunk = vec![byte; len];
                        f.write_all_at(&chunk, off as u64).unwrap();
                        if model.len() < off + len {
                            model.resize(off + len, 0);
                        }
                        model[off..off + len].fill(byte);
                        let mut back = vec![0u8; len];
                        read_direct(&mut back, off as u64);
                        assert_eq!(back, chunk, "thread {t} round {round}");
                    }
                    drop(f);
                    let mut all = vec![0u8; model.len()];
                    read_direct(&mut all, 0);
                    assert!(all == model, "thread {t} final content differs");
                })
            })
            .collect();
        for t in threads {
            t.join().expect("writer thread");
        }
        let ring = m.session().uring_stats().unwrap();
        let stats = m.finish_with_handle();
        assert_eq!(ring.submit_errors, 0);
        assert_eq!(ring.commit_errors, 0);
        // At least one WRITE and one direct READ per round went over the rings.
        assert!(ring.requests >= 6 * 40 * 2, "{ring:?}");
        let end = stats.snapshot();
        assert_eq!(end.reply_errors + end.decode_errors, 0, "{end:?}");
    });
}
