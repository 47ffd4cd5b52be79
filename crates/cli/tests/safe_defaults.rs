//! Safe defaults of `fusekit mount memfs|passthrough`: the kernel's super options carry
//! `default_permissions` and not `allow_other`, and another user (nobody) is refused at the
//! mount — until `-o allow_other` is given, which the same probes then see.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod daemon_transport;

use fusekit_testkit::access::{mountinfo_line, nobody_can_list, super_options};

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

/// A `fusekit mount` daemon over the test transport; unmounted and reaped on drop.
struct Daemon {
    child: Child,
    mountpoint: PathBuf,
    _uring_param: Option<daemon_transport::UringParam>,
}

impl Daemon {
    fn start(kind: &str, src: &Path, mountpoint: &Path, extra: &[&str]) -> Daemon {
        let uring_param = daemon_transport::param_for_test_transport("fusekit mount");
        let mut cmd = Command::new(BIN);
        cmd.args(["mount", kind]);
        if kind == "passthrough" {
            cmd.arg(src);
        }
        let child = cmd
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
        while mountinfo_line(mountpoint).is_none() {
            if let Some(status) = daemon.child.try_wait().unwrap() {
                panic!("fusekit mount {kind} exited early with {status}");
            }
            assert!(Instant::now() < deadline, "not mounted within 20 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        daemon
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new(BIN)
            .arg("unmount")
            .arg(&self.mountpoint)
            .output();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn cli_mounts_with_default_permissions_and_without_allow_other() {
    if !fusekit_testkit::require_kernel(
        "cli_mounts_with_default_permissions_and_without_allow_other",
    ) {
        return;
    }
    // The source is world-readable so that only the mount's own rules decide.
    let src = tempfile::Builder::new()
        .prefix("fusekit-safe-src-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(
        src.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for kind in ["memfs", "passthrough"] {
        // The mount point sits right under /tmp: nobody may search every directory above it.
        let mnt = tempfile::Builder::new()
            .prefix("fusekit-safe-mnt-")
            .tempdir()
            .unwrap();

        let daemon = Daemon::start(kind, src.path(), mnt.path(), &[]);
        let opts = super_options(mnt.path());
        assert!(
            opts.iter().any(|o| o == "default_permissions"),
            "{kind}: {opts:?}"
        );
        assert!(!opts.iter().any(|o| o == "allow_other"), "{kind}: {opts:?}");
        assert!(
            !nobody_can_list(mnt.path()),
            "{kind}: another user must be refused without allow_other"
        );
        drop(daemon);

        let daemon = Daemon::start(kind, src.path(), mnt.path(), &["-o", "allow_other"]);
        let opts = super_options(mnt.path());
        assert!(opts.iter().any(|o| o == "allow_other"), "{kind}: {opts:?}");
        assert!(
            opts.iter().any(|o| o == "default_permissions"),
            "{kind}: {opts:?}"
        );
        assert!(
            nobody_can_list(mnt.path()),
            "{kind}: with allow_other another user may list a 0755 root"
        );
        daemon_transport::assert_served_over_test_transport(daemon.child.id());
        drop(daemon);
        assert!(
            mountinfo_line(mnt.path()).is_none(),
            "{kind}: still mounted"
        );
    }
}
