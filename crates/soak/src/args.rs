//! Command-line syntax (clap): `fusekit-soak run ...` (the supervisor) and the hidden
//! `fusekit-soak worker ...` it re-executes itself as.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::flat::Rule;

/// Soak test: a mixed, model-checked workload from several processes against a mounted
/// directory, while the serving daemon's RSS, open fds and threads are sampled and judged.
#[derive(Debug, Parser)]
#[command(name = "fusekit-soak", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the soak against DIR (served by daemon PID) and judge it; exit status 1 on any
    /// data error, leftover file, or growth that is not flat.
    Run(RunArgs),
    /// One workload process (started by `run`; not for direct use).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

/// Working-set bounds per worker.
#[derive(Debug, Clone, Args)]
pub struct Bounds {
    /// Most names (files, hard links, symlinks) one worker keeps at once.
    #[arg(long, value_name = "K", default_value_t = 48)]
    pub max_files: usize,
    /// Most file bytes (sum of file lengths) one worker keeps at once.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub max_bytes: u64,
    /// Check the whole subtree after every operation (slow; finds the first operation after
    /// which the filesystem and the model disagree).
    #[arg(long)]
    pub paranoid: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The mounted directory to work in (a subdirectory is created and removed).
    #[arg(long, value_name = "MNT")]
    pub dir: PathBuf,
    /// The daemon serving DIR, whose /proc entries are sampled.
    #[arg(long, value_name = "DAEMON_PID")]
    pub pid: u32,
    /// Seconds of workload (the final sweep and cleanup come after).
    #[arg(long, value_name = "N")]
    pub seconds: u64,
    /// Worker processes.
    #[arg(long, value_name = "P", default_value_t = 3)]
    pub procs: u64,
    /// Seed of every random choice (worker i uses its own stream from it).
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Milliseconds between samples of the daemon.
    #[arg(long, value_name = "M", default_value_t = 500)]
    pub sample_ms: u64,
    /// Write samples, worker summaries and the verdict as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// A name for this run in the output (e.g. memfs).
    #[arg(long, value_name = "NAME", default_value = "soak")]
    pub label: String,
    /// Seconds the workers may take after the workload for their sweep and cleanup before
    /// they are killed and the run fails as hung.
    #[arg(long, value_name = "S", default_value_t = 60)]
    pub grace: u64,
    #[command(flatten)]
    pub bounds: Bounds,
    #[command(flatten)]
    pub rule: RuleArgs,
}

/// The flatness thresholds (defaults are the documented rule).
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Allowed RSS growth factor, middle third to last third.
    #[arg(long, value_name = "F", default_value_t = Rule::default().rss_ratio)]
    pub rss_ratio: f64,
    /// Allowed additive RSS growth in MiB.
    #[arg(long, value_name = "MIB", default_value_t = Rule::default().rss_slack_kib / 1024)]
    pub rss_slack_mib: u64,
    /// Allowed descriptors over the warm-up maximum (also: over the start, after cleanup).
    #[arg(long, value_name = "N", default_value_t = Rule::default().fd_slack)]
    pub fd_slack: u64,
    /// Allowed threads over the warm-up maximum.
    #[arg(long, value_name = "N", default_value_t = Rule::default().thread_slack)]
    pub thread_slack: u64,
}

impl RuleArgs {
    pub fn rule(&self) -> Rule {
        Rule {
            rss_ratio: self.rss_ratio,
            rss_slack_kib: self.rss_slack_mib * 1024,
            fd_slack: self.fd_slack,
            thread_slack: self.thread_slack,
            ..Rule::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The worker's own directory (must not exist yet).
    #[arg(long)]
    pub dir: PathBuf,
    #[arg(long)]
    pub id: u64,
    #[arg(long)]
    pub seed: u64,
    #[arg(long)]
    pub seconds: u64,
    #[command(flatten)]
    pub bounds: Bounds,
}
