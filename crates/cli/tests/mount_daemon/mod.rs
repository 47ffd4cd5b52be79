//! A `fusekit mount ...` daemon started by a test over the test transport: waited for until its
//! mount shows in mountinfo, killed and its mount removed on drop (also when the test panics).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../daemon_transport/mod.rs"]
mod daemon_transport;

pub const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

/// Whether `path` is a mount point now.
pub fn is_mounted(path: &Path) -> bool {
    fusekit_testkit::access::mountinfo_line(path).is_some()
}

/// A running `fusekit mount` daemon.
pub struct Daemon {
    pub child: Child,
    pub mountpoint: PathBuf,
    _uring_param: Option<daemon_transport::UringParam>,
}

impl Daemon {
    /// `fusekit mount ARGS... --transport T`, whose mount point is `mountpoint` (one of ARGS);
    /// returns once it is mounted (panics after 30 s or if the daemon exits first).
    pub fn start<S: AsRef<OsStr>>(args: &[S], mountpoint: &Path) -> Daemon {
        let what = format!("fusekit mount {:?}", args.first().map(|a| a.as_ref()));
        let uring_param = daemon_transport::param_for_test_transport(&what);
        let child = Command::new(BIN)
            .arg("mount")
            .args(args)
            .args(daemon_transport::args())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn fusekit mount");
        let mut daemon = Daemon {
            child,
            mountpoint: mountpoint.to_path_buf(),
            _uring_param: uring_param,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !is_mounted(mountpoint) {
            if let Some(status) = daemon.child.try_wait().expect("try_wait") {
                panic!("{what} exited early with {status}");
            }
            assert!(Instant::now() < deadline, "{what}: not mounted within 30 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        daemon
    }

    /// Kills the daemon with SIGKILL (the mount stays, dead) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        if is_mounted(&self.mountpoint) {
            let _ = Command::new(BIN)
                .args(["unmount", "--lazy"])
                .arg(&self.mountpoint)
                .output();
        }
    }
}
