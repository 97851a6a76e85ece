//! Bitrate of one incoming stream per temporal layer, measured over one-second windows: what the allocation prices
//! each layer option at, and whether a simulcast stream is being sent at all.

use std::time::{Duration, Instant};

/// Temporal layers tracked (VP8/VP9 carry at most 4; packets without a temporal id count as layer 0).
pub(crate) const MAX_TEMPORAL: usize = 4;
/// A stream silent for this long is inactive, whatever its last window said.
const INACTIVE_AFTER: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone, Default)]
pub(crate) struct LayerMeter {
    window: [u64; MAX_TEMPORAL],
    window_start: Option<Instant>,
    /// Bits per second of layers `0..=t`, from the last closed window.
    cumulative_bps: [u64; MAX_TEMPORAL],
    last_packet: Option<Instant>,
    /// Highest temporal id seen: how many temporal layers the sender really uses.
    pub max_temporal_id: u8,
}

impl LayerMeter {
    pub fn on_packet(&mut self, now: Instant, temporal_id: Option<u8>, bytes: usize) {
        let tid = temporal_id.unwrap_or(0).min(MAX_TEMPORAL as u8 - 1);
        self.max_temporal_id = self.max_temporal_id.max(tid);
        self.window[tid as usize] += bytes as u64;
        self.window_start.get_or_insert(now);
        self.last_packet = Some(now);
    }

    /// Closes the window when it is at least a second old.
    pub fn roll(&mut self, now: Instant) {
        let Some(start) = self.window_start else {
            self.cumulative_bps = [0; MAX_TEMPORAL];
            return;
        };
        let elapsed = now.saturating_duration_since(start);
        if elapsed < Duration::from_millis(900) {
            return;
        }
        let micros = elapsed.as_micros().max(1) as u64;
        let mut sum = 0;
        for (t, bytes) in self.window.iter_mut().enumerate() {
            sum += *bytes;
            self.cumulative_bps[t] = sum * 8_000_000 / micros;
            *bytes = 0;
        }
        self.window_start = Some(now);
        if !self.is_active(now) {
            self.window_start = None;
        }
    }

    pub fn is_active(&self, now: Instant) -> bool {
        self.last_packet
            .is_some_and(|at| now.saturating_duration_since(at) < INACTIVE_AFTER)
    }

    /// Bits per second of temporal layers `0..=temporal`.
    pub fn bitrate(&self, temporal: u8) -> u64 {
        self.cumulative_bps[(temporal as usize).min(MAX_TEMPORAL - 1)]
    }

    /// Bits per second of the whole stream.
    pub fn total(&self) -> u64 {
        self.cumulative_bps[MAX_TEMPORAL - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_layer_bitrates_are_cumulative() {
        let t0 = Instant::now();
        let mut m = LayerMeter::default();
        for i in 0..100u64 {
            let at = t0 + Duration::from_millis(i * 10);
            m.on_packet(at, Some((i % 4) as u8 / 2), 1000);
        }
        m.roll(t0 + Duration::from_secs(1));
        assert_eq!(m.bitrate(0), 400_000);
        assert_eq!(m.bitrate(1), 800_000);
        assert_eq!(m.total(), 800_000);
        assert_eq!(m.max_temporal_id, 1);
        assert!(m.is_active(t0 + Duration::from_secs(1)));
        m.roll(t0 + Duration::from_secs(3));
        assert!(!m.is_active(t0 + Duration::from_secs(3)));
        assert_eq!(m.total(), 0);
    }
}
