//! What to measure and how much: the directory, the workloads, threads and every size, so that
//! tests can run tiny versions of the same code that measures for real.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::BenchError;

/// How the page cache is emptied before a read is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheDrop {
    /// `echo 1 > /proc/sys/vm/drop_caches` when that is writable (root), otherwise
    /// `posix_fadvise(POSIX_FADV_DONTNEED)` on the file.
    #[default]
    Auto,
    /// Always `posix_fadvise(POSIX_FADV_DONTNEED)` on the file (leaves the rest of the machine's
    /// cache alone).
    Fadvise,
}

/// Everything a benchmark run needs. Build with [`BenchOptions::new`] (real sizes) or
/// [`BenchOptions::tiny`] (seconds-long smoke runs), then adjust fields.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The directory to measure; the run works in a fresh subdirectory and removes it.
    pub dir: PathBuf,
    /// Workloads to run, by name, in this order; empty means all of them.
    pub workloads: Vec<String>,
    /// N for the multi-threaded cells (randread N threads, parallel-metadata).
    pub threads: usize,
    /// Length of each timed phase (one cell of the table).
    pub duration: Duration,
    /// Untimed work before each timed phase.
    pub warmup: Duration,
    /// Size of the file written and read by `seq-write` / `seq-read`.
    pub seq_bytes: u64,
    /// Block size of the sequential workloads.
    pub seq_block: usize,
    /// Size of the file read by the `randread-*` workloads (4 KiB reads at random offsets).
    pub randread_bytes: u64,
    /// Entries in the `readdir-10k` directory.
    pub readdir_small: usize,
    /// Entries in the `readdir-100k` directory.
    pub readdir_large: usize,
    /// Files whose attributes `stat-latency` samples.
    pub stat_files: usize,
    /// How the page cache is emptied before timed reads.
    pub cache_drop: CacheDrop,
    /// Longest time one workload may spend, setup and cleanup included, before it is stopped
    /// with an error and the run moves on (a filesystem that creates files very slowly must not
    /// stall the whole run). Checked between operations: a single hung syscall is not bounded.
    pub workload_limit: Duration,
}

/// 1 MiB.
pub(crate) const MIB: u64 = 1 << 20;

impl BenchOptions {
    /// The real thing: 1 GiB sequential file in 1 MiB blocks, 3 s per cell, N = CPUs (at least 2).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2);
        BenchOptions {
            dir: dir.into(),
            workloads: Vec::new(),
            threads,
            duration: Duration::from_secs(3),
            warmup: Duration::from_millis(500),
            seq_bytes: 1024 * MIB,
            seq_block: MIB as usize,
            randread_bytes: 256 * MIB,
            readdir_small: 10_000,
            readdir_large: 100_000,
            stat_files: 1000,
            cache_drop: CacheDrop::Auto,
            workload_limit: Duration::from_secs(300),
        }
    }

    /// A smoke-test run: every code path, a fraction of a second per workload.
    pub fn tiny(dir: impl Into<PathBuf>) -> Self {
        BenchOptions {
            threads: 2,
            duration: Duration::from_millis(40),
            warmup: Duration::from_millis(5),
            seq_bytes: 4 * MIB,
            seq_block: 256 * 1024,
            randread_bytes: MIB,
            readdir_small: 50,
            readdir_large: 120,
            stat_files: 20,
            cache_drop: CacheDrop::Fadvise,
            workload_limit: Duration::from_secs(60),
            ..BenchOptions::new(dir)
        }
    }

    /// Rejects options that cannot produce a measurement.
    pub fn validate(&self) -> Result<(), BenchError> {
        let bad = |what: &str| Err(BenchError::InvalidOptions(what.to_string()));
        if self.threads == 0 {
            return bad("threads must be at least 1");
        }
        if self.duration.is_zero() {
            return bad("duration must be positive");
        }
        if self.workload_limit < self.duration * 2 {
            return bad("workload_limit must leave room for at least two timed phases");
        }
        if self.seq_block == 0 || self.seq_bytes < self.seq_block as u64 {
            return bad("seq_bytes must hold at least one block of seq_block > 0 bytes");
        }
        if self.randread_bytes < crate::workloads::randread::BLOCK as u64 {
            return bad("randread_bytes must hold at least one 4 KiB block");
        }
        if self.readdir_small == 0 || self.readdir_large == 0 || self.stat_files == 0 {
            return bad("readdir and stat file counts must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_zeroes_do_not() {
        assert!(BenchOptions::new("/x").validate().is_ok());
        assert!(BenchOptions::tiny("/x").validate().is_ok());
        let mut o = BenchOptions::tiny("/x");
        o.threads = 0;
        assert!(o.validate().is_err());
        let mut o = BenchOptions::tiny("/x");
        o.seq_bytes = 1;
        assert!(o.validate().is_err());
    }
}
