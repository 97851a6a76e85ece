//! Engine-side state of a consumer: which packets of its producer it sends, and how it rewrites them.

use std::time::Instant;

use slotmap::new_key_type;

use super::layers::LayerSelector;
use super::producer::{ProducerKey, ProducerState};
use super::retransmit::SentRing;
use super::transport::TransportKey;
use crate::ids::ConsumerId;
use crate::producer::ProducerType;
use crate::rtp::picture_id::{FrameNumberContinuity, Vp8Continuity};
use crate::rtp::{CodecKind, ExtensionIdMap, RtpRewriter};
use crate::rtp_parameters::{MediaKind, RtpParameters};
use crate::Error;

new_key_type! {
    /// Index of a consumer in the engine's arena.
    pub(crate) struct ConsumerKey;
}

const URI_TWCC: &str = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/// Default priority of a screen share's consumers (others: 1).
const SCREEN_SHARE_PRIORITY: u8 = 3;

/// Laid out in declaration order (`repr(C)`): the fields every forwarded packet reads or writes come first, up to and
/// including the start of `ext_map`, and a fan-out asks for only those lines ([`ConsumerState::prefetch`]).
#[repr(C)]
pub(crate) struct ConsumerState {
    pub transport: TransportKey,
    pub ssrc: u32,
    pub kind: MediaKind,
    pub paused: bool,
    pub producer_paused: bool,
    /// The dependency descriptor's id (0: not negotiated) and its frame numbers, continuous across stream switches.
    pub dd_ext: u8,
    pub twcc_ext: u8,
    /// The consumer's mid extension id and value: receivers route by mid, so every packet carries the consumer's own.
    pub mid_ext: u8,
    /// Router payload types this consumer may receive, one bit each (see [`ConsumerState::accepts`]).
    pub payload_types: u128,
    /// Video: which stream and temporal layers are forwarded. It also makes video wait for a key frame after
    /// (re)starting, so the receiver never decodes from a delta frame. `None` for audio (everything is forwarded).
    pub layers: Option<LayerSelector>,
    /// Keeps VP8 picture ids continuous across simulcast stream switches.
    pub vp8: Option<Vp8Continuity>,
    pub rewriter: RtpRewriter,
    pub last_sent: Option<Instant>,
    /// Bytes sent (RTP, on the wire) and the bitrate over the last second.
    pub bytes_sent: u64,
    pub stats: crate::rtp::SendStats,
    /// Outgoing → incoming sequence numbers, to answer NACKs (when the consumer negotiated them).
    pub sent: Option<SentRing>,
    pub mid: String,
    pub dd_frames: FrameNumberContinuity,
    /// Router extension ids this consumer negotiated (others are left out). Only its first line is hot: one-byte
    /// extension ids are below 15.
    pub ext_map: ExtensionIdMap,
    // Read by signaling, RTCP and timers only.
    pub id: ConsumerId,
    pub producer: ProducerKey,
    pub rtp_parameters: RtpParameters,
    pub rtx_ssrc: Option<u32>,
    /// The highest spatial layer this consumer may want (its preferred one; see `demand`); `None` while inactive.
    pub needed_spatial: Option<u8>,
    /// Share of the transport's bitrate relative to its other consumers (1–255, default 1).
    pub priority: u8,
    /// 0–10: how well the client receives this consumer's stream (from its receiver reports).
    pub score: u8,
    /// (score, producer score, producer stream scores) as last reported, so an event goes out only on a change.
    pub reported_score: Option<(u8, u8, [u8; 4])>,
    pub nack_count: u64,
    pub nack_packet_count: u64,
    pub pli_count: u64,
    pub fir_count: u64,
    pub retransmitted: u64,
    pub bitrate: u64,
    pub bitrate_base: u64,
    /// RTX payload type for retransmissions (with `rtx_ssrc`); without it packets are resent as they were.
    pub rtx_pt: Option<u8>,
    pub rtx_seq: u16,
}

