//! The async adapter through the kernel: every common op of an async memory filesystem (with
//! and without latency, i.e. answered inline and from the runtime), INTERRUPT dropping the
//! future with EINTR for the caller, the deadline answering EIO with one warning, the
//! in-flight limit bounding live futures, and INTERRUPT still served while workers wait at
//! the limit.

mod async_util;
#[path = "../../../examples/asyncmem.rs"]
mod asyncmem;
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use async_util::{Probe, Waiting};
use common::{require_kernel, with_deadline, LogCounter, TestMount};
use fusekit::asyncfs::{AsyncAdapter, AsyncConfig, AsyncFilesystem, AsyncStatsHandle};
use fusekit::{Errno, MountOptions};
use rustix::fs::XattrFlags;

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn mount<F: AsyncFilesystem>(
    fs: F,
    config: AsyncConfig,
    workers: Option<usize>,
) -> (TestMount, AsyncStatsHandle) {
    let adapter = AsyncAdapter::new(fs, config).expect("build the adapter");
    let stats = adapter.stats();
    (
        TestMount::with_workers(adapter, &MountOptions::new(), workers),
        stats,
    )
}

/// Like [`mount`], always over /dev/fuse: for the tests of /dev/fuse workers waiting at the
/// in-flight limit (over io_uring the thread that reads a request is its CPU's queue thread,
/// and which queue a request lands on depends on the caller's CPU).
fn mount_dev<F: AsyncFilesystem>(
    fs: F,
    config: AsyncConfig,
    workers: Option<usize>,
) -> (TestMount, AsyncStatsHandle) {
    let adapter = AsyncAdapter::new(fs, config).expect("build the adapter");
    let stats = adapter.stats();
    let mount = TestMount::with_transport(
        adapter,
        &MountOptions::new(),
        workers,
        fusekit::Transport::Dev,
    );
    (mount, stats)
}

fn sorted_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Create, write, read, mkdir, readdir, rename, setattr (chmod, truncate, utimes), xattrs,
/// symlink, unlink, rmdir — each checked through the kernel.
fn exercise(root: &Path) {
    let file = root.join("a.txt");
    std::fs::write(&file, b"hello async").unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"hello async");
    std::fs::create_dir(root.join("d")).unwrap();
    let moved = root.join("d/b.txt");
    std::fs::rename(&file, &moved).unwrap();
    assert!(!file.exists());
    assert_eq!(sorted_names(&root.join("d")), ["b.txt"]);
    assert_eq!(sorted_names(root), ["d"]);

    std::fs::set_permissions(&moved, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        std::fs::metadata(&moved).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    let handle = std::fs::OpenOptions::new()
        .write(true)
        .open(&moved)
        .unwrap();
    handle.set_len(5).unwrap();
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    handle.set_modified(when).unwrap();
    drop(handle);
    let meta = std::fs::metadata(&moved).unwrap();
    assert_eq!(meta.len(), 5);
    assert_eq!(meta.modified().unwrap(), when);
    assert_eq!(std::fs::read(&moved).unwrap(), b"hello");

    rustix::fs::setxattr(&moved, "user.k", b"value", XattrFlags::empty()).unwrap();
    assert_eq!(
        rustix::fs::setxattr(&moved, "user.k", b"x", XattrFlags::CREATE),
        Err(Errno::EXIST)
    );
    let mut buf = [0u8; 64];
    assert_eq!(xattr_size(&moved, "user.k"), 5, "size query");
    let n = rustix::fs::getxattr(&moved, "user.k", &mut buf).unwrap();
    assert_eq!(&buf[..n], b"value");
    assert_eq!(
        rustix::fs::getxattr(&moved, "user.k", &mut buf[..2]),
        Err(Errno::RANGE),
        "value larger than the buffer"
    );
    let n = rustix::fs::listxattr(&moved, &mut buf).unwrap();
    assert_eq!(&buf[..n], b"user.k\0");
    rustix::fs::removexattr(&moved, "user.k").unwrap();
    assert_eq!(
        rustix::fs::getxattr(&moved, "user.k", &mut buf),
        Err(Errno::NODATA)
    );

    std::os::unix::fs::symlink("d/b.txt", root.join("ln")).unwrap();
    assert_eq!(
        std::fs::read_link(root.join("ln")).unwrap(),
        PathBuf::from("d/b.txt")
    );
    assert_eq!(std::fs::read(root.join("ln")).unwrap(), b"hello");

    assert_eq!(
        std::fs::remove_dir(root.join("d"))
            .unwrap_err()
            .raw_os_error(),
        Some(libc::ENOTEMPTY)
    );
    std::fs::remove_file(&moved).unwrap();
    std::fs::remove_file(root.join("ln")).unwrap();
    std::fs::remove_dir(root.join("d")).unwrap();
    assert!(sorted_names(root).is_empty());
}

