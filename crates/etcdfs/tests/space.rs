//! O_TMPFILE, fallocate, chunk counts (st_blocks), SEEK_DATA / SEEK_HOLE and birth times
//! against a real 3-member cluster, at the namespace level. The checker, which verifies chunk
//! counts and that no chunk lies past a file's end, must pass after every stage.

mod common;

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::ns::{FallocMode, FsError, Namespace, NewNode, SeekTo, Session, MAX_ALLOCATE};
use fusekit_etcdfs::schema::{Inode, Keys, CHUNK_SIZE, ROOT_INO};
use fusekit_etcdfs::store::{EtcdStore, Store};

use common::{assert_clean, deadline, env, namespace};

const ROOT: u64 = ROOT_INO;
const C: u64 = CHUNK_SIZE as u64;

fn errno<T: std::fmt::Debug>(r: Result<T, FsError>) -> i32 {
    r.expect_err("expected an error").errno()
}

fn file() -> NewNode {
    NewNode::new(libc::S_IFREG | 0o644, 1, 2)
}

/// The chunk indexes stored for `ino`, read from the store by key.
async fn stored(store: &EtcdStore, keys: &Keys, ino: u64) -> Vec<u64> {
    let prefix = keys.chunks(ino);
    let r = store
        .range_keys(&prefix, &fusekit_etcdfs::store::prefix_end(&prefix), 0, 0)
        .await
        .unwrap();
    r.kvs
        .iter()
        .map(|kv| u64::from_be_bytes(kv.key[prefix.len()..].try_into().unwrap()))
        .collect()
}

/// A file `name` in the root holding `data` at offset 0.
async fn file_with(ns: &Namespace<EtcdStore>, name: &[u8], data: &[u8]) -> u64 {
    let (ino, _) = ns.create(ROOT, name, file()).await.unwrap();
    if !data.is_empty() {
        ns.write(ino, 0, data).await.unwrap();
    }
    ino
}

