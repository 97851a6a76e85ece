//! Engine-side state of a producer: how to recognise its packets and turn them into the router's form.

use std::time::Instant;

use slotmap::new_key_type;

use super::meter::LayerMeter;
use super::retransmit::{NackTracker, PacketRing};
use super::transport::TransportKey;
use super::ConsumerKey;
use crate::ids::{ProducerId, RouterId};
use crate::ortc::{self, RtpMapping};
use crate::producer::{ProducerInfo, ProducerType};
use crate::rtp::{CodecKind, ExtensionIdMap};
use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpParameters, ScalabilityMode};
use crate::Error;

new_key_type! {
    /// Index of a producer in the engine's arena.
    pub(crate) struct ProducerKey;
}

pub(crate) const URI_MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
pub(crate) const URI_RID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

/// How a producer's sender wants to be asked for a key frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFrameRequest {
    Pli,
    Fir,
    None,
}

/// One encoding (simulcast stream) of a producer.
pub(crate) struct RecvStream {
    /// The sender's SSRC: signalled, or learned from the first packet carrying this stream's rid.
    pub ssrc: Option<u32>,
    pub rtx_ssrc: Option<u32>,
    pub rid: Option<String>,
    /// The SSRC the router uses for this stream.
    pub mapped_ssrc: u32,
    pub clock_rate: u32,
    pub last_key_frame_request: Option<Instant>,
    pub stats: crate::rtp::ReceiveStats,
    /// Recent packets, to answer consumers' NACKs (only when the stream's codec negotiated NACK).
    pub ring: Option<PacketRing>,
    /// Gaps to ask the sender to repair.
    pub nack: NackTracker,
    /// Bitrate per temporal layer.
    pub meter: LayerMeter,
    /// The latest AV1 dependency descriptor structure of this stream.
    pub dd: crate::rtp::dependency_descriptor::DdState,
    /// 0–10: how well we receive this stream (from loss over the last report interval).
    pub score: u8,
    /// (expected, received) at the last score update.
    pub score_base: (u32, u32),
    /// Loss over the last report interval, in 1/256 units.
    pub fraction_lost: u8,
    pub retransmitted: u64,
    pub nack_count: u64,
    pub nack_packet_count: u64,
    pub pli_count: u64,
    pub fir_count: u64,
    pub bytes: u64,
}

pub(crate) struct ProducerState {
    pub id: ProducerId,
    pub router: RouterId,
    pub transport: TransportKey,
    pub kind: MediaKind,
    pub producer_type: ProducerType,
    pub paused: bool,
    pub rtp_parameters: RtpParameters,
    pub consumable: RtpParameters,
    /// Sender payload type → router payload type (0xFF: unknown, dropped).
    pub pt_map: [u8; 128],
    /// Router payload type → codec, to look into payloads (key frames).
    pub codec_of: [Option<CodecKind>; 128],
    /// Sender extension id → router id; unknown ones are blanked.
    pub ext_map: ExtensionIdMap,
    /// The sender's ids of the mid and rid extensions (0: not negotiated).
    pub mid_ext: u8,
    pub rid_ext: u8,
    /// The sender's id of transport-wide-cc (0: not negotiated).
    pub twcc_ext: u8,
    /// The router's id of the dependency descriptor, when the sender negotiated it (0: not).
    pub dd_ext: u8,
    pub streams: Vec<RecvStream>,
    /// Temporal layers per stream, from the scalability mode (1 when none).
    pub temporal_layers: u8,
    /// Spatial layers inside the one stream of an SVC producer (1 otherwise).
    pub spatial_layers: u8,
    /// A screen share (see `ProducerOptions::screen_share`).
    pub screen_share: bool,
    /// Which of its layers anyone needs, and what the application was told.
    pub demand: super::demand::Demand,
    pub consumers: Vec<ConsumerKey>,
    pub key_frame_request: KeyFrameRequest,
    pub fir_seq: u8,
    /// Whether the sender takes NACKs (its codec lists `nack`).
    pub nack: bool,
    /// Sender RTX payload type → the payload type it repairs (0xFF: not RTX).
    pub rtx_apt: [u8; 128],
    /// Pipe producers in other workers fed by this one (see `pipe`).
    pub pipe_sinks: Vec<super::pipe::PipeSink>,
    /// For a pipe producer: the source producer in another worker. Such a producer has no transport.
    pub pipe_source: Option<super::pipe::PipeEnd>,
}

