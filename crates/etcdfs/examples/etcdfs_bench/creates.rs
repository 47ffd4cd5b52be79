//! Goal 1: etcdfs creates/s >= 0.5x etcd's raw single-key transaction rate, same client
//! library, same concurrency. etcdfs: `callers` threads each create empty files
//! (`open(O_CREAT|O_EXCL)` + close) in their own directory of the mount for a fixed time.
//! Reference: `callers` tokio tasks on the same client each run single-key transactions
//! (compare "key absent", put an inode-sized value) for the same time. Rounds alternate
//! which side goes first.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use fusekit_etcdfs::store::{Compare, EtcdStore, Store, Txn, TxnOp};

use crate::env::Env;
use crate::options::Options;
use crate::report::{Goal, Row};

/// Operations done and the seconds they took.
pub type Rate = (u64, f64);

/// `callers` threads create files under `root/tag-N/` for `secs`.
pub fn mount_creates(root: &Path, tag: &str, callers: usize, secs: Duration) -> Rate {
    let dirs: Vec<PathBuf> = (0..callers)
        .map(|t| root.join(format!("{tag}-{t}")))
        .collect();
    for d in &dirs {
        std::fs::create_dir(d).expect("mkdir on the mount");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let go = Arc::new(Barrier::new(callers + 1));
    let threads: Vec<_> = dirs
        .into_iter()
        .map(|dir| {
            let (stop, go) = (Arc::clone(&stop), Arc::clone(&go));
            std::thread::spawn(move || {
                go.wait();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(dir.join(format!("f{n}")))
                        .expect("create on the mount");
                    n += 1;
                }
                (n, Instant::now())
            })
        })
        .collect();
    go.wait();
    let start = Instant::now();
    std::thread::sleep(secs);
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    let mut end = start;
    for t in threads {
        let (n, at) = t.join().expect("create thread");
        total += n;
        end = end.max(at);
    }
    (total, (end - start).as_secs_f64())
}

/// The value size of a new empty file's inode record (what etcdfs puts for it).
pub fn inode_record_len() -> usize {
    use fusekit_etcdfs::schema::{Inode, Timestamp};
    let now = Timestamp::now();
    Inode {
        mode: libc::S_IFREG | 0o644,
        nlink: 1,
        uid: 0,
        gid: 0,
        size: 0,
        rdev: 0,
        atime: now,
        mtime: now,
        ctime: now,
        parent: 0,
        target: Vec::new(),
        btime: Some(now),
        chunks: Some(0),
        chunks_past_eof: false,
    }
    .encode()
    .len()
}

/// `callers` tasks run single-key transactions (key absent → put) under `raw/tag/` for `secs`.
pub async fn raw_txns(store: &EtcdStore, tag: &str, callers: usize, secs: Duration) -> Rate {
    let value = vec![0x5a; inode_record_len()];
    let start = Instant::now();
    let end = start + secs;
    let tasks: Vec<_> = (0..callers)
        .map(|t| {
            let (store, value) = (store.clone(), value.clone());
            let prefix = format!("raw/{tag}/{t}/");
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < end {
                    let key = format!("{prefix}{n}").into_bytes();
                    let txn = Txn {
                        compares: vec![Compare::absent(key.clone())],
                        then: vec![TxnOp::Put {
                            key,
                            value: value.clone(),
                            lease: None,
                        }],
                        otherwise: Vec::new(),
                    };
                    let r = store.txn(txn).await.expect("raw txn");
                    assert!(r.succeeded, "a fresh key exists already");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("raw txn task");
    }
    (total, start.elapsed().as_secs_f64())
}

/// Warm-up, then alternated rounds; one row.
pub fn run(env: &Env, o: &Options) -> Row {
    let c = o.callers;
    eprintln!(
        "creates: {c} callers, {:?} per phase, {} rounds",
        o.secs, o.rounds
    );
    let mount = env.mount_etcdfs(b"bench-creates/", o.mount_ttl);
    let raw = |tag: &str, secs| env.rt.block_on(raw_txns(&env.store, tag, c, secs));
    raw("warm", o.warmup);
    mount_creates(mount.path(), "warm", c, o.warmup);
    let mut rounds = Vec::new();
    let mut calls = crate::counting::Calls::default();
    let mut created = 0;
    let mut requests = 0;
    for round in 0..o.rounds {
        let tag = format!("r{round}");
        let fs_side = || {
            let (before, r0) = (env.counting.calls(), mount.stats().requests);
            let r = mount_creates(mount.path(), &tag, c, o.secs);
            (
                r,
                env.counting.calls().since(before),
                mount.stats().requests - r0,
            )
        };
        let (fs, raw_rate, delta, req) = if round % 2 == 0 {
            let r = raw(&tag, o.secs);
            let (f, d, q) = fs_side();
            (f, r, d, q)
        } else {
            let (f, d, q) = fs_side();
            (f, raw(&tag, o.secs), d, q)
        };
        requests += req;
        let (a, b) = (fs.0 as f64 / fs.1, raw_rate.0 as f64 / raw_rate.1);
        eprintln!("  round {round}: etcdfs {a:.0} creates/s, raw {b:.0} txn/s");
        rounds.push((a, b));
        calls += delta;
        created += fs.0;
    }
    drop(mount);
    let mut row = Row::new(
        "creates",
        "ops/s",
        format!(
            "raw etcd single-key txn/s (compare absent + put {} B), {c} tasks on the same client",
            inode_record_len()
        ),
        Goal::RatioAtLeast(0.5),
        rounds,
    );
    row.notes.push(format!(
        "etcdfs: {c} threads, open(O_CREAT|O_EXCL)+close of empty files, one directory per thread; kernel TTL {:?}",
        o.mount_ttl
    ));
    row.notes.push(format!(
        "etcdfs, per create: {:.2} FUSE requests; {}",
        requests as f64 / created.max(1) as f64,
        calls.per_op(created)
    ));
    row
}
