//! Receive side of transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01): record when
//! each transport-wide sequence number arrived and report it back, so the sender's bandwidth estimator (Chrome's GCC)
//! can see queuing delay and ramp its bitrate up. Without this feedback a browser that negotiated transport-cc stays
//! at its start bitrate.

use std::collections::VecDeque;
use std::time::Instant;

use super::bytes::{put_u16, put_u32};
use super::rtcp::{packet_type, RtcpError};
use super::seq::SeqUnwrapper;

/// Arrivals kept before the oldest are reported as lost; bounds memory under a flood.
const MAX_PENDING: usize = 1024;
/// Statuses per feedback packet; more wait for the next one.
const MAX_STATUSES: usize = 500;
/// Reference time unit (µs) and delta unit (µs) of the format.
const REFERENCE_UNIT_US: i64 = 64_000;
const DELTA_UNIT_US: i64 = 250;

/// Arrival times of one transport's packets, and the state of the feedback sent about them.
#[derive(Debug)]
pub struct TwccRecorder {
    unwrap: SeqUnwrapper,
    /// (extended seq, arrival µs since `epoch`), ascending by seq.
    arrivals: VecDeque<(i64, i64)>,
    epoch: Option<Instant>,
    /// First sequence number the next feedback reports.
    next_base: Option<i64>,
    fb_count: u8,
    media_ssrc: u32,
}

impl Default for TwccRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl TwccRecorder {
    pub fn new() -> Self {
        TwccRecorder {
            unwrap: SeqUnwrapper::default(),
            arrivals: VecDeque::with_capacity(MAX_PENDING),
            epoch: None,
            next_base: None,
            fb_count: 0,
            media_ssrc: 0,
        }
    }

    /// Notes that the packet with transport-wide sequence `seq` (from the stream `media_ssrc`) arrived at `at`.
    pub fn record(&mut self, seq: u16, media_ssrc: u32, at: Instant) {
        let epoch = *self.epoch.get_or_insert(at);
        let ext = self.unwrap.unwrap(seq);
        if self.next_base.is_some_and(|b| ext < b) {
            // Already reported (as lost): too late to matter to the estimator.
            return;
        }
        let us = at.saturating_duration_since(epoch).as_micros() as i64;
        self.media_ssrc = media_ssrc;
        // Packets arrive almost always in order; a reordered one is placed by a short backward scan.
        let pos = self
            .arrivals
            .iter()
            .rposition(|&(s, _)| s < ext)
            .map_or(0, |p| p + 1);
        if self.arrivals.get(pos).is_some_and(|&(s, _)| s == ext) {
            return;
        }
        if self.arrivals.len() >= MAX_PENDING {
            self.arrivals.pop_front();
        }
        let pos = pos.min(self.arrivals.len());
        self.arrivals.insert(pos, (ext, us));
        if self.next_base.is_none() {
            self.next_base = Some(ext);
        }
    }

    /// Whether a feedback packet is due (something arrived since the last one).
    pub fn has_pending(&self) -> bool {
        !self.arrivals.is_empty()
    }

    /// Writes one transport-cc feedback packet (RTPFB, FMT 15) about the pending arrivals into `buf` and returns its
    /// length, or `None` if there is nothing to report or `buf` is too small.
    pub fn write_feedback(&mut self, buf: &mut [u8], sender_ssrc: u32) -> Option<usize> {
        let &(first_seq, first_us) = self.arrivals.front()?;
        let base = self.next_base.unwrap_or(first_seq).min(first_seq);
        let reference = first_us.div_euclid(REFERENCE_UNIT_US);
        let mut previous_us = reference * REFERENCE_UNIT_US;

        // Header (20 bytes) is written last, once the status count is known.
        let mut symbols = [0u8; MAX_STATUSES];
        let mut deltas_len = 0usize;
        let mut deltas = [0u8; 2 * MAX_STATUSES];
        let mut count = 0usize;
        let mut reported_up_to = base - 1;
        let mut iter = self.arrivals.iter().peekable();
        let mut seq = base;
        while count < MAX_STATUSES {
            let Some(&&(next_seq, at_us)) = iter.peek() else {
                break;
            };
            if next_seq != seq {
                // Not (yet) received: reported as missing.
                symbols[count] = 0;
            } else {
                let delta = (at_us - previous_us + DELTA_UNIT_US / 2).div_euclid(DELTA_UNIT_US);
                if (0..=255).contains(&delta) {
                    symbols[count] = 1;
                    deltas[deltas_len] = delta as u8;
                    deltas_len += 1;
                } else if let Ok(d) = i16::try_from(delta) {
                    symbols[count] = 2;
                    deltas[deltas_len..deltas_len + 2].copy_from_slice(&d.to_be_bytes());
                    deltas_len += 2;
                } else {
                    // A gap the format cannot express: stop here, the next feedback starts a new reference.
                    break;
                }
                previous_us += delta * DELTA_UNIT_US;
                iter.next();
            }
            reported_up_to = seq;
            count += 1;
            seq += 1;
        }
        if count == 0 {
            return None;
        }

        let chunks = count.div_ceil(7);
        let unpadded = 20 + 2 * chunks + deltas_len;
        let len = unpadded.next_multiple_of(4);
        if buf.len() < len {
            return None;
        }
        let padding = len - unpadded;
        let first = 0x80 | if padding > 0 { 0x20 } else { 0 } | 15;
        buf[0] = first;
        buf[1] = packet_type::RTPFB;
        put_u16(buf, 2, (len / 4 - 1) as u16);
        put_u32(buf, 4, sender_ssrc);
        put_u32(buf, 8, self.media_ssrc);
        put_u16(buf, 12, base as u16);
        put_u16(buf, 14, count as u16);
        put_u32(
            buf,
            16,
            ((reference as u32 & 0x00FF_FFFF) << 8) | self.fb_count as u32,
        );
        for c in 0..chunks {
            // Two-bit status vector chunk: 1 1 then seven 2-bit symbols.
            let mut chunk: u16 = 0xC000;
            for i in 0..7 {
                let s = symbols
                    .get(c * 7 + i)
                    .copied()
                    .filter(|_| c * 7 + i < count)
                    .unwrap_or(0);
                chunk |= (s as u16) << (12 - 2 * i);
            }
            put_u16(buf, 20 + 2 * c, chunk);
        }
        let at = 20 + 2 * chunks;
        buf[at..at + deltas_len].copy_from_slice(&deltas[..deltas_len]);
        for b in &mut buf[unpadded..len] {
            *b = 0;
        }
        if padding > 0 {
            buf[len - 1] = padding as u8;
        }

        self.fb_count = self.fb_count.wrapping_add(1);
        self.next_base = Some(reported_up_to + 1);
        while self
            .arrivals
            .front()
            .is_some_and(|&(s, _)| s <= reported_up_to)
        {
            self.arrivals.pop_front();
        }
        Some(len)
    }
}

