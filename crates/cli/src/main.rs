//! The `fusekit` command: mount the bundled filesystems, unmount anything, check any mount.

mod args;
mod bench_cmd;
mod check_cmd;
mod daemon;
mod etcd_cmd;
mod helper;
mod layout;
mod limits;
mod logging;
mod mount_cmd;
mod out;
mod round_trips_cmd;
mod serve;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let (cli, background) = match helper::translate(&args) {
        None => (Cli::parse(), None),
        Some(Err(e)) => {
            out::eprintln(&format!("fusekit: {e}"));
            return ExitCode::FAILURE;
        }
        Some(Ok(h)) if h.foreground => (Cli::parse_from(&h.argv), None),
        Some(Ok(h)) => {
            let target = h.log.clone().unwrap_or_else(logging::default_daemon_target);
            (Cli::parse_from(&h.argv), Some((h.argv, target)))
        }
    };
    if let Err(e) = logging::init(cli.verbose, cli.quiet, cli.log.as_deref()) {
        out::eprintln(&format!("fusekit: {}", error_chain(&e)));
        return ExitCode::FAILURE;
    }
    serve::NOTIFY_READY.store(cli.notify_ready, std::sync::atomic::Ordering::Relaxed);
    let result = match (cli.command, background) {
        (Command::Mount(_), Some((argv, target))) => daemon::start(&argv, &target),
        (Command::Mount(m), None) => {
            limits::raise_open_file_limit();
            mount_cmd::run(m)
        }
        (Command::Unmount(u), _) => mount_cmd::unmount(u),
        (Command::Fsck(f), _) => etcd_cmd::fsck(f),
        (Command::Check(c), _) => check_cmd::run_check(c),
        (Command::Bench(b), _) => bench_cmd::run_bench(b),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let line = error_chain(&e);
            if cli.log.is_some() {
                tracing::error!("{line}");
            }
            out::eprintln(&format!("fusekit: {line}"));
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
