//! `fusekit mount etcd` as a user runs it, on a real 3-member etcd cluster: data written and
//! closed (or fsynced) survive `kill -9` of the daemon and are there when the tree is mounted
//! again, and `fusekit fsck etcd` finds the tree clean; no reachable endpoint fails the mount
//! with one line naming the endpoints.

mod mount_daemon;

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::process::Command;
use std::time::Duration;

use fusekit_etcd_cluster::{Cluster, ClusterOptions};
use fusekit_testkit::{require_kernel, with_deadline};
use mount_daemon::{is_mounted, Daemon, BIN};

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

#[test]
fn data_closed_or_fsynced_survive_kill_9_of_the_daemon() {
    if !require_kernel("data_closed_or_fsynced_survive_kill_9_of_the_daemon") {
        return;
    }
    let Some(cluster) = Cluster::start_or_skip(ClusterOptions::default()) else {
        return;
    };
    let endpoints = cluster.endpoints_arg();
    with_deadline(Duration::from_secs(180), move || {
        let mnt = tempfile::Builder::new()
            .prefix("fusekit-etcd-mnt-")
            .tempdir()
            .expect("temp dir");
        let m = mnt.path().to_path_buf();
        let args = |m: &std::path::Path| {
            vec![
                "etcd".into(),
                endpoints.clone().into(),
                m.as_os_str().to_owned(),
                "--prefix".into(),
                "durable".into(),
            ]
        };
        let big = pattern(3, 3 * 1024 * 1024 + 777);
        let small = pattern(9, 5000);
        {
            let mut daemon = Daemon::start::<std::ffi::OsString>(&args(&m), &m);
            std::fs::create_dir(m.join("d")).unwrap();
            std::fs::write(m.join("d/closed"), &big).unwrap();
            std::fs::rename(m.join("d/closed"), m.join("d/renamed")).unwrap();
            let mut open = std::fs::File::create(m.join("synced")).unwrap();
            open.write_all(&small).unwrap();
            open.sync_all().unwrap();
            // Overwrite the middle of the big file in place, fsynced, still open.
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(m.join("d/renamed"))
                .unwrap();
            f.write_all_at(b"MIDDLE", 1 << 20).unwrap();
            f.sync_data().unwrap();
            daemon.kill();
            drop((open, f));
            let out = Command::new(BIN)
                .args(["unmount", "--lazy"])
                .arg(&m)
                .output()
                .unwrap();
            assert!(out.status.success(), "unmount of the dead mount: {out:?}");
            assert!(!is_mounted(&m));
        }
        let _again = Daemon::start::<std::ffi::OsString>(&args(&m), &m);
        let mut want = big.clone();
        want[1 << 20..(1 << 20) + 6].copy_from_slice(b"MIDDLE");
        assert_eq!(std::fs::read(m.join("d/renamed")).unwrap(), want);
        assert!(!m.join("d/closed").exists());
        assert_eq!(std::fs::read(m.join("synced")).unwrap(), small);
        // The stored tree is consistent after the crash.
        let out = Command::new(BIN)
            .args(["fsck", "etcd", &endpoints, "--prefix", "durable"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fsck etcd: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

#[test]
fn no_reachable_endpoint_fails_the_mount_naming_the_endpoints() {
    if !require_kernel("no_reachable_endpoint_fails_the_mount_naming_the_endpoints") {
        return;
    }
    with_deadline(Duration::from_secs(60), || {
        let mnt = tempfile::tempdir().expect("temp dir");
        // Nothing listens on port 1 of loopback.
        let out = Command::new(BIN)
            .args(["mount", "etcd", "127.0.0.1:1,http://127.0.0.1:2"])
            .arg(mnt.path())
            .args(["--store-timeout", "2"])
            .output()
            .expect("run fusekit");
        assert!(!out.status.success(), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("127.0.0.1:1") && err.contains("127.0.0.1:2"),
            "names the endpoints tried: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(!is_mounted(mnt.path()));
    });
}
