//! The daemon's metadata cache on a real 3-member cluster: warm metadata reads make no store
//! round trip, a daemon reads its own writes at once, other clients' changes arrive through
//! the watch, changes planned on a stale mirror retry and stay correct, and a cache cut off
//! from the quorum stops serving within its validity period and serves again once healed.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::cache::{CacheOptions, Follower, MetaCache};
use fusekit_etcdfs::ns::{Namespace, NewNode, XattrFlags};
use fusekit_etcdfs::schema::{Keys, ROOT_INO};
use fusekit_etcdfs::store::{
    EtcdConfig, EtcdStore, KeyValue, LeaseId, RangeResult, Store, StoreError, Txn, TxnResult,
};

use common::{assert_clean, deadline, env, namespace, none_open};

/// A store that counts the requests that reach it.
#[derive(Clone)]
struct Counting {
    inner: EtcdStore,
    requests: Arc<AtomicU64>,
}

impl Counting {
    fn count(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
    fn tick(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
    }
}

impl Store for Counting {
    type Watch = <EtcdStore as Store>::Watch;

    async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        self.tick();
        self.inner.get(key).await
    }
    async fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        self.tick();
        self.inner.range(start, end, limit, revision).await
    }
    async fn range_keys(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        self.tick();
        self.inner.range_keys(start, end, limit, revision).await
    }
    async fn txn(&self, txn: Txn) -> Result<TxnResult, StoreError> {
        self.tick();
        self.inner.txn(txn).await
    }
    async fn watch(&self, start: &[u8], end: &[u8], from: i64) -> Result<Self::Watch, StoreError> {
        self.inner.watch(start, end, from).await
    }
    async fn lease_grant(&self, ttl_secs: i64) -> Result<LeaseId, StoreError> {
        self.inner.lease_grant(ttl_secs).await
    }
    async fn lease_keep_alive(&self, lease: LeaseId) -> Result<i64, StoreError> {
        self.inner.lease_keep_alive(lease).await
    }
    async fn lease_revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.inner.lease_revoke(lease).await
    }
}

/// A namespace on `store` under `prefix` with a followed cache (the store's requests of the
/// follower itself go through `follower_store`, so that they are not counted).
fn cached<S: Store, F: Store>(
    store: S,
    follower_store: F,
    prefix: &str,
    validity: Duration,
) -> (Namespace<S>, Arc<MetaCache>, Follower) {
    let keys = Keys::new(prefix.as_bytes().to_vec());
    let (start, end) = keys.cached_range();
    let cache = MetaCache::new(start, end, CacheOptions { validity });
    let mut ns = Namespace::new(store, prefix.as_bytes().to_vec(), None);
    ns.attach_cache(Arc::clone(&cache));
    let follower = Follower::start(follower_store, Arc::clone(&cache));
    (ns, cache, follower)
}

