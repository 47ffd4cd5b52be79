//! A host that dies holding a file another host unlinked: etcdfs mounted (host A, session TTL
//! 2 s) and a second daemon's namespace with its own session (host B) on one prefix of a real
//! 3-member cluster. B opens a file, A unlinks it (kept: B holds it), B dies (its lease is no
//! longer renewed): A's reclaimer deletes the file once B's lease has expired, with no daemon
//! starting or stopping meanwhile; the checker is clean.

mod mounted;

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fusekit_etcd_cluster::{Cluster, ClusterOptions};
use fusekit_etcdfs::fs::EtcdFsOptions;
use fusekit_etcdfs::fsck;
use fusekit_etcdfs::ns::{FsError, Namespace, Session};
use fusekit_etcdfs::schema::Keys;
use fusekit_testkit::{require_kernel, with_deadline};

const TTL: i64 = 2;

#[test]
fn a_dead_holders_unlinked_file_is_reclaimed_once_its_lease_expires() {
    if !require_kernel("a_dead_holders_unlinked_file_is_reclaimed_once_its_lease_expires") {
        return;
    }
    let Some(cluster) = Cluster::start_or_skip(ClusterOptions::default()) else {
        return;
    };
    let cluster = Arc::new(cluster);
    with_deadline(Duration::from_secs(120), move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let prefix = b"dead/".to_vec();
        let timeout = Duration::from_secs(5);
        let store = mounted::connect(&runtime, cluster.endpoints_arg(), timeout);
        let options = EtcdFsOptions {
            session_ttl_secs: TTL,
            ..EtcdFsOptions::default()
        };
        let a = mounted::mount_etcdfs(&runtime, store.clone(), &prefix, &options, timeout * 3);
        let path = a.path().join("f");
        std::fs::write(&path, b"held by B").unwrap();
        let ino = std::fs::metadata(&path).unwrap().ino();

        // Host B: its own client and session; it opens the file.
        let other = mounted::connect(&runtime, cluster.endpoints_arg(), timeout);
        let keys = Keys::new(prefix.clone());
        let session = runtime
            .block_on(Session::start(&other, &keys, TTL))
            .expect("B's session");
        let b = Namespace::new(other, prefix.clone(), Some(session.lease()));
        runtime.block_on(b.open(ino)).expect("B opens f");

        std::fs::remove_file(&path).unwrap();
        let plain = Namespace::new(store.clone(), prefix.clone(), None);
        let kept = runtime
            .block_on(plain.getattr(ino))
            .expect("kept while B holds it");
        assert_eq!(kept.nlink, 0);
        assert_eq!(runtime.block_on(b.read(ino, 0, 100)).unwrap(), b"held by B");

        // B dies.
        let died = Instant::now();
        session.abandon();
        loop {
            match runtime.block_on(plain.getattr(ino)) {
                Err(FsError::NotFound) => break,
                Ok(_) => {}
                Err(e) => panic!("getattr: {e}"),
            }
            assert!(
                died.elapsed() < Duration::from_secs(3 * TTL as u64 + 4),
                "the dead holder's file was never reclaimed"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let took = died.elapsed();
        eprintln!("reclaimed {took:?} after B stopped (lease TTL {TTL} s, reclaim every {TTL} s)");
        assert!(
            took >= Duration::from_secs(1),
            "reclaimed while B's lease lived"
        );
        a.finish();
        let check = runtime
            .block_on(fsck::check(&store, &prefix))
            .expect("fsck");
        assert!(check.is_clean(), "{check}");
    });
}