fn chunks(i: &Inode) -> (u64, Option<u64>, bool) {
    (i.size, i.chunks, i.chunks_past_eof)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmpfiles_are_orphans_until_linked_or_closed() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(90, async {
        let p = "/tmpf/";
        namespace(&env.store, p).await;
        let keys = Keys::new(p.as_bytes().to_vec());
        let session = Session::start(&env.store, &keys, 10).await.unwrap();
        let ns = Namespace::new(
            env.store.clone(),
            p.as_bytes().to_vec(),
            Some(session.lease()),
        );
        let (dir, _) = ns.mkdir(ROOT, b"d", 0o2775, 0, 77).await.unwrap();

        // Born with nlink 0 and an orphan key of this session; no entry anywhere.
        let (t, inode) = ns.tmpfile(dir, file()).await.unwrap();
        assert_eq!(inode.nlink, 0);
        assert_eq!(inode.mode, libc::S_IFREG | 0o644);
        assert_eq!((inode.uid, inode.gid), (1, 77), "group of the setgid dir");
        let orphan = env.store.get(&keys.orphan(t)).await.unwrap().unwrap();
        assert_eq!(orphan.value, session.lease().0.to_be_bytes());
        assert!(ns.readdir(dir, b"", 0).await.unwrap().is_empty());
        assert_clean(&env.store, p).await;

        // Written, then linked into the tree: one name, no orphan key, the data kept.
        ns.write(t, 0, &vec![5; 70_000]).await.unwrap();
        let linked = ns.link(t, ROOT, b"named").await.unwrap();
        assert_eq!(linked.nlink, 1);
        assert!(env.store.get(&keys.orphan(t)).await.unwrap().is_none());
        assert_eq!(ns.lookup(ROOT, b"named").await.unwrap().0, t);
        assert_eq!(ns.read(t, 69_999, 10).await.unwrap(), [5]);
        // Its last close deletes nothing now.
        assert!(!ns.release(t, false).await.unwrap());
        assert_eq!(ns.getattr(t).await.unwrap().nlink, 1);
        assert_clean(&env.store, p).await;

        // Linking onto a taken name fails and leaves it an orphan.
        let (u, _) = ns.tmpfile(dir, file()).await.unwrap();
        ns.write(u, 0, b"gone soon").await.unwrap();
        assert_eq!(errno(ns.link(u, ROOT, b"named").await), libc::EEXIST);
        assert!(env.store.get(&keys.orphan(u)).await.unwrap().is_some());
        // Closed without a name: inode, data and orphan key go.
        assert!(ns.release(u, false).await.unwrap());
        assert_eq!(errno(ns.getattr(u).await), libc::ENOENT);
        assert!(stored(&env.store, &keys, u).await.is_empty());
        assert!(env.store.get(&keys.orphan(u)).await.unwrap().is_none());
        // A deleted one cannot be linked.
        assert_eq!(errno(ns.link(u, ROOT, b"late").await), libc::ENOENT);
        assert_clean(&env.store, p).await;

        // Not in a file, not in a removed directory, not without a session.
        let f = file_with(&ns, b"f", b"").await;
        assert_eq!(errno(ns.tmpfile(f, file()).await), libc::ENOTDIR);
        let (gone, _) = ns.mkdir(ROOT, b"gone", 0o755, 0, 0).await.unwrap();
        let is_gone = move |ino: u64| ino == gone;
        ns.rmdir(ROOT, b"gone", &is_gone).await.unwrap();
        assert_eq!(errno(ns.tmpfile(gone, file()).await), libc::ENOENT);
        assert!(ns.release(gone, false).await.unwrap());
        let sessionless = Namespace::new(env.store.clone(), p.as_bytes().to_vec(), None);
        assert_eq!(
            errno(sessionless.tmpfile(ROOT, file()).await),
            libc::EOPNOTSUPP
        );
        assert_clean(&env.store, p).await;

        // A daemon that dies with a tmpfile open: reclaimed once its lease expires.
        let (v, _) = ns.tmpfile(ROOT, file()).await.unwrap();
        ns.write(v, 0, b"x").await.unwrap();
        session.end(&env.store).await.unwrap();
        assert_eq!(sessionless.reclaim_expired_orphans().await.unwrap(), 1);
        assert_eq!(errno(ns.getattr(v).await), libc::ENOENT);
        let report = assert_clean(&env.store, p).await;
        // Root, d, named, f (no session key left).
        assert_eq!(report.inodes, 4, "{report}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallocate_allocates_punches_and_zeroes() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(120, async {
        let p = "/falloc/";
        let ns = namespace(&env.store, p).await;
        let keys = Keys::new(p.as_bytes().to_vec());
        let alloc = FallocMode::Allocate { keep_size: false };
        let keep = FallocMode::Allocate { keep_size: true };

        // Mode 0 past the end: the size grows, the new range reads as zeros, every chunk of
        // the range is stored (allocated).
        let f = file_with(&ns, b"f", b"abc").await;
        let i = ns.fallocate(f, 0, 2 * C + 5, alloc).await.unwrap();
        assert_eq!(chunks(&i), (2 * C + 5, Some(3), false));
        assert_eq!(stored(&env.store, &keys, f).await, [0, 1, 2]);
        let back = ns.read(f, 0, 3 * C as usize).await.unwrap();
        assert_eq!(back.len() as u64, 2 * C + 5);
        assert_eq!(&back[..3], b"abc");
        assert!(back[3..].iter().all(|&b| b == 0));
        // Allocating what is allocated changes nothing but ctime.
        let again = ns.fallocate(f, 10, C, alloc).await.unwrap();
        assert_eq!(chunks(&again), chunks(&i));
        assert_clean(&env.store, p).await;

        // KEEP_SIZE past the end: the size stays, chunks past it are allocated (and marked).
        let g = file_with(&ns, b"g", b"abc").await;
        let i = ns.fallocate(g, 0, 16 * C, keep).await.unwrap();
        assert_eq!(chunks(&i), (3, Some(16), true));
        assert_eq!(ns.read(g, 0, 100).await.unwrap(), b"abc");
        assert_clean(&env.store, p).await;
        // A whole-chunk write over a chunk allocated past the end replaces it: no new chunk.
        let i = ns.write(g, 2 * C, &vec![9; C as usize]).await.unwrap();
        assert_eq!(chunks(&i), (3 * C, Some(16), true));
        let back = ns.read(g, 0, 3 * C as usize).await.unwrap();
        assert!(back[3..2 * C as usize].iter().all(|&b| b == 0));
        assert!(back[2 * C as usize..].iter().all(|&b| b == 9));
        assert_clean(&env.store, p).await;
        // Truncating below drops the chunks past the new end, the mark with them.
        let shrink = fusekit_etcdfs::ns::SetAttr {
            size: Some(10),
            ..Default::default()
        };
        let i = ns.setattr(g, shrink).await.unwrap();
        assert_eq!(chunks(&i), (10, Some(1), false));
        assert_clean(&env.store, p).await;

        // PUNCH_HOLE over 16K..144K of three full chunks: the middle chunk goes, the edges are
        // zeroed, the size stays.
        let data = vec![b'x'; 3 * C as usize];
        let h = file_with(&ns, b"h", &data).await;
        let (lo, hi) = (16 << 10, C + C + (16 << 10));
        let i = ns
            .fallocate(h, lo, hi - lo, FallocMode::PunchHole)
            .await
            .unwrap();
        assert_eq!(chunks(&i), (3 * C, Some(2), false));
        assert_eq!(stored(&env.store, &keys, h).await, [0, 2]);
        let back = ns.read(h, 0, data.len()).await.unwrap();
        for (at, b) in back.iter().enumerate() {
            let want = if (lo..hi).contains(&(at as u64)) {
                0
            } else {
                b'x'
            };
            assert_eq!(*b, want, "byte {at}");
        }
        // Punching a hole is idempotent, and past the end does nothing to the size.
        let again = ns
            .fallocate(h, lo, 10 * C, FallocMode::PunchHole)
            .await
            .unwrap();
        assert_eq!(chunks(&again), (3 * C, Some(1), false));
        assert_clean(&env.store, p).await;

        // ZERO_RANGE inside, then past the end without KEEP_SIZE (the size grows).
        let z = file_with(&ns, b"z", &[b'z'; 8192]).await;
        let zero = |keep_size| FallocMode::ZeroRange { keep_size };
        ns.fallocate(z, 100, 200, zero(false)).await.unwrap();
        let back = ns.read(z, 0, 8192).await.unwrap();
        assert!(back[..100].iter().all(|&b| b == b'z'));
        assert!(back[100..300].iter().all(|&b| b == 0));
        assert!(back[300..].iter().all(|&b| b == b'z'));
        let i = ns.fallocate(z, 8000, 2000, zero(true)).await.unwrap();
        assert_eq!(i.size, 8192);
        let i = ns.fallocate(z, 8000, 2000, zero(false)).await.unwrap();
        assert_eq!(i.size, 10_000);
        let back = ns.read(z, 7990, 100).await.unwrap();
        assert_eq!(back.len(), 100);
        assert!(back[..10].iter().all(|&b| b == b'z'));
        assert!(back[10..].iter().all(|&b| b == 0));
        assert_clean(&env.store, p).await;

        // Refusals: length 0, directories, ranges too large to allocate.
        assert_eq!(errno(ns.fallocate(z, 0, 0, alloc).await), libc::EINVAL);
        assert_eq!(errno(ns.fallocate(ROOT, 0, 1, alloc).await), libc::EISDIR);
        assert_eq!(
            errno(ns.fallocate(z, 0, MAX_ALLOCATE + 1, alloc).await),
            libc::ENOSPC
        );
        assert_eq!(
            errno(ns.fallocate(z, u64::MAX - 1, 5, alloc).await),
            libc::EINVAL
        );
        // A range of more chunks than one transaction may hold is allocated in batches.
        let big = file_with(&ns, b"big", b"").await;
        let i = ns.fallocate(big, 0, 200 * C, alloc).await.unwrap();
        assert_eq!(chunks(&i), (200 * C, Some(200), false));
        assert_clean(&env.store, p).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunk_counts_seek_and_birth_times() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(90, async {
        let p = "/seek/";
        let ns = namespace(&env.store, p).await;
        let seek = |ino, off, to| ns.seek(ino, off, to);

        // data 0..64K, hole 64K..1M, data 1M..1M+64K
        let (f, born) = ns.create(ROOT, b"f", file()).await.unwrap();
        assert_eq!(born.btime, Some(born.mtime));
        assert_eq!(chunks(&born), (0, Some(0), false));
        ns.write(f, 0, &vec![1; C as usize]).await.unwrap();
        let i = ns.write(f, 16 * C, &vec![2; C as usize]).await.unwrap();
        let size = 17 * C;
        assert_eq!(chunks(&i), (size, Some(2), false));
        assert_eq!(i.btime, born.btime, "birth time kept by writes");
        assert_ne!(i.mtime, born.mtime);
        assert_eq!(seek(f, 100, SeekTo::Data).await.unwrap(), 100);
        assert_eq!(seek(f, 0, SeekTo::Hole).await.unwrap(), C);
        assert_eq!(seek(f, 200 << 10, SeekTo::Data).await.unwrap(), 16 * C);
        assert_eq!(seek(f, 200 << 10, SeekTo::Hole).await.unwrap(), 200 << 10);
        assert_eq!(seek(f, 16 * C + 5, SeekTo::Hole).await.unwrap(), size);
        assert_eq!(errno(seek(f, size, SeekTo::Data).await), libc::ENXIO);
        assert_eq!(errno(seek(f, size + 10, SeekTo::Hole).await), libc::ENXIO);

        // Overwriting stored chunks adds none; filling a hole with whole chunks adds them.
        let i = ns.write(f, 0, &vec![3; 2 * C as usize]).await.unwrap();
        assert_eq!(i.chunks, Some(3));
        let i = ns.write(f, 15 * C + 7, &vec![4; C as usize]).await.unwrap();
        assert_eq!(i.chunks, Some(4));
        assert_eq!(seek(f, 2 * C, SeekTo::Data).await.unwrap(), 15 * C);
        assert_eq!(seek(f, 0, SeekTo::Hole).await.unwrap(), 2 * C);
        assert_clean(&env.store, p).await;

        // Growing by truncation stores nothing: 1 GiB of hole, SEEK_DATA past the data is
        // ENXIO, SEEK_HOLE inside it stays put.
        let grow = fusekit_etcdfs::ns::SetAttr {
            size: Some(1 << 30),
            ..Default::default()
        };
        let i = ns.setattr(f, grow).await.unwrap();
        assert_eq!(chunks(&i), (1 << 30, Some(4), false));
        assert_eq!(errno(seek(f, 17 * C, SeekTo::Data).await), libc::ENXIO);
        assert_eq!(seek(f, 17 * C, SeekTo::Hole).await.unwrap(), 17 * C);

        // A dense file is one data extent: SEEK_HOLE gives its size.
        let d = file_with(&ns, b"d", &[9; 10_000]).await;
        assert_eq!(seek(d, 0, SeekTo::Hole).await.unwrap(), 10_000);
        assert_eq!(seek(d, 9_999, SeekTo::Data).await.unwrap(), 9_999);
        assert_eq!(errno(seek(ROOT, 0, SeekTo::Data).await), libc::EISDIR);
        assert_clean(&env.store, p).await;
    })
    .await;
}
