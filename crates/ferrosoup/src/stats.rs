//! Statistics in mediasoup's shapes (`transport.getStats()`, `producer.getStats()`, `consumer.getStats()`), so
//! dashboards written for mediasoup read them unchanged.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ids::TransportId;
use crate::rtp_parameters::MediaKind;
use crate::transport::{DtlsState, IceState};

/// Which way an RTP stream flows, as its `type` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RtpStreamDirection {
    /// A producer's stream, received by the server.
    #[serde(rename = "inbound-rtp")]
    Inbound,
    /// A consumer's stream, sent by the server.
    #[serde(rename = "outbound-rtp")]
    Outbound,
}

/// One RTP stream: a producer's encoding (inbound) or a consumer's stream (outbound).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpStreamStats {
    #[serde(rename = "type")]
    pub direction: RtpStreamDirection,
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    pub ssrc: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtx_ssrc: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    pub kind: MediaKind,
    pub mime_type: String,
    pub packets_lost: i64,
    /// Fraction lost over the last report interval, in 1/256 units (RTCP's form).
    pub fraction_lost: u8,
    pub packets_discarded: u64,
    pub packets_retransmitted: u64,
    pub packets_repaired: u64,
    pub nack_count: u64,
    pub nack_packet_count: u64,
    pub pli_count: u64,
    pub fir_count: u64,
    pub score: u8,
    pub packet_count: u64,
    pub byte_count: u64,
    /// Bits per second over the last second.
    pub bitrate: u64,
    /// Milliseconds, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round_trip_time: Option<f64>,
    /// In RTP timestamp units.
    pub jitter: u32,
    /// Inbound only: bits per second per layer, keyed `"<spatial>.<temporal>"` (temporal layers cumulative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bitrate_by_layer: Option<BTreeMap<String, u64>>,
}

/// The local and remote address media flows between.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportTuple {
    pub local_ip: String,
    pub local_port: u16,
    pub remote_ip: String,
    pub remote_port: u16,
    pub protocol: &'static str,
}

/// A transport's counters, in the shape of mediasoup's `transport.getStats()`: the common counters and, flattened
/// in, what only its kind has.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportStats {
    /// `"webrtc-transport"` or `"plain-rtp-transport"`.
    #[serde(rename = "type")]
    pub transport_type: &'static str,
    pub transport_id: TransportId,
    pub timestamp: u64,
    pub bytes_received: u64,
    pub recv_bitrate: u64,
    pub bytes_sent: u64,
    pub send_bitrate: u64,
    pub probation_bytes_sent: u64,
    /// The send-side bandwidth estimate (transport-cc), or the client's REMB, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_outgoing_bitrate: Option<u64>,
    #[serde(flatten)]
    pub kind: TransportKindStats,
}

/// The part of [`TransportStats`] that depends on the kind of transport.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TransportKindStats {
    #[serde(rename_all = "camelCase")]
    WebRtc {
        /// Always `"controlled"`: the server is ICE-lite.
        ice_role: &'static str,
        ice_state: IceState,
        #[serde(skip_serializing_if = "Option::is_none")]
        ice_selected_tuple: Option<TransportTuple>,
        dtls_state: DtlsState,
    },
    /// mediasoup's `PlainTransportStat` fields: no ICE or DTLS, the RTP and RTCP tuples instead.
    #[serde(rename_all = "camelCase")]
    Plain {
        rtcp_mux: bool,
        comedia: bool,
        tuple: crate::transport::TransportTuple,
        #[serde(skip_serializing_if = "Option::is_none")]
        rtcp_tuple: Option<crate::transport::TransportTuple>,
    },
}
