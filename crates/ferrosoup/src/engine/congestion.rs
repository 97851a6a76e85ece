//! Per receiving transport: run the bandwidth estimator, share its estimate among the transport's video consumers
//! (their layers), and send the probes the estimator asks for.
//!
//! Allocation runs every second, and sooner when the estimate moved by more than a sixth. A transport whose client
//! negotiated no transport-cc uses its REMB reports as the estimate, or no limit at all without them.

use std::time::{Duration, Instant};

use super::allocation::{allocate, Claim, LayerOption};
use super::bwe::{Bwe, PROBE_PADDING, PROBE_TICK};
use super::layers::Layers;
use super::transport::{TransportKey, TransportState};
use super::{ConsumerKey, Engine};
use crate::rtp_parameters::MediaKind;

const ALLOCATION_INTERVAL: Duration = Duration::from_secs(1);
/// mediasoup's probator stream, which mediasoup-client receives on a consumer of its own.
pub(crate) const PROBATOR_SSRC: u32 = 1234;
pub(crate) const PROBATOR_PAYLOAD_TYPE: u8 = 127;
pub(crate) const PROBATOR_MID: &[u8] = b"probator";
/// RTP header (12) + one-byte extension block header (4) + mid (1 + 8) + transport-wide seq (1 + 2) + padding to 4.
const PROBE_HEADER: usize = 12 + 4 + 12;

/// A consumer that negotiated transport-cc starts its transport's estimator.
pub(super) fn ensure_bwe(engine: &mut Engine, now: Instant, tkey: TransportKey) {
    if let Some(t) = engine.transports.get_mut(tkey) {
        if t.bwe.is_none() {
            t.bwe = Some(Bwe::new(now));
        }
    }
}

/// When the transport's estimator, probes or layer allocation next need [`handle_timeout`]. Nothing while it has no
/// consumers: they are what all three serve, and `handle_timeout` skips such a transport, so a deadline counted for it
/// would stay in the past and wake the worker for ever.
pub(super) fn deadline(t: &TransportState, now: Instant) -> Option<Instant> {
    if t.consumers.is_empty() {
        return None;
    }
    [t.bwe.as_ref().map(|b| b.poll_timeout()), t.probe_next]
        .into_iter()
        .flatten()
        .fold(allocation_due(t, now), Instant::min)
        .into()
}

/// The transport's estimator, allocation and probes, each when due.
pub(super) fn handle_timeout(engine: &mut Engine, now: Instant, tkey: TransportKey) {
    let Some(t) = engine.transports.get_mut(tkey) else {
        return;
    };
    if t.consumers.is_empty() {
        return;
    }
    if let Some(bwe) = t.bwe.as_mut() {
        bwe.handle_timeout(now);
    }
    if allocation_due(t, now) <= now {
        allocate_transport(engine, now, tkey);
    }
    if engine
        .transports
        .get(tkey)
        .is_some_and(|t| t.probe_next.is_some_and(|at| at <= now))
    {
        send_probes(engine, now, tkey);
    }
}

/// When the consumers' layers are next allocated: a second after the last allocation, or at once (`now`) before the
/// first or once the estimate has moved by more than a sixth since.
fn allocation_due(t: &TransportState, now: Instant) -> Instant {
    match t.last_allocation {
        None => now,
        Some((at, last)) if available_bitrate(t).abs_diff(last) > last / 6 => {
            now.min(at + ALLOCATION_INTERVAL)
        }
        Some((at, _)) => at + ALLOCATION_INTERVAL,
    }
}

fn available_bitrate(t: &TransportState) -> u64 {
    match (&t.bwe, t.remb_bitrate) {
        (Some(bwe), _) => bwe.available_bitrate(),
        (None, Some(remb)) => remb,
        (None, None) => u64::MAX,
    }
}

