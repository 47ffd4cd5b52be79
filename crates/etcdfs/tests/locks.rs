//! Locks held in etcd, at the namespace level, on a real 3-member cluster: two daemons (own
//! clients, own sessions; one reading through a watch-fed cache) exclude each other, owners
//! are per daemon, racing owners never hold conflicting locks at once, a lock whose caller
//! went away (interrupted, with its transaction in the air) is undone, a deleted inode takes its locks along, and a daemon that dies loses its locks when
//! its session lease expires, within the measured bound.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::cache::{CacheOptions, Follower, MetaCache};
use fusekit_etcdfs::ns::{LockChange, Locks, Namespace, NewNode, Session, SetOutcome};
use fusekit_etcdfs::schema::{Keys, ROOT_INO};
use fusekit_etcdfs::store::{
    prefix_end, EtcdStore, KeyValue, LeaseId, RangeResult, Store, StoreError, Txn, TxnResult,
};

use common::{assert_clean, client, deadline, env, none_open};

const PREFIX: &str = "/locks/";
/// The dying daemon's session TTL.
const SHORT_TTL: i64 = 2;

fn write(start: u64, end: u64) -> LockChange {
    LockChange::Lock {
        start,
        end,
        write: true,
        pid: 7,
    }
}

fn read(start: u64, end: u64) -> LockChange {
    LockChange::Lock {
        start,
        end,
        write: false,
        pid: 7,
    }
}

fn applied(out: SetOutcome) -> bool {
    matches!(out, SetOutcome::Applied(_))
}

/// A daemon: its session and namespace, optionally with a watch-fed cache.
struct Daemon {
    session: Option<Session>,
    ns: Namespace<EtcdStore>,
    _follower: Option<Follower>,
}

