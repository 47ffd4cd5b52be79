//! File data and attributes against a real cluster: writes and reads through chunks (holes,
//! unaligned spans, more data than one gRPC message), setattr of mode, owner, times and size
//! (truncation trims chunks; growing again reads zeros), extended attributes, all leaving a
//! clean tree.

mod common;

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::ns::{NewNode, SetAttr, XattrFlags, MAX_WRITE, XATTR_SIZE_MAX};
use fusekit_etcdfs::schema::{Keys, Timestamp, CHUNK_SIZE, ROOT_INO};
use fusekit_etcdfs::store::{prefix_end, Store};

use common::{assert_clean, deadline, env, namespace, none_open};

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_round_trips_through_chunks() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(60, async {
        let p = "/data/";
        let ns = namespace(&env.store, p).await;
        let file = NewNode::new(libc::S_IFREG | 0o644, 0, 0);
        let (f, _) = ns.create(ROOT_INO, b"f", file).await.unwrap();
        // Unaligned, spanning three chunks, after a hole.
        let data = pattern(3, 2 * CHUNK_SIZE + 100);
        let off = (CHUNK_SIZE / 2) as u64 + 7;
        let attr = ns.write(f, off, &data).await.unwrap();
        assert_eq!(attr.size, off + data.len() as u64);
        let back = ns.read(f, 0, attr.size as usize + 10).await.unwrap();
        assert_eq!(back.len() as u64, attr.size);
        assert!(back[..off as usize].iter().all(|&b| b == 0));
        assert_eq!(&back[off as usize..], &data[..]);
        // Overwrite inside, then read a window across a chunk boundary.
        ns.write(f, CHUNK_SIZE as u64 - 2, b"XYZW").await.unwrap();
        let w = ns.read(f, CHUNK_SIZE as u64 - 3, 6).await.unwrap();
        assert_eq!(&w[1..5], b"XYZW");
        assert!(ns.write(f, 0, &vec![0; MAX_WRITE + 1]).await.is_err());
        assert_eq!(
            ns.write(ROOT_INO, 0, b"x").await.unwrap_err().errno(),
            libc::EISDIR
        );
        assert_clean(&env.store, p).await;
        // More chunk data than one gRPC message holds (4 MiB): the checker reads chunk keys
        // without their values, so it still sees the whole tree.
        let (g, _) = ns
            .create(ROOT_INO, b"g", NewNode::new(libc::S_IFREG | 0o644, 0, 0))
            .await
            .unwrap();
        for i in 0..5u64 {
            ns.write(g, i * MAX_WRITE as u64, &pattern(i as u8, MAX_WRITE))
                .await
                .unwrap();
        }
        let report = assert_clean(&env.store, p).await;
        assert!(report.keys > 5 * 16, "{report}");
        ns.unlink(ROOT_INO, b"g", &none_open).await.unwrap();
        // Unlink deletes the chunks with the inode.
        ns.unlink(ROOT_INO, b"f", &none_open).await.unwrap();
        let report = assert_clean(&env.store, p).await;
        assert_eq!(report.keys, 2, "{report}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setattr_changes_mode_owner_times_and_truncates() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(60, async {
        let p = "/attr/";
        let ns = namespace(&env.store, p).await;
        let keys = Keys::new(p.as_bytes().to_vec());
        let (f, _) = ns
            .create(ROOT_INO, b"f", NewNode::new(libc::S_IFREG | 0o644, 0, 0))
            .await
            .unwrap();
        let t = Timestamp {
            secs: 1_000_000,
            nsecs: 5,
        };
        let attr = ns
            .setattr(
                f,
                SetAttr {
                    mode: Some(libc::S_IFDIR | 0o4600),
                    uid: Some(7),
                    gid: Some(8),
                    atime: Some(t),
                    mtime: Some(t),
                    ..SetAttr::default()
                },
            )
            .await
            .unwrap();
        // The type bits never change.
        assert_eq!(attr.mode, libc::S_IFREG | 0o4600);
        assert_eq!((attr.uid, attr.gid, attr.atime, attr.mtime), (7, 8, t, t));
        assert_eq!(ns.getattr(f).await.unwrap(), attr);

        // 3.5 chunks, truncated into the second chunk: chunks 2 and 3 go, chunk 1 is trimmed.
        let data = pattern(9, 3 * CHUNK_SIZE + CHUNK_SIZE / 2);
        ns.write(f, 0, &data).await.unwrap();
        let cut = CHUNK_SIZE as u64 + 10;
        let attr = ns
            .setattr(
                f,
                SetAttr {
                    size: Some(cut),
                    ..SetAttr::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(attr.size, cut);
        let prefix = keys.chunks(f);
        let chunks = env
            .store
            .range(&prefix, &prefix_end(&prefix), 0, 0)
            .await
            .unwrap();
        let lens: Vec<usize> = chunks.kvs.iter().map(|kv| kv.value.len()).collect();
        assert_eq!(lens, [CHUNK_SIZE, 10]);
        // Growing again reads zeros past the old cut, not the old bytes.
        ns.setattr(
            f,
            SetAttr {
                size: Some(2 * CHUNK_SIZE as u64),
                ..SetAttr::default()
            },
        )
        .await
        .unwrap();
        let back = ns.read(f, 0, 3 * CHUNK_SIZE).await.unwrap();
        assert_eq!(back.len(), 2 * CHUNK_SIZE);
        assert_eq!(&back[..cut as usize], &data[..cut as usize]);
        assert!(back[cut as usize..].iter().all(|&b| b == 0));
        // Truncate to 0 removes every chunk.
        ns.setattr(
            f,
            SetAttr {
                size: Some(0),
                ..SetAttr::default()
            },
        )
        .await
        .unwrap();
        let chunks = env
            .store
            .range(&prefix, &prefix_end(&prefix), 0, 0)
            .await
            .unwrap();
        assert!(chunks.kvs.is_empty());
        let size_of_dir = SetAttr {
            size: Some(0),
            ..SetAttr::default()
        };
        assert_eq!(
            ns.setattr(ROOT_INO, size_of_dir).await.unwrap_err().errno(),
            libc::EISDIR
        );
        assert_clean(&env.store, p).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xattrs_set_get_list_remove() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    deadline(60, async {
        let p = "/xattr/";
        let ns = namespace(&env.store, p).await;
        let (f, _) = ns
            .create(ROOT_INO, b"f", NewNode::new(libc::S_IFREG | 0o644, 0, 0))
            .await
            .unwrap();
        let none = XattrFlags::default();
        let create = XattrFlags {
            create: true,
            replace: false,
        };
        let replace = XattrFlags {
            create: false,
            replace: true,
        };
        let errno = |r: Result<(), fusekit_etcdfs::ns::FsError>| r.unwrap_err().errno();
        assert_eq!(
            errno(ns.setxattr(f, b"user.a", b"1", replace).await),
            libc::ENODATA
        );
        ns.setxattr(f, b"user.b", b"2", create).await.unwrap();
        ns.setxattr(f, b"user.a", b"1", none).await.unwrap();
        assert_eq!(
            errno(ns.setxattr(f, b"user.a", b"x", create).await),
            libc::EEXIST
        );
        ns.setxattr(f, b"user.a", b"11", replace).await.unwrap();
        assert_eq!(ns.getxattr(f, b"user.a").await.unwrap(), b"11");
        assert_eq!(
            ns.getxattr(f, b"user.zz").await.unwrap_err().errno(),
            libc::ENODATA
        );
        assert_eq!(
            ns.getxattr(9999, b"user.zz").await.unwrap_err().errno(),
            libc::ENOENT
        );
        assert_eq!(
            ns.listxattr(f).await.unwrap(),
            [b"user.a".to_vec(), b"user.b".to_vec()]
        );
        let big = vec![0u8; XATTR_SIZE_MAX + 1];
        assert_eq!(
            errno(ns.setxattr(f, b"user.big", &big, none).await),
            libc::E2BIG
        );
        assert_eq!(
            errno(ns.setxattr(f, &[b'n'; 256], b"", none).await),
            libc::ERANGE
        );
        ns.removexattr(f, b"user.b").await.unwrap();
        assert_eq!(errno(ns.removexattr(f, b"user.b").await), libc::ENODATA);
        assert_eq!(ns.listxattr(f).await.unwrap(), [b"user.a".to_vec()]);
        assert_clean(&env.store, p).await;
        // Unlink takes the xattrs with the inode.
        ns.unlink(ROOT_INO, b"f", &none_open).await.unwrap();
        let report = assert_clean(&env.store, p).await;
        assert_eq!(report.keys, 2, "{report}");
    })
    .await;
}
