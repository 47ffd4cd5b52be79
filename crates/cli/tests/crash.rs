//! Crash clean-up: a daemon killed with SIGKILL leaves no mount behind when it was mounted
//! with auto_unmount (fusermount3 notices and unmounts), and otherwise leaves a dead mount
//! (ENOTCONN) that `fusekit unmount` removes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

mod daemon_transport;

fn is_mounted(path: &Path) -> bool {
    fusekit_testkit::access::mountinfo_line(path).is_some()
}

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

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `fusekit mount hello DIR extra...` over the test transport (or over /dev/fuse when
/// `pin_dev`), and returns it once mounted and once a request through the mount was served
/// over that transport (proved with the kernel's fdinfo of the daemon's rings).
fn start(dir: &Path, extra: &[&str], pin_dev: bool) -> std::process::Child {
    let transport = if pin_dev {
        ["--transport", "dev"]
    } else {
        daemon_transport::args()
    };
    let child = Command::new(BIN)
        .args(["mount", "hello"])
        .arg(dir)
        .args(extra)
        .args(transport)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the daemon mounted", Duration::from_secs(20), || {
        is_mounted(dir)
    });
    // A LOOKUP answered ENOENT: proves the transport without caching anything the tests then
    // expect the dead mount to refuse.
    assert!(std::fs::metadata(dir.join("no-such-file")).is_err());
    daemon_transport::assert_served_over(child.id(), !pin_dev && daemon_transport::over_uring());
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
    // Pinned to /dev/fuse: over io_uring fusermount3 leaves the dead mount behind. Its
    // auto_unmount watcher unmounts only when opening the mount point fails with ENOTCONN, and
    // it looks right when the daemon's socket closes — before the kernel has torn down the dead
    // daemon's rings, so its open fails ECONNABORTED instead (see
    // `daemon_transport::assert_dead_mount`) and it exits without unmounting.
    let mut child = start(dir.path(), &["-o", "auto_unmount"], true);
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
    let _uring_param = daemon_transport::param_for_test_transport("sigkill_without_auto_unmount");
    let mut child = start(dir.path(), &[], false);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        is_mounted(dir.path()),
        "without auto_unmount the dead mount stays"
    );
    daemon_transport::assert_dead_mount(&dir.path().join("hello.txt"), "after SIGKILL");
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
