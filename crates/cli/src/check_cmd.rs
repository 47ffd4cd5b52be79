//! `fusekit check DIR`: run the conformance and race suite against any mounted directory and
//! print a row per case plus the summary line; exit 1 when any case failed.

use std::process::ExitCode;

use fusekit_check::{list_cases, run, CheckOptions};

use crate::args::CheckArgs;
use crate::out;

pub fn run_check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if args.list {
        for case in list_cases() {
            let needs = if case.needs.is_empty() {
                String::new()
            } else {
                format!(" [needs {}]", case.needs.join(", "))
            };
            out::println(&format!(
                "{:<12} {:<48} {}{}",
                case.family, case.name, case.description, needs
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(dir) = args.dir else {
        anyhow::bail!("check: give the directory to judge (fusekit check DIR), or --list");
    };
    if !(args.race_seconds.is_finite() && args.race_seconds >= 0.0) {
        anyhow::bail!(
            "--race-seconds {}: must be a number of seconds >= 0",
            args.race_seconds
        );
    }
    if !(args.peer_wait.is_finite() && (0.0..=3600.0).contains(&args.peer_wait)) {
        anyhow::bail!(
            "--peer-wait {}: must be a number of seconds from 0 to 3600",
            args.peer_wait
        );
    }
    let mut opts = CheckOptions::new(&dir);
    opts.only = args.only;
    opts.skip = args.skip;
    opts.seed = args.seed;
    opts.race_seconds = args.race_seconds;
    opts.peer = args.peer;
    opts.peer_wait = args.peer_wait;
    opts.progress = !args.json && !args.quiet_progress;
    // The suite's errors name the directory already.
    let report = run(&opts).map_err(|e| anyhow::anyhow!("check: {e}"))?;
    if args.json {
        out::println(&report.to_json())?;
    } else {
        out::print(&report.render_table())?;
    }
    Ok(if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
