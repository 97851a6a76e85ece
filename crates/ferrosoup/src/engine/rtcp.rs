//! RTCP: feedback from receivers routed to producers, key-frame requests, and the periodic sender and receiver
//! reports.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::producer::KeyFrameRequest;
use super::transport::TransportKey;
use super::{Engine, ProducerKey};
use crate::rtp::{self, FirEntry, ReportBlock, RtcpView};

/// A producer stream is asked for a key frame at most this often, however many consumers want one: the answer to the
/// first request serves them all.
const KEY_FRAME_INTERVAL: Duration = Duration::from_secs(1);
/// Room for one compound RTCP packet plus the SRTCP trailer.
const RTCP_BUFFER: usize = 1500;
/// Report blocks per receiver report (RFC 3550's 5-bit count).
const MAX_REPORT_BLOCKS: usize = 31;

/// Asks the producer's sender for a key frame on one of its streams, or all (PLI or FIR, as it negotiated),
/// throttled.
pub(super) fn request_key_frame(
    engine: &mut Engine,
    now: Instant,
    pkey: ProducerKey,
    stream: Option<usize>,
) {
    let Some(p) = engine.producers.get_mut(pkey) else {
        return;
    };
    if let Some(source) = &p.pipe_source {
        // A pipe producer asks its source, throttled here as well so a busy room does not flood the pipe.
        for (index, s) in p.streams.iter_mut().enumerate() {
            if stream.is_some_and(|wanted| wanted != index)
                || s.last_key_frame_request
                    .is_some_and(|at| now.saturating_duration_since(at) < KEY_FRAME_INTERVAL)
            {
                continue;
            }
            if super::pipe::send_key_frame_request(source, Some(index)) {
                s.last_key_frame_request = Some(now);
                s.pli_count += 1;
            }
        }
        return;
    }
    let Some(t) = engine.transports.get_mut(p.transport) else {
        return;
    };
    let (Some((socket, to)), Some(srtp)) = (t.rtcp_target(), t.srtp_out.as_mut()) else {
        return;
    };
    for (index, s) in p.streams.iter_mut().enumerate() {
        let Some(media_ssrc) = s.ssrc else {
            continue;
        };
        if stream.is_some_and(|wanted| wanted != index) {
            continue;
        }
        if s.last_key_frame_request
            .is_some_and(|at| now.saturating_duration_since(at) < KEY_FRAME_INTERVAL)
        {
            continue;
        }
        let (rtcp_ssrc, request) = (t.rtcp_ssrc, p.key_frame_request);
        if request == KeyFrameRequest::Fir {
            p.fir_seq = p.fir_seq.wrapping_add(1);
        }
        let fir_seq = p.fir_seq;
        let sent = engine.outbox.push_with(socket, to, RTCP_BUFFER, |buf| {
            let n = match request {
                KeyFrameRequest::Pli => rtp::write_pli(buf, rtcp_ssrc, media_ssrc).ok()?,
                KeyFrameRequest::Fir => rtp::write_fir(
                    buf,
                    rtcp_ssrc,
                    &[FirEntry {
                        ssrc: media_ssrc,
                        seq_nr: fir_seq,
                    }],
                )
                .ok()?,
                KeyFrameRequest::None => return None,
            };
            srtp.protect_rtcp(buf, n).ok()
        });
        if sent {
            s.last_key_frame_request = Some(now);
            match request {
                KeyFrameRequest::Pli => s.pli_count += 1,
                KeyFrameRequest::Fir => s.fir_count += 1,
                KeyFrameRequest::None => {}
            }
            tracing::debug!(producer = %p.id, ssrc = media_ssrc, "key frame requested");
        }
    }
}

