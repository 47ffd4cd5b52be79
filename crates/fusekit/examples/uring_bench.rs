//! io_uring vs /dev/fuse, same binary, same run: creates/s and 4 KiB O_DIRECT random-read
//! IOPS against a small in-memory filesystem that does no real work, so the numbers are the
//! transport's. Needs root and /dev/fuse; sets the fuse module's `enable_uring` to Y for the
//! run and restores it.
//!
//! ```text
//! cargo run --release -p fusekit --example uring_bench -- [seconds-per-case] [rounds]
//! ```

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fusekit::abi::OpenOutFlags;
use fusekit::{
    Entry, Errno, FileAttr, FileType, Filesystem, Ino, MountOptions, ReplyAttr, ReplyCreate,
    ReplyData, ReplyEmpty, ReplyEntry, ReplyOpen, Request, RingFlags, Session, Timestamp,
    Transport, ROOT_ID,
};

const PARAM: &str = "/sys/module/fuse/parameters/enable_uring";
const DATA_INO: Ino = 2;
const DATA_SIZE: u64 = 256 << 20;
const BLOCK: usize = 4096;
const TTL: Duration = Duration::from_secs(60);

/// Names map to inodes; `data` is a 256 MiB file whose bytes are computed, not stored.
struct BenchFs {
    names: Mutex<HashMap<OsString, Ino>>,
    next: AtomicU64,
    pattern: Vec<u8>,
}

impl BenchFs {
    fn new() -> Self {
        BenchFs {
            names: Mutex::new(HashMap::new()),
            next: AtomicU64::new(DATA_INO + 1),
            pattern: (0..(1 << 20)).map(|i| (i % 251) as u8).collect(),
        }
    }

    fn attr(ino: Ino) -> FileAttr {
        let (mode, size) = match ino {
            ROOT_ID => (FileType::Directory.mode_bits() | 0o755, 0),
            DATA_INO => (FileType::RegularFile.mode_bits() | 0o644, DATA_SIZE),
            _ => (FileType::RegularFile.mode_bits() | 0o644, 0),
        };
        let t = Timestamp::new(1_700_000_000, 0);
        FileAttr {
            ino,
            size,
            blocks: size / 512,
            atime: t,
            mtime: t,
            ctime: t,
            mode,
            nlink: if ino == ROOT_ID { 2 } else { 1 },
            ..FileAttr::default()
        }
    }
}

impl Filesystem for BenchFs {
    fn lookup(&self, _req: &Request<'_>, _parent: Ino, name: &OsStr, reply: ReplyEntry) {
        if name == "data" {
            return reply.entry(&Entry::new(Self::attr(DATA_INO), TTL));
        }
        match self.names.lock().unwrap().get(name) {
            Some(ino) => reply.entry(&Entry::new(Self::attr(*ino), TTL)),
            None => reply.error(Errno::NOENT),
        }
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        reply.attr(&Self::attr(ino), TTL)
    }

    fn open(&self, _req: &Request<'_>, _ino: Ino, _flags: i32, reply: ReplyOpen) {
        reply.opened(0, OpenOutFlags::empty())
    }

    fn read(
        &self,
        _req: &Request<'_>,
        _ino: Ino,
        _fh: u64,
        offset: u64,
        size: u32,
        _flags: i32,
        _lock_owner: Option<u64>,
        reply: ReplyData,
    ) {
        let start = (offset % (1 << 19)) as usize;
        let len = (size as usize).min(1 << 19);
        reply.data(&self.pattern[start..start + len])
    }

    fn flush(&self, _req: &Request<'_>, _ino: Ino, _fh: u64, _owner: u64, reply: ReplyEmpty) {
        reply.ok()
    }

    fn create(
        &self,
        _req: &Request<'_>,
        _parent: Ino,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let ino = self.next.fetch_add(1, Ordering::Relaxed);
        self.names.lock().unwrap().insert(name.to_owned(), ino);
        reply.created(&Entry::new(Self::attr(ino), TTL), 0, OpenOutFlags::empty())
    }
}

#[derive(Clone, Copy)]
struct Config {
    label: &'static str,
    transport: Transport,
    flags: RingFlags,
    pin: bool,
}

