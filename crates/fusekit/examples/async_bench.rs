//! The async adapter's cost and its point, measured through the kernel with `stat(2)` loops on
//! a filesystem that does no work (attributes never cached, so every stat is one GETATTR):
//! (a) the same null filesystem on the sync trait and on the async one (first poll inline,
//!     and spawned on the runtime untouched): requests/s, 1 and 2 callers;
//!     and (paired) both mounted side by side, each caller alternating between them, which
//!     keeps the comparison fair on a machine shared with other work;
//! (b) every GETATTR waiting 1 ms (`tokio::time::sleep`; `thread::sleep` on the sync trait):
//!     32 concurrent callers vs one.
//! Needs root and /dev/fuse. It never changes the fuse module's `enable_uring`: with
//! `--transport uring` that parameter must already be Y. `--uring-depth N` sets the ring
//! entries per CPU queue (default: the session's choice, 8 for the sync filesystems and room
//! for twice each queue's share of the in-flight limit, at most 32, for the async ones): over
//! io_uring at most that many requests per CPU are with the daemon at once, which caps (b).
//!
//! ```text
//! cargo run --release -p fusekit --features tokio --example async_bench -- \
//!     [--transport dev|uring] [--uring-depth N] [--secs S] [--rounds N] \
//!     [--only null|1ms|paired]
//! ```

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fusekit::asyncfs::{tokio, AsyncAdapter, AsyncConfig, AsyncFilesystem, RequestContext};
use fusekit::{
    Entry, Errno, FileAttr, FileType, Filesystem, Ino, MountOptions, ReplyAttr, ReplyEntry,
    Request, Session, Transport, ROOT_ID,
};

/// How the filesystems are mounted: the transport, and the ring entries per CPU queue (the
/// session's default when `None`).
#[derive(Clone, Copy)]
struct Via {
    transport: Transport,
    uring_depth: Option<usize>,
}

/// Mounts `fs` on `dir` and starts it over `via`; over io_uring it must be on the rings.
fn start<FS: Filesystem>(fs: FS, dir: &Path, via: Via) -> fusekit::BackgroundSession {
    let mut session = Session::mount(fs, dir, &MountOptions::new().fsname("async-bench"))
        .expect("mount")
        .transport(via.transport);
    if let Some(depth) = via.uring_depth {
        session = session.uring_queue_depth(depth);
    }
    let session = session.spawn().expect("start");
    if via.transport == Transport::Uring {
        assert_eq!(
            session.transport_in_use(),
            Transport::Uring,
            "not on the rings"
        );
    }
    session
}

const FILES: u64 = 64;

fn attr(ino: Ino) -> FileAttr {
    let (mode, nlink) = if ino == ROOT_ID {
        (FileType::Directory.mode_bits() | 0o755, 2)
    } else {
        (FileType::RegularFile.mode_bits() | 0o644, 1)
    };
    FileAttr {
        ino,
        mode,
        nlink,
        ..FileAttr::default()
    }
}

/// `fN` is inode N + 2; names are cached for a minute, attributes never.
fn entry(parent: Ino, name: &OsStr) -> Result<Entry, Errno> {
    let n = name
        .to_str()
        .and_then(|s| s.strip_prefix('f'))
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n < FILES && parent == ROOT_ID)
        .ok_or(Errno::NOENT)?;
    let mut e = Entry::new(attr(n + 2), Duration::from_secs(60));
    e.attr_ttl = Duration::ZERO;
    Ok(e)
}

/// The sync null filesystem (`latency` by blocking the worker).
struct SyncNull {
    latency: Duration,
}

impl Filesystem for SyncNull {
    fn lookup(&self, _req: &Request<'_>, parent: Ino, name: &OsStr, reply: ReplyEntry) {
        match entry(parent, name) {
            Ok(e) => reply.entry(&e),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request<'_>, ino: Ino, _fh: Option<u64>, reply: ReplyAttr) {
        if !self.latency.is_zero() {
            std::thread::sleep(self.latency);
        }
        reply.attr(&attr(ino), Duration::ZERO)
    }
}

/// The async null filesystem (`latency` by a tokio timer).
struct AsyncNull {
    latency: Duration,
}

impl AsyncFilesystem for AsyncNull {
    async fn lookup(
        &self,
        _ctx: &RequestContext,
        parent: Ino,
        name: &OsStr,
    ) -> Result<Entry, Errno> {
        entry(parent, name)
    }

