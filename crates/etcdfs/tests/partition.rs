//! A host cut off from the cluster while another goes on (two etcdfs mounts of one prefix of
//! a real 3-member cluster; host A reaches the members through relays that a
//! `fusekit_etcd_cluster::Partition` cuts): A's calls fail with EIO in bounded time, an
//! open() on A fails rather than trust what A cannot confirm, B creates and writes meanwhile;
//! once healed, A serves again without a remount and sees B's changes; the checker is clean.

mod mounted;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fusekit_etcd_cluster::{Cluster, ClusterOptions, Partition};
use fusekit_etcdfs::fs::EtcdFsOptions;
use fusekit_etcdfs::fsck;
use fusekit_etcdfs::store::{EtcdConfig, EtcdStore};
use fusekit_testkit::{require_kernel, with_deadline, TestMount};

/// A's store timeout: the bound on a failing call.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

fn mount(runtime: &tokio::runtime::Runtime, endpoints: String, prefix: &[u8]) -> TestMount {
    let store = mounted::connect(runtime, endpoints, STORE_TIMEOUT);
    let options = EtcdFsOptions {
        session_ttl_secs: 30,
        ..EtcdFsOptions::default()
    };
    mounted::mount_etcdfs(runtime, store, prefix, &options, Duration::from_secs(15))
}

/// How long `f` took, and its errno if it failed.
fn timed<T>(f: impl FnOnce() -> std::io::Result<T>) -> (Duration, Option<i32>) {
    let t0 = Instant::now();
    let r = f();
    (t0.elapsed(), r.err().map(|e| e.raw_os_error().unwrap_or(0)))
}

fn eventually(what: &str, within: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    t0.elapsed()
}

#[test]
fn a_partitioned_host_fails_in_bounded_time_and_resumes_when_healed() {
    if !require_kernel("a_partitioned_host_fails_in_bounded_time_and_resumes_when_healed") {
        return;
    }
    let Some(cluster) = Cluster::start_or_skip(ClusterOptions::default()) else {
        return;
    };
    let cluster = Arc::new(cluster);
    with_deadline(Duration::from_secs(180), move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let prefix = b"part/".to_vec();
        let partition = Partition::new(&cluster.endpoints()).expect("relays");
        let a = mount(&runtime, partition.endpoints_arg(), &prefix);
        let b = mount(&runtime, cluster.endpoints_arg(), &prefix);
        let (pa, pb) = (a.path().to_path_buf(), b.path().to_path_buf());

        std::fs::create_dir(pa.join("d")).unwrap();
        std::fs::write(pa.join("d/f"), b"before").unwrap();
        eventually("f on B", Duration::from_secs(5), || {
            std::fs::read(pb.join("d/f")).is_ok_and(|d| d == b"before")
        });

        partition.cut();
        let cut = Instant::now();
        // A: stat fails once what the kernel and the daemon may keep has run out (kernel
        // attribute TTL 1 s, cache validity 1 s); every failing request fails within the store
        // timeout.
        let mut worst = Duration::ZERO;
        loop {
            let (took, err) = timed(|| std::fs::metadata(pa.join("d/f")));
            worst = worst.max(took);
            match err {
                None => {
                    assert!(
                        cut.elapsed() < Duration::from_secs(3),
                        "A still answers stat from what it cannot confirm"
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
                Some(errno) => {
                    assert_eq!(errno, libc::EIO, "stat on A after the cut");
                    break;
                }
            }
        }
        let stat_failed_after = cut.elapsed();
        let (open_took, open_err) = timed(|| std::fs::File::open(pa.join("d/f")));
        assert_eq!(open_err, Some(libc::EIO), "open on A while cut off");
        let (create_took, create_err) = timed(|| std::fs::write(pa.join("d/new"), b"x"));
        assert_eq!(create_err, Some(libc::EIO), "create on A while cut off");
        // One system call may be two requests, each bounded by the store timeout: the kernel
        // revalidates a cached name (LOOKUP fails with EIO), drops it, and looks it up anew.
        let bound = 2 * STORE_TIMEOUT + Duration::from_secs(1);
        for (what, took) in [
            ("stat", worst),
            ("open", open_took),
            ("create", create_took),
        ] {
            assert!(took <= bound, "{what} on A took {took:?} (bound {bound:?})");
        }

        // B goes on meanwhile.
        let t0 = Instant::now();
        std::fs::write(pb.join("d/g"), b"written by B").unwrap();
        std::fs::rename(pb.join("d/f"), pb.join("d/f2")).unwrap();
        let b_took = t0.elapsed();
        assert!(
            b_took < Duration::from_secs(2),
            "B slowed by A's partition: {b_took:?}"
        );

        partition.heal();
        let healed = eventually("A serves again", Duration::from_secs(15), || {
            std::fs::read(pa.join("d/g")).is_ok_and(|d| d == b"written by B")
        });
        eventually("A sees B's rename", Duration::from_secs(5), || {
            !pa.join("d/f").exists() && std::fs::read(pa.join("d/f2")).is_ok_and(|d| d == b"before")
        });
        std::fs::write(pa.join("d/after"), b"A again").unwrap();
        eventually("B sees A's new file", Duration::from_secs(5), || {
            std::fs::read(pb.join("d/after")).is_ok_and(|d| d == b"A again")
        });
        eprintln!(
            "stat on A failed {stat_failed_after:?} after the cut; failing calls took at most \
             {worst:?} (stat), {open_took:?} (open), {create_took:?} (create); B's two changes \
             took {b_took:?}; A served again {healed:?} after healing"
        );
        drop_mounts(a, b);
        drop(partition);
        let store = runtime
            .block_on(EtcdStore::connect(&EtcdConfig::new(
                cluster.endpoints_arg(),
            )))
            .expect("connect");
        let check = runtime
            .block_on(fsck::check(&store, &prefix))
            .expect("fsck");
        assert!(check.is_clean(), "{check}");
    });
}

fn drop_mounts(a: TestMount, b: TestMount) {
    a.finish();
    b.finish();
}
