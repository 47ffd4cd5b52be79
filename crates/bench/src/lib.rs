//! fusekit-bench: benchmark workloads that judge ANY directory (a fusekit mount, a peer
//! framework's mount, tmpfs) through ordinary syscalls, and the comparison of several runs.
//!
//! It depends on nothing else of fusekit: what it measures is what a program sees.
//!
//! - [`run`] measures one directory with the selected workloads ([`list_workloads`]) and returns
//!   a [`BenchReport`] (numbers with units; text table, JSON, SVG chart).
//! - [`measure_round_trips`] counts the FUSE requests everyday operations cost, by opcode,
//!   from counts the caller reads off the serving session ([`RoundTrips`]).
//! - [`merge`] puts several reports side by side as a [`Comparison`] whose cells carry their
//!   ratio to the first report (the baseline, normally native tmpfs).
//!
//! Benchmarks are not tests: nothing here asserts a timing.

#![forbid(clippy::todo, clippy::unimplemented)]

mod compare;
mod error;
mod format;
mod fsio;
mod options;
mod progress;
mod report;
mod rng;
mod round_trips;
mod runner;
mod stats;
mod svg;
mod workloads;

pub use compare::{merge, Comparison, Row};
pub use error::BenchError;
pub use format::format_value;
pub use options::{BenchOptions, CacheDrop};
pub use progress::{print_progress, Phase, Progress};
pub use report::{BenchReport, Metric, Outcome, Unit, WorkloadResult};
pub use round_trips::{
    breakdown, format_count, measure as measure_round_trips, OperationCost, RequestTally,
    RoundTripOptions, RoundTrips,
};
pub use runner::run;
pub use stats::{percentile, Summary};
pub use workloads::{list_workloads, Workload};