/// getxattr(2) with an empty buffer: the value's size (rustix answers the bytes copied).
fn xattr_size(path: &Path, name: &str) -> isize {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let name = std::ffi::CString::new(name).unwrap();
    // SAFETY: both strings are NUL-terminated; a null buffer of size 0 asks for the size.
    unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) }
}

fn ops_through_kernel(latency: Duration) {
    let fs = asyncmem::AsyncMem::new(0, 0, latency);
    // The waiting run uses a runtime the test owns, the other one the adapter builds.
    let own = fusekit::asyncfs::tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let config = if latency.is_zero() {
        AsyncConfig::new().worker_threads(2)
    } else {
        AsyncConfig::new().handle(own.handle().clone())
    };
    let (mount, stats) = mount(fs, config, None);
    exercise(mount.path());
    mount.finish();
    drop(own);
    // After the unmount: RELEASE is sent after close(2) returns and may still be in flight.
    let s = stats.snapshot();
    assert!(s.started > 20, "{s:?}");
    if latency.is_zero() {
        assert_eq!(
            s.finished_inline, s.started,
            "nothing waits: all inline {s:?}"
        );
    } else {
        // Only the handlers that do not touch the state (flush, release, releasedir) do not
        // wait the latency.
        assert!(
            s.finished_inline < s.started / 4,
            "most wait: not inline {s:?}"
        );
    }
    assert_eq!((s.interrupted, s.expired, s.in_flight), (0, 0, 0), "{s:?}");
}

#[test]
fn async_memfs_ops_answered_inline() {
    if !require_kernel("async_memfs_ops_answered_inline") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        ops_through_kernel(Duration::ZERO)
    });
}

#[test]
fn async_memfs_ops_answered_from_the_runtime() {
    if !require_kernel("async_memfs_ops_answered_from_the_runtime") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        ops_through_kernel(Duration::from_millis(2))
    });
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a SIGUSR1 handler without SA_RESTART, so a blocked read(2) returns EINTR.
fn install_sigusr1() {
    // SAFETY: installs a handler that does nothing; test process only.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
}

/// Starts a thread that reads `block` (a READ that waits forever); returns it and its
/// pthread id once the READ reached the handler.
fn start_blocked_read(
    root: &Path,
    probe: &Probe,
) -> (JoinHandle<Result<usize, Errno>>, libc::pthread_t) {
    let path = root.join("block");
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
    wait_for("the READ to reach the handler", || {
        probe.reads_started.load(Ordering::SeqCst) == 1
    });
    (reader, tid)
}

fn waiting_fs(getattr_wait: Duration) -> (Waiting, Arc<Probe>) {
    let probe = Arc::new(Probe::default());
    let fs = Waiting {
        probe: Arc::clone(&probe),
        getattr_wait,
    };
    (fs, probe)
}

