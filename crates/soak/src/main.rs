//! The `fusekit-soak` binary: `run` supervises a soak, `worker` is one workload process.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use fusekit_soak::args::{Cli, Command};
use fusekit_soak::worker::{self, WorkerConfig};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => match fusekit_soak::supervisor::run(&args) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("fusekit-soak: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Worker(a) => {
            // A worker must not outlive its supervisor (Ctrl-C, a killed script).
            if let Err(e) = rustix::process::set_parent_process_death_signal(Some(
                rustix::process::Signal::TERM,
            )) {
                eprintln!("fusekit-soak worker {}: prctl(PR_SET_PDEATHSIG): {e}", a.id);
                return ExitCode::FAILURE;
            }
            let cfg = WorkerConfig {
                dir: a.dir,
                id: a.id,
                seed: a.seed,
                duration: Duration::from_secs(a.seconds),
                max_files: a.bounds.max_files,
                max_bytes: a.bounds.max_bytes,
                paranoid: a.bounds.paranoid,
            };
            if worker::run(&cfg) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
