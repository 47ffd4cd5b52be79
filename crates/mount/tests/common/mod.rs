//! Shared test scaffolding: environment checks (root, /dev/fuse, fusermount3), a deadline
//! that turns a hang into a failure, temp dirs that never leave a mount behind, an
//! unmount-on-drop guard, and the paths of this crate's test-only example binaries.
#![allow(dead_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fusekit_mount::{fuse_mounts, MountInfo, Unmounter};

/// True when mounting tests can run (CAP_SYS_ADMIN and /dev/fuse). Under CI=true a
/// missing requirement fails the test; otherwise it is skipped with the reason printed.
pub fn can_mount(test: &str) -> bool {
    let reason = if !fusekit_mount::is_privileged() {
        "needs root (CAP_SYS_ADMIN)"
    } else if !Path::new("/dev/fuse").exists() {
        "needs /dev/fuse"
    } else {
        return true;
    };
    skip_or_fail(test, reason)
}

/// True when fusermount3 is in PATH (see [`can_mount`] for CI behaviour).
pub fn have_fusermount(test: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("fusermount3").is_file()))
        .unwrap_or(false);
    found || skip_or_fail(test, "needs fusermount3 in PATH (apt-get install fuse3)")
}

fn skip_or_fail(test: &str, reason: &str) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {reason}, and CI=true forbids skipping");
    }
    eprintln!("SKIPPED {test}: {reason}");
    false
}

/// An fsname unique to this test process, so other processes' mounts never confuse us.
pub fn test_fsname() -> String {
    format!("fusekit-test-{}", std::process::id())
}

/// Lazily detaches every FUSE mount at or below `base` (a safety net, root only).
pub fn detach_all_under(base: &Path) {
    if let Ok(mounts) = fuse_mounts() {
        for m in mounts
            .iter()
            .rev()
            .filter(|m| m.mount_point.starts_with(base))
        {
            let _ = rustix::mount::unmount(&m.mount_point, rustix::mount::UnmountFlags::DETACH);
        }
    }
}

/// FUSE mounts at or below `base`.
pub fn mounts_under(base: &Path) -> Vec<MountInfo> {
    fuse_mounts()
        .expect("read mountinfo")
        .into_iter()
        .filter(|m| m.mount_point.starts_with(base))
        .collect()
}

/// Fails the whole test process if it is still running after `limit`: a hang must not
/// pass silently or stall the run. Mounts under `base` are detached first.
pub struct Deadline {
    done: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Deadline {
    pub fn new(test: &str, limit: Duration, base: &Path) -> Self {
        let (done, rx) = mpsc::channel::<()>();
        let test = test.to_string();
        let base = base.to_path_buf();
        let thread = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                // Straight to fd 2: the harness's output capture would swallow eprintln!.
                let _ = writeln!(
                    std::io::stderr(),
                    "DEADLINE: {test} still running after {limit:?}; aborting the test process"
                );
                detach_all_under(&base);
                std::process::abort();
            }
        });
        Self {
            done: Some(done),
            thread: Some(thread),
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A temp dir (0755, canonical path) whose drop first detaches any FUSE mount left below
/// it, so removing it can never walk into an unserved mount.
pub struct TestDir {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("fusekit-mount-test-")
            .tempdir_in("/tmp")
            .expect("create temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::fs::canonicalize(dir.path()).unwrap();
        Self { path, _dir: dir }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates and returns a fresh subdirectory.
    pub fn subdir(&self, name: &str) -> PathBuf {
        let p = self.path.join(name);
        std::fs::create_dir(&p).unwrap();
        p
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let left = mounts_under(&self.path);
        detach_all_under(&self.path);
        if !left.is_empty() && !std::thread::panicking() {
            panic!("mounts left behind under {}: {left:?}", self.path.display());
        }
    }
}

/// Unmounts on drop (and checks nothing: the tests check).
pub struct Guard(pub Unmounter);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = self.0.unmount() {
            eprintln!(
                "guard: unmount of {} failed: {e}",
                self.0.mountpoint().display()
            );
        }
    }
}

/// Polls `cond` every 10 ms until it holds or `limit` passes.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Numbers of this process's open fds.
pub fn open_fds() -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    // One of them was read_dir's own fd, now closed: keep only fds still open.
    fds.retain(|fd| std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok());
    fds
}

/// Path of one of this crate's example binaries (cargo test builds examples).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} missing: run the tests with `cargo test -p fusekit-mount` (it builds examples)",
        path.display()
    );
    path
}