/// Re-decides the layers of every consumer of the transport.
pub(super) fn allocate_transport(engine: &mut Engine, now: Instant, tkey: TransportKey) {
    let Some(t) = engine.transports.get(tkey) else {
        return;
    };
    let available = available_bitrate(t);
    let mut fixed = 0u64;
    let mut desired = 0u64;
    let mut claims: Vec<Claim<ConsumerKey, Layers>> = Vec::new();
    // What each consumer would take with bandwidth to spare: its preferred spatial layer (what `demand` asks
    // senders for). Not the allocation's choice: a layer switched off at the sender because one link was short
    // could never be measured, and so never be chosen, again.
    let mut preferred: Vec<(ConsumerKey, u8)> = Vec::new();
    let mut simple: Vec<ConsumerKey> = Vec::new();
    let mut inactive: Vec<ConsumerKey> = Vec::new();
    for &ckey in &t.consumers {
        let Some(c) = engine.consumers.get(ckey) else {
            continue;
        };
        let Some(p) = engine.producers.get(c.producer) else {
            continue;
        };
        if !c.is_active() {
            inactive.push(ckey);
            continue;
        }
        let Some(selector) = c.layers.as_ref().filter(|l| {
            c.kind == MediaKind::Video && (l.spatial_layers > 1 || l.temporal_layers > 1)
        }) else {
            let rate = p.streams.first().map_or(0, |s| s.meter.total());
            fixed += rate;
            desired += rate;
            simple.push(ckey);
            continue;
        };
        let options = ladder(selector, p, now);
        preferred.push((ckey, selector.preferred.spatial_layer));
        desired += options.last().map_or(0, |o| o.bitrate);
        claims.push(Claim {
            key: ckey,
            priority: c.priority,
            options,
        });
    }

    for (ckey, spatial) in preferred {
        if let Some(c) = engine.consumers.get_mut(ckey) {
            c.needed_spatial = Some(spatial);
        }
    }
    for (keys, needed) in [(simple, Some(0)), (inactive, None)] {
        for ckey in keys {
            if let Some(c) = engine.consumers.get_mut(ckey) {
                c.needed_spatial = needed;
            }
        }
    }

    let mut key_frames = Vec::new();
    for (ckey, choice) in allocate(available, fixed, &claims) {
        let Some(choice) = choice else {
            // No stream of the producer is active: keep the target, so the first one to come back is taken.
            continue;
        };
        let Some(layers) = claims
            .iter()
            .find(|c| c.key == ckey)
            .and_then(|c| c.options.get(choice))
            .map(|o| o.layers)
        else {
            continue;
        };
        let Some(c) = engine.consumers.get_mut(ckey) else {
            continue;
        };
        if let Some(selector) = c.layers.as_mut() {
            let before = selector.target;
            if selector.set_target(layers) && before != selector.target {
                key_frames.push(c.producer);
            }
            if before != selector.target {
                tracing::debug!(consumer = %c.id, ?layers, available, "consumer target layers");
            }
        }
    }
    if let Some(t) = engine.transports.get_mut(tkey) {
        t.last_allocation = Some((now, available));
        if let Some(bwe) = t.bwe.as_mut() {
            bwe.set_desired_bitrate(now, desired);
            if bwe.probe().is_some() && t.probe_next.is_none() {
                t.probe_next = Some(now);
            }
        }
    }
    if !key_frames.is_empty() {
        engine.request_pending_key_frames(now, Some(tkey));
    }
}

