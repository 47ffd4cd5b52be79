//! Start-up failure paths against the real kernel (root, /dev/fuse and the `enable_uring`
//! parameter needed; skipped otherwise, failing under CI=true): REGISTER is made to fail for
//! real by registering payload buffers smaller than the kernel's minimum. `Transport::Uring`
//! must then fail naming REGISTER and leave no mount; `Transport::Auto` must switch the
//! connection back to /dev/fuse and serve. And the thread that starts a session is left
//! without io_uring task work (no ring it used is torn down under it): the preflight, a
//! session over io_uring, and a fall back to /dev/fuse each leave it waiting undisturbed.

use std::path::Path;
use std::sync::Mutex;

use fusekit_mount::MountOptions;

use super::{Session, SessionError, Transport};
use crate::lowlevel::Filesystem;
use crate::transport::uring::ENABLE_URING_PARAM;

/// Answers GETATTR of the root only.
struct Empty;
impl Filesystem for Empty {
    fn getattr(
        &self,
        _req: &crate::Request<'_>,
        ino: crate::Ino,
        _fh: Option<u64>,
        reply: crate::ReplyAttr,
    ) {
        let attr = crate::FileAttr {
            ino,
            mode: crate::FileType::Directory.mode_bits() | 0o755,
            nlink: 2,
            ..Default::default()
        };
        reply.attr(&attr, std::time::Duration::ZERO)
    }
}

/// Holds enable_uring=Y for the duration, restoring the old value (one test at a time).
struct ParamY {
    previous: String,
    _lock: std::sync::MutexGuard<'static, ()>,
}

fn param_y(test: &str) -> Option<ParamY> {
    static LOCK: Mutex<()> = Mutex::new(());
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let root = rustix::process::geteuid().is_root();
    let ready = root && Path::new("/dev/fuse").exists() && Path::new(ENABLE_URING_PARAM).exists();
    if !ready {
        assert!(
            !(ci && root && Path::new("/dev/fuse").exists() && kernel_at_least(6, 14)),
            "{test}: {ENABLE_URING_PARAM} missing on a kernel >= 6.14 (CI=true)"
        );
        assert!(!ci || root, "{test}: needs root (CI=true)");
        eprintln!("SKIPPED {test}: needs root, /dev/fuse and {ENABLE_URING_PARAM}");
        return None;
    }
    let lock = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let previous = std::fs::read_to_string(ENABLE_URING_PARAM).unwrap();
    std::fs::write(ENABLE_URING_PARAM, "Y").unwrap();
    Some(ParamY {
        previous: previous.trim().to_string(),
        _lock: lock,
    })
}

impl Drop for ParamY {
    fn drop(&mut self) {
        let _ = std::fs::write(ENABLE_URING_PARAM, &self.previous);
    }
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy().into_owned();
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let v: (u32, u32) = (
        it.next().and_then(|s| s.parse().ok()).unwrap_or(0),
        it.next().and_then(|s| s.parse().ok()).unwrap_or(0),
    );
    v >= (major, minor)
}

fn mounted_at(dir: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.to_string_lossy();
    info.lines().any(|l| l.split(' ').nth(4) == Some(&*dir))
}

fn session(dir: &Path, transport: Transport) -> Session<Empty> {
    let mut s = Session::mount(Empty, dir, &MountOptions::new().fsname("uring-unit"))
        .expect("mount")
        .transport(transport);
    s.uring_options_mut().payload_shortfall = 4096;
    s
}

