//! The watchdog for a test process that dies without unwinding (abort, stack overflow,
//! SIGKILL), when no Drop runs: a `sh` child that polls the test process once a second and,
//! once it is gone, kills -9 the pids listed in the cluster's pids file and removes the
//! cluster's temp dir. On a normal drop the cluster kills the members first, then the
//! watchdog, so the watchdog never acts on a live test.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::error::ClusterError;

/// File in the cluster dir listing the members' pids, space-separated.
pub(crate) const PIDS_FILE: &str = "pids";

const SCRIPT: &str = r#"dir=$1; parent=$2
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
if [ -f "$dir/pids" ]; then
  for p in $(cat "$dir/pids"); do kill -9 "$p" 2>/dev/null; done
  sleep 0.2
fi
rm -rf "$dir""#;

/// The running watchdog; killed and reaped on drop.
#[derive(Debug)]
pub(crate) struct Reaper(Child);

impl Reaper {
    /// Starts the watchdog of the current process for `dir`.
    pub(crate) fn spawn(dir: &Path) -> Result<Reaper, ClusterError> {
        let child = Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("etcd-cluster-reaper")
            .arg(dir)
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| ClusterError::Io("spawn the reaper (sh)", e))?;
        Ok(Reaper(child))
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        // The shell's `sleep 1` child may outlive it by up to a second; it holds nothing.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
