//! Percentiles of a set of latencies (nearest rank), and one table row per kind.

use std::time::Duration;

/// A kind's latencies, sorted.
pub struct Summary {
    pub kind: &'static str,
    pub probe: &'static str,
    pub sorted: Vec<Duration>,
}

impl Summary {
    pub fn new(kind: &'static str, probe: &'static str, mut samples: Vec<Duration>) -> Summary {
        samples.sort();
        Summary {
            kind,
            probe,
            sorted: samples,
        }
    }

    /// The nearest-rank `p`-th percentile (0 < p <= 100).
    pub fn percentile(&self, p: f64) -> Duration {
        let n = self.sorted.len();
        if n == 0 {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.sorted[rank.clamp(1, n) - 1]
    }

    /// Samples slower than `d`.
    pub fn over(&self, d: Duration) -> usize {
        self.sorted.iter().filter(|s| **s > d).count()
    }

    pub fn header() -> String {
        format!(
            "{:<16} {:<34} {:>4} {:>8} {:>8} {:>8} {:>8} {:>6}",
            "change on A", "seen on B by", "n", "min ms", "p50 ms", "p99 ms", "max ms", ">0.5s"
        )
    }

    pub fn row(&self) -> String {
        let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
        format!(
            "{:<16} {:<34} {:>4} {:>8} {:>8} {:>8} {:>8} {:>6}",
            self.kind,
            self.probe,
            self.sorted.len(),
            ms(self.sorted.first().copied().unwrap_or_default()),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            ms(self.sorted.last().copied().unwrap_or_default()),
            self.over(Duration::from_millis(500))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms = |v: u64| Duration::from_millis(v);
        let s = Summary::new("k", "p", (1..=200).rev().map(ms).collect());
        assert_eq!(s.percentile(50.0), ms(100));
        assert_eq!(s.percentile(99.0), ms(198));
        assert_eq!(s.percentile(100.0), ms(200));
        assert_eq!(s.over(ms(190)), 10);
    }
}