#[test]
fn interrupt_drops_the_future_and_the_caller_gets_eintr() {
    if !require_kernel("interrupt_drops_the_future_and_the_caller_gets_eintr") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        install_sigusr1();
        let (fs, probe) = waiting_fs(Duration::ZERO);
        let (mount, stats) = mount(fs, AsyncConfig::new().worker_threads(2), None);
        let (reader, tid) = start_blocked_read(mount.path(), &probe);
        assert!(!probe.read_dropped.load(Ordering::SeqCst));
        // SAFETY: `tid` is a live thread of this process (it is blocked in read).
        assert_eq!(unsafe { libc::pthread_kill(tid, libc::SIGUSR1) }, 0);
        assert_eq!(
            reader.join().unwrap(),
            Err(Errno::INTR),
            "the caller sees EINTR"
        );
        assert!(
            probe.read_dropped.load(Ordering::SeqCst),
            "the READ's future was dropped before the answer"
        );
        assert_eq!(probe.alive.load(Ordering::SeqCst), 0);
        let s = stats.snapshot();
        assert_eq!((s.interrupted, s.expired), (1, 0), "{s:?}");
        let session = mount.finish();
        assert!(session.interrupts >= 1, "{session:?}");
    });
}

#[test]
fn deadline_answers_eio_and_logs_one_warning() {
    if !require_kernel("deadline_answers_eio_and_logs_one_warning") {
        return;
    }
    let log = LogCounter::install();
    with_deadline(Duration::from_secs(60), move || {
        let (fs, probe) = waiting_fs(Duration::ZERO);
        let limit = Duration::from_millis(300);
        let config = AsyncConfig::new().worker_threads(2).deadline(limit);
        let (mount, stats) = mount(fs, config, None);
        let started = Instant::now();
        let file = std::fs::File::open(mount.path().join("block")).unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(rustix::io::read(&file, &mut buf), Err(Errno::IO));
        let took = started.elapsed();
        assert!(took >= limit, "answered after {took:?}");
        assert!(probe.read_dropped.load(Ordering::SeqCst));
        drop(file);
        let s = stats.snapshot();
        assert_eq!((s.expired, s.interrupted), (1, 0), "{s:?}");
        mount.finish();
        let lines: Vec<String> = log
            .messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.contains("passed its deadline"))
            .cloned()
            .collect();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = &lines[0];
        assert!(line.starts_with("WARN"), "{line}");
        assert!(line.contains("opcode=\"READ\""), "{line}");
        let waited: u64 = line
            .split("waited_ms=")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no waited_ms in {line}"));
        assert!((300..5000).contains(&waited), "{line}");
    });
}

/// Stats `fN` files from `callers` threads, `rounds` times each; returns the time taken.
fn stat_storm(root: &Path, callers: u64, rounds: usize) -> Duration {
    let started = Instant::now();
    let threads: Vec<_> = (0..callers)
        .map(|i| {
            let path = root.join(format!("f{i}"));
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    std::fs::metadata(&path).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    started.elapsed()
}

#[test]
fn limit_bounds_live_futures() {
    if !require_kernel("limit_bounds_live_futures") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        const LIMIT: usize = 4;
        let (fs, probe) = waiting_fs(Duration::from_millis(20));
        let config = AsyncConfig::new()
            .worker_threads(2)
            .max_in_flight(LIMIT)
            .waiting_workers(1);
        let (mount, stats) = mount(fs, config, Some(2));
        let took = stat_storm(mount.path(), 32, 3);
        let s = stats.snapshot();
        mount.finish();
        eprintln!("32 callers x 3 stats, limit {LIMIT}: {took:?}, {s:?}");
        assert_eq!(
            probe.peak.load(Ordering::SeqCst),
            LIMIT,
            "never more than the limit alive, and the limit was reached"
        );
        assert!(s.peak_in_flight <= LIMIT, "{s:?}");
        assert!(s.limit_reached > 0 && s.worker_waits > 0, "{s:?}");
        // 96 GETATTRs of 20 ms, at most 4 at a time.
        assert!(
            took >= Duration::from_millis(96 * 20 / LIMIT as u64),
            "{took:?}"
        );
    });
}

