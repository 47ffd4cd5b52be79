//! A full etcd quota (NOSPACE alarm) through the namespace: writes and namespace changes
//! fail with ENOSPC, nothing half-done is left (the checker is clean, sizes match the data
//! that was written), and reads keep working. Also: file data round-trips through chunks.

mod common;

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::ns::{NewNode, RenameFlags, MAX_WRITE};
use fusekit_etcdfs::schema::{CHUNK_SIZE, ROOT_INO};

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
async fn full_quota_is_enospc_without_corruption() {
    let Some(env) = env(ClusterOptions::default().quota_backend_bytes(4 << 20)).await else {
        return;
    };
    deadline(90, async {
        let p = "/quota/";
        let ns = namespace(&env.store, p).await;
        let file = || NewNode::new(libc::S_IFREG | 0o644, 0, 0);
        ns.mkdir(ROOT_INO, b"d", 0o755, 0, 0).await.unwrap();
        let mut written = Vec::new();
        let mut failure = None;
        for i in 0..200u32 {
            let name = format!("f{i}");
            let (ino, _) = match ns.create(ROOT_INO, name.as_bytes(), file()).await {
                Ok(x) => x,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let data = pattern(i as u8, 4 * CHUNK_SIZE);
            match ns.write(ino, 0, &data).await {
                Ok(_) => written.push((ino, data)),
                Err(e) => {
                    // A write refused for space left the file as it was: empty.
                    assert_eq!(e.errno(), libc::ENOSPC, "{e}");
                    assert_eq!(ns.getattr(ino).await.unwrap().size, 0, "{e}");
                    failure = Some(e);
                    break;
                }
            }
        }
        let failure = failure.expect("a 4 MiB quota never filled");
        assert_eq!(failure.errno(), libc::ENOSPC, "{failure}");
        assert!(
            written.len() >= 2,
            "quota filled after {} files",
            written.len()
        );

        // Every change now fails with ENOSPC; reads work.
        let errno = |r: Result<(), fusekit_etcdfs::ns::FsError>| r.unwrap_err().errno();
        assert_eq!(
            errno(ns.create(ROOT_INO, b"new", file()).await.map(drop)),
            libc::ENOSPC
        );
        assert_eq!(
            errno(ns.mkdir(ROOT_INO, b"nd", 0o755, 0, 0).await.map(drop)),
            libc::ENOSPC
        );
        let none = RenameFlags::default();
        assert_eq!(
            errno(
                ns.rename(ROOT_INO, b"f0", ROOT_INO, b"g0", none, &none_open)
                    .await
            ),
            libc::ENOSPC
        );
        assert_eq!(
            errno(ns.write(written[0].0, 0, b"x").await.map(drop)),
            libc::ENOSPC
        );
        for (ino, data) in &written {
            assert_eq!(&ns.read(*ino, 0, data.len()).await.unwrap(), data);
        }
        let report = assert_clean(&env.store, p).await;
        eprintln!("after ENOSPC: {report}");
    })
    .await;
}
