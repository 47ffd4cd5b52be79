//! Shared test helpers: a fresh tmpfs mounted on a temp dir (unmounted by a guard), the
//! root/CI policy, and a deadline so a hang fails the test instead of the run.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// A tmpfs mounted on a fresh temp dir; unmounted (lazily, so it cannot hang) on drop.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs with `data` options (e.g. "size=64k", "ro", "noexec").
    pub fn mount(data: &str, flags: rustix::mount::MountFlags) -> Tmpfs {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = std::ffi::CString::new(format!("mode=0755,{data}")).expect("options");
        rustix::mount::mount(
            "fusekit-check-test",
            dir.path(),
            "tmpfs",
            flags,
            data.as_c_str(),
        )
        .expect("mount tmpfs");
        Tmpfs { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(self.dir.path(), rustix::mount::UnmountFlags::DETACH);
    }
}

/// True when the test may mount; otherwise prints why it is skipped (and panics under CI=true).
pub fn can_mount(test: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    let reason = format!("{test}: skipped, mounting a tmpfs needs root");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{reason} (CI=true requires it)");
    }
    eprintln!("{reason}");
    false
}

/// Runs `f` on a thread and fails the test if it takes longer than `secs`.
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {secs} s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("test body panicked"),
    }
}

/// Options for `dir` with a short race time.
pub fn opts(dir: &Path, only: &[&str]) -> fusekit_check::CheckOptions {
    let mut o = fusekit_check::CheckOptions::new(dir);
    o.only = only.iter().map(|s| s.to_string()).collect();
    o.race_seconds = 1.0;
    o.seed = 42;
    o
}

/// Entries of `dir` (to prove the suite cleaned up after itself).
pub fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect()
}
