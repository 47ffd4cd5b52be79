//! The checker against a real cluster: a clean tree (files, links, symlinks, nested dirs,
//! chunks, xattrs, a live orphan, an O_TMPFILE file, chunks allocated past the end, an inode
//! in the previous record format) passes, and each kind of corruption, written by hand as raw
//! keys, is reported.

mod common;

use fusekit_etcd_cluster::ClusterOptions;
use fusekit_etcdfs::fsck::{self, Violation};
use fusekit_etcdfs::ns::{FallocMode, Namespace, NewNode, Session};
use fusekit_etcdfs::schema::{varint, Entry, FileType, Inode, Keys, Timestamp, ROOT_INO};
use fusekit_etcdfs::store::{EtcdStore, Store, Txn, TxnOp};

use common::{assert_clean, deadline, env, none_open};

/// Inode numbers of the sample tree.
struct Sample {
    _session: Session,
    file: u64,
    dir_a: u64,
    dir_b: u64,
}

/// /a/b/, /a/f (2 links: also /g), /s -> a/f, a chunk and an xattr of f, an open-unlinked
/// orphan of a live session, an O_TMPFILE file, /k with chunks allocated past its end.
async fn build(store: &EtcdStore, prefix: &str) -> Sample {
    let keys = Keys::new(prefix.as_bytes().to_vec());
    let session = Session::start(store, &keys, 30).await.unwrap();
    let ns = Namespace::new(
        store.clone(),
        prefix.as_bytes().to_vec(),
        Some(session.lease()),
    );
    ns.format(0, 0).await.unwrap();
    let (dir_a, _) = ns.mkdir(ROOT_INO, b"a", 0o755, 0, 0).await.unwrap();
    let (dir_b, _) = ns.mkdir(dir_a, b"b", 0o755, 0, 0).await.unwrap();
    let reg = NewNode::new(libc::S_IFREG | 0o644, 0, 0);
    let (file, _) = ns.create(dir_a, b"f", reg.clone()).await.unwrap();
    ns.link(file, ROOT_INO, b"g").await.unwrap();
    ns.symlink(ROOT_INO, b"s", b"a/f", 0, 0).await.unwrap();
    let keys = ns.keys().clone();
    ns.write(file, 0, &[1; 10]).await.unwrap();
    raw(store, vec![put(keys.xattr(file, b"user.k"), b"v".to_vec())]).await;
    let (k, _) = ns.create(ROOT_INO, b"k", reg.clone()).await.unwrap();
    ns.write(k, 0, b"abc").await.unwrap();
    let keep_size = FallocMode::Allocate { keep_size: true };
    ns.fallocate(k, 0, 200 << 10, keep_size).await.unwrap();
    ns.tmpfile(dir_b, reg.clone()).await.unwrap();
    let (open, _) = ns.create(dir_b, b"open", reg).await.unwrap();
    let is_open = move |ino| ino == open;
    ns.unlink(dir_b, b"open", &is_open).await.unwrap();
    Sample {
        _session: session,
        file,
        dir_a,
        dir_b,
    }
}

fn put(key: Vec<u8>, value: Vec<u8>) -> TxnOp {
    TxnOp::Put {
        key,
        value,
        lease: None,
    }
}

async fn raw(store: &EtcdStore, ops: Vec<TxnOp>) {
    let txn = Txn {
        compares: vec![],
        then: ops,
        otherwise: vec![],
    };
    assert!(store.txn(txn).await.unwrap().succeeded);
}

async fn inode(store: &EtcdStore, keys: &Keys, ino: u64) -> Inode {
    let kv = store.get(&keys.inode(ino)).await.unwrap().unwrap();
    Inode::decode(&kv.value).unwrap()
}

fn file_inode(nlink: u64) -> Inode {
    Inode::new(libc::S_IFREG | 0o644, nlink, 0, 0, 0, Timestamp::now())
}

