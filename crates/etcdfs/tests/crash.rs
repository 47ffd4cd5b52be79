//! The one-transaction property under stress: three daemons (own clients, own inode
//! allocators, own sessions), two tasks each, race random creates, mkdirs, symlinks, links,
//! unlinks, rmdirs and renames (plain, NOREPLACE, EXCHANGE, WHITEOUT, directories across each
//! other) over a small set of names, while some operations are dropped mid-flight (a daemon
//! crashing between its reads and its commit, or with the commit in the air), one etcd member
//! is killed -9 and restarted, and one daemon dies outright (tasks aborted, lease left to
//! expire). Afterwards the checker must find nothing but that daemon's expired orphans,
//! and nothing at all once they are reclaimed.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::fsck::{self, Violation};
use fusekit_etcdfs::ns::{FsError, Namespace, NewNode, RenameFlags, Session};
use fusekit_etcdfs::schema::{Keys, ROOT_INO};
use fusekit_etcdfs::store::EtcdStore;

use common::{assert_clean, client, deadline, env};

const PREFIX: &str = "/crash/";
const NAMES: [&[u8]; 5] = [b"a", b"b", b"c", b"d", b"e"];
const OPS_PER_TASK: usize = 250;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Default)]
struct Stats {
    ok: AtomicUsize,
    refused: AtomicUsize,
    store_errors: AtomicUsize,
    contention: AtomicUsize,
    dropped: AtomicUsize,
}

type Op<'a> = Pin<Box<dyn Future<Output = Result<(), FsError>> + Send + 'a>>;

fn is_open(ino: u64) -> bool {
    ino % 5 == 0
}

fn pick_op<'a>(ns: &'a Namespace<EtcdStore>, dirs: &'a Mutex<Vec<u64>>, rng: &mut Rng) -> Op<'a> {
    let (d1, d2) = {
        let dirs = dirs.lock().unwrap();
        (dirs[rng.below(dirs.len())], dirs[rng.below(dirs.len())])
    };
    let (n1, n2) = (NAMES[rng.below(NAMES.len())], NAMES[rng.below(NAMES.len())]);
    let file = NewNode::new(libc::S_IFREG | 0o644, 0, 0);
    match rng.below(12) {
        0 | 1 => Box::pin(async move { ns.create(d1, n1, file).await.map(drop) }),
        2 | 3 => Box::pin(async move {
            let (ino, _) = ns.mkdir(d1, n1, 0o755, 0, 0).await?;
            dirs.lock().unwrap().push(ino);
            Ok(())
        }),
        4 => Box::pin(async move { ns.symlink(d1, n1, b"t", 0, 0).await.map(drop) }),
        5 => Box::pin(async move {
            let (ino, _) = ns.lookup(d1, n1).await?;
            ns.link(ino, d2, n2).await.map(drop)
        }),
        6 => Box::pin(async move { ns.unlink(d1, n1, &is_open).await }),
        7 => Box::pin(async move { ns.rmdir(d1, n1, &is_open).await }),
        n => {
            let flags = RenameFlags {
                noreplace: n == 8,
                exchange: n == 9,
                whiteout: (n == 11).then_some((0, 0)),
            };
            Box::pin(async move { ns.rename(d1, n1, d2, n2, flags, &is_open).await })
        }
    }
}

