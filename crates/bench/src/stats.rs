//! Statistics over latency samples: nearest-rank percentiles and a small summary.

use serde::{Deserialize, Serialize};

/// The nearest-rank percentile `p` (0..=100) of an ascending-sorted sample; `None` when empty.
///
/// Nearest rank: the smallest value such that at least `p`% of the sample is <= it
/// (p = 0 gives the minimum).
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// Percentiles and mean of a latency sample (any unit; the caller knows which).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: usize,
    pub min: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

impl Summary {
    /// Sorts `samples` in place and summarizes them; `None` when empty.
    pub fn of(samples: &mut [u64]) -> Option<Summary> {
        samples.sort_unstable();
        let count = samples.len();
        let sum: u128 = samples.iter().map(|&v| v as u128).sum();
        Some(Summary {
            count,
            min: *samples.first()?,
            p50: percentile(samples, 50.0)?,
            p99: percentile(samples, 99.0)?,
            max: *samples.last()?,
            mean: sum as f64 / count as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_on_one_to_hundred() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&v, 99.5), Some(100));
    }

    #[test]
    fn small_and_empty_samples() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[1, 2], 50.0), Some(1));
        assert_eq!(percentile(&[1, 2], 51.0), Some(2));
        assert_eq!(percentile(&[1, 2], 101.0), None);
    }

    #[test]
    fn summary_sorts_and_averages() {
        let mut v = vec![9, 1, 5, 3, 7];
        let s = Summary::of(&mut v).unwrap();
        assert_eq!((s.count, s.min, s.p50, s.max), (5, 1, 5, 9));
        assert_eq!(s.p99, 9);
        assert!((s.mean - 5.0).abs() < 1e-9);
        assert_eq!(Summary::of(&mut []), None);
    }

    #[test]
    fn tail_percentile_sees_the_outlier() {
        let mut v = vec![10u64; 990];
        v.extend([1000u64; 10]);
        let s = Summary::of(&mut v).unwrap();
        assert_eq!(s.p50, 10);
        assert_eq!(s.p99, 10, "exactly 1% above: p99 still 10");
        v.push(1000);
        let s = Summary::of(&mut v).unwrap();
        assert_eq!(s.p99, 1000);
    }
}
