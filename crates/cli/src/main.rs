//! The `fusekit` command: mount the bundled filesystems, unmount anything, check any mount.

mod args;
mod bench_cmd;
mod check_cmd;
mod limits;
mod logging;
mod mount_cmd;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose, cli.quiet);
    let result = match cli.command {
        Command::Mount(m) => {
            limits::raise_open_file_limit();
            mount_cmd::run(m)
        }
        Command::Unmount(u) => mount_cmd::unmount(u),
        Command::Check(c) => check_cmd::run_check(c),
        Command::Bench(b) => bench_cmd::run_bench(b),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fusekit: {e:#}");
            ExitCode::FAILURE
        }
    }
}
