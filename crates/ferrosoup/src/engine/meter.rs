//! Bitrate of one incoming stream per spatial (SVC) and temporal layer, measured over one-second windows: what the
//! allocation prices each layer option at, and whether a simulcast stream is being sent at all.
//!
//! A window closes on the first packet a second after it opened, and on the worker's report tick (which also
//! notices a stream gone silent). Closed only on the tick, a stream's first figure came anywhere from 0.9 to 1.9 s
//! after its first packet, depending on where the tick fell; the allocation offers no layer of a stream before it has
//! one, and `getProducerStats` shows 0 until then.

use std::time::{Duration, Instant};

/// Temporal layers tracked (VP8/VP9 carry at most 4; packets without a temporal id count as layer 0).
pub(crate) const MAX_TEMPORAL: usize = 4;
/// Spatial layers tracked within one stream (VP9 SVC; simulcast streams have one each).
pub(crate) const MAX_SPATIAL: usize = 4;
/// A stream silent for this long is inactive, whatever its last window said.
const INACTIVE_AFTER: Duration = Duration::from_millis(1500);
/// A window this old is closed by the next packet.
const WINDOW: Duration = Duration::from_secs(1);
/// The report tick closes a window this old (the tick and the packets are not in phase).
const MIN_WINDOW: Duration = Duration::from_millis(900);

#[derive(Debug, Clone, Default)]
pub(crate) struct LayerMeter {
    window: [[u64; MAX_TEMPORAL]; MAX_SPATIAL],
    window_start: Option<Instant>,
    /// Bits per second of spatial layers `0..=s` with temporal layers `0..=t`, from the last closed window.
    cumulative_bps: [[u64; MAX_TEMPORAL]; MAX_SPATIAL],
    last_packet: Option<Instant>,
    /// Highest temporal id seen: how many temporal layers the sender really uses.
    pub max_temporal_id: u8,
    /// Highest spatial id seen (SVC).
    pub max_spatial_id: u8,
}

impl LayerMeter {
    pub fn on_packet(
        &mut self,
        now: Instant,
        spatial_id: Option<u8>,
        temporal_id: Option<u8>,
        bytes: usize,
    ) {
        if let Some(start) = self.window_start {
            let elapsed = now.saturating_duration_since(start);
            if elapsed >= WINDOW {
                self.close(now, elapsed);
            }
        }
        let tid = temporal_id.unwrap_or(0).min(MAX_TEMPORAL as u8 - 1);
        let sid = spatial_id.unwrap_or(0).min(MAX_SPATIAL as u8 - 1);
        self.max_temporal_id = self.max_temporal_id.max(tid);
        self.max_spatial_id = self.max_spatial_id.max(sid);
        self.window[sid as usize][tid as usize] += bytes as u64;
        self.window_start.get_or_insert(now);
        self.last_packet = Some(now);
    }

    /// The report tick: closes the window when it is at least `MIN_WINDOW` old, and clears the figures of a stream
    /// that has gone silent.
    pub fn roll(&mut self, now: Instant) {
        let Some(start) = self.window_start else {
            self.cumulative_bps = [[0; MAX_TEMPORAL]; MAX_SPATIAL];
            return;
        };
        let elapsed = now.saturating_duration_since(start);
        if elapsed < MIN_WINDOW {
            return;
        }
        self.close(now, elapsed);
        if !self.is_active(now) {
            self.window_start = None;
        }
    }

    /// Publishes the window's bitrates and opens the next one at `now`.
    fn close(&mut self, now: Instant, elapsed: Duration) {
        let micros = elapsed.as_micros().max(1) as u64;
        for s in 0..MAX_SPATIAL {
            for t in 0..MAX_TEMPORAL {
                let bytes: u64 = self.window[..=s]
                    .iter()
                    .map(|row| row[..=t].iter().sum::<u64>())
                    .sum();
                self.cumulative_bps[s][t] = bytes * 8_000_000 / micros;
            }
        }
        self.window = [[0; MAX_TEMPORAL]; MAX_SPATIAL];
        self.window_start = Some(now);
    }

    pub fn is_active(&self, now: Instant) -> bool {
        self.last_packet
            .is_some_and(|at| now.saturating_duration_since(at) < INACTIVE_AFTER)
    }

    /// Bits per second of spatial layers `0..=spatial` with temporal layers `0..=temporal`.
    pub fn bitrate(&self, spatial: u8, temporal: u8) -> u64 {
        self.cumulative_bps[(spatial as usize).min(MAX_SPATIAL - 1)]
            [(temporal as usize).min(MAX_TEMPORAL - 1)]
    }

    /// Bits per second of the whole stream.
    pub fn total(&self) -> u64 {
        self.cumulative_bps[MAX_SPATIAL - 1][MAX_TEMPORAL - 1]
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
            m.on_packet(at, Some((i % 2) as u8), Some((i % 4) as u8 / 2), 1000);
        }
        m.roll(t0 + Duration::from_secs(1));
        assert_eq!(m.bitrate(0, 0), 200_000);
        assert_eq!(m.bitrate(0, 1), 400_000);
        assert_eq!(m.bitrate(1, 0), 400_000);
        assert_eq!(m.bitrate(1, 1), 800_000);
        assert_eq!(m.max_spatial_id, 1);
        assert_eq!(m.total(), 800_000);
        assert_eq!(m.max_temporal_id, 1);
        assert!(m.is_active(t0 + Duration::from_secs(1)));
        m.roll(t0 + Duration::from_secs(3));
        assert!(!m.is_active(t0 + Duration::from_secs(3)));
        assert_eq!(m.total(), 0);
    }

    #[test]
    fn the_first_figure_comes_a_second_after_the_first_packet_without_a_tick() {
        let t0 = Instant::now();
        let mut m = LayerMeter::default();
        for i in 0..100u64 {
            m.on_packet(t0 + Duration::from_millis(i * 10), None, None, 1000);
        }
        assert_eq!(m.total(), 0, "the first window is still open");
        // The packet at 1 s closes the window (100 packets over 1 s) and opens the next with itself.
        m.on_packet(t0 + Duration::from_secs(1), None, None, 1000);
        assert_eq!(m.total(), 800_000);
        assert_eq!(m.bitrate(0, 0), 800_000);
        // A tick soon after leaves the young window open and the figure as it was.
        m.roll(t0 + Duration::from_millis(1300));
        assert_eq!(m.total(), 800_000);
    }
}
