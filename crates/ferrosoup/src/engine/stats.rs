//! Builds the stats reports (`crate::stats`) from engine state.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::consumer::ConsumerState;
use super::producer::{ProducerState, RecvStream};
use super::transport::TransportState;
use super::Engine;
use crate::stats::{
    RtpStreamDirection, RtpStreamStats, TransportKindStats, TransportStats, TransportTuple,
};

fn timestamp() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn inbound(p: &ProducerState, index: usize, s: &RecvStream, ts: u64) -> RtpStreamStats {
    let mime_type = p
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| !c.is_rtx())
        .map_or_else(String::new, |c| c.mime_type.clone());
    let mut by_layer = BTreeMap::new();
    for sid in 0..=s.meter.max_spatial_id {
        for t in 0..=s.meter.max_temporal_id {
            by_layer.insert(
                format!("{}.{t}", index + sid as usize),
                s.meter.bitrate(sid, t),
            );
        }
    }
    RtpStreamStats {
        direction: RtpStreamDirection::Inbound,
        timestamp: ts,
        ssrc: s.ssrc.unwrap_or(0),
        rtx_ssrc: s.rtx_ssrc,
        rid: s.rid.clone(),
        kind: p.kind,
        mime_type,
        packets_lost: s.stats.cumulative_lost() as i64,
        fraction_lost: s.fraction_lost,
        packets_discarded: 0,
        packets_retransmitted: s.retransmitted,
        packets_repaired: s.retransmitted,
        nack_count: s.nack_count,
        nack_packet_count: s.nack_packet_count,
        pli_count: s.pli_count,
        fir_count: s.fir_count,
        score: s.score,
        packet_count: s.stats.packets_received() as u64,
        byte_count: s.bytes,
        bitrate: s.meter.total(),
        round_trip_time: None,
        jitter: s.stats.jitter(),
        bitrate_by_layer: Some(by_layer),
    }
}

fn outbound(c: &ConsumerState, ts: u64) -> RtpStreamStats {
    RtpStreamStats {
        direction: RtpStreamDirection::Outbound,
        timestamp: ts,
        ssrc: c.ssrc,
        rtx_ssrc: c.rtx_ssrc,
        rid: None,
        kind: c.kind,
        mime_type: c
            .rtp_parameters
            .codecs
            .first()
            .map_or_else(String::new, |m| m.mime_type.clone()),
        packets_lost: c.stats.remote_cumulative_lost() as i64,
        fraction_lost: c.stats.remote_fraction_lost(),
        packets_discarded: 0,
        packets_retransmitted: c.retransmitted,
        packets_repaired: c.retransmitted,
        nack_count: c.nack_count,
        nack_packet_count: c.nack_packet_count,
        pli_count: c.pli_count,
        fir_count: c.fir_count,
        score: c.score,
        packet_count: c.stats.packets_sent() as u64,
        byte_count: c.bytes_sent,
        bitrate: c.bitrate,
        round_trip_time: c.stats.rtt().map(|d| d.as_secs_f64() * 1000.0),
        jitter: c.stats.remote_jitter(),
        bitrate_by_layer: None,
    }
}

impl Engine {
    pub(super) fn producer_stats(&self, p: &ProducerState) -> Vec<RtpStreamStats> {
        let ts = timestamp();
        p.streams
            .iter()
            .enumerate()
            .filter(|(_, s)| s.ssrc.is_some())
            .map(|(i, s)| inbound(p, i, s, ts))
            .collect()
    }

    /// The consumer's outgoing stream, then the producer stream it forwards (as mediasoup reports them).
    pub(super) fn consumer_stats(&self, c: &ConsumerState) -> Vec<RtpStreamStats> {
        let ts = timestamp();
        let mut stats = vec![outbound(c, ts)];
        if let (Some(p), Some(index)) = (self.producers.get(c.producer), c.current_stream()) {
            if let Some(s) = p.streams.get(index).filter(|s| s.ssrc.is_some()) {
                stats.push(inbound(p, index, s, ts));
            }
        }
        stats
    }

    pub(super) fn transport_stats(&self, t: &TransportState) -> TransportStats {
        let tuple = t.selected.and_then(|(socket, remote)| {
            let local = self.socket_local(socket)?;
            Some(TransportTuple {
                local_ip: local.ip().to_string(),
                local_port: local.port(),
                remote_ip: remote.ip().to_string(),
                remote_port: remote.port(),
                protocol: "udp",
            })
        });
        let (transport_type, kind) = match &t.plain {
            Some(plain) => {
                let info = plain.info(t.id);
                (
                    "plain-rtp-transport",
                    TransportKindStats::Plain {
                        rtcp_mux: info.rtcp_mux,
                        comedia: info.comedia,
                        tuple: info.tuple,
                        rtcp_tuple: info.rtcp_tuple,
                    },
                )
            }
            None => (
                "webrtc-transport",
                TransportKindStats::WebRtc {
                    ice_role: "controlled",
                    ice_state: t.ice_state,
                    ice_selected_tuple: tuple,
                    dtls_state: t.dtls.state(),
                },
            ),
        };
        TransportStats {
            transport_type,
            transport_id: t.id,
            timestamp: timestamp(),
            bytes_received: t.bytes_received,
            recv_bitrate: t.recv_bitrate,
            bytes_sent: t.bytes_sent,
            send_bitrate: t.send_bitrate,
            probation_bytes_sent: t.probation_bytes_sent,
            available_outgoing_bitrate: t
                .bwe
                .as_ref()
                .map(|b| b.available_bitrate())
                .or(t.remb_bitrate),
            kind,
        }
    }
}