async fn until_confirmed(cache: &MetaCache, within: Duration) -> Duration {
    let t0 = Instant::now();
    while !cache.is_confirmed() {
        assert!(
            t0.elapsed() < within,
            "cache not confirmed within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    t0.elapsed()
}

fn file() -> NewNode {
    NewNode::new(libc::S_IFREG | 0o644, 0, 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_metadata_reads_make_no_round_trip_and_own_writes_show_at_once() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(60, async {
        let p = "/cache1/";
        namespace(&env.store, p).await;
        let counting = Counting {
            inner: env.store.clone(),
            requests: Arc::new(AtomicU64::new(0)),
        };
        let (ns, cache, _follower) = cached(
            counting.clone(),
            env.store.clone(),
            p,
            Duration::from_secs(1),
        );
        until_confirmed(&cache, Duration::from_secs(5)).await;

        // Own writes, read back at once (no waiting for the watch).
        let (dir, _) = ns.mkdir(ROOT_INO, b"d", 0o755, 0, 0).await.unwrap();
        let mut inos = Vec::new();
        for i in 0..20 {
            let (ino, _) = ns
                .create(dir, format!("f{i}").as_bytes(), file())
                .await
                .unwrap();
            assert_eq!(
                ns.lookup(dir, format!("f{i}").as_bytes()).await.unwrap().0,
                ino
            );
            inos.push(ino);
        }
        ns.setxattr(inos[0], b"user.k", b"v", XattrFlags::default())
            .await
            .unwrap();
        assert_eq!(ns.getxattr(inos[0], b"user.k").await.unwrap(), b"v");
        ns.unlink(dir, b"f19", &none_open).await.unwrap();
        assert!(ns.lookup(dir, b"f19").await.is_err());
        assert_eq!(
            ns.getattr(dir).await.unwrap().mtime,
            ns.getattr(dir).await.unwrap().mtime
        );

        // Warm reads: not one request reaches the store.
        until_confirmed(&cache, Duration::from_secs(5)).await;
        let before = counting.count();
        for _ in 0..50 {
            ns.getattr(dir).await.unwrap();
            ns.lookup(dir, b"f3").await.unwrap();
            assert_eq!(ns.readdir(dir, b"", 1000).await.unwrap().len(), 19);
            assert_eq!(
                ns.listxattr(inos[0]).await.unwrap(),
                vec![b"user.k".to_vec()]
            );
            assert!(ns.lookup(dir, b"absent").await.is_err());
        }
        assert_eq!(counting.count() - before, 0, "warm reads reached the store");

        // A change needs exactly its transaction (its reads come from the mirror).
        let before = counting.count();
        ns.rename(dir, b"f1", dir, b"g1", Default::default(), &none_open)
            .await
            .unwrap();
        assert_eq!(counting.count() - before, 1, "a rename made extra requests");
        assert_clean(&env.store, p).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_of_other_clients_arrive_and_stale_plans_retry() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(90, async {
        let p = "/cache2/";
        let plain = namespace(&env.store, p).await;
        let other = common::client(&env.cluster).await;
        let (a, cache_a, _fa) = cached(
            env.store.clone(),
            env.store.clone(),
            p,
            Duration::from_secs(1),
        );
        let (b, cache_b, _fb) = cached(other.clone(), other.clone(), p, Duration::from_secs(1));
        until_confirmed(&cache_a, Duration::from_secs(5)).await;
        until_confirmed(&cache_b, Duration::from_secs(5)).await;

        // A change made without the cache reaches A's mirror through the watch.
        let mut waits = Vec::new();
        for i in 0..20 {
            let name = format!("x{i}");
            let t0 = Instant::now();
            let (ino, _) = plain
                .create(ROOT_INO, name.as_bytes(), file())
                .await
                .unwrap();
            loop {
                match a.lookup(ROOT_INO, name.as_bytes()).await {
                    Ok((found, _)) => {
                        assert_eq!(found, ino);
                        break;
                    }
                    Err(_) => {
                        assert!(t0.elapsed() < Duration::from_secs(2), "{name} never seen");
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            waits.push(t0.elapsed());
        }
        waits.sort();
        eprintln!(
            "create -> visible through the watch: p50 {:?}, max {:?}",
            waits[10], waits[19]
        );

        // Both cached clients change the same directory at once: every change stands, the
        // directory's link count and the checker agree (guards caught every stale read).
        let (dir, _) = a.mkdir(ROOT_INO, b"shared", 0o755, 0, 0).await.unwrap();
        let work = |ns: &'static Namespace<EtcdStore>, tag: &'static str| async move {
            for i in 0..60 {
                let name = format!("{tag}{i}");
                if i % 3 == 2 {
                    ns.mkdir(dir, name.as_bytes(), 0o755, 0, 0).await.unwrap();
                } else {
                    ns.create(dir, name.as_bytes(), file()).await.unwrap();
                }
                if i % 5 == 4 {
                    ns.rename(
                        dir,
                        name.as_bytes(),
                        dir,
                        format!("{name}r").as_bytes(),
                        Default::default(),
                        &none_open,
                    )
                    .await
                    .unwrap();
                }
            }
        };
        let a: &'static Namespace<EtcdStore> = Box::leak(Box::new(a));
        let b: &'static Namespace<EtcdStore> = Box::leak(Box::new(b));
        let (ta, tb) = (tokio::spawn(work(a, "a")), tokio::spawn(work(b, "b")));
        ta.await.unwrap();
        tb.await.unwrap();
        let listed = plain.readdir(dir, b"", 0).await.unwrap();
        assert_eq!(listed.len(), 120);
        let subdirs = listed
            .iter()
            .filter(|(_, e)| e.kind == fusekit_etcdfs::schema::FileType::Directory)
            .count();
        assert_eq!(
            plain.getattr(dir).await.unwrap().nlink as usize,
            2 + subdirs
        );
        // Each mirror converges to the store's listing.
        let t0 = Instant::now();
        for ns in [a, b] {
            while ns.readdir(dir, b"", 0).await.unwrap().len() != 120 {
                assert!(
                    t0.elapsed() < Duration::from_secs(3),
                    "a mirror did not converge"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        assert_clean(&env.store, p).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_cut_off_from_the_quorum_stops_serving_and_recovers() {
    let Some(mut env) = env(ClusterOptions::default()).await else {
        return;
    };
    let validity = Duration::from_millis(800);
    let timeout = Duration::from_secs(2);
    let short = EtcdStore::connect(&EtcdConfig::new(env.cluster.endpoints_arg()).timeout(timeout))
        .await
        .expect("connect");
    let p = "/cache3/";
    let (ns, cache, _follower) = deadline(30, async {
        namespace(&env.store, p).await;
        let (ns, cache, follower) = cached(short.clone(), short.clone(), p, validity);
        until_confirmed(&cache, Duration::from_secs(5)).await;
        ns.mkdir(ROOT_INO, b"d", 0o755, 0, 0).await.unwrap();
        (ns, cache, follower)
    })
    .await;

    env.cluster.stop(1).expect("SIGSTOP member 1");
    env.cluster.stop(2).expect("SIGSTOP member 2");
    let outcome = deadline(30, async {
        let t0 = Instant::now();
        while cache.is_confirmed() {
            assert!(
                t0.elapsed() < validity + Duration::from_millis(500),
                "still confirmed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let unconfirmed_after = t0.elapsed();
        let t1 = Instant::now();
        let err = ns
            .lookup(ROOT_INO, b"d")
            .await
            .expect_err("served while cut off");
        (unconfirmed_after, t1.elapsed(), err.errno())
    })
    .await;
    env.cluster.cont(1).expect("SIGCONT member 1");
    env.cluster.cont(2).expect("SIGCONT member 2");
    let (unconfirmed_after, failed_after, errno) = outcome;
    eprintln!(
        "unconfirmed {unconfirmed_after:?} after the cut; lookup failed after {failed_after:?}"
    );
    assert_eq!(errno, libc::EIO);
    assert!(
        failed_after <= timeout + Duration::from_secs(1),
        "{failed_after:?}"
    );

    deadline(30, async {
        let healed = until_confirmed(&cache, Duration::from_secs(20)).await;
        eprintln!("confirmed again {healed:?} after SIGCONT");
        ns.lookup(ROOT_INO, b"d")
            .await
            .expect("lookup after healing");
        ns.create(ROOT_INO, b"after", file())
            .await
            .expect("create after healing");
        assert_clean(&env.store, p).await;
    })
    .await;
}