/// For callers that want the error type of the other RTCP builders.
pub fn write_transport_cc(
    recorder: &mut TwccRecorder,
    buf: &mut [u8],
    sender_ssrc: u32,
) -> Result<usize, RtcpError> {
    recorder
        .write_feedback(buf, sender_ssrc)
        .ok_or(RtcpError::BufferTooSmall)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::rtcp::{RtcpPacket, RtcpView, TwccStatus};
    use std::time::Duration;

    fn parse(buf: &[u8]) -> Vec<(u16, TwccStatus, Option<i64>)> {
        let p = RtcpPacket::parse(buf).unwrap();
        let RtcpView::TransportCc(fb) = p.view().unwrap() else {
            panic!("not transport-cc");
        };
        fb.packets()
            .map(|p| (p.seq, p.status, p.delta_us))
            .collect()
    }

    #[test]
    fn reports_arrivals_losses_and_deltas() {
        let t0 = Instant::now();
        let mut r = TwccRecorder::new();
        r.record(100, 7, t0);
        r.record(101, 7, t0 + Duration::from_millis(5));
        // 102 lost
        r.record(103, 7, t0 + Duration::from_millis(100));
        let mut buf = [0u8; 200];
        let n = r.write_feedback(&mut buf, 1).unwrap();
        assert_eq!(n % 4, 0);
        let got = parse(&buf[..n]);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].0, 100);
        assert_eq!(got[1], (101, TwccStatus::SmallDelta, Some(5000)));
        assert_eq!(got[2].1, TwccStatus::NotReceived);
        assert_eq!(got[3], (103, TwccStatus::LargeDelta, Some(95_000)));
        assert!(!r.has_pending());

        // The next feedback continues after 103 and counts packets.
        r.record(104, 7, t0 + Duration::from_millis(101));
        let n = r.write_feedback(&mut buf, 1).unwrap();
        let got = parse(&buf[..n]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 104);
        assert_eq!(buf[19], 1, "feedback packet count increments");
    }

    #[test]
    fn reordered_and_duplicate_arrivals() {
        let t0 = Instant::now();
        let mut r = TwccRecorder::new();
        r.record(10, 1, t0);
        r.record(12, 1, t0 + Duration::from_millis(2));
        r.record(11, 1, t0 + Duration::from_millis(3));
        r.record(11, 1, t0 + Duration::from_millis(4));
        let mut buf = [0u8; 100];
        let n = r.write_feedback(&mut buf, 1).unwrap();
        let got = parse(&buf[..n]);
        assert_eq!(
            got.iter().map(|g| g.0).collect::<Vec<_>>(),
            vec![10, 11, 12]
        );
        assert!(got.iter().all(|g| g.1 != TwccStatus::NotReceived));
        // A packet older than what was reported is ignored.
        r.record(9, 1, t0 + Duration::from_millis(5));
        assert!(!r.has_pending());
    }

    #[test]
    fn bounded_under_a_flood_and_small_buffers() {
        let t0 = Instant::now();
        let mut r = TwccRecorder::new();
        for i in 0..5000u32 {
            r.record(i as u16, 1, t0 + Duration::from_micros(i as u64 * 100));
        }
        assert!(r.arrivals.len() <= MAX_PENDING);
        let mut tiny = [0u8; 8];
        assert!(r.write_feedback(&mut tiny, 1).is_none());
        let mut buf = [0u8; 1500];
        let n = r.write_feedback(&mut buf, 1).unwrap();
        assert_eq!(parse(&buf[..n]).len(), MAX_STATUSES);
    }
}