/// A consumer's layer options, cheapest first: per spatial layer (simulcast stream or SVC layer) being sent, up to its
/// preferred one, each temporal layer up to the preferred one, priced at what the producer sends for it now.
fn ladder(
    selector: &super::layers::LayerSelector,
    p: &super::producer::ProducerState,
    now: Instant,
) -> Vec<LayerOption<Layers>> {
    let mut options = Vec::new();
    // Simulcast: one stream per spatial layer. SVC: spatial layers inside stream 0.
    let rungs: Vec<(u8, &super::producer::RecvStream, u8)> = if selector.svc {
        p.streams
            .first()
            .map(|s| {
                (0..=s.meter.max_spatial_id)
                    .map(|sid| (sid, s, sid))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        p.streams
            .iter()
            .enumerate()
            .map(|(i, s)| (i.min(u8::MAX as usize) as u8, s, 0))
            .collect()
    };
    for (spatial, s, sid) in rungs {
        if spatial > selector.preferred.spatial_layer {
            break;
        }
        if !s.meter.is_active(now) || s.meter.bitrate(sid, 0) == 0 {
            continue;
        }
        let top = selector
            .preferred
            .temporal_layer
            .min(s.meter.max_temporal_id);
        for temporal in 0..=top {
            // The last rung lets every temporal layer the application accepts through.
            let layers = if temporal == top {
                Layers::new(spatial, selector.preferred.temporal_layer)
            } else {
                Layers::new(spatial, temporal)
            };
            options.push(LayerOption {
                layers,
                bitrate: s.meter.bitrate(sid, temporal),
            });
        }
    }
    if p.screen_share {
        // Resolution first: below the highest spatial layer on offer, only its lowest temporal rung.
        if let Some(top) = options.last().map(|o| o.layers.spatial_layer) {
            let mut previous_spatial = None;
            options.retain(|o| {
                let keep = o.layers.spatial_layer == top
                    || previous_spatial != Some(o.layers.spatial_layer);
                previous_spatial = Some(o.layers.spatial_layer);
                keep
            });
        }
    }
    options
}

/// Sends this tick's share of the current probe cluster: padding-only packets on the probator stream.
fn send_probes(engine: &mut Engine, now: Instant, tkey: TransportKey) {
    // The probator carries the mid and transport-wide-cc extension ids the client's video consumers use.
    let Some(t) = engine.transports.get(tkey) else {
        return;
    };
    let ids = t
        .consumers
        .iter()
        .filter_map(|k| engine.consumers.get(*k))
        .find(|c| c.kind == MediaKind::Video && c.twcc_ext != 0)
        .map(|c| (c.mid_ext, c.twcc_ext));
    let Some(t) = engine.transports.get_mut(tkey) else {
        return;
    };
    let (Some((mid_ext, twcc_ext)), Some((socket, to)), true) =
        (ids, t.selected, t.srtp_out.is_some())
    else {
        t.probe_next = None;
        return;
    };
    let Some(bwe) = t.bwe.as_mut() else {
        t.probe_next = None;
        return;
    };
    let Some(probe) = bwe.probe() else {
        t.probe_next = None;
        return;
    };
    probe.started.get_or_insert(now);
    let (id, bitrate) = (probe.id, probe.bitrate);
    let packet_size = (PROBE_HEADER + PROBE_PADDING) as u64;
    let per_tick = (bitrate * PROBE_TICK.as_micros() as u64 / 8_000_000 / packet_size).max(1);
    for _ in 0..per_tick.min(64) {
        let seq = t.twcc_seq;
        let probe_seq = t.probe_seq;
        let ts = (now.saturating_duration_since(engine.epoch).as_micros() as u64 * 9 / 100) as u32;
        let Some(srtp) = t.srtp_out.as_mut() else {
            break;
        };
        let mut len = 0;
        let sent = engine.outbox.push_with(socket, to, 1500, |buf| {
            let n = write_probe(buf, probe_seq, ts, mid_ext, twcc_ext, seq)?;
            len = srtp.protect_rtp(buf, n).ok()?;
            Some(len)
        });
        if !sent {
            break;
        }
        t.twcc_seq = t.twcc_seq.wrapping_add(1);
        t.probe_seq = t.probe_seq.wrapping_add(1);
        t.bytes_sent += len as u64;
        t.probation_bytes_sent += len as u64;
        let Some(bwe) = t.bwe.as_mut() else {
            break;
        };
        bwe.on_sent(now, seq, len, false, Some(id));
        let Some(probe) = bwe.probe() else {
            break;
        };
        if probe.id != id {
            break;
        }
        probe.bytes_sent += len as u64;
        probe.packets_sent += 1;
    }
    let more = t.bwe.as_mut().is_some_and(|b| b.probe().is_some());
    t.probe_next = more.then_some(now + PROBE_TICK);
}

/// Writes one probator packet: RTP header with padding, the mid and transport-wide sequence extensions, and
/// `PROBE_PADDING` bytes of padding. Returns its length.
fn write_probe(
    buf: &mut [u8],
    seq: u16,
    timestamp: u32,
    mid_ext: u8,
    twcc_ext: u8,
    twcc_seq: u16,
) -> Option<usize> {
    let len = PROBE_HEADER + PROBE_PADDING;
    let out = buf.get_mut(..len)?;
    out.fill(0);
    out[0] = 0x80 | 0x20 | 0x10; // V=2, padding, extension
    out[1] = PROBATOR_PAYLOAD_TYPE;
    out[2..4].copy_from_slice(&seq.to_be_bytes());
    out[4..8].copy_from_slice(&timestamp.to_be_bytes());
    out[8..12].copy_from_slice(&PROBATOR_SSRC.to_be_bytes());
    out[12..14].copy_from_slice(&[0xBE, 0xDE]);
    out[14..16].copy_from_slice(&3u16.to_be_bytes()); // 12 bytes of extensions
    let mut at = 16;
    if mid_ext != 0 && mid_ext < 15 {
        out[at] = (mid_ext << 4) | (PROBATOR_MID.len() as u8 - 1);
        out[at + 1..at + 1 + PROBATOR_MID.len()].copy_from_slice(PROBATOR_MID);
        at += 1 + PROBATOR_MID.len();
    }
    if twcc_ext != 0 && twcc_ext < 15 {
        out[at] = (twcc_ext << 4) | 1;
        out[at + 1..at + 3].copy_from_slice(&twcc_seq.to_be_bytes());
    }
    out[len - 1] = PROBE_PADDING as u8;
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacket;

    #[test]
    fn probe_packets_parse_as_padding_with_the_probator_mid() {
        let mut buf = [0u8; 1500];
        let n = write_probe(&mut buf, 7, 90_000, 1, 3, 500).unwrap();
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        assert_eq!(p.ssrc(), PROBATOR_SSRC);
        assert_eq!(p.payload_type(), PROBATOR_PAYLOAD_TYPE);
        assert_eq!(p.sequence_number(), 7);
        assert_eq!(p.payload_len(), 0);
        assert_eq!(p.mid(1), Some("probator"));
        assert_eq!(p.transport_wide_cc_seq(3), Some(500));
    }
}