impl ProducerState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: ProducerId,
        router: RouterId,
        transport: TransportKey,
        kind: MediaKind,
        rtp_parameters: RtpParameters,
        consumable: RtpParameters,
        mapping: &RtpMapping,
        caps: &RtpCapabilities,
        paused: bool,
    ) -> Result<Self, Error> {
        let mut pt_map = [0xFFu8; 128];
        for m in &mapping.codecs {
            if let Some(slot) = pt_map.get_mut(m.payload_type as usize) {
                *slot = m.mapped_payload_type;
            }
        }
        let mut codec_of = [None; 128];
        for codec in &consumable.codecs {
            if let Some(slot) = codec_of.get_mut(codec.payload_type as usize) {
                *slot = CodecKind::from_mime(&codec.mime_type);
            }
        }
        let mut ext_map = ExtensionIdMap::drop_all();
        for (from, to) in
            ortc::producer_header_extension_ids(kind, &rtp_parameters.header_extensions, caps)
        {
            ext_map.set(from, to);
        }
        let ext_id = |uri: &str| rtp_parameters.header_extension_id(uri).unwrap_or(0);
        let media_codec = rtp_parameters
            .codecs
            .iter()
            .find(|c| !c.is_rtx())
            .ok_or_else(|| Error::InvalidState("rtpParameters has no media codec".into()))?;
        let clock_rate = media_codec.clock_rate;
        let feedback = |t: &str, p: &str| {
            media_codec
                .rtcp_feedback
                .iter()
                .any(|f| f.r#type == t && f.parameter == p)
        };
        let nack = feedback("nack", "");
        let mut rtx_apt = [0xFFu8; 128];
        for codec in rtp_parameters.codecs.iter().filter(|c| c.is_rtx()) {
            if let (Some(slot), Some(apt)) =
                (rtx_apt.get_mut(codec.payload_type as usize), codec.apt())
            {
                *slot = apt;
            }
        }
        let key_frame_request = if feedback("nack", "pli") {
            KeyFrameRequest::Pli
        } else if feedback("ccm", "fir") {
            KeyFrameRequest::Fir
        } else if kind == MediaKind::Video {
            // Browsers answer PLI even when they did not list it.
            KeyFrameRequest::Pli
        } else {
            KeyFrameRequest::None
        };

        let streams = rtp_parameters
            .encodings
            .iter()
            .zip(mapping.encodings.iter())
            .map(|(encoding, mapped)| RecvStream {
                ssrc: encoding.ssrc,
                rtx_ssrc: encoding.rtx.map(|r| r.ssrc),
                rid: encoding.rid.clone(),
                mapped_ssrc: mapped.mapped_ssrc,
                clock_rate,
                last_key_frame_request: None,
                stats: crate::rtp::ReceiveStats::new(encoding.ssrc.unwrap_or(0), clock_rate),
                ring: nack.then(PacketRing::new),
                nack: NackTracker::new(),
                meter: LayerMeter::default(),
                dd: Default::default(),
                score: 0,
                score_base: (0, 0),
                fraction_lost: 0,
                retransmitted: 0,
                nack_count: 0,
                nack_packet_count: 0,
                pli_count: 0,
                fir_count: 0,
                bytes: 0,
            })
            .collect::<Vec<_>>();
        let mode = rtp_parameters
            .encodings
            .first()
            .and_then(|e| e.scalability_mode.as_deref())
            .and_then(ScalabilityMode::parse);
        let svc = mode.is_some_and(|m| m.spatial_layers > 1 || m.temporal_layers > 1);
        let temporal_layers = mode.map_or(1, |m| m.temporal_layers.clamp(1, 4));
        let spatial_layers = if streams.len() > 1 {
            1
        } else {
            mode.map_or(1, |m| m.spatial_layers.clamp(1, 4))
        };
        let producer_type = if streams.len() > 1 {
            ProducerType::Simulcast
        } else if svc {
            ProducerType::Svc
        } else {
            ProducerType::Simple
        };
        Ok(ProducerState {
            id,
            router,
            transport,
            kind,
            producer_type,
            paused,
            mid_ext: ext_id(URI_MID),
            rid_ext: ext_id(URI_RID),
            twcc_ext: ext_id(crate::rtp_parameters::extension_uri::TRANSPORT_WIDE_CC_01),
            dd_ext: match ext_id(crate::rtp_parameters::extension_uri::DEPENDENCY_DESCRIPTOR) {
                0 => 0,
                id => ext_map.get(id),
            },
            rtp_parameters,
            consumable,
            pt_map,
            codec_of,
            ext_map,
            streams,
            temporal_layers,
            spatial_layers,
            screen_share: false,
            demand: Default::default(),
            consumers: Vec::new(),
            key_frame_request,
            fir_seq: 0,
            nack,
            rtx_apt,
            pipe_sinks: Vec::new(),
            pipe_source: None,
        })
    }

    pub fn info(&self) -> ProducerInfo {
        ProducerInfo {
            id: self.id,
            kind: self.kind,
            producer_type: self.producer_type,
            consumable_rtp_parameters: self.consumable.clone(),
        }
    }

    /// The stream a packet with this rid belongs to (simulcast without signalled SSRCs).
    pub fn stream_by_rid(&self, rid: &str) -> Option<usize> {
        self.streams
            .iter()
            .position(|s| s.rid.as_deref() == Some(rid))
    }
}
