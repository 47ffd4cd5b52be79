//! Locks through two etcdfs mounts of one prefix (separate daemons, clients and sessions) on a
//! real 3-member cluster: a flock waiter on B that is killed while blocked (the kernel
//! interrupts its SETLKW) leaves no lock behind once A lets go, and every lock key is gone
//! once all descriptors are closed.

mod mounted;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fusekit_etcd_cluster::{Cluster, ClusterOptions};
use fusekit_etcdfs::fs::EtcdFsOptions;
use fusekit_etcdfs::schema::Keys;
use fusekit_etcdfs::store::{prefix_end, EtcdConfig, EtcdStore, Store};
use fusekit_testkit::{require_kernel, with_deadline, TestMount};

const PREFIX: &[u8] = b"mlocks/";

fn connect(runtime: &tokio::runtime::Runtime, cluster: &Cluster) -> EtcdStore {
    let config = EtcdConfig::new(cluster.endpoints_arg()).timeout(Duration::from_secs(5));
    runtime
        .block_on(EtcdStore::connect(&config))
        .expect("connect")
}

fn mount(runtime: &tokio::runtime::Runtime, cluster: &Cluster) -> TestMount {
    let store = connect(runtime, cluster);
    let options = EtcdFsOptions::default();
    mounted::mount_etcdfs(runtime, store, PREFIX, &options, Duration::from_secs(15))
}

/// `flock(2)` on `file`; the errno on failure.
fn flock(file: &File, op: libc::c_int) -> Result<(), i32> {
    // SAFETY: flock on a descriptor `file` owns for the whole call; no memory is passed.
    let r = unsafe { libc::flock(file.as_raw_fd(), op) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// util-linux `flock` taking an exclusive lock of `path` (blocking unless `nb`).
fn flock_cmd(path: &Path, nb: bool) -> Child {
    let mut c = Command::new("flock");
    if nb {
        c.arg("-n");
    }
    c.arg("-x")
        .arg(path)
        .arg("true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run flock(1)")
}

/// Kills `child` if it still runs, and reaps it.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_killed_waiter_leaves_no_lock_and_closing_leaves_no_key() {
    if !require_kernel("a_killed_waiter_leaves_no_lock_and_closing_leaves_no_key") {
        return;
    }
    if Command::new("flock").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "flock(1) (util-linux) is missing"
        );
        eprintln!("skipping: flock(1) (util-linux) is missing");
        return;
    }
    let Some(cluster) = Cluster::start_or_skip(ClusterOptions::default()) else {
        return;
    };
    let cluster = Arc::new(cluster);
    with_deadline(Duration::from_secs(120), move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let a = mount(&runtime, &cluster);
        let b = mount(&runtime, &cluster);
        let on_a = a.path().join("f");
        let on_b = b.path().join("f");
        std::fs::write(&on_a, b"x").expect("create f on A");
        let ino = std::fs::metadata(&on_a).expect("stat f").ino();
        let until = Instant::now() + Duration::from_secs(5);
        while !on_b.exists() {
            assert!(Instant::now() < until, "f never showed on B");
            std::thread::sleep(Duration::from_millis(10));
        }

        let fa = File::options().write(true).open(&on_a).expect("open on A");
        flock(&fa, libc::LOCK_EX | libc::LOCK_NB).expect("flock through A");
        let mut waiter = Reaped(flock_cmd(&on_b, false));
        std::thread::sleep(Duration::from_millis(400));
        assert!(
            waiter.0.try_wait().expect("poll waiter").is_none(),
            "flock through B did not wait for A"
        );
        // Killed while blocked: the kernel interrupts its SETLKW.
        waiter.0.kill().expect("kill the waiter");
        waiter.0.wait().expect("reap the waiter");
        std::thread::sleep(Duration::from_millis(200));
        flock(&fa, libc::LOCK_UN).expect("unlock through A");

        // Nobody holds it now: a non-blocking attempt through B gets it (bounded wait for
        // B's cache to see A's unlock; a lock left by the killed waiter would never go).
        let t0 = Instant::now();
        loop {
            let mut c = Reaped(flock_cmd(&on_b, true));
            let status = c.0.wait().expect("wait flock -n");
            if status.success() {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "flock -n through B still refused after {:?}",
                t0.elapsed()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("B's lock free {:?} after A's unlock", t0.elapsed());

        // A flock held through B goes when its descriptor closes.
        let fb = File::options().write(true).open(&on_b).expect("open on B");
        flock(&fb, libc::LOCK_SH | libc::LOCK_NB).expect("flock through B");
        drop(fb);
        drop(fa);

        let store = connect(&runtime, &cluster);
        let start = Keys::new(PREFIX.to_vec()).locks(ino);
        let end = prefix_end(&start);
        let t0 = Instant::now();
        loop {
            let left = runtime
                .block_on(store.range(&start, &end, 0, 0))
                .expect("range")
                .kvs;
            if left.is_empty() {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "lock keys left after every close: {left:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        a.finish();
        b.finish();
    });
}
