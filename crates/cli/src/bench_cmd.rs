//! `fusekit bench DIR`: measure a directory (any filesystem) with the benchmark workloads and
//! print a table; JSON and an SVG chart on request. Numbers, not a verdict: nothing here passes
//! or fails on time.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use fusekit_bench::{list_workloads, print_progress, BenchOptions};

use crate::args::BenchArgs;
use crate::out;

pub fn run_bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        for w in list_workloads() {
            out::println(&format!("{:<18} {}", w.name, w.description))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.round_trips {
        if let Some(path) = &args.json {
            check_output_path("--json", path)?;
        }
        return crate::round_trips_cmd::run(&args);
    }
    let Some(dir) = args.dir else {
        anyhow::bail!("bench: give the directory to measure (fusekit bench DIR), or --list");
    };
    let mut opts = if args.tiny {
        BenchOptions::tiny(&dir)
    } else {
        let mut o = BenchOptions::new(&dir);
        o.duration = Duration::try_from_secs_f64(args.seconds).map_err(|_| {
            anyhow::anyhow!("--seconds {}: must be a positive number", args.seconds)
        })?;
        o.seq_bytes = args.seq_mib << 20;
        o.randread_bytes = args.randread_mib << 20;
        o.workload_limit = Duration::try_from_secs_f64(args.workload_limit).map_err(|_| {
            anyhow::anyhow!(
                "--workload-limit {}: must be a positive number",
                args.workload_limit
            )
        })?;
        o
    };
    opts.workloads = args.workloads;
    if let Some(n) = args.threads {
        opts.threads = n;
    }
    // Output paths are checked before a run that may take many minutes.
    for (flag, path) in [("--json", &args.json), ("--plot", &args.plot)] {
        if let Some(path) = path {
            check_output_path(flag, path)?;
        }
    }
    // The benchmark's errors name the directory already.
    let report = fusekit_bench::run(&opts, &mut print_progress)
        .map_err(|e| anyhow::anyhow!("bench: {e}"))?;
    out::print(&report.render_table())?;
    if let Some(path) = &args.json {
        std::fs::write(path, report.to_json())
            .with_context(|| format!("--json {}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        report
            .write_svg(path)
            .with_context(|| format!("--plot {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Fails unless `path` can be written as a file: its directory exists and is writable, and
/// the path is not a directory.
fn check_output_path(flag: &str, path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!(
            "{flag} {}: is a directory (give a file name)",
            path.display()
        );
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        anyhow::bail!(
            "{flag} {}: the directory {} does not exist",
            path.display(),
            parent.display()
        );
    }
    rustix::fs::access(parent, rustix::fs::Access::WRITE_OK).map_err(|e| {
        anyhow::anyhow!(
            "{flag} {}: cannot write in {}: {e}",
            path.display(),
            parent.display()
        )
    })?;
    Ok(())
}
