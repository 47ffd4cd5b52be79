//! The cluster: starting N members on fresh ports in one temp dir, waiting for health, member
//! control, and teardown on drop.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::ClusterError;
use crate::health::healthy;
use crate::member::{Member, MemberSpec};
use crate::options::ClusterOptions;
use crate::ports::free_ports;
use crate::reaper::{Reaper, PIDS_FILE};
use crate::tempdir::TempDir;

/// Attempts with fresh ports when a member dies at start (a port taken in between).
const START_ATTEMPTS: usize = 3;
/// Deadline of one `/health` probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// A running etcd cluster; dropping it kills every member and removes its temp dir.
#[derive(Debug)]
pub struct Cluster {
    // Field order matters: members are killed before their directory is removed.
    members: Vec<Member>,
    reaper: Option<Reaper>,
    options: ClusterOptions,
    dir: TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.members.clear();
        self.reaper.take();
    }
}

impl Cluster {
    /// Starts a cluster and waits until every member is healthy.
    pub fn start(options: ClusterOptions) -> Result<Cluster, ClusterError> {
        if options.members == 0 {
            return Err(ClusterError::Member("a cluster needs members".into()));
        }
        let mut last = None;
        for _ in 0..START_ATTEMPTS {
            let mut cluster = Cluster::spawn(options.clone())?;
            match cluster.wait_healthy(options.start_deadline) {
                Ok(()) => return Ok(cluster),
                Err(e) => {
                    // A member that exited at start most likely lost a port race: retry.
                    let exited = cluster
                        .members
                        .iter_mut()
                        .any(|m| m.pid().is_some() && !m.is_live());
                    if !exited {
                        return Err(e);
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| ClusterError::Member("cluster did not start".into())))
    }

    /// Starts a cluster, or returns `None` after printing why when `etcd` is not installed.
    /// Under `CI=true` a missing `etcd` panics instead, as does any other start failure.
    pub fn start_or_skip(options: ClusterOptions) -> Option<Cluster> {
        match Cluster::start(options) {
            Ok(c) => Some(c),
            Err(ClusterError::Missing(e)) => {
                let ci = std::env::var("CI").is_ok_and(|v| v == "true");
                assert!(
                    !ci,
                    "CI=true but etcd cannot be run ({e}); install the etcd-server package"
                );
                eprintln!("SKIPPED: etcd cannot be run ({e}); install the etcd-server package");
                None
            }
            Err(e) => panic!("cannot start the etcd cluster: {e}"),
        }
    }

    fn spawn(options: ClusterOptions) -> Result<Cluster, ClusterError> {
        let dir = TempDir::new("fusekit-etcd").map_err(|e| ClusterError::Io("temp dir", e))?;
        let n = options.members;
        let ports = free_ports(2 * n).map_err(|e| ClusterError::Io("free ports", e))?;
        let token = dir
            .path()
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        let initial_cluster = (0..n)
            .map(|i| format!("m{i}={}", url(ports[n + i])))
            .collect::<Vec<_>>()
            .join(",");
        let mut members = Vec::with_capacity(n);
        for i in 0..n {
            let (client, peer) = (ports[i], ports[n + i]);
            let name = format!("m{i}");
            let data_dir = dir.path().join(format!("{name}.etcd"));
            let mut args = vec![
                format!("--name={name}"),
                format!("--data-dir={}", data_dir.display()),
                format!("--listen-client-urls={}", url(client)),
                format!("--advertise-client-urls={}", url(client)),
                format!("--listen-peer-urls={}", url(peer)),
                format!("--initial-advertise-peer-urls={}", url(peer)),
                format!("--initial-cluster={initial_cluster}"),
                "--initial-cluster-state=new".to_string(),
                format!("--initial-cluster-token={token}"),
                format!("--heartbeat-interval={}", options.heartbeat_ms),
                format!("--election-timeout={}", options.election_ms),
                "--logger=zap".to_string(),
                "--log-outputs=stderr".to_string(),
                "--log-level=warn".to_string(),
            ];
            if let Some(q) = options.quota_backend_bytes {
                args.push(format!("--quota-backend-bytes={q}"));
            }
            args.extend(options.extra_args.iter().cloned());
            members.push(Member::new(MemberSpec {
                log: dir.path().join(format!("{name}.log")),
                name,
                client_port: client,
                data_dir,
                args,
            }));
        }
        let reaper = Reaper::spawn(dir.path())?;
        let mut cluster = Cluster {
            members,
            reaper: Some(reaper),
            options,
            dir,
        };
        for m in &mut cluster.members {
            m.spawn()?;
        }
        cluster.write_pids()?;
        Ok(cluster)
    }

    /// Waits until every live member (not killed, not stopped) answers `/health` with true.
    pub fn wait_healthy(&mut self, deadline: Duration) -> Result<(), ClusterError> {
        let start = Instant::now();
        loop {
            let mut all = true;
            for i in 0..self.members.len() {
                if self.members[i].is_live()
                    && !healthy(self.members[i].spec.client_port, PROBE_TIMEOUT)
                {
                    all = false;
                    break;
                }
            }
            if all {
                return Ok(());
            }
            if start.elapsed() >= deadline {
                let logs = self.members.iter().map(|m| m.log_tail(15)).collect();
                return Err(ClusterError::Unhealthy {
                    waited: start.elapsed(),
                    logs,
                });
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Whether member `i` answers `/health` with true now.
    pub fn member_healthy(&self, i: usize) -> bool {
        self.members
            .get(i)
            .is_some_and(|m| healthy(m.spec.client_port, PROBE_TIMEOUT))
    }

    /// Number of members (live or not).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always false: a cluster has at least one member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Client URL of member `i`, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.members[i].spec.client_port)
    }

    /// Every member's client URL.
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len()).map(|i| self.endpoint(i)).collect()
    }

    /// Every member's client URL, comma-separated (the etcdfs `--endpoints` syntax).
    pub fn endpoints_arg(&self) -> String {
        self.endpoints().join(",")
    }

    /// Process ids of the members that have a process.
    pub fn pids(&self) -> Vec<u32> {
        self.members.iter().filter_map(Member::pid).collect()
    }

    /// The temp dir holding every member's data dir and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The options the cluster was started with.
    pub fn options(&self) -> &ClusterOptions {
        &self.options
    }

    fn member(&mut self, i: usize) -> Result<&mut Member, ClusterError> {
        let n = self.members.len();
        self.members
            .get_mut(i)
            .ok_or_else(|| ClusterError::Member(format!("no member {i} (cluster of {n})")))
    }

    /// kill -9 member `i` and reap it.
    pub fn kill(&mut self, i: usize) -> Result<(), ClusterError> {
        self.member(i)?.kill()?;
        self.write_pids()
    }

    /// Records the members' pids for the reaper.
    fn write_pids(&self) -> Result<(), ClusterError> {
        let pids: Vec<String> = self.pids().iter().map(u32::to_string).collect();
        let path = self.dir.path().join(PIDS_FILE);
        let tmp = self.dir.path().join("pids.tmp");
        std::fs::write(&tmp, pids.join(" ") + "\n")
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| ClusterError::Io("write pids file", e))
    }

    /// SIGSTOP member `i`: it keeps its sockets but answers nothing.
    pub fn stop(&mut self, i: usize) -> Result<(), ClusterError> {
        self.member(i)?.signal_stop(true)
    }

    /// SIGCONT member `i`.
    pub fn cont(&mut self, i: usize) -> Result<(), ClusterError> {
        self.member(i)?.signal_stop(false)
    }

    /// Kills member `i` if it runs, starts it again on the same data dir and ports, and waits
    /// until it is healthy.
    pub fn restart(&mut self, i: usize) -> Result<(), ClusterError> {
        let deadline = self.options.start_deadline;
        let m = self.member(i)?;
        m.kill()?;
        m.spawn()?;
        let port = m.spec.client_port;
        self.write_pids()?;
        let start = Instant::now();
        while !healthy(port, PROBE_TIMEOUT) {
            if start.elapsed() >= deadline {
                return Err(ClusterError::Unhealthy {
                    waited: start.elapsed(),
                    logs: self.members[i].log_tail(20),
                });
            }
            sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Data dir of member `i`.
    pub fn data_dir(&self, i: usize) -> &Path {
        &self.members[i].spec.data_dir
    }
}
