//! Percentiles and medians of measured values.

use std::time::Duration;

/// Latency distribution of one phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub p50: Duration,
    pub p99: Duration,
}

/// The value below which `pct` percent of the samples lie (nearest rank on
/// sorted samples). `None` for no samples.
pub fn percentile(sorted: &[u64], pct: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    Some(sorted[index])
}

/// p50 and p99 of latencies given in nanoseconds (sorted in place).
pub fn latency(samples_ns: &mut [u64]) -> Option<Latency> {
    samples_ns.sort_unstable();
    Some(Latency {
        p50: Duration::from_nanos(percentile(samples_ns, 50.0)?),
        p99: Duration::from_nanos(percentile(samples_ns, 99.0)?),
    })
}

/// Median of durations (the lower middle for an even count).
pub fn median(values: &[Duration]) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len().checked_sub(1)? / 2;
    sorted.get(mid).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50));
        assert_eq!(percentile(&samples, 99.0), Some(99));
        assert_eq!(percentile(&samples, 100.0), Some(100));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn latency_sorts_first() {
        let mut samples = vec![9_000, 1_000, 5_000, 3_000];
        let l = latency(&mut samples).unwrap();
        assert_eq!(l.p50, Duration::from_micros(3));
        assert_eq!(l.p99, Duration::from_micros(9));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(5), ms(1), ms(9)]), Some(ms(5)));
        assert_eq!(median(&[ms(4), ms(1), ms(9), ms(2)]), Some(ms(2)));
        assert_eq!(median(&[]), None);
    }
}
