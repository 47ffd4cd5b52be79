//! The unprivileged path, for real: the test-only `mount_cycle` example runs as user
//! nobody (65534) via `setpriv`, mounting through fusermount3 and unmounting with
//! `fusermount3 -u -z`, and strict mode refuses with a message naming the cause.
//!
//! fusermount3 opens /dev/fuse as the calling user, so /dev/fuse must be world-usable
//! (0666, as udev normally makes it). If it is not, these tests make it so for their
//! duration and restore the old mode afterwards.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{can_mount, example_binary, have_fusermount, mounts_under, Deadline, TestDir};

const NOBODY: u32 = 65534;
static SERIAL: Mutex<()> = Mutex::new(());

/// Makes /dev/fuse 0666 while alive, restoring the previous mode on drop.
struct DevFuseOpen {
    old_mode: Option<u32>,
}

impl DevFuseOpen {
    fn new() -> Self {
        let mode = std::fs::metadata("/dev/fuse").unwrap().permissions().mode() & 0o7777;
        if mode & 0o006 == 0o006 {
            return Self { old_mode: None };
        }
        std::fs::set_permissions("/dev/fuse", std::fs::Permissions::from_mode(0o666)).unwrap();
        Self {
            old_mode: Some(mode),
        }
    }
}

impl Drop for DevFuseOpen {
    fn drop(&mut self) {
        if let Some(mode) = self.old_mode {
            let _ = std::fs::set_permissions("/dev/fuse", std::fs::Permissions::from_mode(mode));
        }
    }
}

fn have_setpriv(test: &str) -> bool {
    if Path::new("/usr/bin/setpriv").exists() || Path::new("/bin/setpriv").exists() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: needs setpriv (util-linux), and CI=true forbids skipping");
    }
    eprintln!("SKIPPED {test}: needs setpriv");
    false
}

/// A temp dir holding a copy of the driver (so nobody can execute it wherever the
/// build lives) and a mountpoint owned by nobody.
fn setup(dir: &TestDir) -> (PathBuf, PathBuf) {
    let driver = dir.path().join("mount_cycle");
    std::fs::copy(example_binary("mount_cycle"), &driver).unwrap();
    std::fs::set_permissions(&driver, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mnt = dir.subdir("mnt");
    std::os::unix::fs::chown(&mnt, Some(NOBODY), Some(NOBODY)).unwrap();
    (driver, mnt)
}

/// Runs the driver as nobody; returns (success, stdout). Kills it after `limit`.
fn run_as_nobody(driver: &Path, mode: &str, mnt: &Path, limit: Duration) -> (bool, String) {
    let mut child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(driver)
        .arg(mode)
        .arg(mnt)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run setpriv");
    let end = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mount_cycle {mode} as nobody hung for {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    (status.success(), out)
}

fn preconditions(test: &str) -> bool {
    can_mount(test) && have_fusermount(test) && have_setpriv(test)
}

#[test]
fn nobody_mounts_and_unmounts_through_fusermount3() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let name = "nobody_mounts_and_unmounts_through_fusermount3";
    if !preconditions(name) {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new(name, Duration::from_secs(60), dir.path());
    let _dev = DevFuseOpen::new();
    let (driver, mnt) = setup(&dir);
    let (ok, out) = run_as_nobody(&driver, "auto", &mnt, Duration::from_secs(30));
    assert!(ok, "driver failed:\n{out}");
    assert!(out.contains("method=Fusermount\n"), "{out}");
    assert!(out.contains("connection_id=Some("), "{out}");
    assert!(out.contains("mounted=true\n"), "{out}");
    assert!(out.contains("unmounted=true\n"), "{out}");
    assert!(mounts_under(dir.path()).is_empty());
}

#[test]
fn nobody_unmounts_a_dead_mount() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let name = "nobody_unmounts_a_dead_mount";
    if !preconditions(name) {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new(name, Duration::from_secs(60), dir.path());
    let _dev = DevFuseOpen::new();
    let (driver, mnt) = setup(&dir);
    let (ok, out) = run_as_nobody(&driver, "dead", &mnt, Duration::from_secs(30));
    assert!(ok, "driver failed:\n{out}");
    assert!(
        out.contains("mounted=true\n") && out.contains("unmounted=true\n"),
        "{out}"
    );
    assert!(mounts_under(dir.path()).is_empty());
}

#[test]
fn nobody_in_strict_mode_is_told_why() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let name = "nobody_in_strict_mode_is_told_why";
    if !preconditions(name) {
        return;
    }
    let dir = TestDir::new();
    let _deadline = Deadline::new(name, Duration::from_secs(60), dir.path());
    let (driver, mnt) = setup(&dir);
    let (ok, out) = run_as_nobody(&driver, "strict", &mnt, Duration::from_secs(30));
    assert!(ok, "driver failed:\n{out}");
    let expected = format!(
        "error=strict mount of {} refused: mount(2) needs CAP_SYS_ADMIN (you are uid 65534); \
         strict mode forbids the fusermount3 fallback\n",
        mnt.display()
    );
    assert!(out.contains(&expected), "{out}");
    assert!(out.contains("mounted=false\n"), "{out}");
    assert!(mounts_under(dir.path()).is_empty());
}
