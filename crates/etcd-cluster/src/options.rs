//! How a cluster is started: member count, quota, timing, extra flags.

use std::time::Duration;

/// Options for [`crate::Cluster::start`].
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Number of members (default 3).
    pub members: usize,
    /// `--quota-backend-bytes`, when set.
    pub quota_backend_bytes: Option<u64>,
    /// `--heartbeat-interval` in ms (default 50: fast failover in tests).
    pub heartbeat_ms: u64,
    /// `--election-timeout` in ms (default 500).
    pub election_ms: u64,
    /// How long to wait for every member to report healthy (default 20 s).
    pub start_deadline: Duration,
    /// More flags passed to every member.
    pub extra_args: Vec<String>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            members: 3,
            quota_backend_bytes: None,
            heartbeat_ms: 50,
            election_ms: 500,
            start_deadline: Duration::from_secs(20),
            extra_args: Vec::new(),
        }
    }
}

impl ClusterOptions {
    /// Sets the number of members.
    pub fn members(mut self, n: usize) -> Self {
        self.members = n;
        self
    }

    /// Sets `--quota-backend-bytes`.
    pub fn quota_backend_bytes(mut self, bytes: u64) -> Self {
        self.quota_backend_bytes = Some(bytes);
        self
    }

    /// Adds one flag (e.g. `--auto-compaction-retention=1`) to every member.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }
}
