//! Goal 3: sequential write and read of one large file (256 MiB by default) through etcdfs at
//! no less than 0.5x etcd's raw put/get throughput for the same chunk size. etcdfs: one caller writes
//! the file with `MAX_WRITE`-sized write(2) calls (the kernel's largest WRITE is MAX_WRITE,
//! 16 chunks, one transaction), fsyncs and closes it (timed together), then opens it again
//! (the kernel drops its cached pages on open) and reads it with the same buffer size.
//! Reference: one task puts the same number of bytes as CHUNK_SIZE values, 16 per
//! transaction (the batching etcdfs's write uses), then reads them back 16 chunks per range
//! request. Every round's data are deleted and compacted away (untimed) before the next.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use fusekit_etcdfs::ns::MAX_WRITE;
use fusekit_etcdfs::schema::CHUNK_SIZE;
use fusekit_etcdfs::store::{prefix_end, EtcdStore, Store, Txn, TxnOp};

use fusekit_testkit::TestMount;

use crate::counting::Calls;
use crate::env::Env;
use crate::options::Options;
use crate::report::{Goal, Row};

/// Chunks per raw transaction or range request: as many as one etcdfs write carries.
const BATCH: usize = MAX_WRITE / CHUNK_SIZE;

/// A buffer of pseudo-random bytes (etcd does not compress, but be honest anyway).
fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Block `i` of the file: the pattern with `i` in its first 8 bytes.
fn block(buf: &mut [u8], i: u64) {
    buf[..8].copy_from_slice(&i.to_be_bytes());
}

fn mib_per_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / (1 << 20) as f64 / secs
}

/// Writes `bytes` to `path` (fsync and close included); MiB/s.
fn mount_write(path: &Path, bytes: u64) -> f64 {
    let mut buf = pattern(MAX_WRITE);
    let start = Instant::now();
    let mut f = std::fs::File::create(path).expect("create on the mount");
    let mut done = 0u64;
    let mut i = 0;
    while done < bytes {
        let n = (bytes - done).min(MAX_WRITE as u64) as usize;
        block(&mut buf, i);
        f.write_all(&buf[..n]).expect("write on the mount");
        done += n as u64;
        i += 1;
    }
    f.sync_all().expect("fsync on the mount");
    drop(f);
    mib_per_s(bytes, start.elapsed().as_secs_f64())
}

