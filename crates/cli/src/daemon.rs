//! Running the server in the background, as mount helpers do: the command returns once the
//! mount is ready, or fails with the server's own error message. The server is this program
//! again (`fusekit mount ...`), started in a new session with its logs going to syslog or a
//! file; it reports readiness with one line on its stdout (`--notify-ready`), after which
//! this process exits 0.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};

use anyhow::Context;

/// The line the server prints on stdout once the mount serves requests.
pub const READY: &str = "fusekit: ready";

/// Starts `fusekit ARGS... --log TARGET --notify-ready` in the background and waits until
/// it is ready (exit 0) or has failed (its message, exit 1).
pub fn start(args: &[OsString], log_target: &str) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find this program to start the server")?;
    let mut cmd = Command::new(exe);
    cmd.args(&args[1..])
        .arg("--log")
        .arg(log_target)
        .arg("--notify-ready")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent; detaching
    // from the terminal's session keeps its hang-up and Ctrl-C away from the server.
    unsafe {
        cmd.pre_exec(|| rustix::process::setsid().map(drop).map_err(Into::into));
    }
    let mut child = cmd.spawn().context("cannot start the server")?;
    let stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line == READY);
    if ready {
        tracing::debug!(pid = child.id(), "server ready in the background");
        return Ok(ExitCode::SUCCESS);
    }
    let mut message = String::new();
    let _ = stderr.read_to_string(&mut message);
    let status = child.wait().context("cannot wait for the server")?;
    let message = message.trim();
    let message = message.strip_prefix("fusekit: ").unwrap_or(message);
    anyhow::bail!(
        "the server exited before the mount was ready ({status}){}{message}",
        if message.is_empty() { "" } else { ": " }
    )
}