#[test]
fn refused_register_fails_strict_and_falls_back_in_auto() {
    let Some(_param) = param_y("refused_register_fails_strict_and_falls_back_in_auto") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    let err = session(dir.path(), Transport::Uring)
        .spawn()
        .expect_err("REGISTER with short buffers must fail");
    assert!(matches!(err, SessionError::UringUnavailable(_)), "{err:?}");
    assert!(err.to_string().contains("REGISTER"), "{err}");
    assert!(!mounted_at(dir.path()), "failed start leaves no mount");

    let bg = session(dir.path(), Transport::Auto)
        .spawn()
        .expect("Auto falls back");
    assert_eq!(bg.transport_in_use(), Transport::Dev);
    // Requests flow over /dev/fuse although INIT enabled io_uring.
    let meta = std::fs::metadata(dir.path()).expect("stat over /dev/fuse");
    assert!(meta.is_dir());
    assert!(bg.stats().requests >= 1);
    bg.unmount_and_join().expect("clean end");
    assert!(!mounted_at(dir.path()));
}

/// Waits up to `limit` on an epoll set with nothing in it, on the calling thread. Returns
/// false when the wait ended early with EINTR. No signal is sent to this thread, so EINTR can
/// only come from kernel task work queued with TWA_SIGNAL: what io_uring does to every thread
/// that created or submitted to a ring when that ring is torn down (`io_ring_exit_work`, one
/// RCU grace period or more after the ring's last close). A FUSE request blocked on such a
/// thread takes that for a signal and is sent FUSE_INTERRUPT; epoll_wait(2) returns EINTR
/// (it is never restarted).
fn wait_undisturbed(limit: std::time::Duration) -> bool {
    use rustix::event::epoll;
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC).expect("epoll_create");
    let started = std::time::Instant::now();
    let timeout = rustix::time::Timespec::try_from(limit).unwrap();
    let mut events = Vec::with_capacity(1);
    match epoll::wait(
        &ep,
        rustix::buffer::spare_capacity(&mut events),
        Some(&timeout),
    ) {
        Ok(_) => {
            assert!(events.is_empty(), "an empty epoll set had events");
            true
        }
        Err(rustix::io::Errno::INTR) => {
            eprintln!("epoll_wait interrupted after {:?}", started.elapsed());
            false
        }
        Err(e) => panic!("epoll_wait: {e}"),
    }
}

/// How long a test waits for io_uring's teardown task work to show up (it comes within
/// milliseconds on an idle machine).
const TEARDOWN_WINDOW: std::time::Duration = std::time::Duration::from_millis(1500);

#[test]
fn preflight_leaves_no_ring_task_work_on_the_calling_thread() {
    let Some(_param) = param_y("preflight_leaves_no_ring_task_work_on_the_calling_thread") else {
        return;
    };
    crate::transport::uring::preflight(&Default::default()).expect("a ring can be created");
    assert!(
        wait_undisturbed(TEARDOWN_WINDOW),
        "the preflight's ring, torn down, woke this thread as if signalled"
    );
}

#[test]
fn starting_over_io_uring_leaves_no_ring_task_work_on_the_calling_thread() {
    let Some(_param) =
        param_y("starting_over_io_uring_leaves_no_ring_task_work_on_the_calling_thread")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bg = Session::mount(Empty, dir.path(), &MountOptions::new().fsname("uring-unit"))
        .expect("mount")
        .transport(Transport::Uring)
        .spawn()
        .expect("start over io_uring");
    assert_eq!(bg.transport_in_use(), Transport::Uring);
    let undisturbed = wait_undisturbed(TEARDOWN_WINDOW);
    bg.unmount_and_join().expect("clean end");
    assert!(
        undisturbed,
        "the thread that started the session was woken as if signalled: a ring it created was torn down"
    );
}

#[test]
fn falling_back_to_dev_fuse_leaves_no_ring_task_work_on_the_calling_thread() {
    let Some(_param) =
        param_y("falling_back_to_dev_fuse_leaves_no_ring_task_work_on_the_calling_thread")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bg = session(dir.path(), Transport::Auto)
        .spawn()
        .expect("Auto falls back");
    assert_eq!(bg.transport_in_use(), Transport::Dev);
    let undisturbed = wait_undisturbed(TEARDOWN_WINDOW);
    bg.unmount_and_join().expect("clean end");
    assert!(
        undisturbed,
        "the thread that started the session was woken as if signalled: a ring it created was torn down"
    );
}
