//! The flatness rule: given the daemon's samples over a run, decide whether its resident memory,
//! open descriptors and threads stayed flat. Pure functions over numbers, so the rule is unit
//! tested with synthetic leaking and noisy series.
//!
//! The run (from the first to the last sample taken while workers ran) is cut by time into a
//! warm-up (the first `warmup` fraction, 25 %), and thirds. Flat means all of:
//!
//! - **RSS**: max RSS in the last third <= max RSS in the middle third x `rss_ratio` (1.10)
//!   + `rss_slack` (8 MiB).
//! - **fds**: max fd count in the last third <= max fd count during warm-up + `fd_slack` (16).
//! - **threads**: max thread count in the last third <= max during warm-up + `thread_slack` (2).
//!
//! Each window must hold at least [`MIN_WINDOW_SAMPLES`] samples, or the verdict is a failure
//! ("too few samples") rather than a pass on no evidence.

use serde::Serialize;

/// Fewest samples a window may hold for its maximum to mean anything.
pub const MIN_WINDOW_SAMPLES: usize = 3;

/// One observation of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the workers were started.
    pub t: f64,
    /// Resident set size (VmRSS) in KiB.
    pub rss_kib: u64,
    /// Entries in /proc/PID/fd.
    pub fds: u64,
    /// Threads (the Threads line of /proc/PID/status).
    pub threads: u64,
    /// Operations completed by all workers so far.
    pub ops: u64,
}

/// The thresholds of the rule (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rule {
    /// Fraction of the run that is warm-up (fd and thread baselines).
    pub warmup: f64,
    /// Allowed RSS growth factor from the middle third to the last third.
    pub rss_ratio: f64,
    /// Allowed additive RSS growth, KiB.
    pub rss_slack_kib: u64,
    /// Allowed extra descriptors over the warm-up maximum.
    pub fd_slack: u64,
    /// Allowed extra threads over the warm-up maximum.
    pub thread_slack: u64,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule {
            warmup: 0.25,
            rss_ratio: 1.10,
            rss_slack_kib: 8 * 1024,
            fd_slack: 16,
            thread_slack: 2,
        }
    }
}

/// The outcome of one comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// "rss", "fds" or "threads".
    pub what: &'static str,
    pub ok: bool,
    /// The observed value (max over the last third).
    pub observed: u64,
    /// The largest value the rule allows.
    pub limit: u64,
    /// One line: what was compared with what.
    pub detail: String,
}

/// The verdict over a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub flat: bool,
    pub checks: Vec<Check>,
    /// Set when the series was too short to judge (then `flat` is false).
    pub insufficient: Option<String>,
}

/// Judges `samples` (in time order) with `rule`.
pub fn judge(samples: &[Sample], rule: &Rule) -> Verdict {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return insufficient("no samples".into());
    };
    let span = last.t - first.t;
    let at = |frac: f64| first.t + span * frac;
    let window = |from: f64, to: f64, last_window: bool| -> Vec<&Sample> {
        samples
            .iter()
            .filter(|s| s.t >= at(from) && (s.t < at(to) || (last_window && s.t <= at(to))))
            .collect()
    };
    let warm = window(0.0, rule.warmup, false);
    let middle = window(1.0 / 3.0, 2.0 / 3.0, false);
    let end = window(2.0 / 3.0, 1.0, true);
    for (name, w) in [
        ("warm-up", &warm),
        ("middle third", &middle),
        ("last third", &end),
    ] {
        if w.len() < MIN_WINDOW_SAMPLES {
            return insufficient(format!(
                "too few samples: {} in the {name} (need {MIN_WINDOW_SAMPLES}; \
                 sample more often or run longer)",
                w.len()
            ));
        }
    }
    let max = |w: &[&Sample], f: fn(&Sample) -> u64| w.iter().map(|s| f(s)).max().unwrap_or(0);

    let rss_mid = max(&middle, |s| s.rss_kib);
    let rss_end = max(&end, |s| s.rss_kib);
    let rss_limit = (rss_mid as f64 * rule.rss_ratio) as u64 + rule.rss_slack_kib;
    let fd_warm = max(&warm, |s| s.fds);
    let fd_end = max(&end, |s| s.fds);
    let thr_warm = max(&warm, |s| s.threads);
    let thr_end = max(&end, |s| s.threads);
    let cmp = |ok: bool| if ok { "<=" } else { ">" };
    let checks = vec![
        Check {
            what: "rss",
            ok: rss_end <= rss_limit,
            observed: rss_end,
            limit: rss_limit,
            detail: format!(
                "max RSS last third {} KiB {} max RSS middle third {} KiB x {:.2} + {} KiB = {} KiB",
                rss_end,
                cmp(rss_end <= rss_limit),
                rss_mid, rule.rss_ratio, rule.rss_slack_kib, rss_limit
            ),
        },
        Check {
            what: "fds",
            ok: fd_end <= fd_warm + rule.fd_slack,
            observed: fd_end,
            limit: fd_warm + rule.fd_slack,
            detail: format!(
                "max fds last third {} {} max fds warm-up {} + {} = {}",
                fd_end,
                cmp(fd_end <= fd_warm + rule.fd_slack),
                fd_warm,
                rule.fd_slack,
                fd_warm + rule.fd_slack
            ),
        },
        Check {
            what: "threads",
            ok: thr_end <= thr_warm + rule.thread_slack,
            observed: thr_end,
            limit: thr_warm + rule.thread_slack,
            detail: format!(
                "max threads last third {} {} max threads warm-up {} + {} = {}",
                thr_end,
                cmp(thr_end <= thr_warm + rule.thread_slack),
                thr_warm,
                rule.thread_slack,
                thr_warm + rule.thread_slack
            ),
        },
    ];
    Verdict {
        flat: checks.iter().all(|c| c.ok),
        checks,
        insufficient: None,
    }
}

