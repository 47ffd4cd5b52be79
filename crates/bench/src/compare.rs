//! Several runs side by side: rows are filesystems, columns are metrics, and each cell carries
//! its speed relative to the first row (the baseline, normally native tmpfs).
//!
//! "Relative speed" is value/baseline for rates and baseline/value for latencies, so 1.00× is
//! as fast as the baseline and smaller is slower in every column.

use std::path::Path;

use crate::format::ratio;
use crate::report::{write_file, BenchReport, Metric};

/// One contender: its label, its report (None when it could not be measured) and a note
/// (how it was mounted, or why it is missing).
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub report: Option<BenchReport>,
    pub note: String,
}

/// The merged table.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    pub rows: Vec<Row>,
    /// Column keys in first-seen order.
    pub columns: Vec<String>,
}

/// Merges reports; the first one is the baseline of every ratio.
pub fn merge(reports: &[(String, BenchReport)]) -> Comparison {
    let mut c = Comparison::default();
    for (label, report) in reports {
        c.add(label, Some(report.clone()), "");
    }
    c
}

/// Speed of `m` relative to `base` (see the module comment); None unless both are measured.
pub(crate) fn relative_speed(m: &Metric, base: &Metric) -> Option<f64> {
    let (v, b) = (m.value()?, base.value()?);
    if v <= 0.0 || b <= 0.0 {
        return None;
    }
    Some(if m.unit.higher_is_better() {
        v / b
    } else {
        b / v
    })
}

impl Comparison {
    /// Appends a row (a report, or None with the reason in `note`).
    pub fn add(&mut self, label: &str, report: Option<BenchReport>, note: &str) {
        if let Some(r) = &report {
            for (key, _) in r.metrics() {
                if !self.columns.contains(&key) {
                    self.columns.push(key);
                }
            }
        }
        self.rows.push(Row {
            label: label.to_string(),
            report,
            note: note.to_string(),
        });
    }

    fn baseline(&self) -> Option<&BenchReport> {
        self.rows.first()?.report.as_ref()
    }

    /// The cell text and relative speed of one row and column.
    fn cell(&self, row: &Row, key: &str) -> (String, Option<f64>) {
        let Some(report) = &row.report else {
            return ("n/a".to_string(), None);
        };
        let Some(m) = report.metric(key) else {
            // A workload that stopped on an error has no such metric: say so.
            let errored = report.results.iter().any(|r| {
                r.error.is_some()
                    && (key == r.workload || key.starts_with(&format!("{} ", r.workload)))
            });
            let text = if errored { "error" } else { "—" };
            return (text.to_string(), None);
        };
        let rel = self
            .baseline()
            .and_then(|b| b.metric(key))
            .and_then(|b| relative_speed(m, b));
        (m.display(), rel)
    }

