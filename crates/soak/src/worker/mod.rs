//! One worker process: a seeded, mixed workload in its own directory, checked against its own
//! model, until the deadline; then a full sweep, and removal of everything it made.
//!
//! Output (stdout, one JSON object per line, read by the supervisor): `{"ops":N}` about twice a
//! second, then one [`Summary`]. Failures are also printed to stderr with the worker's id.

mod data;
mod model;
mod names;
mod verify;
mod xattr;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use crate::rng::Rng;
use model::{Entry, Model};
pub use xattr::XattrSupport;

/// Base directories per worker (renames cross between them).
const BASE_DIRS: usize = 4;
/// Full sweeps of the subtree (`verify_all`) at least this often.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// Progress lines this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// What a worker is asked to do.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The worker's own directory (created by the worker; must not exist).
    pub dir: PathBuf,
    pub id: u64,
    pub seed: u64,
    pub duration: Duration,
    /// Most names (files, links, symlinks) alive at once.
    pub max_files: usize,
    /// Most file bytes (sum of lengths) alive at once.
    pub max_bytes: u64,
    /// Sweep the whole subtree after every operation.
    pub paranoid: bool,
}

/// The last line a worker prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub done: bool,
    pub id: u64,
    pub ops: u64,
    pub seconds: f64,
    /// Operations by kind.
    pub counts: BTreeMap<String, u64>,
    /// "supported", "unsupported" or "unknown".
    pub xattr: String,
    /// The failure, if any.
    pub error: Option<String>,
}

/// The kinds of operation, chosen at random with these weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Overwrite,
    Truncate,
    Append,
    Read,
    Rename,
    Link,
    Symlink,
    Mkdir,
    Rmdir,
    Unlink,
    UnlinkOpen,
    Fsync,
    Xattr,
    Readdir,
    Stat,
}

const WEIGHTS: &[(Op, u64)] = &[
    (Op::Create, 12),
    (Op::Overwrite, 10),
    (Op::Truncate, 5),
    (Op::Append, 6),
    (Op::Read, 16),
    (Op::Rename, 8),
    (Op::Link, 4),
    (Op::Symlink, 4),
    (Op::Mkdir, 2),
    (Op::Rmdir, 2),
    (Op::Unlink, 8),
    (Op::UnlinkOpen, 3),
    (Op::Fsync, 3),
    (Op::Xattr, 6),
    (Op::Readdir, 5),
    (Op::Stat, 6),
];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Overwrite => "overwrite",
            Op::Truncate => "truncate",
            Op::Append => "append",
            Op::Read => "read",
            Op::Rename => "rename",
            Op::Link => "link",
            Op::Symlink => "symlink",
            Op::Mkdir => "mkdir",
            Op::Rmdir => "rmdir",
            Op::Unlink => "unlink",
            Op::UnlinkOpen => "unlink-open",
            Op::Fsync => "fsync",
            Op::Xattr => "xattr",
            Op::Readdir => "readdir",
            Op::Stat => "stat",
        }
    }
}

/// A worker's state: where it works, its generator, model and limits.
pub struct Worker {
    root: PathBuf,
    rng: Rng,
    model: Model,
    max_files: usize,
    max_bytes: u64,
    xattr: XattrSupport,
}

impl Worker {
    fn new(cfg: &WorkerConfig) -> Worker {
        Worker {
            root: cfg.dir.clone(),
            rng: Rng::new(cfg.seed, cfg.id),
            model: Model::default(),
            max_files: cfg.max_files,
            max_bytes: cfg.max_bytes,
            xattr: XattrSupport::Unknown,
        }
    }

