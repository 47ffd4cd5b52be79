//! Goal 4: store footprint <= 300 bytes per empty file, from etcd's database growth.
//! Before: history compacted, every member defragmented, the mean bytes in use of the members'
//! databases taken. Then N empty files are created by `callers` concurrent callers, one
//! directory each; after: the same measure (live data only: the history of the rewritten
//! parent inodes is compaction's to drop, as etcd's auto-compaction does in production); the
//! growth over N is the figure. The growth before compaction is noted too.
//!
//! Three runs: N files through the Namespace API (the same `Namespace::create` the mount's
//! CREATE calls; 100k files through the mount would take too long for a bench), a smaller
//! count through the mount, and as context raw etcd: N single-key puts of an inode-sized value.

use std::path::Path;
use std::sync::Arc;

use fusekit_etcdfs::ns::{Namespace, NewNode};
use fusekit_etcdfs::schema::ROOT_INO;
use fusekit_etcdfs::store::{EtcdStore, Store, Txn, TxnOp};

use crate::counting::Counting;
use crate::creates::inode_record_len;
use crate::env::Env;
use crate::options::Options;
use crate::report::{Goal, Row};

/// Growth in bytes per item: (after compaction, before compaction).
type Growth = (f64, f64);

/// Runs `work` (creating `n` items) between two measures.
fn measure(env: &mut Env, n: u64, work: impl FnOnce(&Env)) -> Growth {
    let before = env.rt.block_on(env.admin.settle()).expect("settle");
    work(env);
    let raw = env.rt.block_on(env.admin.in_use()).expect("status");
    let after = env.rt.block_on(env.admin.settle()).expect("settle");
    ((after - before) / n as f64, (raw - before) / n as f64)
}

/// `n` files through the Namespace API, `callers` tasks, one directory each.
fn via_namespace(env: &mut Env, n: u64, callers: usize) -> (Growth, crate::counting::Calls) {
    let ns = Arc::new(Namespace::new(
        env.counting.clone(),
        b"bench-fp/".to_vec(),
        None,
    ));
    let dirs: Vec<u64> = env.rt.block_on(async {
        ns.format(0, 0).await.expect("format");
        let mut dirs = Vec::new();
        for t in 0..callers {
            let name = format!("d{t}");
            let (ino, _) = ns
                .mkdir(ROOT_INO, name.as_bytes(), 0o755, 0, 0)
                .await
                .expect("mkdir");
            dirs.push(ino);
        }
        dirs
    });
    let c0 = env.counting.calls();
    let growth = measure(env, n, |env| {
        env.rt.block_on(create_all(&ns, &dirs, n));
    });
    (growth, env.counting.calls().since(c0))
}

async fn create_all(ns: &Arc<Namespace<Counting<EtcdStore>>>, dirs: &[u64], n: u64) {
    let per = n / dirs.len() as u64;
    let extra = n % dirs.len() as u64;
    let tasks: Vec<_> = dirs
        .iter()
        .enumerate()
        .map(|(t, &dir)| {
            let ns = Arc::clone(ns);
            let count = per + u64::from((t as u64) < extra);
            tokio::spawn(async move {
                for i in 0..count {
                    let node = NewNode::new(libc::S_IFREG | 0o644, 0, 0);
                    ns.create(dir, format!("f{i}").as_bytes(), node)
                        .await
                        .expect("create through the Namespace API");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("create task");
    }
}

/// `n` files through the mount, `callers` threads, one directory each.
fn via_mount(env: &mut Env, n: u64, callers: usize, ttl: std::time::Duration) -> Growth {
    let mount = env.mount_etcdfs(b"bench-fpm/", ttl);
    let root = mount.path().to_path_buf();
    for t in 0..callers {
        std::fs::create_dir(root.join(format!("d{t}"))).expect("mkdir on the mount");
    }
    let growth = measure(env, n, |_| create_files(&root, n, callers));
    drop(mount);
    growth
}

fn create_files(root: &Path, n: u64, callers: usize) {
    let per = n / callers as u64;
    let extra = n % callers as u64;
    let threads: Vec<_> = (0..callers)
        .map(|t| {
            let dir = root.join(format!("d{t}"));
            let count = per + u64::from((t as u64) < extra);
            std::thread::spawn(move || {
                for i in 0..count {
                    std::fs::File::create(dir.join(format!("f{i}"))).expect("create on the mount");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("create thread");
    }
}

/// `n` raw single-key puts of an inode-sized value, `callers` tasks.
fn raw_puts(env: &mut Env, n: u64, callers: usize) -> Growth {
    let store = env.store.clone();
    measure(env, n, |env| {
        env.rt.block_on(async {
            let value = vec![0x5a; inode_record_len()];
            let tasks: Vec<_> = (0..callers as u64)
                .map(|t| {
                    let (store, value) = (store.clone(), value.clone());
                    tokio::spawn(async move {
                        let mut i = t;
                        while i < n {
                            // A key as short as etcdfs's: a tag and the number.
                            let mut key = b"rfp/".to_vec();
                            key.extend_from_slice(&i.to_be_bytes());
                            let txn = Txn {
                                then: vec![TxnOp::Put {
                                    key,
                                    value: value.clone(),
                                    lease: None,
                                }],
                                ..Txn::default()
                            };
                            store.txn(txn).await.expect("raw put");
                            i += callers as u64;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("raw put task");
            }
        })
    })
}

/// The three runs; one row each for the Namespace API and the mount.
pub fn run(env: &mut Env, o: &Options) -> Vec<Row> {
    let (n, m, c) = (o.footprint_files, o.footprint_mount_files, o.callers);
    eprintln!(
        "footprint: {n} files via the Namespace API, {m} via the mount, {n} raw puts; {c} callers"
    );
    let raw = raw_puts(env, n, c);
    eprintln!(
        "  raw etcd: {:.0} B per key ({:.0} before compaction)",
        raw.0, raw.1
    );
    let (ns, calls) = via_namespace(env, n, c);
    eprintln!(
        "  Namespace API: {:.0} B per file ({:.0} before compaction)",
        ns.0, ns.1
    );
    let mnt = via_mount(env, m, c, o.mount_ttl);
    eprintln!(
        "  mount: {:.0} B per file ({:.0} before compaction)",
        mnt.0, mnt.1
    );
    let reference = format!(
        "raw etcd bytes per single-key put ({n} keys of 12 B, {} B values): etcd's own per-key cost",
        inode_record_len()
    );
    let mut a = Row::new(
        format!("footprint, {}k files, Namespace API", n / 1000),
        "B/file",
        reference.clone(),
        Goal::AtMost(300.0),
        vec![(ns.0, raw.0)],
    );
    a.notes.push(format!(
        "db bytes in use (mean of 3 members) after compaction + defrag; before compaction {:.0} B/file",
        ns.1
    ));
    a.notes.push(format!("per create: {}", calls.per_op(n)));
    let mut b = Row::new(
        format!("footprint, {}k files, mount", m / 1000),
        "B/file",
        reference,
        Goal::AtMost(300.0),
        vec![(mnt.0, raw.0)],
    );
    b.notes.push(format!(
        "created with open(O_CREAT)+close by {c} threads; before compaction {:.0} B/file",
        mnt.1
    ));
    vec![a, b]
}