/// One decrypted compound RTCP packet from transport `tkey`'s client.
pub(super) fn handle_incoming(engine: &mut Engine, now: Instant, tkey: TransportKey, plain: &[u8]) {
    for packet in rtp::compound(plain) {
        let Ok(packet) = packet else {
            // The rest of a compound packet cannot be trusted once one length is wrong.
            engine.dropped.rtcp_malformed += 1;
            return;
        };
        let Ok(view) = packet.view() else {
            continue;
        };
        match view {
            RtcpView::Pli(pli) => key_frame_wanted(engine, now, tkey, pli.media_ssrc, false),
            RtcpView::Fir(fir) => {
                for entry in fir.entries() {
                    key_frame_wanted(engine, now, tkey, entry.ssrc, true);
                }
            }
            RtcpView::TransportCc(feedback) => {
                if let Some(bwe) = engine.transports.get_mut(tkey).and_then(|t| t.bwe.as_mut()) {
                    bwe.on_feedback(now, &feedback);
                }
            }
            RtcpView::Remb(remb) => {
                if let Some(t) = engine.transports.get_mut(tkey) {
                    t.remb_bitrate = Some(remb.bitrate);
                }
            }
            RtcpView::SenderReport(sr) => {
                let Some(t) = engine.transports.get(tkey) else {
                    continue;
                };
                if let Some(&(pkey, stream)) = t.ssrc_table.get(&sr.ssrc) {
                    if let Some(s) = engine
                        .producers
                        .get_mut(pkey)
                        .and_then(|p| p.streams.get_mut(stream))
                    {
                        s.stats.on_sender_report(&sr.info, now);
                    }
                }
                on_report_blocks(engine, now, tkey, sr.reports);
            }
            RtcpView::ReceiverReport(rr) => on_report_blocks(engine, now, tkey, rr.reports),
            RtcpView::Nack(nack) => engine.retransmit(now, tkey, nack.media_ssrc, nack.lost()),
            _ => {}
        }
    }
}

fn key_frame_wanted(
    engine: &mut Engine,
    now: Instant,
    tkey: TransportKey,
    media_ssrc: u32,
    fir: bool,
) {
    let Some(c) = engine
        .transports
        .get(tkey)
        .and_then(|t| t.consumer_ssrcs.get(&media_ssrc))
        .and_then(|ckey| engine.consumers.get_mut(*ckey))
    else {
        return;
    };
    if fir {
        c.fir_count += 1;
    } else {
        c.pli_count += 1;
    }
    let (pkey, stream) = (c.producer, c.wanted_stream());
    request_key_frame(engine, now, pkey, Some(stream));
}

fn on_report_blocks(
    engine: &mut Engine,
    now: Instant,
    tkey: TransportKey,
    blocks: impl Iterator<Item = ReportBlock>,
) {
    let arrival = engine.ntp.now();
    for block in blocks {
        let Some(ckey) = engine
            .transports
            .get(tkey)
            .and_then(|t| t.consumer_ssrcs.get(&block.ssrc).copied())
        else {
            continue;
        };
        let Some(c) = engine.consumers.get_mut(ckey) else {
            continue;
        };
        if let Some(rtt) = c.stats.on_report_block(&block, arrival) {
            if let Some(t) = engine.transports.get_mut(tkey) {
                t.rtt = Some(rtt);
                if let Some(bwe) = t.bwe.as_mut() {
                    bwe.on_rtt(now, rtt);
                }
            }
        }
    }
}

/// Every second: a receiver report to each producing client about its streams, and a sender report (with CNAME) for
/// each consumer that has sent something.
pub(super) fn send_reports(engine: &mut Engine, now: Instant) {
    refresh_host_rtts(engine);
    let ntp = engine.ntp.ntp_at(now);
    let keys: Vec<TransportKey> = engine.transports.keys().collect();
    for tkey in keys {
        let Some(t) = engine.transports.get_mut(tkey) else {
            continue;
        };
        let (Some((socket, to)), Some(srtp)) = (t.rtcp_target(), t.srtp_out.as_mut()) else {
            continue;
        };

        let mut blocks = [ReportBlock::default(); MAX_REPORT_BLOCKS];
        let mut count = 0;
        for &pkey in &t.producers {
            let Some(p) = engine.producers.get_mut(pkey) else {
                continue;
            };
            for s in p.streams.iter_mut() {
                if count < MAX_REPORT_BLOCKS {
                    if let Some(block) = s.stats.report_block(now) {
                        blocks[count] = block;
                        count += 1;
                    }
                }
            }
        }
        if count > 0 {
            engine.outbox.push_with(socket, to, RTCP_BUFFER, |buf| {
                let n = rtp::write_receiver_report(buf, t.rtcp_ssrc, &blocks[..count]).ok()?;
                srtp.protect_rtcp(buf, n).ok()
            });
        }

        for &ckey in &t.consumers {
            let Some(c) = engine.consumers.get(ckey) else {
                continue;
            };
            let Some(info) = c.stats.sender_info(now, ntp) else {
                continue;
            };
            let cname = c
                .rtp_parameters
                .rtcp
                .cname
                .as_deref()
                .unwrap_or("ferrosoup");
            engine.outbox.push_with(socket, to, RTCP_BUFFER, |buf| {
                let n = rtp::write_sender_report(buf, c.ssrc, &info, &[]).ok()?;
                let m = rtp::write_sdes_cname(buf.get_mut(n..)?, c.ssrc, cname).ok()?;
                srtp.protect_rtcp(buf, n + m).ok()
            });
        }
    }
}

