//! Crash clean-up: a daemon killed with SIGKILL leaves no mount behind when it was mounted
//! with auto_unmount (fusermount3 notices and unmounts), and otherwise leaves a dead mount
//! (ENOTCONN) that `fusekit unmount` removes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

fn require_root_and_fusermount(test: &str) -> bool {
    let root = rustix::process::geteuid().is_root() && Path::new("/dev/fuse").exists();
    let fusermount = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("fusermount3").exists()))
        .unwrap_or(false);
    if root && fusermount {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: needs root, /dev/fuse and fusermount3 (CI=true: must not skip)");
    }
    eprintln!("SKIPPED {test}: needs root, /dev/fuse and fusermount3");
    false
}

fn is_mounted(path: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let p = path.to_string_lossy();
    info.lines().any(|l| l.split(' ').nth(4) == Some(&*p))
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `fusekit mount hello DIR extra...` and returns it once mounted.
fn start(dir: &Path, extra: &[&str]) -> std::process::Child {
    let child = Command::new(BIN)
        .args(["mount", "hello"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the daemon mounted", Duration::from_secs(20), || {
        is_mounted(dir)
    });
    child
}

struct Cleanup<'a>(&'a Path);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if is_mounted(self.0) {
            let _ = Command::new(BIN).arg("unmount").arg(self.0).output();
        }
    }
}

#[test]
fn sigkill_with_auto_unmount_leaves_no_mount() {
    if !require_root_and_fusermount("sigkill_with_auto_unmount_leaves_no_mount") {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("fusekit-crash-")
        .tempdir()
        .unwrap();
    let _cleanup = Cleanup(dir.path());
    let mut child = start(dir.path(), &["-o", "auto_unmount"]);
    assert!(std::fs::read(dir.path().join("hello.txt")).is_ok());
    child.kill().unwrap();
    child.wait().unwrap();
    wait_until(
        "fusermount3 removed the mount",
        Duration::from_secs(20),
        || !is_mounted(dir.path()),
    );
}

#[test]
fn sigkill_without_auto_unmount_then_fusekit_unmount() {
    if !require_root_and_fusermount("sigkill_without_auto_unmount_then_fusekit_unmount") {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("fusekit-crash-")
        .tempdir()
        .unwrap();
    let _cleanup = Cleanup(dir.path());
    let mut child = start(dir.path(), &[]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        is_mounted(dir.path()),
        "without auto_unmount the dead mount stays"
    );
    let err = std::fs::metadata(dir.path().join("hello.txt")).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(libc_enotconn()),
        "dead mount answers ENOTCONN"
    );
    let out = Command::new(BIN)
        .arg("unmount")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!is_mounted(dir.path()));
}

fn libc_enotconn() -> i32 {
    rustix::io::Errno::NOTCONN.raw_os_error()
}