    /// A Markdown table (rows: filesystems, columns: metrics), then per-row notes and every
    /// report's notes and errors.
    pub fn render_markdown(&self) -> String {
        let base = self.rows.first().map(|r| r.label.as_str()).unwrap_or("");
        let mut out = String::new();
        out.push_str(&format!(
            "Each cell: the measured number, then (in parentheses) the speed relative to `{base}`: \
             value/baseline for rates, baseline/value for latencies, so below 1.00× is slower.\n\n"
        ));
        out.push_str("| filesystem |");
        for c in &self.columns {
            out.push_str(&format!(" {c} |"));
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(self.columns.len()));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&format!("| {} |", md_escape(&row.label)));
            if row.report.is_none() {
                for _ in &self.columns {
                    out.push_str(" n/a |");
                }
                out.push('\n');
                continue;
            }
            for key in &self.columns {
                let (text, rel) = self.cell(row, key);
                match rel {
                    Some(r) => out.push_str(&format!(" {text} ({}) |", ratio(r))),
                    None => out.push_str(&format!(" {text} |")),
                }
            }
            out.push('\n');
        }
        out.push_str(&self.render_notes());
        out
    }

    /// Settings of the baseline run, row notes, errors and unsupported cells per row, then the
    /// method notes: once when every row with notes for that workload has the same note (rows
    /// where it failed early have none), else per row. Per-run details (counts) stay in the JSON
    /// reports.
    fn render_notes(&self) -> String {
        let mut out = String::new();
        if let Some(b) = self.baseline() {
            let s = &b.settings;
            out.push_str(&format!(
                "\nSettings of the baseline run: {} ms per cell after {} ms warm-up, N = {} \
                 threads, sequential file {} MiB in {} KiB blocks, random-read file {} MiB, \
                 readdir {} / {} entries, stat over {} files.\n",
                s.duration_ms,
                s.warmup_ms,
                s.threads,
                s.seq_bytes >> 20,
                s.seq_block >> 10,
                s.randread_bytes >> 20,
                s.readdir_small,
                s.readdir_large,
                s.stat_files
            ));
        }
        let mut notes = Vec::new();
        // (workload, note) -> rows having it; workload -> rows with any note for it.
        let mut method: Vec<((String, String), Vec<String>)> = Vec::new();
        let mut ran: Vec<(String, usize)> = Vec::new();
        for row in &self.rows {
            if !row.note.is_empty() {
                notes.push(format!("**{}**: {}", md_escape(&row.label), row.note));
            }
            let Some(r) = &row.report else { continue };
            for w in &r.results {
                if let Some(e) = &w.error {
                    notes.push(format!("**{}** {}: error: {e}", row.label, w.workload));
                }
                for m in &w.metrics {
                    match &m.outcome {
                        crate::Outcome::Unsupported { reason } => notes.push(format!(
                            "**{}** {}: unsupported ({reason})",
                            row.label,
                            w.key(m)
                        )),
                        crate::Outcome::Failed { error } => {
                            notes.push(format!("**{}** {}: failed ({error})", row.label, w.key(m)))
                        }
                        crate::Outcome::Measured { .. } => {}
                    }
                }
                if !w.notes.is_empty() {
                    match ran.iter_mut().find(|(name, _)| *name == w.workload) {
                        Some((_, n)) => *n += 1,
                        None => ran.push((w.workload.clone(), 1)),
                    }
                }
                for n in &w.notes {
                    let key = (w.workload.clone(), n.clone());
                    match method.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, rows)) => rows.push(row.label.clone()),
                        None => method.push((key, vec![row.label.clone()])),
                    }
                }
            }
        }
        for ((workload, note), rows) in &method {
            let everyone = ran.iter().any(|(w, n)| w == workload && *n == rows.len());
            if everyone {
                notes.push(format!("{workload}: {note}"));
            } else {
                for label in rows {
                    notes.push(format!("**{label}** {workload}: {note}"));
                }
            }
        }
        if !notes.is_empty() {
            out.push_str("\nNotes:\n\n");
            for n in notes {
                out.push_str(&format!("- {}\n", md_escape_cell(&n)));
            }
        }
        out
    }

    /// A grouped horizontal bar chart of relative speeds: one group per metric, one bar per
    /// filesystem, a dashed line at 1.0 (the baseline).
    pub fn to_svg(&self) -> String {
        use crate::svg::{Bar, Chart, Group, Panel};
        let rows: Vec<&Row> = self.rows.iter().filter(|r| r.report.is_some()).collect();
        let groups = self
            .columns
            .iter()
            .map(|key| Group {
                label: key.clone(),
                bars: rows
                    .iter()
                    .map(|row| {
                        let (text, rel) = self.cell(row, key);
                        Bar {
                            value: rel,
                            text: match rel {
                                Some(r) => format!("{} ({text})", ratio(r)),
                                None => why_no_number(row, key),
                            },
                        }
                    })
                    .collect(),
            })
            .collect();
        let base = self
            .rows
            .first()
            .map(|r| r.label.clone())
            .unwrap_or_default();
        Chart {
            title: "fusekit bench: speed relative to the baseline".to_string(),
            subtitle: format!(
                "1.0 = {base}; rates: value/baseline, latencies: baseline/value; logarithmic axis, longer is faster"
            ),
            series: rows.iter().map(|r| r.label.clone()).collect(),
            // Ratios have no unit: one axis for all of them.
            panels: vec![Panel {
                title: String::new(),
                groups,
                reference: Some((1.0, base)),
            }],
        }
        .render()
    }

    pub fn write_svg(&self, path: &Path) -> Result<(), crate::BenchError> {
        write_file(path, &self.to_svg())
    }
}