/// Sends transport-cc feedback to every client whose packets arrived since the last round, and NACKs for the packets
/// its streams are missing. Returns whether anything is still pending (so the timer keeps running).
pub(super) fn send_transport_feedback(engine: &mut Engine, now: Instant) -> bool {
    let mut pending = send_nacks(engine, now);
    for t in engine.transports.values_mut() {
        if !t.twcc.has_pending() {
            continue;
        }
        let (Some((socket, to)), Some(srtp)) = (t.rtcp_target(), t.srtp_out.as_mut()) else {
            continue;
        };
        let sender = t.rtcp_ssrc;
        let twcc = &mut t.twcc;
        engine.outbox.push_with(socket, to, RTCP_BUFFER, |buf| {
            let n = twcc.write_feedback(buf, sender)?;
            srtp.protect_rtcp(buf, n).ok()
        });
        pending |= t.twcc.has_pending();
    }
    pending
}

/// Asks each producing client for the packets its streams are missing (generic NACK), each at most once per
/// interval and a bounded number of times. Returns whether any stream still misses packets.
/// Gives every transport the round-trip time to its client's host: the smallest measured on any transport whose
/// client is at the same IP. That is how NACKs to a publisher are paced by RTT (as mediasoup does) although a send-only
/// browser transport reports none: its sibling receive transport does. Once a second, with the reports.
pub(super) fn refresh_host_rtts(engine: &mut Engine) {
    let mut by_ip: HashMap<IpAddr, Duration> = HashMap::new();
    for t in engine.transports.values() {
        if let (Some((_, addr)), Some(rtt)) = (t.selected, t.rtt) {
            let best = by_ip.entry(addr.ip()).or_insert(rtt);
            *best = (*best).min(rtt);
        }
    }
    for t in engine.transports.values_mut() {
        t.host_rtt = t
            .selected
            .and_then(|(_, addr)| by_ip.get(&addr.ip()).copied());
    }
}

fn send_nacks(engine: &mut Engine, now: Instant) -> bool {
    let mut pending = false;
    let mut lost: Vec<u16> = Vec::new();
    for p in engine.producers.values_mut() {
        if !p.nack {
            continue;
        }
        let Some(t) = engine.transports.get_mut(p.transport) else {
            continue;
        };
        let rtt = t.host_rtt;
        let (Some((socket, to)), Some(srtp)) = (t.rtcp_target(), t.srtp_out.as_mut()) else {
            continue;
        };
        for s in p.streams.iter_mut() {
            let Some(media_ssrc) = s.ssrc else {
                continue;
            };
            lost.clear();
            s.nack.due(now, rtt, &mut lost);
            pending |= s.nack.has_missing();
            if lost.is_empty() {
                continue;
            }
            let sender = t.rtcp_ssrc;
            let sent = engine.outbox.push_with(socket, to, RTCP_BUFFER, |buf| {
                let n = rtp::write_nack_from_seqs(buf, sender, media_ssrc, lost.iter().copied())
                    .ok()?;
                srtp.protect_rtcp(buf, n).ok()
            });
            if sent {
                s.nack_count += 1;
                s.nack_packet_count += lost.len() as u64;
            }
        }
    }
    pending
}
