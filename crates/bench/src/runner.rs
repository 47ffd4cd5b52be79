//! [`run`]: checks the options, makes a private work directory inside the measured directory,
//! runs each selected workload in its own subdirectory, records its numbers or its error, and
//! removes everything it created.

use std::fs;
use std::io;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::error::BenchError;
use crate::fsio::{mount_of, open_dir, remove_tree};
use crate::options::BenchOptions;
use crate::progress::{Phase, Progress};
use crate::report::{BenchReport, Settings, WorkloadResult};
use crate::workloads::{list_workloads, Ctx, Workload};

/// Picks the workloads named in the options (all when none are named).
fn selected(opts: &BenchOptions) -> Result<Vec<Workload>, BenchError> {
    if opts.workloads.is_empty() {
        return Ok(list_workloads().to_vec());
    }
    opts.workloads
        .iter()
        .map(|name| {
            list_workloads()
                .iter()
                .find(|w| w.name == name)
                .copied()
                .ok_or_else(|| BenchError::UnknownWorkload(name.clone()))
        })
        .collect()
}

/// Measures `opts.dir` with the selected workloads. A workload that fails is recorded with its
/// error and the run goes on; only unusable options or directories stop the run.
pub fn run(
    opts: &BenchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<BenchReport, BenchError> {
    opts.validate()?;
    let workloads = selected(opts)?;
    let bad_dir = |source| BenchError::BadDir {
        path: opts.dir.clone(),
        source,
    };
    let meta = fs::metadata(&opts.dir).map_err(bad_dir)?;
    if !meta.is_dir() {
        return Err(bad_dir(io::Error::other("not a directory")));
    }
    let root = opts
        .dir
        .join(format!(".fusekit-bench-{}", std::process::id()));
    let work_dir_err = |source| BenchError::WorkDir {
        path: root.clone(),
        source,
    };
    if root.exists() {
        fs::remove_dir_all(&root).map_err(work_dir_err)?;
    }
    fs::create_dir(&root).map_err(work_dir_err)?;
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let total = workloads.len();
    let mut results = Vec::with_capacity(total);
    let mut gone: Option<String> = None;
    for (index, w) in workloads.iter().enumerate() {
        let result = match &gone {
            None => run_one(opts, &root, w, index, total, progress),
            Some(why) => WorkloadResult {
                workload: w.name.to_string(),
                metrics: Vec::new(),
                notes: Vec::new(),
                details: Vec::new(),
                error: Some(format!("not run: {why}")),
            },
        };
        if gone.is_none() && result.error.is_some() {
            gone = still_answering(&root).err();
        }
        progress(Progress::Finished {
            index,
            total,
            result: result.clone(),
        });
        results.push(result);
    }
    if let Err(e) = remove_tree(&root, Instant::now() + opts.workload_limit) {
        tracing::warn!("cannot remove {}: {e}", root.display());
    }
    let (fs_type, fs_source) =
        mount_of(&opts.dir).unwrap_or_else(|| ("unknown".to_string(), String::new()));
    Ok(BenchReport {
        dir: opts.dir.display().to_string(),
        fs_type,
        fs_source,
        kernel: rustix::system::uname()
            .release()
            .to_string_lossy()
            .into_owned(),
        settings: Settings {
            threads: opts.threads,
            duration_ms: opts.duration.as_millis() as u64,
            warmup_ms: opts.warmup.as_millis() as u64,
            seq_bytes: opts.seq_bytes,
            seq_block: opts.seq_block,
            randread_bytes: opts.randread_bytes,
            readdir_small: opts.readdir_small,
            readdir_large: opts.readdir_large,
            stat_files: opts.stat_files,
        },
        started_unix,
        results,
    })
}

/// Whether the filesystem still answers after a workload failed; a dead FUSE daemon
/// (ENOTCONN, ECONNABORTED) makes every later workload pointless.
fn still_answering(root: &Path) -> Result<(), String> {
    match fs::metadata(root) {
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOTCONN) | Some(libc::ECONNABORTED) | Some(libc::ENODEV)
            ) =>
        {
            Err(format!("the filesystem stopped answering ({e})"))
        }
        _ => Ok(()),
    }
}

/// Runs one workload in `root/NAME` and removes that directory afterwards.
fn run_one(
    opts: &BenchOptions,
    root: &Path,
    w: &Workload,
    index: usize,
    total: usize,
    progress: &mut dyn FnMut(Progress),
) -> WorkloadResult {
    let dir = root.join(w.name);
    let mut result = WorkloadResult {
        workload: w.name.to_string(),
        metrics: Vec::new(),
        notes: Vec::new(),
        details: Vec::new(),
        error: None,
    };
    let dirfd = match fs::create_dir(&dir).and_then(|()| open_dir(&dir)) {
        Ok(fd) => fd,
        Err(e) => {
            result.error = Some(format!("cannot create its directory: {e}"));
            return result;
        }
    };
    let mut ctx = Ctx {
        dir: dir.clone(),
        dirfd,
        opts,
        index,
        total,
        name: w.name,
        progress,
        metrics: Vec::new(),
        notes: Vec::new(),
        details: Vec::new(),
        deadline: Instant::now() + opts.workload_limit,
    };
    let outcome = (w.run)(&mut ctx);
    if let Err(e) = &outcome {
        tracing::warn!(workload = w.name, "failed: {e}");
        ctx.phase(Phase::Cleanup);
    }
    result.metrics = std::mem::take(&mut ctx.metrics);
    result.notes = std::mem::take(&mut ctx.notes);
    result.details = std::mem::take(&mut ctx.details);
    result.error = outcome.err().map(|e| e.to_string());
    drop(ctx);
    // Leftovers of a failed workload get a cleanup budget of their own.
    if let Err(e) = remove_tree(&dir, Instant::now() + opts.workload_limit) {
        // A per-run detail (the workload's own error, if any, is reported already): keeping it
        // out of the method notes lets a comparison state those once for every row.
        result
            .details
            .push(format!("could not remove its directory: {e}"));
    }
    result
}
