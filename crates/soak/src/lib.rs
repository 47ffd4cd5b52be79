//! fusekit-soak: a long-running, model-checked, multi-process workload against a mounted
//! directory, with the serving daemon's memory, descriptors and threads sampled over time and
//! judged for growth. See docs/soak.md for the rule and results.
//!
//! - [`worker`]: one workload process and its model of its own subtree.
//! - [`supervisor`]: starts the workers, samples the daemon, checks cleanup, judges.
//! - [`flat`]: the flatness rule (pure, unit tested).
//! - [`sample`]: reading /proc/PID.
//! - [`report`]: the table, the verdict and the JSON output.

#![forbid(unsafe_code)]

pub mod args;
pub mod flat;
pub mod report;
pub mod rng;
pub mod sample;
pub mod supervisor;
pub mod worker;
