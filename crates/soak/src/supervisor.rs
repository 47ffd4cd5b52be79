//! `fusekit-soak run`: starts the worker processes, samples the daemon while they work, checks
//! that they left nothing behind, samples once more after cleanup, and judges the run.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::args::RunArgs;
use crate::flat::{self, Sample};
use crate::report::{self, Outcome};
use crate::sample;
use crate::worker::{worker_dir, Summary};

/// How long to wait after cleanup for the daemon's descriptors to drop back (FORGET and
/// RELEASE reach it asynchronously).
const SETTLE: Duration = Duration::from_secs(5);

/// One worker process and what it has reported.
struct Running {
    id: u64,
    child: Child,
    ops: Arc<AtomicU64>,
    summary: Arc<Mutex<Option<Summary>>>,
    reader: Option<JoinHandle<()>>,
    status: Option<std::process::ExitStatus>,
}

/// Starts worker `id` in `dir`, with a thread that reads its progress lines.
fn spawn_worker(args: &RunArgs, id: u64, dir: &Path) -> anyhow::Result<Running> {
    let exe = std::env::current_exe().context("cannot find my own executable")?;
    let mut child = Command::new(exe)
        .arg("worker")
        .arg("--dir")
        .arg(dir)
        .args(["--id", &id.to_string(), "--seed", &args.seed.to_string()])
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--max-files", &args.bounds.max_files.to_string()])
        .args(["--max-bytes", &args.bounds.max_bytes.to_string()])
        .args(args.bounds.paranoid.then_some("--paranoid"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start worker {id}"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let ops = Arc::new(AtomicU64::new(0));
    let summary = Arc::new(Mutex::new(None));
    let (ops2, summary2) = (ops.clone(), summary.clone());
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(s) = serde_json::from_str::<Summary>(&line) {
                ops2.store(s.ops, Ordering::Relaxed);
                *summary2.lock().expect("summary lock") = Some(s);
            } else if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                if let Some(n) = v.get("ops").and_then(|n| n.as_u64()) {
                    ops2.store(n, Ordering::Relaxed);
                }
            }
        }
    });
    Ok(Running {
        id,
        child,
        ops,
        summary,
        reader: Some(reader),
        status: None,
    })
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("readdir {}", dir.display()))? {
        let e = e.with_context(|| format!("readdir {}", dir.display()))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// A sample of the daemon now.
fn take(pid: u32, t0: Instant, workers: &[Running]) -> anyhow::Result<Sample> {
    let u = sample::read(pid)?;
    Ok(Sample {
        t: t0.elapsed().as_secs_f64(),
        rss_kib: u.rss_kib,
        fds: u.fds,
        threads: u.threads,
        ops: workers.iter().map(|w| w.ops.load(Ordering::Relaxed)).sum(),
    })
}

/// Runs the whole soak and prints the report; `Ok(true)` when it passed.
pub fn run(args: &RunArgs) -> anyhow::Result<bool> {
    let rule = args.rule.rule();
    if args.procs == 0 || args.seconds == 0 || args.sample_ms == 0 {
        bail!("--procs, --seconds and --sample-ms must be at least 1");
    }
    if !args.dir.is_dir() {
        bail!("--dir {}: not a directory", args.dir.display());
    }
    let before = listing(&args.dir)?;
    let top: PathBuf = args
        .dir
        .join(format!("fusekit-soak.{}", std::process::id()));
    std::fs::create_dir(&top).with_context(|| format!("mkdir {}", top.display()))?;
    let mut problems: Vec<String> = Vec::new();

    let t0 = Instant::now();
    let start = take(args.pid, t0, &[])?;
    let mut workers = Vec::new();
    for id in 0..args.procs {
        workers.push(spawn_worker(args, id, &worker_dir(&top, id))?);
    }
    let workload = Duration::from_secs(args.seconds);
    let hard_stop = workload + Duration::from_secs(args.grace);
    let tick = Duration::from_millis(args.sample_ms);
    let mut samples = vec![start];
    let mut finished_at = None;
    let mut ticks = 0u32;
    loop {
        match take(args.pid, t0, &workers) {
            Ok(s) => samples.push(s),
            Err(e) => {
                problems.push(format!("sampling failed: {e:#}"));
                break;
            }
        }
        for w in workers.iter_mut().filter(|w| w.status.is_none()) {
            w.status = w.child.try_wait().context("waitpid on a worker")?;
        }
        if workers.iter().all(|w| w.status.is_some()) {
            finished_at = Some(t0.elapsed());
            break;
        }
        if t0.elapsed() > hard_stop {
            problems.push(format!(
                "workers still running {} s after the workload ended (hung filesystem?); killed",
                args.grace
            ));
            break;
        }
        ticks += 1;
        std::thread::sleep((tick * ticks).saturating_sub(t0.elapsed()));
    }
    for w in workers.iter_mut() {
        if w.status.is_none() {
            let _ = w.child.kill();
            w.status = w.child.wait().ok();
        }
        if let Some(r) = w.reader.take() {
            let _ = r.join();
        }
    }
    let summaries: Vec<Option<Summary>> = workers
        .iter()
        .map(|w| w.summary.lock().expect("summary lock").clone())
        .collect();
    for (w, s) in workers.iter().zip(&summaries) {
        match (s, w.status) {
            (Some(s), _) if s.error.is_some() => problems.push(format!(
                "worker {}: {}",
                w.id,
                s.error.as_deref().unwrap_or_default()
            )),
            (Some(_), Some(st)) if st.success() => {}
            (_, st) => problems.push(format!(
                "worker {}: exited {st:?} without a clean summary",
                w.id
            )),
        }
    }

    // Everything the workers made must be gone: the top directory is empty and removable,
    // and the mount lists what it listed before.
    if let Err(e) = std::fs::remove_dir(&top) {
        let left = listing(&top).unwrap_or_default();
        problems.push(format!(
            "cleanup: rmdir {} failed ({e}); left behind: {left:?}",
            top.display()
        ));
    }
    match listing(&args.dir) {
        Ok(after) if after == before => {}
        Ok(after) => problems.push(format!(
            "cleanup: {} lists {after:?} after the run, {before:?} before",
            args.dir.display()
        )),
        Err(e) => problems.push(format!("cleanup: {e:#}")),
    }

    // After cleanup: wait for the descriptors to settle, then sample once more.
    let settle_start = Instant::now();
    let mut after = None;
    while let Ok(s) = take(args.pid, t0, &workers) {
        after = Some(s);
        if s.fds <= start.fds + rule.fd_slack || settle_start.elapsed() >= SETTLE {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    match after {
        Some(a) if a.fds > start.fds + rule.fd_slack => problems.push(format!(
            "after cleanup the daemon holds {} fds, {} at the start (slack {})",
            a.fds, start.fds, rule.fd_slack
        )),
        Some(_) => {}
        None => problems.push("the daemon could not be sampled after cleanup".into()),
    }

    // Judge only the samples taken during the workload (the sweep and cleanup come after).
    let during: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.t <= workload.as_secs_f64() + 0.001)
        .collect();
    let verdict = flat::judge(&during, &rule);
    let outcome = Outcome {
        label: args.label.clone(),
        pid: args.pid,
        seconds: args.seconds,
        procs: args.procs,
        seed: args.seed,
        rule,
        samples,
        after,
        verdict,
        summaries: summaries.into_iter().flatten().collect(),
        finished_s: finished_at.map(|d| d.as_secs_f64()),
        problems,
    };
    report::print(&outcome);
    if let Some(path) = &args.json {
        report::write_json(&outcome, path)?;
    }
    Ok(outcome.passed())
}