async fn worker(
    ns: Arc<Namespace<EtcdStore>>,
    dirs: Arc<Mutex<Vec<u64>>>,
    seed: u64,
    stats: Arc<Stats>,
) {
    let mut rng = Rng(seed);
    for _ in 0..OPS_PER_TASK {
        let op = pick_op(&ns, &dirs, &mut rng);
        // One in eight operations is abandoned after 0–7 ms: the future is dropped wherever
        // it is, as if the daemon died there.
        let result = if rng.below(8) == 0 {
            let cut = Duration::from_millis(rng.below(8) as u64);
            match tokio::time::timeout(cut, op).await {
                Ok(r) => r,
                Err(_) => {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
        } else {
            op.await
        };
        let counter = match result {
            Ok(()) => &stats.ok,
            Err(FsError::Store(e)) => {
                if stats.store_errors.load(Ordering::Relaxed) < 5 {
                    eprintln!("store error: {e}");
                }
                &stats.store_errors
            }
            Err(FsError::Contention(_)) => &stats.contention,
            Err(FsError::Corrupt(e)) => panic!("corruption seen by an operation: {e}"),
            Err(_) => &stats.refused,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_daemons_with_crashes_leave_a_consistent_tree() {
    let Some(mut env) = env(ClusterOptions::default()).await else {
        return;
    };
    let keys = Keys::new(PREFIX.as_bytes().to_vec());
    deadline(180, async {
        let stats = Arc::new(Stats::default());
        let dirs = Arc::new(Mutex::new(vec![ROOT_INO]));
        let mut daemons = Vec::new();
        for d in 0..3u64 {
            let store = client(&env.cluster).await;
            let session = Session::start(&store, &keys, 2).await.unwrap();
            let ns = Arc::new(Namespace::new(
                store,
                PREFIX.as_bytes().to_vec(),
                Some(session.lease()),
            ));
            ns.format(0, 0).await.unwrap();
            if d == 2 {
                // The daemon that will die holds at least this orphan.
                let node = NewNode::new(libc::S_IFREG | 0o644, 0, 0);
                ns.create(ROOT_INO, b"held", node).await.unwrap();
                ns.unlink(ROOT_INO, b"held", &|_| true).await.unwrap();
            }
            let tasks: Vec<_> = (0..2u64)
                .map(|t| {
                    let seed =
                        0x9E37_79B9_7F4A_7C15 ^ (d * 2 + t + 1).wrapping_mul(0x1234_5678_9ABC);
                    tokio::spawn(worker(ns.clone(), dirs.clone(), seed, stats.clone()))
                })
                .collect();
            daemons.push((session, ns, tasks));
        }

        // A member dies under load and comes back.
        tokio::time::sleep(Duration::from_millis(800)).await;
        env.cluster.kill(0).unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        env.cluster.restart(0).unwrap();

        // Daemon 2 dies: its tasks stop wherever they are, its lease is left to expire.
        let (dead_session, _dead_ns, dead_tasks) = daemons.pop().unwrap();
        for t in &dead_tasks {
            t.abort();
        }
        let dead_lease = dead_session.lease();
        dead_session.abandon();
        for (_, _, tasks) in &mut daemons {
            for t in tasks.drain(..) {
                t.await.expect("worker panicked");
            }
        }
        for t in dead_tasks {
            assert!(
                t.await.is_err_and(|e| e.is_cancelled()),
                "dead daemon's task panicked"
            );
        }
        let s = &stats;
        let load = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        eprintln!(
            "ok {} refused {} store errors {} contention {} dropped {}",
            load(&s.ok),
            load(&s.refused),
            load(&s.store_errors),
            load(&s.contention),
            load(&s.dropped)
        );
        assert!(
            load(&s.ok) > 200,
            "too few successful changes to prove anything"
        );

        // Only the dead daemon's orphans may be wrong, and only once its lease expired.
        let store = env.store.clone();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let report = fsck::check(&store, PREFIX.as_bytes()).await.unwrap();
        for v in &report.violations {
            assert!(
                matches!(v, Violation::ExpiredOrphan { lease, .. } if *lease == dead_lease.0),
                "{report}"
            );
        }
        let reclaimed = daemons[0].1.reclaim_expired_orphans().await.unwrap();
        assert_eq!(reclaimed, report.violations.len());
        assert!(
            reclaimed >= 1,
            "the dead daemon's orphan was not reported: {report}"
        );
        eprintln!("reclaimed {reclaimed} orphan(s) of the dead daemon");
        let report = assert_clean(&store, PREFIX).await;
        eprintln!("{report}");
        // The living daemons' orphans go at their last close.
        for (session, ns, _) in &daemons {
            let prefix = keys.orphans();
            let end = fusekit_etcdfs::store::prefix_end(&prefix);
            let orphans = fusekit_etcdfs::store::Store::range(&store, &prefix, &end, 0, 0)
                .await
                .unwrap();
            for kv in orphans.kvs {
                if kv.value == session.lease().0.to_be_bytes() {
                    let Some(fusekit_etcdfs::schema::ParsedKey::Orphan(ino)) = keys.parse(&kv.key)
                    else {
                        panic!("bad orphan key");
                    };
                    assert!(ns.release(ino, false).await.unwrap());
                }
            }
        }
        assert_clean(&store, PREFIX).await;
    })
    .await;
}
