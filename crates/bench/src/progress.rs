//! Progress events a run emits, so a caller can draw a progress bar, and a simple line printer.

use crate::report::WorkloadResult;

/// What a workload is doing right now.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Creating the files it will measure.
    Setup,
    /// Untimed work before a timed phase.
    Warmup,
    /// A timed phase; the string names the cell (e.g. `1t`), empty for the only one.
    Measure(String),
    /// Removing what it created.
    Cleanup,
}

/// One progress event. `index` counts workloads from 0; `total` is how many will run.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Phase {
        index: usize,
        total: usize,
        workload: String,
        phase: Phase,
    },
    Finished {
        index: usize,
        total: usize,
        result: WorkloadResult,
    },
}

/// Writes one line per event to stderr: `[3/10] readdir-10k: setup`, then the numbers. A
/// closed stderr is ignored (progress is best effort; never a panic).
pub fn print_progress(p: Progress) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{}", progress_line(&p));
}

pub(crate) fn progress_line(p: &Progress) -> String {
    match p {
        Progress::Phase {
            index,
            total,
            workload,
            phase,
        } => {
            let what = match phase {
                Phase::Setup => "setup".to_string(),
                Phase::Warmup => "warm-up".to_string(),
                Phase::Measure(cell) if cell.is_empty() => "measuring".to_string(),
                Phase::Measure(cell) => format!("measuring {cell}"),
                Phase::Cleanup => "cleanup".to_string(),
            };
            format!("[{}/{total}] {workload}: {what}", index + 1)
        }
        Progress::Finished {
            index,
            total,
            result,
        } => {
            let cells: Vec<String> = result
                .metrics
                .iter()
                .map(|m| {
                    if m.name.is_empty() {
                        m.display()
                    } else {
                        format!("{} {}", m.name, m.display())
                    }
                })
                .collect();
            let error = result
                .error
                .as_ref()
                .map(|e| format!(" (ERROR: {e})"))
                .unwrap_or_default();
            format!(
                "[{}/{total}] {}: {}{error}",
                index + 1,
                result.workload,
                cells.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Metric, Unit};

    #[test]
    fn lines_name_the_step() {
        let p = Progress::Phase {
            index: 2,
            total: 10,
            workload: "readdir-10k".into(),
            phase: Phase::Setup,
        };
        assert_eq!(progress_line(&p), "[3/10] readdir-10k: setup");
        let f = Progress::Finished {
            index: 0,
            total: 1,
            result: WorkloadResult {
                workload: "randread-buffered".into(),
                metrics: vec![
                    Metric::measured("1t", Unit::Iops, 1500.0),
                    Metric::measured("2t", Unit::Iops, 2500.0),
                ],
                notes: vec![],
                details: vec![],
                error: None,
            },
        };
        assert_eq!(
            progress_line(&f),
            "[1/1] randread-buffered: 1t 1.50k IOPS, 2t 2.50k IOPS"
        );
    }
}
