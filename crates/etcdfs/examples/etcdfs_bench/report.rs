//! One result row per goal (the figure, its reference measured in the same run, the ratio, the
//! goal and pass/miss), the table printed at the end, and the JSON written by `--json`.

use std::path::Path;

use serde_json::{json, Value};

/// What a row must reach.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// figure / reference >= this.
    RatioAtLeast(f64),
    /// figure / reference <= this.
    RatioAtMost(f64),
    /// figure <= this (the reference is context only).
    AtMost(f64),
}

impl Goal {
    fn text(self, unit: &str) -> String {
        match self {
            Goal::RatioAtLeast(r) => format!("ratio >= {r}"),
            Goal::RatioAtMost(r) => format!("ratio <= {r}"),
            Goal::AtMost(v) => format!("<= {v} {unit}"),
        }
    }
}

/// One measured goal.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub unit: &'static str,
    /// Median over the rounds.
    pub figure: f64,
    /// What the reference is (e.g. "raw etcd txn/s, 16 tasks").
    pub reference_name: String,
    /// Median over the rounds.
    pub reference: f64,
    /// Median of the per-round ratios figure / reference (steadier than a ratio of medians
    /// on a shared machine: both sides of a round ran back to back).
    pub ratio: f64,
    pub goal: Goal,
    /// Every round: (figure, reference).
    pub rounds: Vec<(f64, f64)>,
    /// What else was measured (store round trips per op, percentiles, ...).
    pub notes: Vec<String>,
}

impl Row {
    /// A row from per-round (figure, reference) pairs.
    pub fn new(
        name: impl Into<String>,
        unit: &'static str,
        reference_name: impl Into<String>,
        goal: Goal,
        rounds: Vec<(f64, f64)>,
    ) -> Row {
        let figure = median(rounds.iter().map(|r| r.0).collect());
        let reference = median(rounds.iter().map(|r| r.1).collect());
        let ratio = median(rounds.iter().map(|r| r.0 / r.1).collect());
        Row {
            name: name.into(),
            unit,
            figure,
            reference_name: reference_name.into(),
            reference,
            ratio,
            goal,
            rounds,
            notes: Vec::new(),
        }
    }

    /// Whether the goal is met.
    pub fn pass(&self) -> bool {
        match self.goal {
            Goal::RatioAtLeast(r) => self.ratio >= r,
            Goal::RatioAtMost(r) => self.ratio <= r,
            Goal::AtMost(v) => self.figure <= v,
        }
    }

    fn json(&self) -> Value {
        json!({
            "name": self.name,
            "unit": self.unit,
            "figure": self.figure,
            "reference_name": self.reference_name,
            "reference": self.reference,
            "ratio": self.ratio,
            "goal": self.goal.text(self.unit),
            "pass": self.pass(),
            "rounds": self.rounds.iter().map(|(f, r)| json!({"figure": f, "reference": r})).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }
}

/// The median (upper median for an even count); NaN for none.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Prints the table, then each row's reference and notes.
pub fn print(rows: &[Row]) {
    println!();
    println!(
        "{:<46} {:>10} {:>10} {:>7}  {:<16} result",
        "figure", "etcdfs", "reference", "ratio", "goal"
    );
    for r in rows {
        println!(
            "{:<46} {:>10} {:>10} {:>7}  {:<16} {}",
            format!("{} ({})", r.name, r.unit),
            num(r.figure),
            num(r.reference),
            format!("{:.2}", r.ratio),
            r.goal.text(r.unit),
            if r.pass() { "pass" } else { "MISS" }
        );
    }
    println!();
    for r in rows {
        println!("{}: reference = {}", r.name, r.reference_name);
        let rounds: Vec<String> = r
            .rounds
            .iter()
            .map(|(f, x)| format!("{} / {}", num(*f), num(*x)))
            .collect();
        println!("  rounds (etcdfs / reference): {}", rounds.join(", "));
        for n in &r.notes {
            println!("  {n}");
        }
    }
}

/// Writes the rows and the run's settings to `path`.
pub fn write_json(path: &Path, settings: Value, rows: &[Row]) -> std::io::Result<()> {
    let doc = json!({
        "settings": settings,
        "results": rows.iter().map(Row::json).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}
