//! The `fusekit` command: mount the bundled filesystems, unmount anything, check any mount.

mod args;
mod bench_cmd;
mod check_cmd;
mod layout;
mod limits;
mod logging;
mod mount_cmd;
mod out;
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
            out::eprintln(&format!("fusekit: {}", error_chain(&e)));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text the line already holds
/// (many library errors print their source in their own message).
fn error_chain(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}
