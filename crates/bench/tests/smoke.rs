//! Smoke test: every workload, tiny sizes, against a temporary directory (and a fresh tmpfs
//! when running as root). Asserts that every cell holds a positive number (or "unsupported" for
//! O_DIRECT), that progress was reported, and that nothing is left behind. No timing is judged.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use fusekit_bench::{list_workloads, run, BenchError, BenchOptions, Outcome, Phase, Progress};

fn check_dir(dir: &Path) {
    let opts = BenchOptions::tiny(dir);
    let mut events = Vec::new();
    let report = run(&opts, &mut |p| events.push(p)).expect("run");
    assert_eq!(report.results.len(), list_workloads().len());
    for r in &report.results {
        assert_eq!(r.error, None, "{} failed", r.workload);
        assert!(!r.metrics.is_empty(), "{} has numbers", r.workload);
        for m in &r.metrics {
            match &m.outcome {
                Outcome::Measured { value } => {
                    assert!(
                        value.is_finite() && *value > 0.0,
                        "{} {}: {value}",
                        r.workload,
                        m.name
                    )
                }
                Outcome::Unsupported { reason } => {
                    assert_eq!(
                        r.workload, "randread-direct",
                        "only O_DIRECT may be unsupported: {reason}"
                    )
                }
                Outcome::Failed { error } => panic!("{} {}: {error}", r.workload, m.name),
            }
        }
    }
    let names = |w: &str| -> Vec<String> {
        report
            .results
            .iter()
            .find(|r| r.workload == w)
            .unwrap()
            .metrics
            .iter()
            .map(|m| m.name.clone())
            .collect()
    };
    assert_eq!(names("stat-latency"), ["p50", "p99"]);
    assert_eq!(names("randread-buffered"), ["1t", "2t"]);
    assert_eq!(names("parallel-metadata"), ["2t"]);
    let p50 = report.metric("stat-latency p50").unwrap().value().unwrap();
    let p99 = report.metric("stat-latency p99").unwrap().value().unwrap();
    assert!(p50 <= p99);
    assert!(report
        .results
        .iter()
        .find(|r| r.workload == "seq-read")
        .unwrap()
        .notes
        .iter()
        .any(|n| n.contains("page cache dropped")));

    let finished = events
        .iter()
        .filter(|e| matches!(e, Progress::Finished { .. }))
        .count();
    assert_eq!(finished, list_workloads().len());
    assert!(events.iter().any(|e| matches!(
        e,
        Progress::Phase {
            phase: Phase::Measure(_),
            ..
        }
    )));

    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // The table and chart of a real run render.
    let table = report.render_table();
    assert!(table.lines().count() > list_workloads().len());
    assert!(report.to_svg().starts_with("<svg ") && report.to_svg().trim_end().ends_with("</svg>"));
}

/// Runs `f` on another thread and fails the test if it takes longer than `limit` (a hang must
/// fail, not stall the run).
fn with_deadline(limit: Duration, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(limit) {
        Ok(()) => handle.join().expect("test thread"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(handle.join().expect_err("the thread panicked"))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("no result within {limit:?}"),
    }
}

#[test]
fn every_workload_in_tiny_mode_on_a_temp_dir() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    with_deadline(Duration::from_secs(120), move || check_dir(&path));
}

/// Unmounts the tmpfs (the TempDir then removes the mount point) when dropped.
struct TmpfsGuard(tempfile::TempDir);

impl Drop for TmpfsGuard {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(self.0.path(), rustix::mount::UnmountFlags::DETACH);
    }
}

#[test]
fn every_workload_in_tiny_mode_on_a_tmpfs() {
    if !rustix::process::geteuid().is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root: mounting a tmpfs must be possible"
        );
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    rustix::mount::mount(
        "fusekit-bench-test",
        dir.path(),
        "tmpfs",
        rustix::mount::MountFlags::empty(),
        Some(c"size=64m"),
    )
    .expect("mount tmpfs");
    let guard = TmpfsGuard(dir);
    let path = guard.0.path().to_path_buf();
    with_deadline(Duration::from_secs(120), move || {
        check_dir(&path);
        let report = run(&BenchOptions::tiny(&path), &mut |_| {}).unwrap();
        assert_eq!(report.fs_type, "tmpfs");
        assert_eq!(report.fs_source, "fusekit-bench-test");
    });
    drop(guard);
}

#[test]
fn selection_and_bad_directories() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = BenchOptions::tiny(dir.path());
    opts.workloads = vec!["stat-latency".into(), "metadata".into()];
    let report = run(&opts, &mut |_| {}).unwrap();
    let order: Vec<&str> = report.results.iter().map(|r| r.workload.as_str()).collect();
    assert_eq!(order, ["stat-latency", "metadata"]);

    opts.workloads = vec!["nope".into()];
    assert!(matches!(run(&opts, &mut |_| {}), Err(BenchError::UnknownWorkload(n)) if n == "nope"));

    let missing = BenchOptions::tiny(dir.path().join("missing"));
    assert!(matches!(
        run(&missing, &mut |_| {}),
        Err(BenchError::BadDir { .. })
    ));
    let file = dir.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        run(&BenchOptions::tiny(&file), &mut |_| {}),
        Err(BenchError::BadDir { .. })
    ));
}

#[test]
fn a_workload_over_its_time_limit_stops_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = BenchOptions::tiny(dir.path());
    opts.workloads = vec!["readdir-100k".into(), "metadata".into()];
    opts.readdir_large = 1_000_000; // far more than 100 ms of creates anywhere
    opts.workload_limit = Duration::from_millis(100);
    let started = std::time::Instant::now();
    let report = run(&opts, &mut |_| {}).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the limit bounded the run"
    );
    let readdir = &report.results[0];
    let error = readdir.error.as_deref().expect("readdir-100k stopped");
    assert!(
        error.contains("limit per workload, during setup, after creating"),
        "{error}"
    );
    assert!(readdir.metrics.is_empty());
    let metadata = &report.results[1];
    assert_eq!(metadata.error, None);
    assert!(metadata.metrics[0].value().unwrap() > 0.0);
}
