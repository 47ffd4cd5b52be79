//! The result of a soak run: the table of samples over time, the worker summaries, the
//! flatness verdict and every problem found, printed for people and written as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::flat::{Rule, Sample, Verdict};
use crate::worker::Summary;

/// Everything a run found.
#[derive(Debug, Serialize)]
pub struct Outcome {
    pub label: String,
    pub pid: u32,
    pub seconds: u64,
    pub procs: u64,
    pub seed: u64,
    pub rule: Rule,
    /// Every sample, from before the workers started until they had all exited.
    pub samples: Vec<Sample>,
    /// The sample after cleanup (once the descriptors settled, or after 5 s).
    pub after: Option<Sample>,
    pub verdict: Verdict,
    pub summaries: Vec<Summary>,
    /// Seconds from start until the last worker exited.
    pub finished_s: Option<f64>,
    /// Worker failures, leftovers, sampling errors, fds not returned after cleanup.
    pub problems: Vec<String>,
}

impl Outcome {
    /// Passed: no problem, and flat.
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.verdict.flat
    }

    /// Operations per second over the workload, from the workers' own counts.
    pub fn op_rate(&self) -> f64 {
        let ops: u64 = self.summaries.iter().map(|s| s.ops).sum();
        ops as f64 / self.seconds.max(1) as f64
    }

    /// Operations by kind, summed over workers.
    fn counts(&self) -> BTreeMap<&str, u64> {
        let mut all = BTreeMap::new();
        for s in &self.summaries {
            for (k, v) in &s.counts {
                *all.entry(k.as_str()).or_default() += v;
            }
        }
        all
    }

    /// The smallest leak per operation (bytes) that the RSS rule would have caught in this
    /// run, had it been added on top of what was observed: with leak L at rate R over T
    /// seconds, the middle third's maximum grows by about R·L·2T/3 and the last third's by
    /// R·L·T, so the rule fires when R·L·T·(1 − 2·ratio/3) > ratio·mid + slack − end.
    pub fn smallest_caught_leak(&self) -> Option<f64> {
        let rss = self.verdict.checks.iter().find(|c| c.what == "rss")?;
        let r = self.rule.rss_ratio;
        let factor = 1.0 - 2.0 * r / 3.0;
        let rate = self.op_rate();
        if factor <= 0.0 || rate <= 0.0 {
            return None;
        }
        let mid_max_kib = (rss.limit.saturating_sub(self.rule.rss_slack_kib)) as f64 / r;
        let room_kib = r * mid_max_kib + self.rule.rss_slack_kib as f64 - rss.observed as f64;
        Some((room_kib.max(0.0) * 1024.0) / (rate * self.seconds as f64 * factor))
    }
}

/// The samples closest to 0 %, 10 %, ... 100 % of the workload.
fn rows(samples: &[Sample], seconds: u64) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    for k in 0..=10 {
        let t = seconds as f64 * k as f64 / 10.0;
        let best = samples.iter().min_by(|a, b| {
            (a.t - t)
                .abs()
                .partial_cmp(&(b.t - t).abs())
                .expect("finite times")
        });
        if let Some(s) = best {
            if out.last() != Some(s) {
                out.push(*s);
            }
        }
    }
    out
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The report as text.
pub fn render(o: &Outcome) -> String {
    let mut s = String::new();
    let l = &o.label;
    let _ = writeln!(
        s,
        "[{l}] soak of daemon {} for {} s with {} workers (seed {})",
        o.pid, o.seconds, o.procs, o.seed
    );
    let _ = writeln!(
        s,
        "[{l}] {:>8} {:>10} {:>8} {:>9} {:>6} {:>8}",
        "t(s)", "ops", "ops/s", "RSS(MiB)", "fds", "threads"
    );
    let mut prev: Option<Sample> = None;
    let table = rows(&o.samples, o.seconds);
    let last = o.samples.last().copied();
    let extra = [("end", last), ("cleanup", o.after)];
    for (name, row) in table
        .iter()
        .map(|r| (String::new(), Some(*r)))
        .chain(extra.iter().map(|(n, r)| (n.to_string(), *r)))
    {
        let Some(r) = row else { continue };
        let rate = match prev {
            Some(p) if r.t > p.t && name.is_empty() => {
                format!("{:.0}", (r.ops - p.ops.min(r.ops)) as f64 / (r.t - p.t))
            }
            _ => "-".into(),
        };
        let t = if name.is_empty() {
            format!("{:.1}", r.t)
        } else {
            name.clone()
        };
        let _ = writeln!(
            s,
            "[{l}] {t:>8} {:>10} {rate:>8} {:>9.1} {:>6} {:>8}",
            r.ops,
            mib(r.rss_kib),
            r.fds,
            r.threads
        );
        prev = Some(r);
    }
    let ops: u64 = o.summaries.iter().map(|s| s.ops).sum();
    let _ = writeln!(
        s,
        "[{l}] {ops} operations, {:.0} ops/s; by kind: {}",
        o.op_rate(),
        o.counts()
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let xattr: Vec<&str> = o.summaries.iter().map(|s| s.xattr.as_str()).collect();
    let _ = writeln!(s, "[{l}] xattrs per worker: {xattr:?}");
    if let (Some(first), Some(end)) = (o.samples.first(), o.samples.last()) {
        let _ = writeln!(
            s,
            "[{l}] RSS {:.1} -> {:.1} MiB (after cleanup {}), fds {} -> {} (after cleanup {}), \
             threads {} -> {}",
            mib(first.rss_kib),
            mib(end.rss_kib),
            o.after
                .map_or("-".into(), |a| format!("{:.1} MiB", mib(a.rss_kib))),
            first.fds,
            end.fds,
            o.after.map_or("-".into(), |a| a.fds.to_string()),
            first.threads,
            end.threads
        );
    }
    if let Some(why) = &o.verdict.insufficient {
        let _ = writeln!(s, "[{l}] NOT JUDGED: {why}");
    }
    for c in &o.verdict.checks {
        let _ = writeln!(
            s,
            "[{l}] {} {}: {}",
            if c.ok { "ok  " } else { "GREW" },
            c.what,
            c.detail
        );
    }
    let rss_ok = o.verdict.checks.iter().any(|c| c.what == "rss" && c.ok);
    if let Some(leak) = o.smallest_caught_leak().filter(|_| rss_ok) {
        let _ = writeln!(
            s,
            "[{l}] at {:.0} ops/s this run would have caught an RSS leak of >= {:.0} bytes per operation",
            o.op_rate(),
            leak
        );
    }
    for p in &o.problems {
        let _ = writeln!(s, "[{l}] PROBLEM: {p}");
    }
    let _ = writeln!(s, "[{l}] {}", if o.passed() { "PASS" } else { "FAIL" });
    s
}

/// Prints the report to stdout.
pub fn print(o: &Outcome) {
    print!("{}", render(o));
}

/// Writes the outcome as JSON.
pub fn write_json(o: &Outcome, path: &Path) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(o).context("encoding the report")?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
