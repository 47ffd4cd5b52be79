//! A full etcd quota (NOSPACE alarm) through the namespace: writes and namespace changes
//! fail with ENOSPC, nothing half-done is left (the checker is clean, sizes match the data
//! that was written), and reads keep working.

mod common;

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::ns::{NewNode, RenameFlags};
use fusekit_etcdfs::schema::{CHUNK_SIZE, ROOT_INO};

use common::{assert_clean, deadline, env, namespace, none_open};

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
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
