//! Several hosts of one etcdfs tree on this machine: a real 3-member etcd cluster and N
//! `fusekit mount etcd` daemons (separate processes, clients and sessions) mounting one prefix
//! on N temp directories; a sampler of the daemons' RSS, descriptors and threads from /proc;
//! `fusekit fsck etcd` of the prefix. Dropping [`Hosts`] kills every daemon, removes its mount,
//! then its directory, then stops the cluster (also while a test panics).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fusekit_etcd_cluster::{Cluster, ClusterOptions};
use fusekit_soak::flat::Sample;

#[path = "../mount_daemon/mod.rs"]
mod mount_daemon;

pub use mount_daemon::{Daemon, BIN};

/// N daemons on one prefix of one cluster.
pub struct Hosts {
    // Field order matters: daemons (and their mounts) go before the mount directories, the
    // directories before the cluster.
    daemons: Vec<Daemon>,
    dirs: Vec<tempfile::TempDir>,
    cluster: Cluster,
    prefix: String,
}

impl Hosts {
    /// Starts the cluster and `n` daemons `fusekit mount etcd ENDPOINTS MNT --prefix PREFIX
    /// EXTRA...`, or returns `None` (after printing why) when etcd is not installed and
    /// CI is not `true`.
    pub fn start(n: usize, prefix: &str, extra: &[&str]) -> Option<Hosts> {
        let cluster = Cluster::start_or_skip(ClusterOptions::default())?;
        let endpoints = cluster.endpoints_arg();
        let mut hosts = Hosts {
            daemons: Vec::new(),
            dirs: Vec::new(),
            cluster,
            prefix: prefix.to_owned(),
        };
        for i in 0..n {
            let dir = tempfile::Builder::new()
                .prefix(&format!("fusekit-etcd-host{i}-"))
                .tempdir()
                .expect("temp dir");
            let mnt = dir.path().to_path_buf();
            hosts.dirs.push(dir);
            let mut args: Vec<std::ffi::OsString> = vec![
                "etcd".into(),
                endpoints.clone().into(),
                mnt.clone().into(),
                "--prefix".into(),
                prefix.into(),
            ];
            args.extend(extra.iter().map(Into::into));
            hosts.daemons.push(Daemon::start(&args, &mnt));
        }
        Some(hosts)
    }

    /// The mount points, host 0 first.
    pub fn mounts(&self) -> Vec<PathBuf> {
        self.daemons.iter().map(|d| d.mountpoint.clone()).collect()
    }

    /// The daemons' process ids, host 0 first.
    pub fn pids(&self) -> Vec<u32> {
        self.daemons.iter().map(|d| d.child.id()).collect()
    }

    /// Fails unless every daemon is still running.
    pub fn assert_running(&mut self) {
        for (i, d) in self.daemons.iter_mut().enumerate() {
            if let Some(status) = d.child.try_wait().expect("try_wait") {
                panic!("host {i}: the daemon exited with {status}");
            }
        }
    }

    /// `fusekit fsck etcd` of the prefix: whether it is clean, and what it printed.
    pub fn fsck(&self) -> (bool, String) {
        let out = Command::new(BIN)
            .args(["fsck", "etcd", &self.cluster.endpoints_arg(), "--prefix"])
            .arg(&self.prefix)
            .output()
            .expect("run fusekit fsck etcd");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

/// Samples processes' RSS, fds and threads every `every` on a thread of its own, until
/// [`Sampler::stop`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<Vec<Vec<Sample>>, String>>>,
}

impl Sampler {
    /// Starts sampling `pids` now (t = 0 s).
    pub fn start(pids: Vec<u32>, every: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut series = vec![Vec::new(); pids.len()];
            while !flag.load(Ordering::Relaxed) {
                let t = t0.elapsed().as_secs_f64();
                for (pid, s) in pids.iter().zip(series.iter_mut()) {
                    let u = fusekit_soak::sample::read(*pid).map_err(|e| format!("{e:#}"))?;
                    s.push(Sample {
                        t,
                        rss_kib: u.rss_kib,
                        fds: u.fds,
                        threads: u.threads,
                        ops: 0,
                    });
                }
                std::thread::sleep(every);
            }
            Ok(series)
        });
        Sampler {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling; one series per pid (or why a daemon could not be read).
    pub fn stop(mut self) -> Result<Vec<Vec<Sample>>, String> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().expect("running").join() {
            Ok(r) => r,
            Err(_) => Err("the sampler panicked".into()),
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The relative paths of every directory and file below `root` (directories end with `/`).
pub fn walk(root: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        for e in std::fs::read_dir(root.join(&rel))? {
            let e = e?;
            let name = rel.join(e.file_name());
            let s = name.to_string_lossy().into_owned();
            if e.file_type()?.is_dir() {
                out.push(format!("{s}/"));
                todo.push(name);
            } else {
                out.push(s);
            }
        }
    }
    out.sort();
    Ok(out)
}