/// Reads `path` whole and checks its length and block numbers; MiB/s.
fn mount_read(path: &Path, bytes: u64) -> f64 {
    let mut buf = vec![0u8; MAX_WRITE];
    let start = Instant::now();
    let mut f = std::fs::File::open(path).expect("open on the mount");
    let mut done = 0u64;
    loop {
        // Fill whole blocks so each starts with its number.
        let mut got = 0;
        while got < buf.len() {
            let n = f.read(&mut buf[got..]).expect("read on the mount");
            if n == 0 {
                break;
            }
            got += n;
        }
        if got == 0 {
            break;
        }
        let i = done / MAX_WRITE as u64;
        assert!(
            got < 8 || buf[..8] == i.to_be_bytes(),
            "block {i} of the file read back wrong"
        );
        done += got as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(done, bytes, "file read back with the wrong length");
    mib_per_s(bytes, secs)
}

fn raw_key(prefix: &[u8], index: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// Puts `bytes` as CHUNK_SIZE values under `prefix`, BATCH per transaction; MiB/s.
async fn raw_put(store: &EtcdStore, prefix: &[u8], bytes: u64) -> f64 {
    let chunks = bytes.div_ceil(CHUNK_SIZE as u64);
    let mut data = pattern(CHUNK_SIZE);
    let start = Instant::now();
    let mut index = 0;
    while index < chunks {
        let then = (index..chunks.min(index + BATCH as u64))
            .map(|i| {
                block(&mut data, i);
                TxnOp::Put {
                    key: raw_key(prefix, i),
                    value: data.clone(),
                    lease: None,
                }
            })
            .collect::<Vec<_>>();
        index += then.len() as u64;
        let txn = Txn {
            then,
            ..Txn::default()
        };
        store.txn(txn).await.expect("raw put");
    }
    mib_per_s(chunks * CHUNK_SIZE as u64, start.elapsed().as_secs_f64())
}

/// Reads the chunks under `prefix` back, BATCH per range request; MiB/s.
async fn raw_get(store: &EtcdStore, prefix: &[u8], bytes: u64) -> f64 {
    let chunks = bytes.div_ceil(CHUNK_SIZE as u64);
    let start = Instant::now();
    let mut got = 0u64;
    let mut index = 0;
    while index < chunks {
        let end = chunks.min(index + BATCH as u64);
        let r = store
            .range(&raw_key(prefix, index), &raw_key(prefix, end), 0, 0)
            .await
            .expect("raw get");
        for (kv, i) in r.kvs.iter().zip(index..) {
            assert_eq!(
                kv.value[..8],
                i.to_be_bytes(),
                "raw chunk {i} read back wrong"
            );
            got += kv.value.len() as u64;
        }
        index = end;
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(got, chunks * CHUNK_SIZE as u64, "raw chunks missing");
    mib_per_s(got, secs)
}

async fn raw_delete(store: &EtcdStore, prefix: &[u8]) {
    let txn = Txn {
        then: vec![TxnOp::DeleteRange {
            start: prefix.to_vec(),
            end: prefix_end(prefix),
        }],
        ..Txn::default()
    };
    store.txn(txn).await.expect("raw delete");
}

/// What etcdfs cost during one write or read: store calls and FUSE requests.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    calls: Calls,
    requests: u64,
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, b: Cost) {
        self.calls += b.calls;
        self.requests += b.requests;
    }
}

/// One round of both sides, etcdfs first or not: (write, raw put, read, raw get) in MiB/s,
/// and etcdfs's cost during its write and its read.
fn round(
    env: &mut Env,
    mount: &TestMount,
    tag: &str,
    bytes: u64,
    fs_first: bool,
) -> ([f64; 4], Cost, Cost) {
    let file = mount.path().join(tag);
    let prefix = format!("raw/seq/{tag}/").into_bytes();
    let fs = |env: &Env| {
        let cost = || Cost {
            calls: env.counting.calls(),
            requests: mount.stats().requests,
        };
        let since = |b: Cost, a: Cost| Cost {
            calls: b.calls.since(a.calls),
            requests: b.requests - a.requests,
        };
        let c0 = cost();
        let w = mount_write(&file, bytes);
        let c1 = cost();
        let r = mount_read(&file, bytes);
        let c2 = cost();
        (w, r, since(c1, c0), since(c2, c1))
    };
    let raw = |env: &Env| {
        let p = env.rt.block_on(raw_put(&env.store, &prefix, bytes));
        let g = env.rt.block_on(raw_get(&env.store, &prefix, bytes));
        (p, g)
    };
    let ((w, r, wc, rc), (p, g)) = if fs_first {
        let f = fs(env);
        (f, raw(env))
    } else {
        let x = raw(env);
        (fs(env), x)
    };
    std::fs::remove_file(&file).expect("unlink on the mount");
    env.rt.block_on(raw_delete(&env.store, &prefix));
    env.rt
        .block_on(env.admin.settle())
        .expect("compact and defragment");
    ([w, p, r, g], wc, rc)
}

/// Warm-up, then alternated rounds; rows for write and read.
pub fn run(env: &mut Env, o: &Options) -> Vec<Row> {
    let bytes = o.file_bytes;
    eprintln!(
        "seq: {} MiB file, {} KiB writes/reads, {} KiB chunks, {BATCH} per raw txn/range, {} rounds",
        bytes >> 20,
        MAX_WRITE >> 10,
        CHUNK_SIZE >> 10,
        o.rounds
    );
    let mount = env.mount_etcdfs(b"bench-seq/", o.mount_ttl);
    round(env, &mount, "warm", bytes.min(16 << 20), true);
    let (mut writes, mut reads) = (Vec::new(), Vec::new());
    let (mut wc, mut rc) = (Cost::default(), Cost::default());
    for i in 0..o.rounds {
        let (v, w, r) = round(env, &mount, &format!("r{i}"), bytes, i % 2 == 1);
        eprintln!(
            "  round {i}: write {:.1} MiB/s (raw put {:.1}), read {:.1} MiB/s (raw get {:.1})",
            v[0], v[1], v[2], v[3]
        );
        writes.push((v[0], v[1]));
        reads.push((v[2], v[3]));
        wc += w;
        rc += r;
    }
    drop(mount);
    let rounds = o.rounds as u64;
    let mib = (bytes >> 20).max(1) * rounds;
    let mut w = Row::new(
        "seq write",
        "MiB/s",
        format!(
            "raw etcd put of {} KiB values, {BATCH} per txn, 1 task",
            CHUNK_SIZE >> 10
        ),
        Goal::RatioAtLeast(0.5),
        writes,
    );
    w.notes.push(format!(
        "etcdfs: {} MiB file, {} KiB write(2)s, fsync + close timed; per MiB written: {:.2} FUSE requests, {}",
        bytes >> 20,
        MAX_WRITE >> 10,
        wc.requests as f64 / mib as f64,
        wc.calls.per_op(mib)
    ));
    let mut r = Row::new(
        "seq read",
        "MiB/s",
        format!(
            "raw etcd range get of {BATCH} x {} KiB values per request, 1 task",
            CHUNK_SIZE >> 10
        ),
        Goal::RatioAtLeast(0.5),
        reads,
    );
    r.notes.push(format!(
        "etcdfs: read back with {} KiB read(2)s after reopening; per MiB read: {:.2} FUSE requests, {}; bytes from the store / file bytes = {:.2}",
        MAX_WRITE >> 10,
        rc.requests as f64 / mib as f64,
        rc.calls.per_op(mib),
        rc.calls.read_bytes as f64 / (bytes * rounds) as f64
    ));
    vec![w, r]
}
