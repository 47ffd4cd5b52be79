//! `fusekit bench DIR`: measure a directory (any filesystem) with the benchmark workloads and
//! print a table; JSON and an SVG chart on request. Numbers, not a verdict: nothing here passes
//! or fails on time.

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
    let report = fusekit_bench::run(&opts, &mut print_progress)
        .with_context(|| format!("bench {}", dir.display()))?;
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