    /// The absolute path of a model path.
    pub fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// A random element of a non-empty list.
    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            None
        } else {
            Some(items[self.rng.index(items.len())].clone())
        }
    }

    /// Names that count against `max_files`.
    fn name_count(&self) -> usize {
        self.model
            .entries
            .values()
            .filter(|e| !matches!(e, Entry::Dir))
            .count()
    }

    /// The next operation: weighted at random, but only shrinking ones over budget.
    fn choose(&mut self) -> Op {
        if self.name_count() >= self.max_files || self.model.total_bytes() >= self.max_bytes {
            return match self.rng.below(4) {
                0 => Op::Truncate,
                1 => Op::UnlinkOpen,
                _ => Op::Unlink,
            };
        }
        let total: u64 = WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut r = self.rng.below(total);
        for (op, w) in WEIGHTS {
            if r < *w {
                return *op;
            }
            r -= w;
        }
        Op::Read
    }

    fn run_op(&mut self, op: Op) -> anyhow::Result<()> {
        match op {
            Op::Create => self.op_create(),
            Op::Overwrite => self.op_overwrite(),
            Op::Truncate => self.op_truncate(),
            Op::Append => self.op_append(),
            Op::Read => self.op_read(),
            Op::Rename => self.op_rename(),
            Op::Link => self.op_link(),
            Op::Symlink => self.op_symlink(),
            Op::Mkdir => self.op_mkdir(),
            Op::Rmdir => self.op_rmdir(),
            Op::Unlink => self.op_unlink(),
            Op::UnlinkOpen => self.op_unlink_open(),
            Op::Fsync => self.op_fsync(),
            Op::Xattr => self.op_xattr(),
            Op::Readdir => self.op_readdir(),
            Op::Stat => self.op_stat(),
        }
    }

    /// Creates the worker's directory and base directories.
    fn setup(&mut self) -> anyhow::Result<()> {
        std::fs::create_dir(&self.root)
            .with_context(|| format!("mkdir {}", self.root.display()))?;
        for i in 0..BASE_DIRS {
            let rel = format!("d{i}");
            std::fs::create_dir(self.path(&rel))
                .with_context(|| format!("mkdir {}", self.path(&rel).display()))?;
            self.model.add(&rel, Entry::Dir);
        }
        Ok(())
    }

    /// Removes every name the model knows (checking each removal), then the worker directory,
    /// and checks that it is gone.
    fn cleanup(&mut self) -> anyhow::Result<()> {
        let mut paths: Vec<String> = self.model.entries.keys().cloned().collect();
        // Deepest first, so directories are empty when removed.
        paths.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
        for rel in paths {
            let path = self.path(&rel);
            match self.model.entries[&rel] {
                Entry::Dir => std::fs::remove_dir(&path),
                _ => std::fs::remove_file(&path),
            }
            .with_context(|| format!("cleanup: remove {}", path.display()))?;
            self.model.remove(&rel);
        }
        std::fs::remove_dir(&self.root)
            .with_context(|| format!("cleanup: rmdir {}", self.root.display()))?;
        match std::fs::symlink_metadata(&self.root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Ok(_) => bail!("cleanup: {} still exists after rmdir", self.root.display()),
            Err(e) => Err(e).with_context(|| format!("lstat {}", self.root.display())),
        }
    }
}

/// Prints one JSON line to stdout (the supervisor's pipe); a closed pipe is ignored.
fn emit(value: &impl Serialize) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, value);
    let _ = out.write_all(b"\n");
    let _ = out.flush();
}

#[derive(Serialize)]
struct Progress {
    ops: u64,
}

/// Runs a worker to completion and prints its summary; the result is whether it passed.
pub fn run(cfg: &WorkerConfig) -> bool {
    let start = Instant::now();
    let mut w = Worker::new(cfg);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut ops = 0u64;
    let result = work(cfg, &mut w, &mut counts, &mut ops, start);
    if result.is_err() {
        // Best effort, so a failed worker leaves less behind; the failure stands either way.
        let _ = std::fs::remove_dir_all(&w.root);
    }
    let error = result.err().map(|e| format!("{e:#}"));
    if let Some(e) = &error {
        eprintln!(
            "fusekit-soak worker {}: FAILED after {ops} operations: {e}",
            cfg.id
        );
    }
    emit(&Summary {
        done: true,
        id: cfg.id,
        ops,
        seconds: start.elapsed().as_secs_f64(),
        counts,
        xattr: w.xattr.to_string(),
        error: error.clone(),
    });
    error.is_none()
}

fn work(
    cfg: &WorkerConfig,
    w: &mut Worker,
    counts: &mut BTreeMap<String, u64>,
    ops: &mut u64,
    start: Instant,
) -> anyhow::Result<()> {
    w.setup()?;
    let mut last_progress = start;
    let mut last_sweep = start;
    while start.elapsed() < cfg.duration {
        let op = w.choose();
        w.run_op(op)
            .with_context(|| format!("operation {} ({})", *ops + 1, op.name()))?;
        *ops += 1;
        *counts.entry(op.name().to_string()).or_default() += 1;
        if last_progress.elapsed() >= PROGRESS_EVERY {
            emit(&Progress { ops: *ops });
            last_progress = Instant::now();
        }
        if cfg.paranoid {
            w.verify_all()
                .with_context(|| format!("sweep after operation {} ({})", *ops, op.name()))?;
        }
        if last_sweep.elapsed() >= SWEEP_EVERY {
            w.verify_all().context("periodic full sweep")?;
            *counts.entry("sweep".to_string()).or_default() += 1;
            last_sweep = Instant::now();
        }
    }
    w.verify_all().context("final full sweep")?;
    w.cleanup()
}

/// The worker directory `i` of a run rooted at `top`.
pub fn worker_dir(top: &Path, i: u64) -> PathBuf {
    top.join(format!("w{i}"))
}
