//! One etcd member process: its command line, its log file, and its state (running, stopped
//! by SIGSTOP, or dead). Signals other than SIGKILL go through the `kill` program, which keeps
//! this crate std-only and free of `unsafe`.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::error::ClusterError;

/// A member's fixed identity: name, ports, directories, flags.
#[derive(Debug)]
pub(crate) struct MemberSpec {
    pub(crate) name: String,
    pub(crate) client_port: u16,
    pub(crate) data_dir: PathBuf,
    pub(crate) log: PathBuf,
    pub(crate) args: Vec<String>,
}

/// A member and its process, if any.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) spec: MemberSpec,
    child: Option<Child>,
    stopped: bool,
}

impl Member {
    pub(crate) fn new(spec: MemberSpec) -> Member {
        Member {
            spec,
            child: None,
            stopped: false,
        }
    }

    /// Spawns the etcd process (appending to the member's log).
    pub(crate) fn spawn(&mut self) -> Result<(), ClusterError> {
        if self.child.is_some() {
            return Err(ClusterError::Member(format!(
                "{} is already running",
                self.spec.name
            )));
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.spec.log)
            .map_err(|e| ClusterError::Io("open member log", e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| ClusterError::Io("dup member log", e))?;
        let child = Command::new(crate::etcd_binary())
            .args(&self.spec.args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .spawn()
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => ClusterError::Missing(e),
                _ => ClusterError::Io("spawn etcd", e),
            })?;
        self.child = Some(child);
        self.stopped = false;
        Ok(())
    }

    /// The process id while the process exists.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Running (not killed, not stopped, not exited).
    pub(crate) fn is_live(&mut self) -> bool {
        let Some(child) = self.child.as_mut() else {
            return false;
        };
        !self.stopped && matches!(child.try_wait(), Ok(None))
    }

    /// SIGKILL and reap; a no-op when there is no process.
    pub(crate) fn kill(&mut self) -> Result<(), ClusterError> {
        if let Some(mut child) = self.child.take() {
            // SIGKILL also ends a SIGSTOPped process.
            if let Err(e) = child.kill() {
                if e.kind() != io::ErrorKind::InvalidInput {
                    return Err(ClusterError::Io("kill etcd", e));
                }
            }
            child.wait().map_err(|e| ClusterError::Io("reap etcd", e))?;
        }
        self.stopped = false;
        Ok(())
    }

    /// SIGSTOP (`stop == true`) or SIGCONT.
    pub(crate) fn signal_stop(&mut self, stop: bool) -> Result<(), ClusterError> {
        let pid = self.pid().ok_or_else(|| {
            ClusterError::Member(format!("{} has no process to signal", self.spec.name))
        })?;
        let sig = if stop { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .arg(sig)
            .arg(pid.to_string())
            .status()
            .map_err(|e| ClusterError::Io("run kill", e))?;
        if !status.success() {
            return Err(ClusterError::Member(format!(
                "kill {sig} {pid} failed: {status}"
            )));
        }
        self.stopped = stop;
        Ok(())
    }

    /// The last `lines` lines of the member's log, for failure messages.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        let text = File::open(&self.spec.log)
            .and_then(|mut f| {
                let mut s = String::new();
                io::Read::read_to_string(&mut f, &mut s).map(|_| s)
            })
            .unwrap_or_else(|e| format!("(no log: {e})"));
        let all: Vec<&str> = text.lines().collect();
        let start = all.len().saturating_sub(lines);
        let mut out = format!("--- {} ---\n", self.spec.name);
        for l in &all[start..] {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Err(e) = self.kill() {
            eprintln!("etcd-cluster: stopping {}: {e}", self.spec.name);
        }
    }
}