fn configs() -> Vec<Config> {
    let u = |label, flags| Config {
        label,
        transport: Transport::Uring,
        flags,
        pin: true,
    };
    vec![
        Config {
            label: "/dev/fuse",
            transport: Transport::Dev,
            flags: RingFlags::empty(),
            pin: true,
        },
        u("uring (no flags)", RingFlags::empty()),
        u("uring COOP_TASKRUN", RingFlags::COOP_TASKRUN),
        u("uring SINGLE_ISSUER", RingFlags::SINGLE_ISSUER),
        u(
            "uring SINGLE_ISSUER|DEFER_TASKRUN",
            RingFlags::SINGLE_ISSUER | RingFlags::DEFER_TASKRUN,
        ),
        Config {
            label: "uring SI|DEFER_TASKRUN, unpinned",
            pin: false,
            ..u("", RingFlags::SINGLE_ISSUER | RingFlags::DEFER_TASKRUN)
        },
    ]
}

/// Runs `op` on `threads` threads for `secs`; returns operations per second.
fn rate(threads: usize, secs: f64, op: impl Fn(usize, u64) + Send + Sync + 'static) -> f64 {
    let op = Arc::new(op);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let op = Arc::clone(&op);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    op(t, n);
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / start.elapsed().as_secs_f64()
}

fn creates(dir: &std::path::Path, threads: usize, secs: f64, tag: &str) -> f64 {
    let dir = dir.to_path_buf();
    let tag = tag.to_string();
    rate(threads, secs, move |t, n| {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(format!("{tag}-{t}-{n}")))
            .expect("create");
        drop(f);
    })
}

fn direct_reads(dir: &std::path::Path, threads: usize, secs: f64) -> f64 {
    let path = dir.join("data");
    let files: Vec<_> = (0..threads)
        .map(|_| {
            rustix::fs::open(
                &path,
                rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECT,
                rustix::fs::Mode::empty(),
            )
            .expect("open O_DIRECT")
        })
        .collect();
    let files = Arc::new(files);
    rate(threads, secs, move |t, n| {
        // A 4 KiB-aligned buffer for O_DIRECT.
        #[repr(align(4096))]
        struct Aligned([u8; BLOCK]);
        let mut buf = Aligned([0; BLOCK]);
        // Cheap pseudo-random block index (xorshift of the counter).
        let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (t as u64);
        x ^= x >> 29;
        let off = (x % (DATA_SIZE / BLOCK as u64)) * BLOCK as u64;
        let got = rustix::io::pread(files[t].as_fd(), &mut buf.0, off).expect("pread");
        assert_eq!(got, BLOCK);
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let previous = std::fs::read_to_string(PARAM).expect("this kernel has no FUSE over io_uring");
    std::fs::write(PARAM, "Y").expect("set enable_uring (root?)");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{cpus} CPUs, {secs} s per case, {rounds} rounds (median shown)");
    let mut results: HashMap<(&str, &str), Vec<f64>> = HashMap::new();
    let cases = [
        "create x1",
        "create x2",
        "4K O_DIRECT randread x1",
        "4K O_DIRECT randread x2",
    ];
    for round in 0..rounds {
        for c in configs() {
            let dir = tempfile::tempdir().expect("tempdir");
            let session = Session::mount(
                BenchFs::new(),
                dir.path(),
                &MountOptions::new().fsname("uring-bench"),
            )
            .expect("mount")
            .transport(c.transport)
            .uring_ring_flags(c.flags)
            .uring_pin_threads(c.pin)
            .spawn()
            .expect("start");
            let tag = format!("r{round}");
            let v = [
                creates(dir.path(), 1, secs, &format!("{tag}a")),
                creates(dir.path(), 2, secs, &format!("{tag}b")),
                direct_reads(dir.path(), 1, secs),
                direct_reads(dir.path(), 2, secs),
            ];
            let stats = session.uring_stats();
            let requests = session.stats().requests;
            let ops: f64 = v.iter().sum::<f64>() * secs;
            eprintln!(
                "round {round} {:<36} {requests} requests for ~{ops:.0} operations, ring {:?}",
                c.label,
                stats.map(|s| s.requests)
            );
            session.unmount_and_join().expect("unmount");
            if let Some(s) = stats {
                assert!(s.requests > 0 && s.submit_errors == 0, "{s:?}");
            }
            for (case, value) in cases.iter().zip(v) {
                results.entry((c.label, case)).or_default().push(value);
            }
        }
    }
    std::fs::write(PARAM, previous.trim()).expect("restore enable_uring");
    print!("{:<36}", "transport");
    for case in cases {
        print!("{case:>26}");
    }
    println!();
    for c in configs() {
        print!("{:<36}", c.label);
        for case in cases {
            let mut v = results[&(c.label, case)].clone();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            print!("{:>26.0}", v[v.len() / 2]);
        }
        println!();
    }
}
