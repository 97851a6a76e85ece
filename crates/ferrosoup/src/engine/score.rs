//! Scores, 0–10, as mediasoup reports them: for each producer stream, how well we receive it (loss over the last
//! report interval; 0 when nothing arrives); for each consumer, how well its client receives it (the fraction lost
//! in the client's receiver reports). Computed once per report interval; events only when a score changes.

use std::time::Instant;

use super::Engine;
use crate::consumer::ConsumerScore;
use crate::producer::ProducerScore;
use crate::router::RouterEvent;

/// 10 for no loss, falling steeply: delivered⁴ × 10 (5 % loss → 8, 20 % → 4).
pub(crate) fn score_from_delivered(delivered: f64) -> u8 {
    (delivered.clamp(0.0, 1.0).powi(4) * 10.0).round() as u8
}

pub(super) fn update(engine: &mut Engine, now: Instant) {
    for p in engine.producers.values_mut() {
        let mut changed = false;
        for s in p.streams.iter_mut() {
            s.meter.roll(now);
            let (expected, received) = (s.stats.packets_expected(), s.stats.packets_received());
            let (base_expected, base_received) = s.score_base;
            s.score_base = (expected, received);
            let expected = expected.wrapping_sub(base_expected);
            let received = received.wrapping_sub(base_received);
            s.fraction_lost = if expected == 0 {
                0
            } else {
                (expected.saturating_sub(received) as u64 * 256 / expected as u64).min(255) as u8
            };
            let score = if expected == 0 || received == 0 || !s.meter.is_active(now) {
                0
            } else {
                score_from_delivered(received as f64 / expected as f64)
            };
            changed |= score != s.score;
            s.score = score;
        }
        // A pipe producer's score is about an in-memory queue; the owner hears its source's.
        if changed && !p.paused && p.pipe_source.is_none() {
            if let Some(router) = engine.routers.get(&p.router) {
                router.emit(RouterEvent::ProducerScore {
                    producer_id: p.id,
                    scores: p
                        .streams
                        .iter()
                        .enumerate()
                        .map(|(i, s)| ProducerScore {
                            encoding_idx: i,
                            ssrc: s.ssrc.unwrap_or(0),
                            rid: s.rid.clone(),
                            score: s.score,
                        })
                        .collect(),
                });
            }
        }
    }
    for t in engine.transports.values_mut() {
        let (sent, received) = (t.bytes_sent, t.bytes_received);
        t.send_bitrate = sent.saturating_sub(t.bitrate_base.0) * 8;
        t.recv_bitrate = received.saturating_sub(t.bitrate_base.1) * 8;
        t.bitrate_base = (sent, received);
    }
    for c in engine.consumers.values_mut() {
        c.bitrate = c.bytes_sent.saturating_sub(c.bitrate_base) * 8;
        c.bitrate_base = c.bytes_sent;
        let Some(p) = engine.producers.get(c.producer) else {
            continue;
        };
        let score = if c.stats.packets_sent() == 0 {
            c.score
        } else {
            score_from_delivered(1.0 - c.stats.remote_fraction_lost() as f64 / 256.0)
        };
        let producer_score = c
            .current_stream()
            .and_then(|i| p.streams.get(i))
            .map_or(0, |s| s.score);
        // Compared without allocating: simulcast has a handful of streams (beyond four they ride along unchecked).
        let mut streams = [0u8; 4];
        for (slot, s) in streams.iter_mut().zip(&p.streams) {
            *slot = s.score;
        }
        let key = (score, producer_score, streams);
        if c.reported_score == Some(key) {
            continue;
        }
        c.score = score;
        c.reported_score = Some(key);
        let producer_scores: Vec<u8> = p.streams.iter().map(|s| s.score).collect();
        let Some(router) = engine
            .transports
            .get(c.transport)
            .and_then(|t| engine.routers.get(&t.router))
        else {
            continue;
        };
        router.emit(RouterEvent::ConsumerScore {
            consumer_id: c.id,
            score: ConsumerScore {
                score,
                producer_score,
                producer_scores,
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_delivery() {
        assert_eq!(score_from_delivered(1.0), 10);
        assert_eq!(score_from_delivered(0.95), 8);
        assert_eq!(score_from_delivered(0.8), 4);
        assert_eq!(score_from_delivered(0.0), 0);
        assert_eq!(score_from_delivered(1.5), 10);
    }
}