    async fn getattr(
        &self,
        _ctx: &RequestContext,
        ino: Ino,
        _fh: Option<u64>,
    ) -> Result<(FileAttr, Duration), Errno> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        Ok((attr(ino), Duration::ZERO))
    }
}

/// `callers` threads stat their own file for `secs`; stats per second and the count.
fn stat_rate(root: &Path, callers: u64, secs: f64) -> (f64, u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let threads: Vec<_> = (0..callers)
        .map(|t| {
            let path: PathBuf = root.join(format!("f{t}"));
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    rustix::fs::stat(&path).expect("stat");
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let total: u64 = threads.into_iter().map(|h| h.join().unwrap()).sum();
    (total as f64 / start.elapsed().as_secs_f64(), total)
}

/// CPU time (user + system) of this whole process so far: callers, workers and runtime.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes one `rusage` into the zeroed struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[derive(Clone, Copy)]
enum Kind {
    Sync,
    Async { inline: bool },
}

/// Mounts the null filesystem of `kind`, runs `callers` stat loops, unmounts.
fn measure(kind: Kind, latency: Duration, via: Via, callers: u64, secs: f64) -> (f64, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |session: fusekit::BackgroundSession| {
        // Warm the name cache so the loop measures GETATTR only.
        for t in 0..callers {
            rustix::fs::stat(dir.path().join(format!("f{t}"))).expect("stat");
        }
        let r = stat_rate(dir.path(), callers, secs);
        session.unmount_and_join().expect("unmount");
        r
    };
    match kind {
        Kind::Sync => run(start(SyncNull { latency }, dir.path(), via)),
        Kind::Async { inline } => {
            let config = AsyncConfig::new().poll_inline(inline);
            let fs = AsyncAdapter::new(AsyncNull { latency }, config).expect("runtime");
            run(start(fs, dir.path(), via))
        }
    }
}

/// The sync and the async null filesystems mounted side by side; each of `callers` threads
/// alternates one stat on each and times them separately, so both see the same machine at the
/// same moment. Returns mean latency sync / async, i.e. the async throughput ratio.
fn paired(via: Via, callers: u64, secs: f64) -> f64 {
    let sync_dir = tempfile::tempdir().expect("tempdir");
    let async_dir = tempfile::tempdir().expect("tempdir");
    let sync = start(
        SyncNull {
            latency: Duration::ZERO,
        },
        sync_dir.path(),
        via,
    );
    let adapter = AsyncAdapter::new(
        AsyncNull {
            latency: Duration::ZERO,
        },
        AsyncConfig::new(),
    )
    .expect("runtime");
    let asy = start(adapter, async_dir.path(), via);
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..callers)
        .map(|t| {
            let a = sync_dir.path().join(format!("f{t}"));
            let b = async_dir.path().join(format!("f{t}"));
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let (mut ta, mut tb) = (Duration::ZERO, Duration::ZERO);
                // Warm the name caches first.
                rustix::fs::stat(&a).expect("stat");
                rustix::fs::stat(&b).expect("stat");
                while !stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    rustix::fs::stat(&a).expect("stat");
                    let t1 = Instant::now();
                    rustix::fs::stat(&b).expect("stat");
                    ta += t1 - t0;
                    tb += t1.elapsed();
                }
                (ta, tb)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let (mut ta, mut tb) = (Duration::ZERO, Duration::ZERO);
    for h in threads {
        let (a, b) = h.join().unwrap();
        ta += a;
        tb += b;
    }
    sync.unmount_and_join().expect("unmount");
    asy.unmount_and_join().expect("unmount");
    ta.as_secs_f64() / tb.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let mut via = Via {
        transport: Transport::Dev,
        uring_depth: None,
    };
    let mut secs = 2.0;
    let mut rounds = 3;
    let mut only = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--transport" => {
                via.transport = match value().as_str() {
                    "dev" => Transport::Dev,
                    "uring" => Transport::Uring,
                    other => panic!("--transport {other}: expected dev or uring"),
                }
            }
            "--uring-depth" => via.uring_depth = Some(value().parse().expect("--uring-depth N")),
            "--secs" => secs = value().parse().expect("--secs S"),
            "--rounds" => rounds = value().parse().expect("--rounds N"),
            "--only" => only = value(),
            other => panic!("unknown argument {other}"),
        }
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let transport = via.transport;
    let depth = match (transport, via.uring_depth) {
        (Transport::Uring, Some(n)) => format!(", {n} ring entries per CPU"),
        (Transport::Uring, None) => {
            ", the session's ring depth (8 sync, from the in-flight limit async)".to_string()
        }
        _ => String::new(),
    };
    println!(
        "{cpus} CPUs, {transport:?}{depth}, {secs} s per case, {rounds} rounds (median shown)"
    );
    let zero = Duration::ZERO;
    let ms = Duration::from_millis(1);
    let cases: Vec<(&str, Kind, Duration, u64)> = vec![
        ("null sync x1", Kind::Sync, zero, 1),
        ("null async x1", Kind::Async { inline: true }, zero, 1),
        (
            "null async-spawned x1",
            Kind::Async { inline: false },
            zero,
            1,
        ),
        ("null sync x2", Kind::Sync, zero, 2),
        ("null async x2", Kind::Async { inline: true }, zero, 2),
        (
            "null async-spawned x2",
            Kind::Async { inline: false },
            zero,
            2,
        ),
        ("1ms async x1", Kind::Async { inline: true }, ms, 1),
        ("1ms async x32", Kind::Async { inline: true }, ms, 32),
        ("1ms sync x1", Kind::Sync, ms, 1),
        ("1ms sync x32", Kind::Sync, ms, 32),
    ];
    let mut cases = cases;
    cases.retain(|c| c.0.starts_with(only.as_str()));
    let mut results: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut cpu: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        for (label, kind, latency, callers) in &cases {
            let cpu_before = cpu_time();
            let (r, n) = measure(*kind, *latency, via, *callers, secs);
            let us = (cpu_time() - cpu_before).as_secs_f64() * 1e6 / n as f64;
            eprintln!("round {round} {label:<24} {r:>10.0} stats/s {us:>6.1} us CPU/stat");
            results.entry(label).or_default().push(r);
            cpu.entry(label).or_default().push(us);
        }
    }
    for (label, ..) in &cases {
        println!(
            "{label:<24} {:>10.0} stats/s {:>6.1} us CPU/stat",
            median(results[label].clone()),
            median(cpu[label].clone())
        );
    }
    // Ratios per round (both sides measured back to back), then the median: steadier than a
    // ratio of medians on a machine shared with other work.
    let ratio = |a: &str, b: &str| {
        median(
            results[a]
                .iter()
                .zip(&results[b])
                .map(|(x, y)| x / y)
                .collect(),
        )
    };
    let lines = [
        (
            "(a) async / sync, null, x1",
            "null async x1",
            "null sync x1",
        ),
        (
            "(a) async / sync, null, x2",
            "null async x2",
            "null sync x2",
        ),
        (
            "(a) spawned / sync, null, x1",
            "null async-spawned x1",
            "null sync x1",
        ),
        (
            "(a) spawned / sync, null, x2",
            "null async-spawned x2",
            "null sync x2",
        ),
        ("(b) async 1 ms, x32 / x1", "1ms async x32", "1ms async x1"),
        (
            "(b) async 1 ms x32 / sync 1 ms x1",
            "1ms async x32",
            "1ms sync x1",
        ),
        (
            "    sync 1 ms, x32 / x1 (contrast)",
            "1ms sync x32",
            "1ms sync x1",
        ),
    ];
    for (what, a, b) in lines {
        if results.contains_key(a) && results.contains_key(b) {
            println!("{what:<36} {:.2}", ratio(a, b));
        }
    }
    if "paired".starts_with(only.as_str()) {
        for callers in [1, 2] {
            let r: Vec<f64> = (0..rounds).map(|_| paired(via, callers, secs)).collect();
            eprintln!("paired x{callers}: {r:.3?}");
            println!(
                "(a) paired, async / sync, null, x{callers} {:.2}",
                median(r)
            );
        }
    }
}
