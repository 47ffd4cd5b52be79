//! The result of one run: numbers with units per workload, as a text table, JSON or SVG chart.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::format::format_value;

/// Unit of a metric; it also says which direction is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    FilesPerSec,
    EntriesPerSec,
    MibPerSec,
    Iops,
    /// Latency in microseconds (lower is better).
    Micros,
}

impl Unit {
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::FilesPerSec => "files/s",
            Unit::EntriesPerSec => "entries/s",
            Unit::MibPerSec => "MiB/s",
            Unit::Iops => "IOPS",
            Unit::Micros => "µs",
        }
    }

    pub fn higher_is_better(self) -> bool {
        !matches!(self, Unit::Micros)
    }
}

/// What came of one measured cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    Measured {
        value: f64,
    },
    /// The filesystem refused the access pattern (e.g. O_DIRECT on tmpfs: EINVAL).
    Unsupported {
        reason: String,
    },
    Failed {
        error: String,
    },
}

/// One number of a workload, e.g. `randread-direct` / `2t` in IOPS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Qualifier within the workload (`p50`, `1t`, `4t`), empty when the workload has one number.
    pub name: String,
    pub unit: Unit,
    pub outcome: Outcome,
}

impl Metric {
    pub fn measured(name: &str, unit: Unit, value: f64) -> Metric {
        Metric {
            name: name.to_string(),
            unit,
            outcome: Outcome::Measured { value },
        }
    }

    pub fn value(&self) -> Option<f64> {
        match self.outcome {
            Outcome::Measured { value } => Some(value),
            _ => None,
        }
    }

    /// The number and unit, or why there is none.
    pub fn display(&self) -> String {
        match &self.outcome {
            Outcome::Measured { value } => format_value(*value, self.unit),
            Outcome::Unsupported { .. } => "unsupported".to_string(),
            Outcome::Failed { .. } => "failed".to_string(),
        }
    }
}

/// All numbers of one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadResult {
    pub workload: String,
    pub metrics: Vec<Metric>,
    /// How it was measured where that matters (sizes, cache drop method): the same for every
    /// filesystem measured with the same options.
    #[serde(default)]
    pub notes: Vec<String>,
    /// What this run happened to do (how many listings, how many samples).
    #[serde(default)]
    pub details: Vec<String>,
    /// Set when the workload stopped on an error (its metrics are then incomplete).
    #[serde(default)]
    pub error: Option<String>,
}

impl WorkloadResult {
    /// Column key of a metric of this workload: `workload` or `workload name`.
    pub fn key(&self, metric: &Metric) -> String {
        metric_key(&self.workload, &metric.name)
    }
}

pub(crate) fn metric_key(workload: &str, name: &str) -> String {
    if name.is_empty() {
        workload.to_string()
    } else {
        format!("{workload} {name}")
    }
}

/// The settings a run used, kept with its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub threads: usize,
    pub duration_ms: u64,
    pub warmup_ms: u64,
    pub seq_bytes: u64,
    pub seq_block: usize,
    pub randread_bytes: u64,
    pub readdir_small: usize,
    pub readdir_large: usize,
    pub stat_files: usize,
}

/// One run against one directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// The measured directory.
    pub dir: String,
    /// Filesystem type of the mount holding it (from /proc/self/mountinfo), e.g. `tmpfs`,
    /// `fuse.memfs`; `unknown` when it could not be read.
    pub fs_type: String,
    /// Mount source of that mount.
    pub fs_source: String,
    /// Kernel release (`uname -r`) of the machine that measured.
    #[serde(default)]
    pub kernel: String,
    pub settings: Settings,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    pub results: Vec<WorkloadResult>,
}

impl BenchReport {
    /// Every metric with its column key, in run order.
    pub fn metrics(&self) -> impl Iterator<Item = (String, &Metric)> {
        self.results
            .iter()
            .flat_map(|r| r.metrics.iter().map(move |m| (r.key(m), m)))
    }

    /// The metric under a column key.
    pub fn metric(&self, key: &str) -> Option<&Metric> {
        self.metrics().find(|(k, _)| k == key).map(|(_, m)| m)
    }

    /// A plain-text table: one line per metric, then the notes and errors.
    pub fn render_table(&self) -> String {
        let s = &self.settings;
        let mut out = format!(
            "fusekit bench: {} ({}, {}), {} threads, {} ms per cell\n",
            self.dir, self.fs_type, self.fs_source, s.threads, s.duration_ms
        );
        let rows: Vec<(String, String)> = self.metrics().map(|(k, m)| (k, m.display())).collect();
        let width = rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        for (key, value) in &rows {
            out.push_str(&format!("  {key:<width$}  {value:>16}\n"));
        }
        let mut notes = Vec::new();
        for r in &self.results {
            if let Some(e) = &r.error {
                notes.push(format!("{}: ERROR: {e}", r.workload));
            }
            for m in &r.metrics {
                if let Outcome::Failed { error } = &m.outcome {
                    notes.push(format!("{}: failed: {error}", r.key(m)));
                }
            }
            notes.extend(
                r.notes
                    .iter()
                    .chain(&r.details)
                    .map(|n| format!("{}: {n}", r.workload)),
            );
        }
        if !notes.is_empty() {
            out.push_str("notes:\n");
            for n in notes {
                out.push_str(&format!("  - {n}\n"));
            }
        }
        out
    }

