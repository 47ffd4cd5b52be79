//! `fusekit check M1 --peer M2` on two `fusekit mount passthrough SRC M1|M2` daemons over one
//! SRC (README, "Checking any filesystem"). With `--timeout 0` (the kernel caches no names or
//! attributes) every peer case passes: locks, data and names all reach SRC. With a 30 s cache
//! lifetime and a 0.3 s visibility bound the peer keeps its cached names and attributes, so
//! the unlink and mtime cases fail with the stale answer: what the family is for.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fusekit_check::{CheckOptions, Outcome, Report};

mod daemon_transport;

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

fn is_mounted(path: &Path) -> bool {
    fusekit_testkit::access::mountinfo_line(path).is_some()
}

/// `fusekit mount passthrough SRC MNT extra...`; killed and its mount removed on drop.
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
            .expect("spawn fusekit mount passthrough");
        let mut daemon = Daemon {
            child,
            mountpoint: mountpoint.to_path_buf(),
            _uring_param: uring_param,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !is_mounted(mountpoint) {
            if let Some(status) = daemon.child.try_wait().expect("try_wait") {
                panic!("fusekit mount passthrough {extra:?} exited early with {status}");
            }
            assert!(Instant::now() < deadline, "not mounted within 20 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        daemon
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

/// Two daemons over one fresh SRC (mount options `extra`), the peer family run between them
/// within a deadline; everything unmounted and removed afterwards.
fn peer_run(extra: &[&str], wait: f64) -> Report {
    let dir = |p: &str| {
        tempfile::Builder::new()
            .prefix(p)
            .tempdir()
            .expect("temp dir")
    };
    let (src, m1, m2) = (
        dir("fusekit-peer-src-"),
        dir("fusekit-peer-m1-"),
        dir("fusekit-peer-m2-"),
    );
    let _d1 = Daemon::start(src.path(), m1.path(), extra);
    let _d2 = Daemon::start(src.path(), m2.path(), extra);
    let mut opts = CheckOptions::new(m1.path());
    opts.only = vec!["peer".into()];
    opts.peer = Some(m2.path().to_path_buf());
    opts.peer_wait = wait;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(fusekit_check::run(&opts));
    });
    let report = rx
        .recv_timeout(Duration::from_secs(180))
        .expect("the peer family finished within 180 s")
        .expect("check runs");
    print!("{}", report.render_table());
    assert!(
        std::fs::read_dir(src.path())
            .expect("read src")
            .next()
            .is_none(),
        "the check left files in SRC"
    );
    report
}

fn outcome<'a>(r: &'a Report, name: &str) -> &'a Outcome {
    &r.cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{name} did not run"))
        .outcome
}

#[test]
fn two_passthrough_mounts_without_caches_are_coherent() {
    if !fusekit_testkit::require_kernel("two_passthrough_mounts_without_caches_are_coherent") {
        return;
    }
    let report = peer_run(&["--timeout", "0"], 5.0);
    assert!(
        report.cases.len() >= 15,
        "{} peer cases",
        report.cases.len()
    );
    assert_eq!(report.failed(), 0, "{}", report.render_table());
    assert_eq!(report.skipped(), 0, "{}", report.render_table());
    assert!(report.cases.iter().all(|c| !c.peer_waits.is_empty()));
}

#[test]
fn cached_names_and_attributes_show_stale_on_the_peer() {
    if !fusekit_testkit::require_kernel("cached_names_and_attributes_show_stale_on_the_peer") {
        return;
    }
    let report = peer_run(&["--timeout", "30"], 0.3);
    match outcome(&report, "peer_unlink_visible") {
        Outcome::Fail { observed, .. } => {
            assert!(observed.contains("still exists on B"), "{observed}")
        }
        other => panic!("peer_unlink_visible: expected a stale name, got {other:?}"),
    }
    assert!(
        matches!(
            outcome(&report, "peer_mtime_moves_forward"),
            Outcome::Fail { .. }
        ),
        "{}",
        report.render_table()
    );
    let unlink = report
        .cases
        .iter()
        .find(|c| c.name == "peer_unlink_visible")
        .expect("ran");
    assert!(unlink
        .peer_waits
        .iter()
        .any(|w| !w.seen && w.waited_ms >= 300.0));
    // Locks and freshly opened data do not depend on the name and attribute caches.
    for name in [
        "peer_close_to_open_data",
        "peer_posix_lock_excludes",
        "peer_flock_excludes",
        "peer_posix_waiter_wakes",
    ] {
        assert_eq!(outcome(&report, name), &Outcome::Pass, "{name}");
    }
}
