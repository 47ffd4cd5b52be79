//! The workload registry and what every workload gets: its own directory (path and fd), the
//! options, a progress channel, and a place for its numbers and notes.

use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::options::BenchOptions;
use crate::progress::{Phase, Progress};
use crate::report::{Metric, Outcome, Unit};

pub(crate) mod metadata;
pub(crate) mod randread;
pub(crate) mod readdir;
pub(crate) mod seq;
pub(crate) mod stat_latency;

/// A named workload.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub name: &'static str,
    /// What it measures, one line.
    pub description: &'static str,
    pub(crate) run: fn(&mut Ctx<'_>) -> io::Result<()>,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "metadata",
        description: "create + write 100 B + close + stat + unlink, one thread (files/s)",
        run: metadata::single,
    },
    Workload {
        name: "stat-latency",
        description: "stat of existing files, one thread: p50 and p99 latency (µs)",
        run: stat_latency::run,
    },
    Workload {
        name: "readdir-10k",
        description: "full listings of a directory of 10k entries (entries/s)",
        run: readdir::small,
    },
    Workload {
        name: "readdir-100k",
        description: "full listings of a directory of 100k entries (entries/s)",
        run: readdir::large,
    },
    Workload {
        name: "seq-write",
        description: "write a 1 GiB file in 1 MiB blocks, fsync included (MiB/s)",
        run: seq::write,
    },
    Workload {
        name: "seq-read",
        description: "read a 1 GiB file in 1 MiB blocks after dropping its page cache (MiB/s)",
        run: seq::read,
    },
    Workload {
        name: "randread-direct",
        description: "4 KiB random reads with O_DIRECT, 1 and N threads (IOPS)",
        run: randread::direct,
    },
    Workload {
        name: "randread-buffered",
        description: "4 KiB random buffered reads from a cold cache, 1 and N threads (IOPS)",
        run: randread::buffered,
    },
    Workload {
        name: "parallel-metadata",
        description: "the metadata workload in N threads, each in its own directory (files/s)",
        run: metadata::parallel,
    },
];

/// Every workload, in the order a full run uses.
pub fn list_workloads() -> &'static [Workload] {
    WORKLOADS
}

/// What a running workload sees.
pub(crate) struct Ctx<'a> {
    /// This workload's own directory (empty at start; the runner removes it afterwards).
    pub dir: PathBuf,
    pub dirfd: OwnedFd,
    pub opts: &'a BenchOptions,
    pub(crate) index: usize,
    pub(crate) total: usize,
    pub(crate) name: &'static str,
    pub(crate) progress: &'a mut dyn FnMut(Progress),
    pub metrics: Vec<Metric>,
    pub notes: Vec<String>,
    pub details: Vec<String>,
    /// When this workload's time is up (see [`BenchOptions::workload_limit`]).
    pub deadline: Instant,
}

impl Ctx<'_> {
    pub(crate) fn phase(&mut self, phase: Phase) {
        tracing::debug!(workload = self.name, ?phase, "phase");
        (self.progress)(Progress::Phase {
            index: self.index,
            total: self.total,
            workload: self.name.to_string(),
            phase,
        });
    }

    pub(crate) fn measured(&mut self, name: &str, unit: Unit, value: f64) {
        self.metrics.push(Metric::measured(name, unit, value));
    }

    pub(crate) fn unsupported(&mut self, name: &str, unit: Unit, reason: &str) {
        self.metrics.push(Metric {
            name: name.to_string(),
            unit,
            outcome: Outcome::Unsupported {
                reason: reason.to_string(),
            },
        });
    }

    /// Fails with `TimedOut` once the workload's time is up; `during` says where it was.
    pub(crate) fn check(&self, during: impl FnOnce() -> String) -> io::Result<()> {
        check_deadline(self.deadline, self.opts.workload_limit, during)
    }

    /// Something this run happened to do (counts), not a property of the method.
    pub(crate) fn detail(&mut self, detail: String) {
        self.details.push(detail);
    }

    pub(crate) fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }
}

/// Runs `op` repeatedly until `duration` has passed (at least once); returns how many times it
/// ran and the exact elapsed time.
pub(crate) fn timed_loop(
    duration: Duration,
    mut op: impl FnMut(u64) -> io::Result<()>,
) -> io::Result<(u64, Duration)> {
    let start = Instant::now();
    let mut n = 0;
    loop {
        op(n)?;
        n += 1;
        let elapsed = start.elapsed();
        if elapsed >= duration {
            return Ok((n, elapsed));
        }
    }
}

/// Fails with `TimedOut` once `deadline` has passed.
pub(crate) fn check_deadline(
    deadline: Instant,
    limit: Duration,
    during: impl FnOnce() -> String,
) -> io::Result<()> {
    if Instant::now() < deadline {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "stopped after the {} s limit per workload, during {}",
            limit.as_secs(),
            during()
        ),
    ))
}

/// `count` per second of `elapsed`.
pub(crate) fn rate(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// An `InvalidData` error: the filesystem answered, but wrongly.
pub(crate) fn wrong(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_described() {
        let names: Vec<&str> = list_workloads().iter().map(|w| w.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert_eq!(names.len(), 9);
        assert!(list_workloads().iter().all(|w| !w.description.is_empty()));
    }

    #[test]
    fn timed_loop_runs_at_least_once_and_until_the_deadline() {
        let (n, e) = timed_loop(Duration::ZERO, |_| Ok(())).unwrap();
        assert_eq!(n, 1);
        assert!(e >= Duration::ZERO);
        let (n, e) = timed_loop(Duration::from_millis(20), |_| {
            std::thread::sleep(Duration::from_millis(2));
            Ok(())
        })
        .unwrap();
        assert!(n >= 2 && e >= Duration::from_millis(20));
        let err = timed_loop(Duration::from_secs(5), |i| {
            if i == 3 {
                Err(io::Error::other("boom"))
            } else {
                Ok(())
            }
        });
        assert!(err.is_err());
    }
}