/// An inode record as the previous version wrote it (format 1: no birth time, no chunk
/// count): a regular file of `size` bytes with one name.
fn format_1_file(size: u64) -> Vec<u8> {
    let mut out = vec![1];
    for v in [3, u64::from(libc::S_IFREG | 0o644), 1, 0, 0, size, 0] {
        varint::put(&mut out, v);
    }
    varint::put(&mut out, 2 * 1_700_000_000);
    varint::put(&mut out, 0);
    varint::put(&mut out, 0);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_tree_passes_and_every_corruption_is_found() {
    let Some(env) = env(ClusterOptions::default()).await else {
        return;
    };
    let store = env.store.clone();
    deadline(120, async move {
        // Each case gets its own prefix with the same sample tree, then one corruption.
        type Corrupt = fn(&Keys, &Sample) -> (Vec<TxnOp>, fn(&Violation) -> bool);
        let mut n = 0;
        let mut case = |name: &'static str| {
            n += 1;
            (name, format!("/fsck{n}/"))
        };

        // The clean tree.
        let (_, p) = case("clean");
        build(&store, &p).await;
        let report = assert_clean(&store, &p).await;
        assert!(report.inodes >= 6 && report.entries >= 5, "{report}");
        // A file as the previous version stored it (format-1 inode, a chunk, no count) is
        // clean, readable, and keeps working: a write rewrites it in the current format.
        let keys = Keys::new(p.as_bytes().to_vec());
        let old = 1 << 20;
        let entry = Entry {
            ino: old,
            kind: FileType::Regular,
        };
        let mut next = Vec::new();
        varint::put(&mut next, old + 1);
        raw(
            &store,
            vec![
                put(keys.inode(old), format_1_file(70_000)),
                put(keys.entry(ROOT_INO, b"old"), entry.encode()),
                put(keys.chunk(old, 1), vec![7; 70_000 - (64 << 10)]),
                put(keys.next(), next),
            ],
        )
        .await;
        assert_clean(&store, &p).await;
        let ns = Namespace::new(store.clone(), p.as_bytes().to_vec(), None);
        let attr = ns.getattr(old).await.unwrap();
        assert_eq!((attr.size, attr.btime, attr.chunks), (70_000, None, None));
        let back = ns.read(old, (64 << 10) - 2, 4).await.unwrap();
        assert_eq!(back, [0, 0, 7, 7]);
        ns.write(old, 0, b"new").await.unwrap();
        assert_eq!(inode(&store, &keys, old).await.chunks, None);
        assert_clean(&store, &p).await;

        let cases: Vec<(&str, Corrupt)> = vec![
            ("dangling entry", |k, _| {
                let e = Entry {
                    ino: 9999,
                    kind: FileType::Regular,
                };
                (vec![put(k.entry(ROOT_INO, b"ghost"), e.encode())], |v| {
                    matches!(v, Violation::DanglingEntry { ino: 9999, .. })
                })
            }),
            ("link count", |k, s| {
                (vec![put(k.inode(s.file), file_inode(5).encode())], |v| {
                    matches!(
                        v,
                        Violation::LinkCountMismatch {
                            stored: 5,
                            expected: 2,
                            ..
                        }
                    )
                })
            }),
            ("stray chunk", |k, _| {
                (vec![put(k.chunk(8888, 3), vec![0; 4])], |v| {
                    matches!(
                        v,
                        Violation::StrayChunk {
                            ino: 8888,
                            index: 3
                        }
                    )
                })
            }),
            ("chunk count", |k, s| {
                let mut i = file_inode(2);
                (i.size, i.chunks) = (10, Some(3));
                (vec![put(k.inode(s.file), i.encode())], |v| {
                    matches!(
                        v,
                        Violation::ChunkCountMismatch {
                            stored: 3,
                            actual: 1,
                            ..
                        }
                    )
                })
            }),
            ("chunk past the end", |k, s| {
                (vec![put(k.chunk(s.file, 5), vec![1])], |v| {
                    matches!(v, Violation::ChunkPastEnd { index: 5, .. })
                })
            }),
            ("stray xattr", |k, _| {
                (vec![put(k.xattr(8888, b"user.x"), vec![])], |v| {
                    matches!(v, Violation::StrayXattr { ino: 8888, .. })
                })
            }),
            ("lost inode", |k, _| {
                (vec![put(k.inode(7777), file_inode(0).encode())], |v| {
                    matches!(v, Violation::LostInode { ino: 7777 })
                })
            }),
            ("expired orphan", |k, _| {
                (
                    vec![
                        put(k.inode(7777), file_inode(0).encode()),
                        put(k.orphan(7777), 12345i64.to_be_bytes().to_vec()),
                    ],
                    |v| {
                        matches!(
                            v,
                            Violation::ExpiredOrphan {
                                ino: 7777,
                                lease: 12345
                            }
                        )
                    },
                )
            }),
            ("orphan of a missing inode", |k, _| {
                (
                    vec![put(k.orphan(6666), 1i64.to_be_bytes().to_vec())],
                    |v| matches!(v, Violation::BadOrphan { ino: 6666 }),
                )
            }),
            ("lock of a missing inode", |k, _| {
                (vec![put(k.lock(6666, false, 1, 1), lock_value())], |v| {
                    matches!(v, Violation::StrayLock { ino: 6666 })
                })
            }),
            ("lock version of a missing inode", |k, _| {
                (vec![put(k.locks(6666), vec![])], |v| {
                    matches!(v, Violation::StrayLock { ino: 6666 })
                })
            }),
            ("lock of an ended session", |k, s| {
                (
                    vec![put(k.lock(s.file, true, 12345, 9), lock_value())],
                    |v| matches!(v, Violation::ExpiredLock { lease: 12345, .. }),
                )
            }),
            ("undecodable lock", |k, s| {
                (
                    vec![put(k.lock(s.file, false, 12345, 9), b"x".to_vec())],
                    |v| matches!(v, Violation::BadValue { .. }),
                )
            }),
            ("unknown key", |k, _| {
                let mut key = k.prefix().to_vec();
                key.extend_from_slice(b"zzz");
                (vec![put(key, vec![])], |v| {
                    matches!(v, Violation::UnknownKey { .. })
                })
            }),
            ("undecodable inode", |k, s| {
                (vec![put(k.inode(s.file), b"\x09garbage".to_vec())], |v| {
                    matches!(v, Violation::BadValue { .. })
                })
            }),
            ("counter behind", |k, _| {
                let mut v = Vec::new();
                varint::put(&mut v, 2);
                (vec![put(k.next(), v)], |v| {
                    matches!(v, Violation::CounterBehind { next: 2, .. })
                })
            }),
            ("entry type mismatch", |k, s| {
                let e = Entry {
                    ino: s.file,
                    kind: FileType::Directory,
                };
                (vec![put(k.entry(s.dir_a, b"f"), e.encode())], |v| {
                    matches!(v, Violation::EntryTypeMismatch { .. })
                })
            }),
            ("second name of a directory", |k, s| {
                let e = Entry {
                    ino: s.dir_b,
                    kind: FileType::Directory,
                };
                (vec![put(k.entry(ROOT_INO, b"b2"), e.encode())], |v| {
                    matches!(v, Violation::DirectoryMultiplyLinked { names: 2, .. })
                })
            }),
            ("entry in a file", |k, s| {
                let e = Entry {
                    ino: s.dir_b,
                    kind: FileType::Directory,
                };
                (vec![put(k.entry(s.file, b"x"), e.encode())], |v| {
                    matches!(v, Violation::EntryWithoutDir { .. })
                })
            }),
            ("no root", |k, _| {
                (
                    vec![TxnOp::Delete {
                        key: k.inode(ROOT_INO),
                    }],
                    |v| matches!(v, Violation::NoRoot),
                )
            }),
        ];
        for (name, corrupt) in cases {
            let (_, p) = case(name);
            let keys = Keys::new(p.as_bytes().to_vec());
            let sample = build(&store, &p).await;
            assert_clean(&store, &p).await;
            let (ops, want) = corrupt(&keys, &sample);
            raw(&store, ops).await;
            let report = fsck::check(&store, p.as_bytes()).await.unwrap();
            assert!(report.violations.iter().any(want), "{name}: {report}");
        }

        // A cycle: /a/b's entry moved into itself's child chain (a under b), parent fields
        // following, so only reachability can tell.
        let (_, p) = case("cycle");
        let keys = Keys::new(p.as_bytes().to_vec());
        let s = build(&store, &p).await;
        let mut a = inode(&store, &keys, s.dir_a).await;
        a.parent = s.dir_b;
        let mut root = inode(&store, &keys, ROOT_INO).await;
        root.nlink -= 1;
        let mut b = inode(&store, &keys, s.dir_b).await;
        b.nlink += 1;
        let e = Entry {
            ino: s.dir_a,
            kind: FileType::Directory,
        };
        raw(
            &store,
            vec![
                TxnOp::Delete {
                    key: keys.entry(ROOT_INO, b"a"),
                },
                put(keys.entry(s.dir_b, b"a"), e.encode()),
                put(keys.inode(s.dir_a), a.encode()),
                put(keys.inode(s.dir_b), b.encode()),
                put(keys.inode(ROOT_INO), root.encode()),
            ],
        )
        .await;
        let report = fsck::check(&store, p.as_bytes()).await.unwrap();
        let unreachable: Vec<_> = report
            .violations
            .iter()
            .filter_map(|v| match v {
                Violation::Unreachable { ino } => Some(*ino),
                _ => None,
            })
            .collect();
        assert_eq!(unreachable, [s.dir_a, s.dir_b], "{report}");
        // The namespace refuses to walk it (a move under a/b must not loop forever).
        let ns = Namespace::new(store.clone(), p.as_bytes().to_vec(), None);
        let (c, _) = ns.mkdir(ROOT_INO, b"c", 0o755, 0, 0).await.unwrap();
        let r = ns
            .rename(
                ROOT_INO,
                b"c",
                s.dir_b,
                b"c",
                Default::default(),
                &none_open,
            )
            .await;
        assert!(r.is_err(), "moved {c} into a cycle");
    })
    .await;
}

/// A lock record's value: one write lock of bytes 0..=9 by pid 0.
fn lock_value() -> Vec<u8> {
    let mut v = 0u64.to_be_bytes().to_vec();
    v.extend_from_slice(&9u64.to_be_bytes());
    v.push(1);
    v.extend_from_slice(&0u32.to_be_bytes());
    v
}