impl ConsumerState {
    pub fn new(
        id: ConsumerId,
        producer: ProducerKey,
        p: &ProducerState,
        transport: TransportKey,
        rtp_parameters: RtpParameters,
        paused: bool,
    ) -> Result<Self, Error> {
        let encoding = rtp_parameters
            .encodings
            .first()
            .ok_or_else(|| Error::InvalidState("consumer parameters have no encoding".into()))?;
        let ssrc = encoding
            .ssrc
            .ok_or_else(|| Error::InvalidState("consumer encoding has no ssrc".into()))?;
        let rtx_ssrc = encoding.rtx.map(|r| r.ssrc);
        let clock_rate = rtp_parameters
            .codecs
            .first()
            .map_or(90_000, |c| c.clock_rate);
        let mut ext_map = ExtensionIdMap::drop_all();
        for ext in &rtp_parameters.header_extensions {
            ext_map.set(ext.id, ext.id);
        }
        let ext_id = |uri: &str| rtp_parameters.header_extension_id(uri).unwrap_or(0);
        let media = rtp_parameters.codecs.iter().find(|c| !c.is_rtx());
        let nack = media.is_some_and(|m| {
            m.rtcp_feedback
                .iter()
                .any(|f| f.r#type == "nack" && f.parameter.is_empty())
        });
        let rtx_pt = media.and_then(|m| {
            rtp_parameters
                .codecs
                .iter()
                .find(|c| c.is_rtx() && c.apt() == Some(m.payload_type))
                .map(|c| c.payload_type)
        });
        let payload_types = rtp_parameters
            .codecs
            .iter()
            .filter(|c| c.payload_type < 128)
            .fold(0u128, |bits, c| bits | 1 << c.payload_type);
        Ok(ConsumerState {
            id,
            producer,
            transport,
            kind: p.kind,
            ssrc,
            rtx_ssrc,
            paused,
            producer_paused: p.paused,
            layers: (p.kind == MediaKind::Video).then(|| {
                let (spatial, svc) = match p.producer_type {
                    ProducerType::Simulcast => (p.streams.len(), false),
                    ProducerType::Svc => (p.spatial_layers as usize, p.spatial_layers > 1),
                    ProducerType::Simple => (1, false),
                };
                LayerSelector::new(spatial.min(u8::MAX as usize) as u8, p.temporal_layers, svc)
            }),
            vp8: (media.and_then(|m| CodecKind::from_mime(&m.mime_type)) == Some(CodecKind::Vp8))
                .then(Vp8Continuity::default),
            dd_ext: ext_id(crate::rtp_parameters::extension_uri::DEPENDENCY_DESCRIPTOR),
            dd_frames: FrameNumberContinuity::default(),
            needed_spatial: None,
            priority: if p.screen_share {
                SCREEN_SHARE_PRIORITY
            } else {
                1
            },
            score: 10,
            reported_score: None,
            nack_count: 0,
            nack_packet_count: 0,
            pli_count: 0,
            fir_count: 0,
            retransmitted: 0,
            bytes_sent: 0,
            bitrate: 0,
            bitrate_base: 0,
            rewriter: RtpRewriter::new(ssrc, clock_rate, rand::random(), rand::random()),
            last_sent: None,
            ext_map,
            twcc_ext: ext_id(URI_TWCC),
            mid_ext: ext_id(crate::rtp_parameters::extension_uri::MID),
            mid: rtp_parameters.mid.clone().unwrap_or_default(),
            payload_types,
            stats: crate::rtp::SendStats::new(ssrc, clock_rate),
            sent: nack.then(SentRing::new),
            rtx_pt: rtx_pt.filter(|_| rtx_ssrc.is_some()),
            rtx_seq: rand::random(),
            rtp_parameters,
        })
    }

    /// Asks for what a fan-out reads and writes of this consumer (see `crate::prefetch`): at depth 0 its hot lines
    /// (the fields before `ext_map` and that map's first line), at 1 what those fields point to: its mid's bytes and
    /// the retransmission ring's next slot.
    pub fn prefetch(&self, depth: usize) {
        if depth == 0 {
            let hot = std::mem::offset_of!(ConsumerState, ext_map) + 64;
            crate::prefetch::first_bytes(self, hot);
        } else {
            crate::prefetch::line(self.mid.as_bytes());
            if let Some(sent) = &self.sent {
                sent.prefetch_next();
            }
        }
    }

    /// Whether the consumer may receive router payload type `pt`.
    #[inline]
    pub fn accepts(&self, pt: u8) -> bool {
        pt < 128 && self.payload_types & (1 << pt) != 0
    }

    /// Whether packets flow: neither this consumer nor its producer is paused.
    pub fn is_active(&self) -> bool {
        !self.paused && !self.producer_paused
    }

    pub fn set_paused(&mut self, paused: bool) {
        self.update(|c| c.paused = paused);
    }

    pub fn set_producer_paused(&mut self, paused: bool) {
        self.update(|c| c.producer_paused = paused);
    }

    fn update(&mut self, change: impl FnOnce(&mut Self)) {
        let was_active = self.is_active();
        change(self);
        if was_active != self.is_active() {
            // Whatever comes next starts a new epoch: sequence numbers continue from the last sent one, and video
            // restarts at a key frame.
            self.rewriter.require_sync();
            if let Some(layers) = self.layers.as_mut() {
                layers.restart();
            }
        }
    }

    /// Video that waits for a key frame (to start, or to switch streams).
    pub fn wants_key_frame(&self) -> bool {
        self.layers.as_ref().is_some_and(|l| l.needs_key_frame())
    }

    /// The producer stream whose key frame this consumer waits for, else the one it forwards.
    pub fn wanted_stream(&self) -> usize {
        self.layers.as_ref().map_or(0, |l| {
            let layers = if l.needs_key_frame() {
                Some(l.target)
            } else {
                l.current
            };
            layers.map_or(0, |x| l.stream_of(x))
        })
    }

    /// The producer stream being forwarded now.
    pub fn current_stream(&self) -> Option<usize> {
        match &self.layers {
            Some(l) => l.current.map(|x| l.stream_of(x)),
            None => Some(0),
        }
    }
}
