//! Per-case progress on stderr. In a terminal one status line is rewritten in place (the case
//! running now, then cleared at the end), so that with the table on stdout every case shows
//! once; otherwise (a log, a pipe) one line per finished case, `[3/120] name ok`, as before.
//! Nothing here panics when stderr is closed: progress is best effort.

use std::io::{IsTerminal, Write};

/// Where progress goes and how it is drawn.
pub(crate) struct Progress {
    enabled: bool,
    terminal: bool,
}

impl Progress {
    pub(crate) fn new(enabled: bool) -> Self {
        Progress {
            enabled,
            terminal: enabled && std::io::stderr().is_terminal(),
        }
    }

    /// Case `i` (0-based) of `total` starts.
    pub(crate) fn start(&self, i: usize, total: usize, name: &str) {
        if self.terminal {
            let _ = write!(std::io::stderr(), "\r\x1b[2K[{}/{total}] {name} ...", i + 1);
        }
    }

    /// Case `i` of `total` finished with `word` (ok, FAIL, skip).
    pub(crate) fn finish(&self, i: usize, total: usize, name: &str, word: &str) {
        if self.enabled && !self.terminal {
            let _ = writeln!(std::io::stderr(), "[{}/{total}] {name} {word}", i + 1);
        }
    }

    /// The run is over: clear the status line.
    pub(crate) fn done(&self) {
        if self.terminal {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