fn insufficient(why: String) -> Verdict {
    Verdict {
        flat: false,
        checks: Vec::new(),
        insufficient: Some(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic "noise" in -1.0..1.0 for sample `i`.
    fn noise(i: u64) -> f64 {
        let z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
        (z as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    /// A 120 s run sampled every 250 ms at `rate` ops/s, with a baseline that climbs during
    /// the first 10 s (warm-up fill), +-`rss_noise_mib` of noise, and `leak_per_op` bytes
    /// leaked per operation.
    fn series(
        rate: u64,
        rss_noise_mib: f64,
        leak_per_op: u64,
        fd_leak_per_kop: u64,
    ) -> Vec<Sample> {
        (0..=480u64)
            .map(|i| {
                let t = i as f64 * 0.25;
                let ops = (t * rate as f64) as u64;
                let fill = (t / 10.0).min(1.0) * 24.0 * 1024.0;
                let rss = 12.0 * 1024.0
                    + fill
                    + rss_noise_mib * 1024.0 * noise(i)
                    + (ops * leak_per_op) as f64 / 1024.0;
                Sample {
                    t,
                    rss_kib: rss as u64,
                    fds: 40 + (noise(i + 7) * 6.0).abs() as u64 + ops * fd_leak_per_kop / 1000,
                    threads: 5,
                    ops,
                }
            })
            .collect()
    }

    #[test]
    fn flat_noisy_series_passes() {
        let v = judge(&series(2000, 3.0, 0, 0), &Rule::default());
        assert!(v.flat, "{v:#?}");
        assert_eq!(v.checks.len(), 3);
    }

    #[test]
    fn leak_of_one_kib_per_op_is_caught_at_1000_ops_per_second() {
        // 1000 ops/s x 1 KiB = 0.98 MiB/s; a third of 120 s adds ~39 MiB.
        let v = judge(&series(1000, 3.0, 1024, 0), &Rule::default());
        assert!(!v.flat, "{v:#?}");
        let rss = v.checks.iter().find(|c| c.what == "rss").unwrap();
        assert!(!rss.ok && rss.observed > rss.limit, "{rss:?}");
    }

    #[test]
    fn fd_leak_is_caught_and_named() {
        // One descriptor per 1000 operations at 500 ops/s: +60 over the run.
        let v = judge(&series(500, 1.0, 0, 1), &Rule::default());
        assert!(!v.flat);
        let failed: Vec<_> = v.checks.iter().filter(|c| !c.ok).map(|c| c.what).collect();
        assert_eq!(failed, vec!["fds"]);
    }

    #[test]
    fn thread_growth_is_caught() {
        let mut s = series(1000, 1.0, 0, 0);
        let n = s.len();
        for (i, x) in s.iter_mut().enumerate() {
            x.threads = 5 + (i * 8 / n) as u64;
        }
        let v = judge(&s, &Rule::default());
        assert!(!v.checks.iter().find(|c| c.what == "threads").unwrap().ok);
    }

    #[test]
    fn too_few_samples_is_not_a_pass() {
        let s = series(1000, 0.0, 0, 0);
        let sparse: Vec<Sample> = s.iter().step_by(100).copied().collect();
        let v = judge(&sparse, &Rule::default());
        assert!(!v.flat);
        assert!(v.insufficient.unwrap().contains("too few samples"));
        assert!(!judge(&[], &Rule::default()).flat);
    }
}
