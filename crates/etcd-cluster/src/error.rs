//! The harness's error type.

use std::io;
use std::time::Duration;

/// Why the cluster could not be started or controlled.
#[derive(Debug)]
pub enum ClusterError {
    /// The `etcd` binary could not be run.
    Missing(io::Error),
    /// An I/O error (temp dir, ports, spawning, signals).
    Io(&'static str, io::Error),
    /// Members did not all report healthy in time; carries the tail of their logs.
    Unhealthy { waited: Duration, logs: String },
    /// A member index out of range or in the wrong state for the request.
    Member(String),
}

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClusterError::Missing(e) => write!(f, "etcd binary not runnable: {e}"),
            ClusterError::Io(what, e) => write!(f, "{what}: {e}"),
            ClusterError::Unhealthy { waited, logs } => {
                write!(
                    f,
                    "etcd cluster not healthy after {waited:?}; member logs:\n{logs}"
                )
            }
            ClusterError::Member(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for ClusterError {}
