//! Command-line flags of the bench, with a quick preset (`--quick`, about 1-2 minutes) and
//! the full run's defaults (the sizes issue 14 names).

use std::path::PathBuf;
use std::time::Duration;

/// The workloads, in the order they run.
pub const WORKLOADS: [&str; 4] = ["creates", "stat", "seq", "footprint"];

const USAGE: &str = "\
etcdfs_bench: etcdfs against raw etcd (same client, same concurrency) and memfs, on its own
3-member etcd cluster (data on /dev/shm). Needs root and /dev/fuse.

  --quick              small sizes and short rounds (about 1-2 minutes)
  --only LIST          comma-separated subset of: creates,stat,seq,footprint
  --rounds N           alternated rounds per comparison (default 3)
  --secs S             length of one timed create or stat phase (default 5; quick 1)
  --warmup-secs S      untimed warm-up before the rounds (default 2; quick 0.5)
  --callers N          concurrent callers of the create and footprint workloads (default 16)
  --stat-files N       files stat'ed round-robin (default 100)
  --stat-ttl-ms MS     kernel entry/attr cache TTL of both mounts of the stat comparison
                       (default 0: every stat reaches the daemon)
  --mount-ttl-ms MS    kernel entry/attr cache TTL of the etcdfs mounts of the other
                       workloads (default 1000, as `fusekit mount etcd`)
  --file-mib N         size of the sequential file (default 256; quick 16)
  --footprint-files N  files created through the Namespace API (default 100000; quick 5000)
  --footprint-mount-files N  files created through the mount (default 10000; quick 1000)
  --json FILE          also write the results as JSON
";

/// What to run and how big.
#[derive(Debug, Clone)]
pub struct Options {
    pub only: Vec<String>,
    pub rounds: usize,
    pub secs: Duration,
    pub warmup: Duration,
    pub callers: usize,
    pub stat_files: usize,
    pub stat_ttl: Duration,
    pub mount_ttl: Duration,
    pub file_bytes: u64,
    pub footprint_files: u64,
    pub footprint_mount_files: u64,
    pub json: Option<PathBuf>,
}

impl Options {
    /// Whether `workload` was selected.
    pub fn runs(&self, workload: &str) -> bool {
        self.only.iter().any(|w| w == workload)
    }
}

/// Flags as given; unset ones take the preset's value.
#[derive(Default)]
struct Given {
    quick: bool,
    only: Option<String>,
    rounds: Option<usize>,
    secs: Option<f64>,
    warmup: Option<f64>,
    callers: Option<usize>,
    stat_files: Option<usize>,
    stat_ttl_ms: Option<u64>,
    mount_ttl_ms: Option<u64>,
    file_mib: Option<u64>,
    footprint_files: Option<u64>,
    footprint_mount_files: Option<u64>,
    json: Option<PathBuf>,
}

fn number<T: std::str::FromStr>(flag: &str, v: String) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag}: not a number: {v:?}"))
}

/// Parses `args` (without the program name); `Err` holds the message to print.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut g = Given::default();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.to_string());
        }
        if flag == "--quick" {
            g.quick = true;
            continue;
        }
        let v = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        match flag.as_str() {
            "--only" => g.only = Some(v),
            "--rounds" => g.rounds = Some(number(&flag, v)?),
            "--secs" => g.secs = Some(number(&flag, v)?),
            "--warmup-secs" => g.warmup = Some(number(&flag, v)?),
            "--callers" => g.callers = Some(number(&flag, v)?),
            "--stat-files" => g.stat_files = Some(number(&flag, v)?),
            "--stat-ttl-ms" => g.stat_ttl_ms = Some(number(&flag, v)?),
            "--mount-ttl-ms" => g.mount_ttl_ms = Some(number(&flag, v)?),
            "--file-mib" => g.file_mib = Some(number(&flag, v)?),
            "--footprint-files" => g.footprint_files = Some(number(&flag, v)?),
            "--footprint-mount-files" => g.footprint_mount_files = Some(number(&flag, v)?),
            "--json" => g.json = Some(v.into()),
            other => return Err(format!("unknown flag {other}\n\n{USAGE}")),
        }
    }
    let q = g.quick;
    let only: Vec<String> = match g.only {
        Some(list) => list.split(',').map(str::to_owned).collect(),
        None => WORKLOADS.iter().map(|w| w.to_string()).collect(),
    };
    if let Some(bad) = only.iter().find(|w| !WORKLOADS.contains(&w.as_str())) {
        return Err(format!("--only: unknown workload {bad:?}\n\n{USAGE}"));
    }
    let secs = g.secs.unwrap_or(if q { 1.0 } else { 5.0 });
    let warmup = g.warmup.unwrap_or(if q { 0.5 } else { 2.0 });
    let positive = |flag: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(Duration::from_secs_f64(v))
        } else {
            Err(format!("{flag} must be a positive number of seconds"))
        }
    };
    let o = Options {
        only,
        rounds: g.rounds.unwrap_or(3),
        secs: positive("--secs", secs)?,
        warmup: positive("--warmup-secs", warmup)?,
        callers: g.callers.unwrap_or(16),
        stat_files: g.stat_files.unwrap_or(100),
        stat_ttl: Duration::from_millis(g.stat_ttl_ms.unwrap_or(0)),
        mount_ttl: Duration::from_millis(g.mount_ttl_ms.unwrap_or(1000)),
        file_bytes: g.file_mib.unwrap_or(if q { 16 } else { 256 }) << 20,
        footprint_files: g.footprint_files.unwrap_or(if q { 5000 } else { 100_000 }),
        footprint_mount_files: g
            .footprint_mount_files
            .unwrap_or(if q { 1000 } else { 10_000 }),
        json: g.json,
    };
    if o.rounds == 0 || o.callers == 0 || o.stat_files == 0 || o.file_bytes == 0 {
        return Err("--rounds, --callers, --stat-files and --file-mib must be at least 1".into());
    }
    if o.footprint_files < o.callers as u64 || o.footprint_mount_files < o.callers as u64 {
        return Err("the footprint counts must be at least --callers".into());
    }
    Ok(o)
}
