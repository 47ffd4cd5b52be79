//! The command's output on stdout, written so that a reader going away
//! (`fusekit check --list | head`) ends the output quietly instead of panicking: after the
//! first EPIPE nothing more is written and the command finishes with the exit status it
//! would have had. Other write errors (a full disk behind a redirection) are reported.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout's reader is gone.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout as it is.
pub fn print(text: &str) -> anyhow::Result<()> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to standard output")),
    }
}

/// Writes `line` and a newline to stdout.
pub fn println(line: &str) -> anyhow::Result<()> {
    print(&format!("{line}\n"))
}

/// Writes a message to stderr; a closed stderr is ignored (there is nowhere left to say it).
pub fn eprintln(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}