impl Daemon {
    async fn start(store: EtcdStore, ttl: i64, cached: bool) -> Daemon {
        let keys = Keys::new(PREFIX.as_bytes().to_vec());
        let session = Session::start(&store, &keys, ttl).await.expect("session");
        let mut ns = Namespace::new(
            store.clone(),
            PREFIX.as_bytes().to_vec(),
            Some(session.lease()),
        );
        ns.format(0, 0).await.expect("format");
        let mut follower = None;
        if cached {
            let (start, end) = keys.cached_range();
            let cache = MetaCache::new(start, end, CacheOptions::default());
            ns.attach_cache(Arc::clone(&cache));
            follower = Some(Follower::start(store, Arc::clone(&cache)));
            let until = Instant::now() + Duration::from_secs(10);
            while !cache.is_confirmed() {
                assert!(Instant::now() < until, "cache never confirmed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Daemon {
            session: Some(session),
            ns,
            _follower: follower,
        }
    }

    fn locks(&self) -> Locks<EtcdStore> {
        self.ns.locks().expect("a session")
    }

    async fn end(mut self) {
        if let Some(s) = self.session.take() {
            s.end(self.ns.store()).await.expect("end session");
        }
    }
}

/// The lock keys of `ino` in the store.
async fn lock_keys(store: &EtcdStore, ino: u64) -> usize {
    let start = Keys::new(PREFIX.as_bytes().to_vec()).locks(ino);
    store
        .range(&start, &prefix_end(&start), 0, 0)
        .await
        .expect("range")
        .kvs
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn locks_exclude_across_daemons_and_die_with_their_session() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    let store_b = client(&env.cluster).await;
    let store = env.store.clone();
    deadline(120, async move {
        let a = Daemon::start(store.clone(), 30, true).await;
        let b = Daemon::start(store_b, SHORT_TTL, false).await;
        let file = NewNode::new(libc::S_IFREG | 0o644, 0, 0);
        let (ino, _) = a.ns.create(ROOT_INO, b"f", file).await.unwrap();
        let (la, lb) = (a.locks(), b.locks());

        // Exclusion, with owners per daemon: owner 1 on B is not owner 1 on A.
        assert!(applied(lb.set(ino, false, 1, write(0, 99)).await.unwrap()));
        match la.set(ino, false, 1, write(50, 60)).await.unwrap() {
            SetOutcome::Conflict(held) => {
                assert_eq!(held.lease, lb.lease().0);
                assert_eq!(held.owner, 1);
                assert_eq!((held.range.start, held.range.end), (0, 99));
                assert!(held.range.write);
            }
            other => panic!("A's overlapping write lock: {other:?}"),
        }
        let seen = la.test(ino, false, 1, 99, 99, false).await.unwrap();
        assert!(seen.is_some(), "F_GETLK through A misses B's lock");
        assert!(applied(
            la.set(ino, false, 1, read(100, 200)).await.unwrap()
        ));
        // flock locks do not meet POSIX locks.
        assert!(applied(la.set(ino, true, 1, write(0, 0)).await.unwrap()));
        assert!(matches!(
            lb.set(ino, true, 2, read(0, 0)).await.unwrap(),
            SetOutcome::Conflict(_)
        ));
        la.release(ino, true, 1).await.unwrap();
        assert!(applied(lb.set(ino, true, 2, read(0, 0)).await.unwrap()));
        lb.release(ino, true, 2).await.unwrap();
        // B drops part of its range: A gets exactly what was freed.
        let unlock = LockChange::Unlock { start: 40, end: 69 };
        assert!(applied(lb.set(ino, false, 1, unlock).await.unwrap()));
        assert!(applied(la.set(ino, false, 1, write(50, 60)).await.unwrap()));
        assert!(!applied(
            la.set(ino, false, 1, write(30, 39)).await.unwrap()
        ));
        la.release(ino, false, 1).await.unwrap();
        assert_clean(&store, PREFIX).await;

        // An interrupted lock is restored to what the owner held before.
        let SetOutcome::Applied(taken) = la.set(ino, false, 9, write(500, 600)).await.unwrap()
        else {
            panic!("lock 500..600 refused")
        };
        assert!(la
            .restore(ino, false, 9, taken.after.clone(), taken.before.clone())
            .await
            .unwrap());
        assert!(applied(
            lb.set(ino, false, 3, write(500, 600)).await.unwrap()
        ));
        lb.release(ino, false, 3).await.unwrap();
        assert!(
            !la.restore(ino, false, 9, taken.after, taken.before)
                .await
                .unwrap(),
            "a second restore finds the record changed and leaves it"
        );

        // B dies holding a lock: it goes when B's lease expires.
        assert!(applied(lb.set(ino, false, 1, write(0, 99)).await.unwrap()));
        let Daemon {
            session, ns: _ns_b, ..
        } = b;
        let died = Instant::now();
        session.expect("B's session").abandon();
        let gone = loop {
            if applied(la.set(ino, false, 1, write(0, 99)).await.unwrap()) {
                break died.elapsed();
            }
            assert!(
                died.elapsed() < Duration::from_secs(30),
                "B's lock outlived its lease by far"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        eprintln!("dead daemon's lock gone after {gone:?} (session TTL {SHORT_TTL} s)");
        let ttl = Duration::from_secs(SHORT_TTL as u64);
        // The lease was last renewed at most a third of its TTL before B died; etcd checks
        // expiry every half second or so.
        assert!(gone >= ttl * 2 / 3 - Duration::from_millis(300), "{gone:?}");
        assert!(gone <= ttl + Duration::from_millis(1500), "{gone:?}");
        la.release(ino, false, 1).await.unwrap();
        assert_clean(&store, PREFIX).await;
        assert_eq!(lock_keys(&store, ino).await, 0, "no lock key left behind");

        // A deleted inode takes its locks along.
        assert!(applied(la.set(ino, false, 4, read(0, 9)).await.unwrap()));
        a.ns.unlink(ROOT_INO, b"f", &none_open).await.unwrap();
        assert_eq!(lock_keys(&store, ino).await, 0);
        assert!(
            la.set(ino, false, 4, read(0, 9)).await.is_err(),
            "lock on a deleted inode"
        );
        assert_clean(&store, PREFIX).await;
        a.end().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_owners_never_overlap() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    let store_b = client(&env.cluster).await;
    let store = env.store.clone();
    deadline(120, async move {
        let a = Arc::new(Daemon::start(store.clone(), 30, true).await);
        let b = Arc::new(Daemon::start(store_b, 30, true).await);
        let file = NewNode::new(libc::S_IFREG | 0o644, 0, 0);
        let (ino, _) = a.ns.create(ROOT_INO, b"race", file).await.unwrap();
        let inside = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for (d, owner) in [(&a, 1u64), (&a, 2), (&b, 1), (&b, 2)] {
            let locks = d.locks();
            let (inside, held) = (Arc::clone(&inside), Arc::clone(&held));
            tasks.push(tokio::spawn(async move {
                let mut mine = 0;
                while mine < 10 {
                    // Overlapping ranges per owner, so every pair conflicts.
                    let start = owner * 10;
                    match locks.set(ino, false, owner, write(start, start + 50)).await {
                        Ok(SetOutcome::Applied(_)) => {
                            assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                            tokio::time::sleep(Duration::from_millis(2)).await;
                            inside.store(false, Ordering::SeqCst);
                            locks.release(ino, false, owner).await.unwrap();
                            mine += 1;
                            held.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(SetOutcome::Conflict(_)) => {
                            tokio::time::sleep(Duration::from_millis(1)).await
                        }
                        Err(e) => panic!("lock failed: {e}"),
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("racer");
        }
        assert_eq!(held.load(Ordering::SeqCst), 40);
        assert_eq!(lock_keys(&store, ino).await, 0, "no lock key left behind");
        assert_clean(&store, PREFIX).await;
        for d in [a, b] {
            if let Ok(d) = Arc::try_unwrap(d) {
                d.end().await;
            }
        }
    })
    .await;
}

/// A store whose transactions take `delay_ms` longer: before they are sent (`before`), or
/// after they committed, before the answer comes back.
#[derive(Clone)]
struct Slow {
    inner: EtcdStore,
    delay_ms: Arc<AtomicU64>,
    before: Arc<AtomicBool>,
}

impl Slow {
    async fn pause(&self, before: bool) {
        if self.before.load(Ordering::SeqCst) == before {
            let ms = self.delay_ms.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
}

impl Store for Slow {
    type Watch = <EtcdStore as Store>::Watch;

    async fn get(&self, key: &[u8]) -> Result<Option<KeyValue>, StoreError> {
        self.inner.get(key).await
    }
    async fn range(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        self.inner.range(start, end, limit, revision).await
    }
    async fn range_keys(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
        revision: i64,
    ) -> Result<RangeResult, StoreError> {
        self.inner.range_keys(start, end, limit, revision).await
    }
    async fn txn(&self, txn: Txn) -> Result<TxnResult, StoreError> {
        self.pause(true).await;
        let r = self.inner.txn(txn).await;
        self.pause(false).await;
        r
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abandoned_lock_attempt_leaves_no_lock() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    let store = env.store.clone();
    deadline(60, async move {
        let keys = Keys::new(PREFIX.as_bytes().to_vec());
        let session = Session::start(&store, &keys, 30).await.expect("session");
        let slow = Slow {
            inner: store.clone(),
            delay_ms: Arc::new(AtomicU64::new(0)),
            before: Arc::new(AtomicBool::new(true)),
        };
        let ns = Namespace::new(
            slow.clone(),
            PREFIX.as_bytes().to_vec(),
            Some(session.lease()),
        );
        ns.format(0, 0).await.expect("format");
        let file = NewNode::new(libc::S_IFREG | 0o644, 0, 0);
        let (ino, _) = ns.create(ROOT_INO, b"f", file).await.unwrap();
        let locks = ns.locks().expect("a session");
        // Owner 2 holds a read lock before: an abandoned upgrade must give it back.
        assert!(applied(locks.set(ino, false, 2, read(0, 9)).await.unwrap()));
        let before = lock_keys(&store, ino).await;
        // Owner 1 takes 100..=199 afresh; owner 2 upgrades to a write lock of 0..=99.
        let cases = [
            (1u64, 100, false),
            (1, 100, true),
            (2, 0, false),
            (2, 0, true),
        ];
        for (owner, start, commit_first) in cases {
            slow.before.store(!commit_first, Ordering::SeqCst);
            slow.delay_ms.store(400, Ordering::SeqCst);
            let attempt = locks.set_detached(ino, false, owner, write(start, start + 99));
            let gone = tokio::time::timeout(Duration::from_millis(100), attempt).await;
            assert!(
                gone.is_err(),
                "owner {owner}: the attempt answered within 100 ms despite the delay: {gone:?}"
            );
            slow.delay_ms.store(0, Ordering::SeqCst);
            // Past the delay: a transaction held back before sending has landed by now.
            tokio::time::sleep(Duration::from_millis(500)).await;
            // The transaction lands (or has landed) and is undone: 100..=199 is free again,
            // and 0..=99 holds owner 2's read lock of 0..=9 and nothing else.
            let t0 = Instant::now();
            loop {
                let high = locks.test(ino, false, 3, 100, 199, false).await.unwrap();
                let low = locks.test(ino, false, 3, 0, 99, true).await.unwrap();
                let restored = low.is_some_and(|h| {
                    h.owner == 2 && !h.range.write && (h.range.start, h.range.end) == (0, 9)
                });
                if high.is_none() && restored {
                    break;
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(5),
                    "owner {owner} (commit first: {commit_first}): {high:?} {low:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert_eq!(lock_keys(&store, ino).await, before, "owner {owner}");
        }
        locks.release(ino, false, 2).await.unwrap();
        assert_eq!(lock_keys(&store, ino).await, 0);
        assert_clean(&store, PREFIX).await;
        session.end(&store).await.expect("end session");
    })
    .await;
}