    /// Pretty JSON (the format [`BenchReport::from_json`] reads back).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    pub fn from_json(text: &str) -> Result<BenchReport, BenchError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Reads a JSON report from a file.
    pub fn load(path: &Path) -> Result<BenchReport, BenchError> {
        let text = std::fs::read_to_string(path).map_err(|source| BenchError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        BenchReport::from_json(&text)
    }

    /// An SVG chart of this run alone: one panel per unit (files/s, µs, MiB/s, ...), each
    /// with its own logarithmic axis, one bar per metric labelled with the number and unit.
    /// (Ratios need a baseline: see [`crate::merge`].)
    pub fn to_svg(&self) -> String {
        use crate::svg::{Bar, Chart, Group, Panel};
        let mut panels: Vec<(Unit, Panel)> = Vec::new();
        for (key, m) in self.metrics() {
            let group = Group {
                label: key,
                bars: vec![Bar {
                    value: m.value(),
                    text: match m.value() {
                        Some(_) => m.display(),
                        None => why_no_value(m),
                    },
                }],
            };
            match panels.iter_mut().find(|(u, _)| *u == m.unit) {
                Some((_, p)) => p.groups.push(group),
                None => {
                    let better = if m.unit.higher_is_better() {
                        "longer is faster"
                    } else {
                        "shorter is faster"
                    };
                    panels.push((
                        m.unit,
                        Panel {
                            title: format!("{} ({better})", m.unit.symbol()),
                            groups: vec![group],
                            reference: None,
                        },
                    ));
                }
            }
        }
        Chart {
            title: format!("fusekit bench: {} ({})", self.dir, self.fs_type),
            subtitle: "absolute numbers; one logarithmic axis per unit".to_string(),
            series: vec![self.fs_type.clone()],
            panels: panels.into_iter().map(|(_, p)| p).collect(),
        }
        .render()
    }

    pub fn write_svg(&self, path: &Path) -> Result<(), BenchError> {
        write_file(path, &self.to_svg())
    }
}

/// Why a metric has no number, with the reason: `failed: ...` or `unsupported: ...`.
pub(crate) fn why_no_value(m: &Metric) -> String {
    match &m.outcome {
        Outcome::Measured { .. } => m.display(),
        Outcome::Unsupported { reason } => format!("unsupported: {reason}"),
        Outcome::Failed { error } => format!("failed: {error}"),
    }
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), BenchError> {
    std::fs::write(path, text).map_err(|source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(fs_type: &str, scale: f64) -> BenchReport {
        BenchReport {
            dir: "/mnt/x".into(),
            fs_type: fs_type.into(),
            fs_source: "src".into(),
            kernel: "6.18.0".into(),
            settings: Settings {
                threads: 2,
                duration_ms: 3000,
                warmup_ms: 500,
                seq_bytes: 1 << 30,
                seq_block: 1 << 20,
                randread_bytes: 1 << 28,
                readdir_small: 10_000,
                readdir_large: 100_000,
                stat_files: 1000,
            },
            started_unix: 1_700_000_000,
            results: vec![
                WorkloadResult {
                    workload: "metadata".into(),
                    metrics: vec![Metric::measured("", Unit::FilesPerSec, 40_000.0 * scale)],
                    notes: vec![],
                    details: vec![],
                    error: None,
                },
                WorkloadResult {
                    workload: "stat-latency".into(),
                    metrics: vec![
                        Metric::measured("p50", Unit::Micros, 2.0 / scale),
                        Metric::measured("p99", Unit::Micros, 9.5 / scale),
                    ],
                    notes: vec!["attribute caching as mounted".into()],
                    details: vec!["5 samples".into()],
                    error: None,
                },
                WorkloadResult {
                    workload: "randread-direct".into(),
                    metrics: vec![Metric {
                        name: "1t".into(),
                        unit: Unit::Iops,
                        outcome: Outcome::Unsupported {
                            reason: "open(O_DIRECT): EINVAL".into(),
                        },
                    }],
                    notes: vec![],
                    details: vec![],
                    error: None,
                },
            ],
        }
    }

    #[test]
    fn json_round_trip_keeps_everything() {
        let r = sample("tmpfs", 1.0);
        let back = BenchReport::from_json(&r.to_json()).unwrap();
        assert_eq!(back, r);
        assert!(r.to_json().contains("\"status\": \"unsupported\""));
        assert!(BenchReport::from_json("{\"dir\": 3}").is_err());
    }

    #[test]
    fn table_lists_every_metric_with_units_and_notes() {
        let t = sample("tmpfs", 1.0).render_table();
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("/mnt/x (tmpfs, src), 2 threads, 3000 ms"));
        assert!(lines[1].trim_start().starts_with("metadata"));
        assert!(lines[1].ends_with("40.0k files/s"), "{}", lines[1]);
        assert!(lines[2].contains("stat-latency p50") && lines[2].ends_with("2.00 µs"));
        assert!(lines[4].contains("randread-direct 1t") && lines[4].ends_with("unsupported"));
        assert!(t.contains("stat-latency: attribute caching as mounted"));
        assert!(t.contains("stat-latency: 5 samples"));
        // Values are right-aligned in one column.
        let ends: Vec<usize> = lines[1..5].iter().map(|l| l.chars().count()).collect();
        assert!(ends.windows(2).all(|w| w[0] == w[1]), "{t}");
    }

    #[test]
    fn metric_lookup_by_key() {
        let r = sample("tmpfs", 1.0);
        assert_eq!(r.metric("stat-latency p99").unwrap().value(), Some(9.5));
        assert!(r.metric("stat-latency").is_none());
        assert_eq!(r.metric("metadata").unwrap().unit, Unit::FilesPerSec);
    }
}