/// What the chart says for a cell without a ratio: the failure or refusal with its reason.
fn why_no_number(row: &Row, key: &str) -> String {
    let Some(report) = &row.report else {
        return "not measured".to_string();
    };
    if let Some(m) = report.metric(key) {
        return crate::report::why_no_value(m);
    }
    report
        .results
        .iter()
        .find(|r| key == r.workload || key.starts_with(&format!("{} ", r.workload)))
        .and_then(|r| r.error.as_ref())
        .map(|e| format!("failed: {e}"))
        .unwrap_or_else(|| "not measured".to_string())
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn md_escape_cell(s: &str) -> String {
    s.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample;
    use crate::svg::tests::assert_well_formed;

    fn comparison() -> Comparison {
        let mut c = merge(&[
            ("tmpfs".to_string(), sample("tmpfs", 1.0)),
            ("fusekit memfs".to_string(), sample("fuse.memfs", 0.5)),
        ]);
        c.add(
            "libfuse passthrough",
            None,
            "not available: example sources not shipped",
        );
        c
    }

    #[test]
    fn markdown_has_one_row_per_filesystem_and_ratios() {
        let md = comparison().render_markdown();
        let lines: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(lines.len(), 5, "{md}");
        assert_eq!(
            lines[0],
            "| filesystem | metadata | stat-latency p50 | stat-latency p99 | randread-direct 1t |"
        );
        assert_eq!(lines[1], "|---|---:|---:|---:|---:|");
        assert!(lines[2].starts_with("| tmpfs | 40.0k files/s (1.00×) | 2.00 µs (1.00×)"));
        // Half the rate and twice the latency are both 0.5× speed.
        assert!(lines[3].contains("20.0k files/s (0.500×)"), "{}", lines[3]);
        assert!(lines[3].contains("4.00 µs (0.500×)"), "{}", lines[3]);
        assert!(lines[3].ends_with("| unsupported |"));
        assert_eq!(lines[4], "| libfuse passthrough | n/a | n/a | n/a | n/a |");
        assert!(md.contains("**libfuse passthrough**: not available"));
        assert!(md.contains("randread-direct 1t: unsupported (open(O_DIRECT): EINVAL)"));
        // A method note both rows share is said once, without a row label.
        assert_eq!(
            md.matches("attribute caching as mounted").count(),
            1,
            "{md}"
        );
        assert!(
            md.contains("\n- stat-latency: attribute caching as mounted\n"),
            "{md}"
        );
        assert!(md.contains("3000 ms per cell after 500 ms warm-up, N = 2 threads"));
        assert!(!md.contains("5 samples"), "details stay in the JSON");
    }

    #[test]
    fn columns_are_the_union_in_first_seen_order() {
        let mut other = sample("x", 1.0);
        other.results[0].workload = "seq-read".into();
        let c = merge(&[("a".into(), sample("tmpfs", 1.0)), ("b".into(), other)]);
        assert_eq!(c.columns.last().unwrap(), "seq-read");
        assert_eq!(c.columns.len(), 5);
        let md = c.render_markdown();
        let row_b = md.lines().find(|l| l.starts_with("| b |")).unwrap();
        assert!(row_b.starts_with("| b | — |"), "{md}");
        let mut failed = sample("y", 1.0);
        failed.results[1].metrics.clear();
        failed.results[1].error = Some("EIO".into());
        let md =
            merge(&[("a".into(), sample("tmpfs", 1.0)), ("c".into(), failed)]).render_markdown();
        let row_c = md.lines().find(|l| l.starts_with("| c |")).unwrap();
        assert!(row_c.contains("| error | error |"), "{md}");
        assert!(md.contains("**c** stat-latency: error: EIO"), "{md}");
    }

    #[test]
    fn a_row_that_failed_early_does_not_split_shared_notes() {
        let mut failed = sample("y", 1.0);
        failed.results[1].metrics.clear();
        failed.results[1].notes.clear();
        failed.results[1].error = Some("EIO".into());
        let md = merge(&[
            ("a".into(), sample("tmpfs", 1.0)),
            ("b".into(), sample("z", 1.0)),
            ("c".into(), failed),
        ])
        .render_markdown();
        assert!(
            md.contains("\n- stat-latency: attribute caching as mounted\n"),
            "{md}"
        );
    }

    #[test]
    fn differing_method_notes_are_given_per_row() {
        let mut other = sample("x", 1.0);
        other.results[1].notes = vec!["fadvise".into()];
        let md =
            merge(&[("a".into(), sample("tmpfs", 1.0)), ("b".into(), other)]).render_markdown();
        assert!(
            md.contains("- **a** stat-latency: attribute caching as mounted\n"),
            "{md}"
        );
        assert!(md.contains("- **b** stat-latency: fadvise\n"), "{md}");
    }

    #[test]
    fn svg_is_well_formed_and_labels_ratios() {
        let svg = comparison().to_svg();
        assert_well_formed(&svg);
        assert!(svg.contains("0.500× (20.0k files/s)"));
        assert!(svg.contains(">fusekit memfs<"));
        assert!(
            !svg.contains(">libfuse passthrough<"),
            "unmeasured rows are not series"
        );
    }
}