#[test]
fn interrupt_is_served_while_a_worker_waits_at_the_limit() {
    if !require_kernel("interrupt_is_served_while_a_worker_waits_at_the_limit") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        install_sigusr1();
        let (fs, probe) = waiting_fs(Duration::ZERO);
        let config = AsyncConfig::new()
            .worker_threads(2)
            .max_in_flight(1)
            .waiting_workers(1);
        let (mount, stats) = mount_dev(fs, config, Some(2));
        // The READ holds the only room.
        let (reader, tid) = start_blocked_read(mount.path(), &probe);
        let stat = |name: &str| {
            let path = mount.path().join(name);
            std::thread::spawn(move || std::fs::metadata(path).map(|_| ()))
        };
        // One worker waits for room with this LOOKUP ...
        let first = stat("f0");
        wait_for("a worker to wait for room", || {
            stats.snapshot().worker_waits == 1
        });
        // ... the other queues this one on the runtime and goes back to reading.
        let second = stat("f1");
        wait_for("a request to be queued", || stats.snapshot().queued == 1);
        // SAFETY: `tid` is a live thread of this process (it is blocked in read).
        assert_eq!(unsafe { libc::pthread_kill(tid, libc::SIGUSR1) }, 0);
        assert_eq!(reader.join().unwrap(), Err(Errno::INTR));
        assert!(probe.read_dropped.load(Ordering::SeqCst));
        first.join().unwrap().unwrap();
        second.join().unwrap().unwrap();
        assert_eq!(probe.peak.load(Ordering::SeqCst), 1);
        mount.finish();
    });
}

#[test]
fn forget_is_served_while_a_worker_waits_at_the_limit() {
    if !require_kernel("forget_is_served_while_a_worker_waits_at_the_limit") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        install_sigusr1();
        let (fs, probe) = waiting_fs(Duration::ZERO);
        let config = AsyncConfig::new()
            .worker_threads(2)
            .max_in_flight(1)
            .waiting_workers(1);
        let (mount, stats) = mount_dev(fs, config, Some(2));
        std::fs::metadata(mount.path().join("f5")).unwrap();
        // Looked up now, so that the stat below waits in GETATTR, not in a LOOKUP: a LOOKUP
        // holds the root directory's lock, which the entry invalidation below needs.
        std::fs::metadata(mount.path().join("f0")).unwrap();
        let (reader, tid) = start_blocked_read(mount.path(), &probe);
        let path = mount.path().join("f0");
        let waiting = std::thread::spawn(move || std::fs::metadata(path).map(|_| ()));
        wait_for("a worker to wait for room", || {
            stats.snapshot().worker_waits == 1
        });
        // Dropping the unused dentry of f5 evicts its inode: the kernel sends FORGET, which
        // the worker that is not waiting reads and serves although there is no room.
        let before = probe.forgets.load(Ordering::SeqCst);
        mount
            .session()
            .notifier()
            .inval_entry(fusekit::ROOT_ID, std::ffi::OsStr::new("f5"))
            .unwrap();
        wait_for("the FORGET of f5", || {
            probe.forgets.load(Ordering::SeqCst) > before
        });
        assert_eq!(stats.snapshot().in_flight, 1, "the room was still taken");
        // SAFETY: `tid` is a live thread of this process (it is blocked in read).
        assert_eq!(unsafe { libc::pthread_kill(tid, libc::SIGUSR1) }, 0);
        assert_eq!(reader.join().unwrap(), Err(Errno::INTR));
        waiting.join().unwrap().unwrap();
        mount.finish();
    });
}

#[test]
fn init_and_destroy_run_even_from_inside_a_runtime() {
    if !require_kernel("init_and_destroy_run_even_from_inside_a_runtime") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let (fs, probe) = waiting_fs(Duration::ZERO);
        // A session started and ended by async code: blocking on init/destroy must not
        // panic with "cannot start a runtime from within a runtime".
        let outer = fusekit::asyncfs::tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let probe2 = Arc::clone(&probe);
        outer.block_on(async move {
            let (mount, _stats) = mount(fs, AsyncConfig::new().worker_threads(1), None);
            assert!(
                probe2.inited.load(Ordering::SeqCst),
                "init ran before serving"
            );
            std::fs::metadata(mount.path().join("f0")).unwrap();
            mount.finish();
        });
        assert!(
            probe.destroyed.load(Ordering::SeqCst),
            "destroy ran at the end"
        );
    });
}
