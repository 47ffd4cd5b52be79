//! The harness itself: a 3-member cluster starts healthy, survives one kill -9, a stopped
//! member comes back with SIGCONT, a killed member restarts, and dropping the cluster leaves no
//! process and no temp dir.

use std::path::Path;
use std::time::Duration;

use fusekit_etcd_cluster::{Cluster, ClusterOptions};

fn alive(pid: u32) -> bool {
    // A reaped child has no /proc entry; a zombie would still show one.
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn start_kill_stop_restart_and_drop_leaves_nothing() {
    let Some(mut cluster) = Cluster::start_or_skip(ClusterOptions::default()) else {
        return;
    };
    assert_eq!(cluster.len(), 3);
    assert_eq!(cluster.endpoints().len(), 3);
    assert!(cluster.endpoints_arg().starts_with("http://127.0.0.1:"));
    let pids = cluster.pids();
    let dir = cluster.dir().to_path_buf();
    assert_eq!(pids.len(), 3);
    assert!(pids.iter().all(|&p| alive(p)));
    assert!(dir.is_dir());

    // kill -9 one member: the two others keep a quorum and stay healthy.
    cluster.kill(0).unwrap();
    assert!(!alive(pids[0]), "member 0 still has a process after kill");
    cluster.wait_healthy(Duration::from_secs(10)).unwrap();
    assert!(cluster.member_healthy(1) && cluster.member_healthy(2));
    assert!(!cluster.member_healthy(0));

    // SIGSTOP another: no quorum left, the last member is not healthy; SIGCONT brings it back.
    cluster.stop(1).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !cluster.member_healthy(2),
        "1 of 3 members cannot be healthy"
    );
    cluster.cont(1).unwrap();
    cluster.wait_healthy(Duration::from_secs(10)).unwrap();

    // The killed member restarts on its data dir and rejoins.
    cluster.restart(0).unwrap();
    cluster.wait_healthy(Duration::from_secs(10)).unwrap();
    assert!(cluster.member_healthy(0));
    let pids = cluster.pids();

    drop(cluster);
    for p in pids {
        assert!(!alive(p), "etcd pid {p} survived the drop");
    }
    assert!(!dir.exists(), "{} survived the drop", dir.display());
}

#[test]
fn panic_in_a_test_still_tears_down() {
    let Some(cluster) = Cluster::start_or_skip(ClusterOptions::default().members(1)) else {
        return;
    };
    let pids = cluster.pids();
    let dir = cluster.dir().to_path_buf();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _owned = cluster;
        panic!("test failure while the cluster runs");
    }));
    assert!(result.is_err());
    assert!(pids.iter().all(|&p| !alive(p)));
    assert!(!dir.exists());
}

#[test]
fn missing_binary_is_reported_as_missing() {
    // The override points at a path that does not exist: start must say Missing, not hang.
    // (Run in a child process so the environment change does not leak into other tests.)
    if std::env::var_os("FUSEKIT_ETCD_CLUSTER_CHILD").is_some() {
        let err = Cluster::start(ClusterOptions::default().members(1)).unwrap_err();
        assert!(
            matches!(err, fusekit_etcd_cluster::ClusterError::Missing(_)),
            "{err}"
        );
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new(exe)
        .args([
            "--exact",
            "missing_binary_is_reported_as_missing",
            "--nocapture",
        ])
        .env("FUSEKIT_ETCD_CLUSTER_CHILD", "1")
        .env("FUSEKIT_ETCD_BIN", "/nonexistent/etcd")
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn an_aborted_test_process_leaves_nothing_behind() {
    // The child starts a cluster, prints its pids and dir, and aborts: no Drop runs.
    if std::env::var_os("FUSEKIT_ETCD_CLUSTER_ABORT_CHILD").is_some() {
        let Some(cluster) = Cluster::start_or_skip(ClusterOptions::default().members(1)) else {
            println!("SKIP");
            return;
        };
        println!("PIDS {:?} DIR {}", cluster.pids(), cluster.dir().display());
        std::process::abort();
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "an_aborted_test_process_leaves_nothing_behind",
            "--nocapture",
        ])
        .env("FUSEKIT_ETCD_CLUSTER_ABORT_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.contains("SKIP") {
        return;
    }
    assert!(!out.status.success(), "the child did not abort");
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PIDS "))
        .unwrap_or_else(|| panic!("no PIDS line in {stdout}"));
    let (pids, dir) = line.split_once(" DIR ").unwrap();
    let pids: Vec<u32> = pids
        .trim_matches(|c| c == '[' || c == ']')
        .split(", ")
        .map(|p| p.parse().unwrap())
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| alive(p)) || Path::new(dir).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "etcd {pids:?} or {dir} survived the aborted test process"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
