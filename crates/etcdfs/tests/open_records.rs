//! Open records across daemons (two namespaces with their own sessions on one prefix of a
//! real 3-member cluster): an inode open on one daemon and unlinked by another lives until
//! its holder closes it; an orphan passes from holder to holder; a dead holder's orphan is
//! reclaimed once its lease has expired, not before; the checker is clean throughout.

mod common;

use std::time::{Duration, Instant};

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::ns::{Namespace, NewNode, Session};
use fusekit_etcdfs::schema::{Keys, ROOT_INO};
use fusekit_etcdfs::store::EtcdStore;

use common::{assert_clean, deadline, env, namespace, none_open};

async fn daemon(store: &EtcdStore, prefix: &str, ttl: i64) -> (Namespace<EtcdStore>, Session) {
    let keys = Keys::new(prefix.as_bytes().to_vec());
    let session = Session::start(store, &keys, ttl).await.expect("session");
    let ns = Namespace::new(
        store.clone(),
        prefix.as_bytes().to_vec(),
        Some(session.lease()),
    );
    (ns, session)
}

fn file() -> NewNode {
    NewNode::new(libc::S_IFREG | 0o644, 0, 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inode_open_on_another_daemon_outlives_its_unlink() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(90, async {
        let p = "/opens/";
        namespace(&env.store, p).await;
        let other = common::client(&env.cluster).await;
        let (a, _sa) = daemon(&env.store, p, 30).await;
        let (b, sb) = daemon(&other, p, 2).await;

        // B holds f open; A unlinks it: kept (nlink 0) until B's last close.
        let (f, _) = a.create(ROOT_INO, b"f", file()).await.unwrap();
        a.write(f, 0, b"still here").await.unwrap();
        b.open(f).await.unwrap();
        a.unlink(ROOT_INO, b"f", &none_open).await.unwrap();
        assert_eq!(b.read(f, 0, 100).await.unwrap(), b"still here");
        assert_eq!(b.getattr(f).await.unwrap().nlink, 0);
        b.write(f, 10, b"!").await.unwrap();
        assert_clean(&env.store, p).await;
        assert!(
            b.release(f, true).await.unwrap(),
            "B's last close deletes it"
        );
        assert!(a.getattr(f).await.is_err());
        assert_clean(&env.store, p).await;

        // Both hold g; A (holding it) unlinks; A's close passes the orphan to B; B's deletes.
        let (g, _) = a.create(ROOT_INO, b"g", file()).await.unwrap();
        a.open(g).await.unwrap();
        b.open(g).await.unwrap();
        a.unlink(ROOT_INO, b"g", &|_| true).await.unwrap();
        assert!(!a.release(g, true).await.unwrap(), "B still holds it");
        assert_eq!(b.getattr(g).await.unwrap().nlink, 0);
        assert_clean(&env.store, p).await;
        assert!(b.release(g, true).await.unwrap());
        assert_clean(&env.store, p).await;

        // B holds h and dies (its lease is not renewed): the orphan is reclaimable only once
        // the lease has expired.
        let (h, _) = a.create(ROOT_INO, b"h", file()).await.unwrap();
        b.open(h).await.unwrap();
        a.unlink(ROOT_INO, b"h", &none_open).await.unwrap();
        let died = Instant::now();
        sb.abandon();
        assert_eq!(
            a.reclaim_expired_orphans().await.unwrap(),
            0,
            "reclaimed a live holder's file"
        );
        loop {
            if a.reclaim_expired_orphans().await.unwrap() == 1 {
                break;
            }
            assert!(died.elapsed() < Duration::from_secs(10), "never reclaimed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "dead holder's orphan reclaimed {:?} after it stopped (TTL 2 s)",
            died.elapsed()
        );
        assert!(died.elapsed() >= Duration::from_secs(1));
        assert!(a.getattr(h).await.is_err());
        assert_clean(&env.store, p).await;
    })
    .await;
}
