//! What an acknowledged write of `fusekit mount passthrough` means when the daemon dies
//! (README, "Durability"): without the writeback cache, data that write(2) returned for is in
//! the source file (with kernel passthrough the kernel wrote it there itself; without, the
//! daemon's pwrite did) and survives a SIGKILL of the daemon; with the writeback cache it
//! may sit in the mount's page cache until close, fsync or writeback — after fsync it is in
//! the source and survives too. The dead mount answers ENOTCONN and is then unmounted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod daemon_transport;

fn is_mounted(path: &Path) -> bool {
    fusekit_testkit::access::mountinfo_line(path).is_some()
}

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");
const DATA: &[u8] = b"acknowledged by write(2) before the daemon died\n";

/// `fusekit mount passthrough SRC MNT extra...` over the test transport; killed and its
/// mount removed on drop.
struct Daemon {
    child: Child,
    mountpoint: PathBuf,
    _uring_param: Option<daemon_transport::UringParam>,
}

impl Daemon {
    fn start(src: &Path, mountpoint: &Path, extra: &[&str]) -> Daemon {
        let uring_param = daemon_transport::param_for_test_transport("fusekit mount passthrough");
        let child = Command::new(BIN)
            .args(["mount", "passthrough"])
            .arg(src)
            .arg(mountpoint)
            .args(extra)
            .args(daemon_transport::args())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut daemon = Daemon {
            child,
            mountpoint: mountpoint.to_path_buf(),
            _uring_param: uring_param,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !is_mounted(mountpoint) {
            if let Some(status) = daemon.child.try_wait().unwrap() {
                panic!("fusekit mount passthrough {extra:?} exited early with {status}");
            }
            assert!(Instant::now() < deadline, "not mounted within 20 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        daemon
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if is_mounted(&self.mountpoint) {
            let _ = Command::new(BIN)
                .arg("unmount")
                .arg(&self.mountpoint)
                .output();
        }
    }
}

/// Writes DATA to a new file through the mount, optionally fsyncs, SIGKILLs the daemon with
/// the file still open, and returns what the source file then holds.
fn write_then_kill_daemon(extra: &[&str], fsync: bool) -> Vec<u8> {
    let src = tempfile::Builder::new()
        .prefix("fusekit-dur-src-")
        .tempdir()
        .unwrap();
    let mnt = tempfile::Builder::new()
        .prefix("fusekit-dur-mnt-")
        .tempdir()
        .unwrap();
    let mut daemon = Daemon::start(src.path(), mnt.path(), extra);
    let mut file = std::fs::File::create(mnt.path().join("f")).unwrap();
    file.write_all(DATA).unwrap();
    if fsync {
        file.sync_all().unwrap();
    }
    daemon_transport::assert_served_over_test_transport(daemon.child.id());
    daemon.kill();
    daemon_transport::assert_dead_mount(&mnt.path().join("f"), &format!("{extra:?}"));
    drop(file);
    let out = Command::new(BIN)
        .arg("unmount")
        .arg(mnt.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{extra:?}: fusekit unmount failed");
    std::fs::read(src.path().join("f")).unwrap()
}

#[test]
fn acknowledged_writes_survive_a_daemon_crash_without_writeback_cache() {
    if !fusekit_testkit::require_kernel(
        "acknowledged_writes_survive_a_daemon_crash_without_writeback_cache",
    ) {
        return;
    }
    // As root the default is kernel passthrough: the kernel writes the source file itself.
    assert_eq!(
        write_then_kill_daemon(&[], false),
        DATA,
        "kernel passthrough"
    );
    assert_eq!(
        write_then_kill_daemon(&["--no-kernel-passthrough"], false),
        DATA,
        "daemon pwrite"
    );
}

#[test]
fn with_writeback_cache_fsync_is_what_reaches_the_source() {
    if !fusekit_testkit::require_kernel("with_writeback_cache_fsync_is_what_reaches_the_source") {
        return;
    }
    assert_eq!(
        write_then_kill_daemon(&["--writeback-cache"], true),
        DATA,
        "written back by fsync before the crash"
    );
}
