//! Namespace changes against a real 3-member cluster: POSIX results and errnos of create,
//! mknod, mkdir, symlink, link, unlink, rmdir and rename (NOREPLACE, EXCHANGE, WHITEOUT, the
//! cycle check), open-unlinked inodes as orphans of the daemon's session, and etcd database growth
//! per empty file. The checker must pass after every stage.

mod common;

use std::time::Duration;

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::fsck::{self, Violation};
use fusekit_etcdfs::ns::{FsError, Namespace, NewNode, RenameFlags, Session};
use fusekit_etcdfs::schema::{FileType, ROOT_INO};
use fusekit_etcdfs::store::{EtcdConfig, EtcdStore, Store};

use common::{assert_clean, deadline, env, namespace, none_open};

const ROOT: u64 = ROOT_INO;

fn errno<T: std::fmt::Debug>(r: Result<T, FsError>) -> i32 {
    r.expect_err("expected an error").errno()
}

fn file() -> NewNode {
    NewNode::new(libc::S_IFREG | 0o644, 1, 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posix_results_of_every_namespace_change() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(90, async {
        let p = "/ns/";
        let ns = namespace(&env.store, p).await;
        ns.format(0, 0).await.unwrap(); // idempotent
        let open = &none_open;

        // create, lookup, EEXIST, name limits.
        let (a, attr) = ns.create(ROOT, b"a", file()).await.unwrap();
        assert_eq!((attr.nlink, attr.uid, attr.gid), (1, 1, 2));
        assert_eq!(ns.lookup(ROOT, b"a").await.unwrap().0, a);
        assert_eq!(errno(ns.create(ROOT, b"a", file()).await), libc::EEXIST);
        let long = vec![b'x'; 256];
        assert_eq!(
            errno(ns.create(ROOT, &long, file()).await),
            libc::ENAMETOOLONG
        );
        assert_eq!(errno(ns.lookup(ROOT, &long).await), libc::ENAMETOOLONG);
        ns.create(ROOT, &long[..255], file()).await.unwrap();
        assert_eq!(errno(ns.create(ROOT, b"x/y", file()).await), libc::EINVAL);
        assert_eq!(errno(ns.create(99_999, b"z", file()).await), libc::ENOENT);
        assert_eq!(errno(ns.create(a, b"z", file()).await), libc::ENOTDIR);
        let lnk = NewNode::new(libc::S_IFLNK | 0o777, 0, 0);
        assert_eq!(errno(ns.create(ROOT, b"l", lnk).await), libc::EINVAL);

        // mknod, mkdir, symlink.
        let (fifo, fattr) = ns
            .create(ROOT, b"fifo", NewNode::new(libc::S_IFIFO | 0o600, 0, 0))
            .await
            .unwrap();
        assert_eq!(fattr.kind(), Some(FileType::Fifo));
        let (d, dattr) = ns.mkdir(ROOT, b"d", 0o755, 0, 0).await.unwrap();
        assert_eq!((dattr.nlink, dattr.parent), (2, ROOT));
        assert_eq!(ns.getattr(ROOT).await.unwrap().nlink, 3);
        let (e, _) = ns.mkdir(d, b"e", 0o755, 0, 0).await.unwrap();
        assert_eq!(ns.getattr(d).await.unwrap().nlink, 3);
        let (s, sattr) = ns.symlink(d, b"s", b"../a", 0, 0).await.unwrap();
        assert_eq!((sattr.target.as_slice(), sattr.size), (&b"../a"[..], 4));
        assert_clean(&env.store, p).await;

        // link, unlink, rmdir.
        assert_eq!(ns.link(a, d, b"a2").await.unwrap().nlink, 2);
        assert_eq!(errno(ns.link(d, ROOT, b"d2").await), libc::EPERM);
        assert_eq!(errno(ns.link(a, d, b"a2").await), libc::EEXIST);
        assert_eq!(errno(ns.rmdir(ROOT, b"d", open).await), libc::ENOTEMPTY);
        assert_eq!(errno(ns.unlink(ROOT, b"d", open).await), libc::EISDIR);
        assert_eq!(errno(ns.rmdir(ROOT, b"a", open).await), libc::ENOTDIR);
        assert_eq!(errno(ns.unlink(ROOT, b"nope", open).await), libc::ENOENT);
        ns.unlink(ROOT, b"a", open).await.unwrap();
        assert_eq!(ns.getattr(a).await.unwrap().nlink, 1);
        assert_clean(&env.store, p).await;
        ns.unlink(d, b"a2", open).await.unwrap();
        assert_eq!(errno(ns.getattr(a).await), libc::ENOENT);
        ns.unlink(ROOT, b"fifo", open).await.unwrap();
        assert_eq!(errno(ns.getattr(fifo).await), libc::ENOENT);
        assert_clean(&env.store, p).await;

        // rename: plain, over a file, NOREPLACE, onto another name of the same inode.
        let (f1, _) = ns.create(ROOT, b"f1", file()).await.unwrap();
        let (f2, _) = ns.create(d, b"f2", file()).await.unwrap();
        let none = RenameFlags::default();
        ns.rename(ROOT, b"f1", d, b"g", none, open).await.unwrap();
        assert_eq!(ns.lookup(d, b"g").await.unwrap().0, f1);
        assert_eq!(errno(ns.lookup(ROOT, b"f1").await), libc::ENOENT);
        let noreplace = RenameFlags::from_bits(1).unwrap();
        assert_eq!(
            errno(ns.rename(d, b"g", d, b"f2", noreplace, open).await),
            libc::EEXIST
        );
        ns.rename(d, b"g", d, b"f2", none, open).await.unwrap();
        assert_eq!(errno(ns.getattr(f2).await), libc::ENOENT);
        ns.link(f1, ROOT, b"f1link").await.unwrap();
        ns.rename(ROOT, b"f1link", d, b"f2", none, open)
            .await
            .unwrap();
        assert_eq!(ns.getattr(f1).await.unwrap().nlink, 2);
        assert_clean(&env.store, p).await;

        // Directories: into their own subtree is EINVAL, over a non-empty dir ENOTEMPTY,
        // file over dir EISDIR, dir over file ENOTDIR, over an empty dir fine.
        assert_eq!(
            errno(ns.rename(ROOT, b"d", e, b"d", none, open).await),
            libc::EINVAL
        );
        assert_eq!(
            errno(ns.rename(ROOT, b"d", d, b"d", none, open).await),
            libc::EINVAL
        );
        let (_, _) = ns.mkdir(ROOT, b"full", 0o755, 0, 0).await.unwrap();
        ns.create(ROOT, b"ff", file()).await.unwrap();
        ns.rename(ROOT, b"ff", ROOT, b"full2", none, open)
            .await
            .unwrap();
        let (full, _) = ns.lookup(ROOT, b"full").await.unwrap();
        ns.create(full, b"x", file()).await.unwrap();
        assert_eq!(
            errno(ns.rename(d, b"e", ROOT, b"full", none, open).await),
            libc::ENOTEMPTY
        );
        assert_eq!(
            errno(ns.rename(ROOT, b"full2", d, b"e", none, open).await),
            libc::EISDIR
        );
        assert_eq!(
            errno(ns.rename(d, b"e", ROOT, b"full2", none, open).await),
            libc::ENOTDIR
        );
        let (empty, _) = ns.mkdir(ROOT, b"empty", 0o755, 0, 0).await.unwrap();
        ns.rename(d, b"e", ROOT, b"empty", none, open)
            .await
            .unwrap();
        assert_eq!(errno(ns.getattr(empty).await), libc::ENOENT);
        assert_eq!(ns.getattr(e).await.unwrap().parent, ROOT);
        assert_eq!(ns.getattr(d).await.unwrap().nlink, 2);
        assert_clean(&env.store, p).await;

        // EXCHANGE: a directory and a symlink swap across parents.
        let exchange = RenameFlags::from_bits(2).unwrap();
        assert_eq!(
            errno(ns.rename(ROOT, b"empty", d, b"zz", exchange, open).await),
            libc::ENOENT
        );
        ns.rename(ROOT, b"empty", d, b"s", exchange, open)
            .await
            .unwrap();
        assert_eq!(ns.lookup(d, b"s").await.unwrap().0, e);
        assert_eq!(ns.lookup(ROOT, b"empty").await.unwrap().0, s);
        assert_eq!(ns.getattr(e).await.unwrap().parent, d);
        // Exchanging a directory with its own ancestor's sibling entry that contains it: EINVAL.
        assert_eq!(
            errno(ns.rename(ROOT, b"d", d, b"s", exchange, open).await),
            libc::EINVAL
        );
        assert!(RenameFlags::from_bits(3).is_err());
        assert!(RenameFlags::from_bits(6).is_err());
        assert!(RenameFlags::from_bits(8).is_err());
        assert_clean(&env.store, p).await;

        // WHITEOUT: the source name becomes a 0:0 character device of the caller, in the
        // transaction of the move (here over an existing target, which goes).
        let (w, _) = ns.create(ROOT, b"w", file()).await.unwrap();
        let (v, _) = ns.create(ROOT, b"v", file()).await.unwrap();
        let whiteout = RenameFlags::from_bits(4).unwrap().owned_by(7, 8);
        ns.rename(ROOT, b"w", ROOT, b"v", whiteout, open)
            .await
            .unwrap();
        assert_eq!(ns.lookup(ROOT, b"v").await.unwrap().0, w);
        assert_eq!(errno(ns.getattr(v).await), libc::ENOENT);
        let (wo, attr) = ns.lookup(ROOT, b"w").await.unwrap();
        assert_ne!(wo, w);
        assert_eq!(
            (attr.mode, attr.rdev, attr.nlink, attr.uid, attr.gid),
            (libc::S_IFCHR, 0, 1, 7, 8)
        );
        // WHITEOUT|NOREPLACE onto a taken name changes nothing.
        let noreplace_whiteout = RenameFlags::from_bits(5).unwrap();
        assert_eq!(
            errno(
                ns.rename(ROOT, b"v", ROOT, b"w", noreplace_whiteout, open)
                    .await
            ),
            libc::EEXIST
        );
        assert_eq!(ns.lookup(ROOT, b"w").await.unwrap().0, wo);
        assert_clean(&env.store, p).await;

        // readdir pages through names in order.
        let (big, _) = ns.mkdir(ROOT, b"big", 0o755, 0, 0).await.unwrap();
        for i in 0..25 {
            ns.create(big, format!("n{i:02}").as_bytes(), file())
                .await
                .unwrap();
        }
        let mut names = Vec::new();
        let mut after = Vec::new();
        loop {
            let page = ns.readdir(big, &after, 10).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.0.clone();
            names.extend(page.into_iter().map(|(n, _)| n));
        }
        let want: Vec<Vec<u8>> = (0..25).map(|i| format!("n{i:02}").into_bytes()).collect();
        assert_eq!(names, want);
        let report = assert_clean(&env.store, p).await;
        assert!(report.inodes > 30, "{report}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_unlinked_inodes_are_orphans_of_the_session() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(90, async {
        let p = "/orph/";
        namespace(&env.store, p).await;
        let keys = fusekit_etcdfs::schema::Keys::new(p.as_bytes().to_vec());
        let session = Session::start(&env.store, &keys, 2).await.unwrap();
        let ns = Namespace::new(
            env.store.clone(),
            p.as_bytes().to_vec(),
            Some(session.lease()),
        );
        let (f, _) = ns.create(ROOT, b"f", file()).await.unwrap();
        let (g, _) = ns.create(ROOT, b"g", file()).await.unwrap();
        ns.write(f, 0, &[1; 100]).await.unwrap();

        // Open f, unlink it: it stays with nlink 0 and an orphan key, the tree is clean.
        let is_f = move |ino: u64| ino == f;
        ns.unlink(ROOT, b"f", &is_f).await.unwrap();
        assert_eq!(ns.getattr(f).await.unwrap().nlink, 0);
        assert!(env.store.get(&keys.orphan(f)).await.unwrap().is_some());
        // Lives past the lease TTL while the session is kept alive.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(ns.reclaim_expired_orphans().await.unwrap(), 0);
        assert_clean(&env.store, p).await;
        // Last close: inode, chunk and orphan go in one transaction.
        assert!(ns.release(f, false).await.unwrap());
        assert_eq!(errno(ns.getattr(f).await), libc::ENOENT);
        assert!(env.store.get(&keys.chunk(f, 0)).await.unwrap().is_none());
        assert!(!ns.release(f, false).await.unwrap());
        assert_clean(&env.store, p).await;

        // A daemon that dies with g open: its orphan outlives it, the checker calls it expired,
        // and any daemon reclaims it.
        let is_g = move |ino: u64| ino == g;
        ns.unlink(ROOT, b"g", &is_g).await.unwrap();
        session.abandon();
        let expired = async {
            loop {
                let r = fsck::check(&env.store, p.as_bytes()).await.unwrap();
                if r.violations
                    .iter()
                    .any(|v| matches!(v, Violation::ExpiredOrphan { ino, .. } if *ino == g))
                {
                    return r;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        let report = tokio::time::timeout(Duration::from_secs(10), expired)
            .await
            .expect("lease never expired");
        assert_eq!(report.violations.len(), 1, "{report}");
        let other = Namespace::new(env.store.clone(), p.as_bytes().to_vec(), None);
        assert_eq!(other.reclaim_expired_orphans().await.unwrap(), 1);
        assert_eq!(errno(ns.getattr(g).await), libc::ENOENT);
        assert_clean(&env.store, p).await;

        // Unlinking an open inode after the session ended cannot write an orphan of a dead
        // session: the transaction is guarded on the session key.
        let (h, _) = other.create(ROOT, b"h", file()).await.unwrap();
        let is_h = move |ino: u64| ino == h;
        let r = ns.unlink(ROOT, b"h", &is_h).await;
        assert!(matches!(r, Err(FsError::SessionEnded)), "{r:?}");
        assert_eq!(ns.getattr(h).await.unwrap().nlink, 1);
        assert_clean(&env.store, p).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_file_grows_the_database_by_at_most_300_bytes() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(120, async {
        let p = "/grow/";
        let ns = namespace(&env.store, p).await;
        let (dir, _) = ns.mkdir(ROOT, b"dir", 0o755, 0, 0).await.unwrap();
        // Status from one member only: members' databases differ slightly.
        let one = EtcdStore::connect(&EtcdConfig::new(env.cluster.endpoint(0)))
            .await
            .unwrap();
        let in_use = || async {
            // Let the backend's batch commit (100 ms) land first.
            tokio::time::sleep(Duration::from_millis(300)).await;
            one.status().await.unwrap().db_size_in_use
        };
        let before = in_use().await;
        let n = 1000;
        for i in 0..n {
            ns.create(dir, format!("file{i:05}").as_bytes(), file())
                .await
                .unwrap();
        }
        let after = in_use().await;
        let per_file = (after - before) as f64 / f64::from(n);
        eprintln!("db in use: {before} -> {after} bytes, {per_file:.0} bytes per empty file");
        assert!(per_file <= 300.0, "{per_file:.0} bytes per empty file");
        assert_clean(&env.store, p).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemons_sharing_a_prefix_never_hand_out_one_inode_twice() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(60, async {
        let p = "/alloc/";
        namespace(&env.store, p).await;
        // Three daemons with their own clients and allocators, creating concurrently.
        let mut tasks = Vec::new();
        for d in 0..3 {
            let store = common::client(&env.cluster).await;
            let ns = Namespace::new(store, p.as_bytes().to_vec(), None);
            tasks.push(tokio::spawn(async move {
                let mut inos = Vec::new();
                for i in 0..100 {
                    let name = format!("d{d}-{i}");
                    inos.push(ns.create(ROOT, name.as_bytes(), file()).await.unwrap().0);
                }
                inos
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "an inode number was handed out twice");
        assert_clean(&env.store, p).await;
    })
    .await;
}
