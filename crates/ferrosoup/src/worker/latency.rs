//! How long the worker holds packets: from a datagram's arrival at its socket (the kernel's receive timestamp, where
//! the platform gives one) until each datagram it caused — the forwarded copies, a STUN reply, a retransmission — is
//! handed back to the kernel. This is the latency the server adds, without the network's or the clients'.
//!
//! The histogram has fixed log-linear buckets (32 per power of two, so a bucket is at most ~3 % wide), recorded
//! without allocating; it is read out through [`crate::Worker::dump`].

use std::time::Duration;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// log2 of the sub-buckets per power of two.
const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Longer than 2^36 ns (~69 s) counts in the last bucket.
const MAX_EXP: u32 = 36;
const BUCKETS: usize = (MAX_EXP - SUB_BITS + 2) as usize * SUB;

/// A histogram of durations in nanoseconds. Recording is a few instructions; quantiles are read as the upper bound of
/// the bucket they fall in, so they never understate.
#[derive(Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: Box<[u64]>,
    count: u64,
    max: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            max: 0,
        }
    }
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count)
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .field("max", &self.max())
            .finish()
    }
}

impl LatencyHistogram {
    pub fn record(&mut self, nanos: u64) {
        if let Some(slot) = self.counts.get_mut(index(nanos)) {
            *slot += 1;
        }
        self.count += 1;
        self.max = self.max.max(nanos);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max)
    }

    /// The duration that a fraction `q` (0..=1) of the recorded ones do not exceed, rounded up to its bucket's bound;
    /// zero when nothing was recorded.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Duration::from_nanos(upper_bound(i).min(self.max));
            }
        }
        self.max()
    }

    /// The non-empty buckets, as (upper bound in nanoseconds, count), shortest first.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(i, &n)| (upper_bound(i), n))
    }

    /// What was recorded after `earlier` was read from the same worker (for a window of a run). The maximum is the
    /// upper bound of the longest bucket that grew.
    pub fn since(&self, earlier: &LatencyHistogram) -> LatencyHistogram {
        let mut out = LatencyHistogram::default();
        for (i, (now, before)) in self.counts.iter().zip(earlier.counts.iter()).enumerate() {
            let n = now.saturating_sub(*before);
            if n > 0 {
                out.counts[i] = n;
                out.count += n;
                out.max = upper_bound(i).min(self.max);
            }
        }
        out
    }
}

/// Totals over several workers.
impl std::ops::AddAssign<&LatencyHistogram> for LatencyHistogram {
    fn add_assign(&mut self, other: &LatencyHistogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine += theirs;
        }
        self.count += other.count;
        self.max = self.max.max(other.max);
    }
}

/// `{"count", "p50Us", "p90Us", "p99Us", "p999Us", "maxUs", "buckets": [[upperNs, count], …]}`: the summary for a
/// reader, the buckets for a tool that subtracts two readings.
impl Serialize for LatencyHistogram {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let micros = |d: Duration| d.as_nanos() as f64 / 1000.0;
        let mut s = serializer.serialize_struct("LatencyHistogram", 7)?;
        s.serialize_field("count", &self.count)?;
        s.serialize_field("p50Us", &micros(self.quantile(0.5)))?;
        s.serialize_field("p90Us", &micros(self.quantile(0.9)))?;
        s.serialize_field("p99Us", &micros(self.quantile(0.99)))?;
        s.serialize_field("p999Us", &micros(self.quantile(0.999)))?;
        s.serialize_field("maxUs", &micros(self.max()))?;
        s.serialize_field("buckets", &self.buckets().collect::<Vec<_>>())?;
        s.end()
    }
}

fn index(nanos: u64) -> usize {
    if nanos < SUB as u64 {
        return nanos as usize;
    }
    let exp = 63 - nanos.leading_zeros();
    if exp > MAX_EXP {
        return BUCKETS - 1;
    }
    let shift = exp - SUB_BITS;
    (shift as usize + 1) * SUB + ((nanos >> shift) as usize - SUB)
}

/// The largest value that lands in bucket `i`.
fn upper_bound(i: usize) -> u64 {
    if i < 2 * SUB {
        return i as u64;
    }
    let shift = (i / SUB - 1) as u32;
    let mantissa = (i % SUB + SUB) as u64;
    ((mantissa + 1) << shift) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_a_bucket_that_bounds_it_within_3_percent() {
        let mut previous_upper = None;
        for i in 0..BUCKETS {
            let upper = upper_bound(i);
            let lower = previous_upper.map_or(0, |p: u64| p + 1);
            assert_eq!(index(lower), i, "lower bound of bucket {i}");
            assert_eq!(index(upper), i, "upper bound of bucket {i}");
            assert!(
                (upper - lower) as f64 <= upper as f64 / 31.0,
                "bucket {i} too wide"
            );
            previous_upper = Some(upper);
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_round_up_to_the_bucket_and_never_pass_the_maximum() {
        let mut h = LatencyHistogram::default();
        assert_eq!(h.quantile(0.99), Duration::ZERO);
        for micros in 1..=1000u64 {
            h.record(micros * 1000);
        }
        let p50 = h.quantile(0.5).as_nanos() as f64;
        assert!((500_000.0..=500_000.0 * 1.035).contains(&p50), "p50 {p50}");
        let p99 = h.quantile(0.99).as_nanos() as f64;
        assert!((990_000.0..=990_000.0 * 1.035).contains(&p99), "p99 {p99}");
        assert_eq!(h.quantile(1.0), Duration::from_micros(1000));
        assert_eq!(h.count(), 1000);
    }

    #[test]
    fn a_window_is_the_difference_of_two_readings() {
        let mut h = LatencyHistogram::default();
        for _ in 0..100 {
            h.record(5_000_000);
        }
        let before = h.clone();
        for _ in 0..100 {
            h.record(20_000);
        }
        let window = h.since(&before);
        assert_eq!(window.count(), 100);
        assert!(window.max() < Duration::from_micros(21));
        assert!(window.quantile(0.99) < Duration::from_micros(21));

        let mut total = before.clone();
        total += &window;
        assert_eq!(total.count(), 200);
        assert_eq!(total.buckets().count(), 2);
    }

    #[test]
    fn serializes_a_summary_and_the_buckets() {
        let mut h = LatencyHistogram::default();
        h.record(40);
        h.record(1_000_000);
        let json = serde_json::to_value(&h).expect("serializes");
        assert_eq!(json["count"], 2);
        assert_eq!(json["maxUs"], 1000.0);
        assert_eq!(json["buckets"][0], serde_json::json!([40, 1]));
        assert_eq!(json["buckets"].as_array().map(Vec::len), Some(2));
    }
}
