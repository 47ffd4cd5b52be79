//! Mount/unmount over io_uring, many at once: 4 threads x 25 cycles, each cycle mounting a
//! filesystem with `Transport::Uring`, doing I/O through it, unmounting and joining. Nothing
//! hangs (deadline), and afterwards no mount, descriptor or thread is left behind.

mod uring_util;

use std::time::Duration;

use fusekit::Transport;
use uring_util::{fuse_mounts_under, mount, open_fd_count, require_uring, with_deadline, MiniFs};

const THREADS: usize = 4;
const CYCLES: usize = 25;

/// The tests here count this process's descriptors and threads: run them one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").expect("tasks").count()
}

#[test]
fn concurrent_mount_unmount_over_io_uring() {
    let _serial = serial();
    let Some(_param) = require_uring("concurrent_mount_unmount_over_io_uring") else {
        return;
    };
    with_deadline(Duration::from_secs(240), || {
        let fds_before = open_fd_count();
        let threads_before = thread_count();
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut ring_requests = 0;
                    for c in 0..CYCLES {
                        let m = mount(MiniFs::new(), |s| {
                            s.transport(Transport::Uring).uring_queue_depth(1 + (c % 4))
                        })
                        .unwrap_or_else(|e| panic!("thread {t} cycle {c}: mount: {e}"));
                        assert_eq!(m.session().transport_in_use(), Transport::Uring);
                        let file = m.path().join(format!("t{t}c{c}"));
                        std::fs::write(&file, format!("thread {t} cycle {c}")).unwrap();
                        assert_eq!(
                            std::fs::read_to_string(&file).unwrap(),
                            format!("thread {t} cycle {c}")
                        );
                        let root = m.path().to_path_buf();
                        let stats = m.finish_with_handle();
                        ring_requests += stats.uring().expect("uring stats").requests;
                        let end = stats.snapshot();
                        assert_eq!(end.reply_errors, 0, "{end:?}");
                        assert!(fuse_mounts_under(&root).is_empty());
                    }
                    ring_requests
                })
            })
            .collect();
        let mut total = 0;
        for w in workers {
            total += w.join().expect("mount/unmount thread");
        }
        assert!(
            total >= (THREADS * CYCLES * 4) as u64,
            "ring requests {total}"
        );
        assert!(fuse_mounts_under(&std::env::temp_dir().join("fusekit-uring-")).is_empty());
        // Threads of the finished sessions are joined; descriptors (rings, eventfds,
        // /dev/fuse) are closed.
        assert_eq!(open_fd_count(), fds_before, "descriptors leaked");
        assert!(thread_count() <= threads_before + 1, "threads left behind");
    });
}

#[test]
fn run_blocks_until_unmounted_over_io_uring() {
    let _serial = serial();
    let Some(_param) = require_uring("run_blocks_until_unmounted_over_io_uring") else {
        return;
    };
    with_deadline(Duration::from_secs(60), || {
        let dir = tempfile::Builder::new()
            .prefix("fusekit-uring-run-")
            .tempdir()
            .unwrap();
        let session = fusekit::Session::mount(
            MiniFs::new(),
            dir.path(),
            &fusekit::MountOptions::new().fsname("uring-test"),
        )
        .expect("mount")
        .transport(Transport::Uring);
        let root = dir.path().to_path_buf();
        let runner = std::thread::spawn(move || session.run());
        // The mount answers once INIT is done and the rings are registered.
        let file = root.join("hello");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if std::fs::write(&file, b"run").is_ok() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "mount never served");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(std::fs::read(&file).unwrap(), b"run");
        fusekit::mount::unmount(&root).expect("unmount");
        runner
            .join()
            .expect("run thread")
            .expect("run ends cleanly after unmount");
        assert!(fuse_mounts_under(&root).is_empty());
    });
}
