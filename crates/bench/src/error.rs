//! The errors that stop a whole benchmark run (a failing workload does not: it is recorded in
//! the report and the run goes on).

use std::path::PathBuf;

/// Why a benchmark run, a report load or a chart could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The directory to measure is missing or not a directory.
    #[error("{path}: not a usable directory: {source}")]
    BadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A workload name that [`crate::list_workloads`] does not know.
    #[error("unknown workload {0:?} (see the list of workloads)")]
    UnknownWorkload(String),
    /// Options that cannot produce a measurement (zero threads, zero sizes...).
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// The private work directory inside the measured directory could not be made.
    #[error("cannot create the work directory {path}: {source}")]
    WorkDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing or reading a report, table or chart file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON report could not be parsed.
    #[error("not a fusekit-bench report: {0}")]
    Json(#[from] serde_json::Error),
}
