//! The result of a run: one [`CaseResult`] per selected case, the summary counts, the
//! human table and the JSON form. Owns presentation only; it never runs anything.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::peer::PeerWait;

/// What one case concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// Every assertion held.
    Pass,
    /// An assertion did not hold: what a Linux/tmpfs program expects, what was seen, and where.
    Fail {
        /// The expected value or errno (e.g. `EEXIST`, `nlink 0`).
        expected: String,
        /// The value or errno actually observed (e.g. `success`, `ENOENT`).
        observed: String,
        /// Which step of the case failed, in words.
        detail: String,
    },
    /// The case could not be judged here; `reason` says why (never counted as a pass).
    Skip {
        /// Why the case was skipped, e.g. "user xattrs answered ENOTSUP".
        reason: String,
    },
}

impl Outcome {
    /// The short word used in the table: `ok`, `FAIL` or `skip`.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Pass => "ok",
            Outcome::Fail { .. } => "FAIL",
            Outcome::Skip { .. } => "skip",
        }
    }
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Case name, e.g. `open_excl_existing_eexist`.
    pub name: String,
    /// Family, e.g. `open`.
    pub family: String,
    /// Pass, fail (with expected/observed) or skip (with reason).
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Wall time the case took (up to the deadline for a case that timed out).
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
    /// Peer cases: each bounded wait for visibility through `--peer`, in order (empty for
    /// other cases).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peer_waits: Vec<PeerWait>,
}

/// Longest value shown in a table cell; the JSON form always carries the whole text.
const CELL: usize = 300;

fn clip(s: &str) -> String {
    if s.chars().count() <= CELL {
        s.to_string()
    } else {
        let head: String = s.chars().take(CELL).collect();
        format!("{head}… ({} chars, see --json)", s.chars().count())
    }
}

/// "waited 3 ms for X; 5000 ms for Y (not seen)" for a table row.
fn waits_cell(waits: &[PeerWait]) -> String {
    let parts: Vec<String> = waits
        .iter()
        .map(|w| {
            let miss = if w.seen { "" } else { " (not seen)" };
            format!("{:.0} ms for {}{miss}", w.waited_ms, w.what)
        })
        .collect();
    clip(&format!("waited {}", parts.join("; ")))
}

fn as_millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// Everything a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The directory that was judged.
    pub dir: PathBuf,
    /// The same directory seen through another mount (`--peer`), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<PathBuf>,
    /// Filesystem type of `dir` as /proc/self/mountinfo names it (e.g. `tmpfs`, `fuse.memfs`).
    pub fs_type: String,
    /// Per-mount options of `dir` (e.g. `rw`, `relatime`).
    pub mount_options: Vec<String>,
    /// The seed that made race cases and generated names deterministic.
    pub seed: u64,
    /// One entry per selected case, in suite order.
    pub cases: Vec<CaseResult>,
    /// Things worth knowing that are not case results (stuck threads, cleanup trouble).
    pub notes: Vec<String>,
    /// Wall time of the whole run.
    #[serde(rename = "elapsed_ms", serialize_with = "as_millis")]
    pub elapsed: Duration,
}

#[derive(Serialize)]
struct Summary {
    passed: usize,
    failed: usize,
    skipped: usize,
    success: bool,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    report: &'a Report,
    summary: Summary,
}

impl Report {
    fn count(&self, word: &str) -> usize {
        self.cases
            .iter()
            .filter(|c| c.outcome.word() == word)
            .count()
    }

    /// Number of cases that passed.
    pub fn passed(&self) -> usize {
        self.count("ok")
    }

    /// Number of cases that failed (including time-outs).
    pub fn failed(&self) -> usize {
        self.count("FAIL")
    }

    /// Number of cases skipped (each with a reason).
    pub fn skipped(&self) -> usize {
        self.count("skip")
    }

    /// True when no case failed.
    pub fn success(&self) -> bool {
        self.failed() == 0
    }

    /// The summary line, exactly `N passed, N failed, N skipped`.
    pub fn summary_line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    /// One row per case (name, ok/FAIL/skip, expected vs observed or the skip reason), then
    /// any notes, then the summary line on its own line.
    pub fn render_table(&self) -> String {
        let width = self.cases.iter().map(|c| c.name.len()).max().unwrap_or(4);
        let mut out = String::new();
        for c in &self.cases {
            let _ = write!(out, "{:<width$}  {}", c.name, c.outcome.word());
            match &c.outcome {
                Outcome::Pass => {}
                Outcome::Fail {
                    expected,
                    observed,
                    detail,
                } => {
                    let (e, o) = (clip(expected), clip(observed));
                    let _ = write!(out, "  expected {e}, observed {o}: {}", clip(detail));
                }
                Outcome::Skip { reason } => {
                    let _ = write!(out, "  {reason}");
                }
            }
            if !c.peer_waits.is_empty() {
                let _ = write!(out, "  [{}]", waits_cell(&c.peer_waits));
            }
            out.push('\n');
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    /// The same information for machines: the report's fields plus
    /// `summary: {passed, failed, skipped, success}`.
    pub fn to_json(&self) -> String {
        let j = JsonReport {
            report: self,
            summary: Summary {
                passed: self.passed(),
                failed: self.failed(),
                skipped: self.skipped(),
                success: self.success(),
            },
        };
        serde_json::to_string_pretty(&j).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}
