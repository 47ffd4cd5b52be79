//! Log set-up: tracing to stderr (or, for a server in the background, to syslog or a file),
//! level from -v/-q, RUST_LOG wins when set.

use std::io::IsTerminal;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

use anyhow::Context;
use tracing_subscriber::EnvFilter;

/// The syslog socket (syslogd, or journald's /dev/log socket).
pub const SYSLOG_SOCKET: &str = "/dev/log";

/// Where logs go: stderr (None), `syslog`, or appended to a file.
pub fn init(verbose: u8, quiet: bool, target: Option<&str>) -> anyhow::Result<()> {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // A closed stderr must not turn a log line into a panic (the default reports the
        // failed write with eprint!, which panics).
        .log_internal_errors(false);
    match target {
        None => builder
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init(),
        Some("syslog") => {
            let sock = UnixDatagram::unbound().context("cannot create a syslog socket")?;
            sock.connect(SYSLOG_SOCKET)
                .with_context(|| format!("cannot reach syslog at {SYSLOG_SOCKET}"))?;
            // Syslog stamps the time itself.
            builder
                .with_writer(Arc::new(Syslog(sock)))
                .with_ansi(false)
                .without_time()
                .init()
        }
        Some(path) => {
            if let Some(dir) = std::path::Path::new(path).parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the log file {path}"))?;
            builder.with_writer(Arc::new(file)).with_ansi(false).init()
        }
    }
    Ok(())
}

/// One datagram per log line, as `<daemon.info>fusekit[PID]: line`.
struct Syslog(UnixDatagram);

impl std::io::Write for &Syslog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        let msg = format!("<30>fusekit[{}]: {}", std::process::id(), line.trim_end());
        // A full or gone syslog loses the line rather than blocking the server.
        let _ = self.0.send(msg.as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Where a background server logs by default: syslog when its socket exists, else
/// /var/log/fusekit.log for root, else $XDG_STATE_HOME (or ~/.local/state)/fusekit.log.
pub fn default_daemon_target() -> String {
    if std::path::Path::new(SYSLOG_SOCKET).exists() {
        return "syslog".into();
    }
    if rustix::process::geteuid().is_root() {
        return "/var/log/fusekit.log".into();
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".local/state")))
        .unwrap_or_else(|| "/tmp".into());
    state.join("fusekit.log").to_string_lossy().into_owned()
}
