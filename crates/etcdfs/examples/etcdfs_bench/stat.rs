//! Goal 2: warm stat latency of etcdfs within 1.5x of memfs's. Both mounted in-process with the
//! same kernel TTL (`--stat-ttl-ms`, default 0: every stat(2) reaches the daemon as LOOKUP +
//! GETATTR, so the daemon's own speed is measured, not the kernel's cache). `stat_files`
//! files are created on each, stat'ed once (warm), then one caller stats them round-robin for
//! the warm-up and for each timed phase; rounds alternate which filesystem goes first.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::env::{mount_memfs, Env};
use crate::options::Options;
use crate::report::{median, Goal, Row};

/// Latencies of one phase, in ns.
struct Phase {
    samples: Vec<u64>,
}

impl Phase {
    fn percentile(&self, p: f64) -> f64 {
        let mut v = self.samples.clone();
        v.sort_unstable();
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1] as f64 / 1000.0
    }

    fn mean(&self) -> f64 {
        self.samples.iter().sum::<u64>() as f64 / self.samples.len() as f64 / 1000.0
    }
}

fn make_files(root: &Path, n: usize) -> Vec<PathBuf> {
    let dir = root.join("stat");
    std::fs::create_dir(&dir).expect("mkdir");
    let files: Vec<PathBuf> = (0..n).map(|i| dir.join(format!("s{i}"))).collect();
    for f in &files {
        std::fs::File::create(f).expect("create");
    }
    for f in &files {
        std::fs::metadata(f).expect("warm stat");
    }
    files
}

fn stat_loop(files: &[PathBuf], secs: Duration) -> Phase {
    let mut samples = Vec::with_capacity(1 << 16);
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < secs {
        let t = Instant::now();
        std::fs::metadata(&files[i % files.len()]).expect("stat");
        samples.push(t.elapsed().as_nanos() as u64);
        i += 1;
    }
    Phase { samples }
}

/// Warm-up, then alternated rounds; one row (p50), with mean and p99 in the notes.
pub fn run(env: &Env, o: &Options) -> Row {
    eprintln!(
        "stat: {} files, TTL {:?}, {:?} per phase, {} rounds",
        o.stat_files, o.stat_ttl, o.secs, o.rounds
    );
    let etcd = env.mount_etcdfs(b"bench-stat/", o.stat_ttl);
    let mem = mount_memfs(o.stat_ttl);
    let ef = make_files(etcd.path(), o.stat_files);
    let mf = make_files(mem.path(), o.stat_files);
    stat_loop(&mf, o.warmup);
    stat_loop(&ef, o.warmup);
    let (mut rounds, mut means, mut p99s) = (Vec::new(), Vec::new(), Vec::new());
    let mut calls = crate::counting::Calls::default();
    let mut stats = 0u64;
    let (mut e_req, mut m_req, mut m_stats) = (0u64, 0u64, 0u64);
    for round in 0..o.rounds {
        let fs_side = || {
            let (before, r0) = (env.counting.calls(), etcd.stats().requests);
            let p = stat_loop(&ef, o.secs);
            (
                p,
                env.counting.calls().since(before),
                etcd.stats().requests - r0,
            )
        };
        let mem_side = || {
            let r0 = mem.stats().requests;
            let p = stat_loop(&mf, o.secs);
            (p, mem.stats().requests - r0)
        };
        let ((e, d, er), (m, mr)) = if round % 2 == 0 {
            let m = mem_side();
            (fs_side(), m)
        } else {
            let e = fs_side();
            (e, mem_side())
        };
        e_req += er;
        m_req += mr;
        m_stats += m.samples.len() as u64;
        eprintln!(
            "  round {round}: etcdfs p50 {:.1} us ({} stats), memfs p50 {:.1} us ({} stats)",
            e.percentile(50.0),
            e.samples.len(),
            m.percentile(50.0),
            m.samples.len()
        );
        rounds.push((e.percentile(50.0), m.percentile(50.0)));
        means.push((e.mean(), m.mean()));
        p99s.push((e.percentile(99.0), m.percentile(99.0)));
        calls += d;
        stats += e.samples.len() as u64;
    }
    drop(etcd);
    drop(mem);
    let mut row = Row::new(
        "warm stat p50",
        "us",
        format!(
            "memfs stat p50, same kernel TTL ({:?}), 1 caller",
            o.stat_ttl
        ),
        Goal::RatioAtMost(1.5),
        rounds,
    );
    let pair = |v: &[(f64, f64)]| {
        (
            median(v.iter().map(|x| x.0).collect()),
            median(v.iter().map(|x| x.1).collect()),
        )
    };
    let (em, mm) = pair(&means);
    let (e99, m99) = pair(&p99s);
    row.notes.push(format!(
        "mean {em:.1} us vs memfs {mm:.1} us; p99 {e99:.1} us vs memfs {m99:.1} us (medians over rounds)"
    ));
    row.notes.push(format!(
        "FUSE requests per stat: etcdfs {:.2}, memfs {:.2}",
        e_req as f64 / stats.max(1) as f64,
        m_req as f64 / m_stats.max(1) as f64
    ));
    row.notes
        .push(format!("etcdfs, per stat: {}", calls.per_op(stats)));
    row
}
