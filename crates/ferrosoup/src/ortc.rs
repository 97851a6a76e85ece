//! ORTC negotiation: how producer and consumer RTP parameters relate to router capabilities.
//!
//! This follows mediasoup's `ortc` semantics so that mediasoup-client, which runs the other
//! half of the negotiation, agrees with ferrosoup on every payload type and extension id:
//!
//! 1. A router's capabilities are generated once from its configured media codecs
//!    ([`generate_router_rtp_capabilities`]); they fix the payload types and header extension
//!    ids used towards consumers.
//! 2. A producer sends with the browser's own payload types, extension ids and SSRCs;
//!    [`get_producer_rtp_parameters_mapping`] relates them to the router's, and
//!    [`get_consumable_rtp_parameters`] describes the producer in router terms.
//! 3. Each consumer gets parameters reduced to what its endpoint can receive
//!    ([`can_consume`], [`get_consumer_rtp_parameters`]).
//!
//! Everything here is pure (apart from random SSRCs) and never panics on client input.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::rtp_parameters::{
    extension_uri, MediaKind, ParameterMap, RtcpFeedback, RtcpParameters, RtpCapabilities,
    RtpCodecCapability, RtpCodecParameters, RtpEncodingParameters, RtpHeaderExtensionDirection,
    RtpHeaderExtensionParameters, RtpParameters, RtxParameters, ScalabilityMode,
};
use crate::supported_rtp_capabilities::supported_rtp_capabilities;

/// Why RTP capabilities or parameters were rejected.
///
/// Messages are meant to be sent back to the client as-is, so they name the offending codec,
/// payload type or encoding.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum OrtcError {
    /// The MIME type is not `audio/<name>` or `video/<name>`.
    #[error("invalid mimeType {0:?} (expected \"audio/<codec>\" or \"video/<codec>\")")]
    InvalidMimeType(String),
    /// A codec has a clock rate of 0.
    #[error("codec {mime_type}: clockRate must be positive")]
    InvalidClockRate {
        /// Codec MIME type.
        mime_type: String,
    },
    /// An audio codec has 0 channels.
    #[error("codec {mime_type}: channels must be positive")]
    InvalidChannels {
        /// Codec MIME type.
        mime_type: String,
    },
    /// A payload type does not fit RTP's 7 bits.
    #[error("codec {mime_type}: payload type {payload_type} is not in 0-127")]
    InvalidPayloadType {
        /// Codec MIME type.
        mime_type: String,
        /// Offending payload type.
        payload_type: u8,
    },
    /// A codec parameter has an unusable value.
    #[error("codec {mime_type}: invalid parameter {key:?}: {reason}")]
    InvalidCodecParameter {
        /// Codec MIME type.
        mime_type: String,
        /// Parameter name.
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An RTCP feedback entry has no type.
    #[error("codec {mime_type}: RTCP feedback without a type")]
    InvalidRtcpFeedback {
        /// Codec MIME type.
        mime_type: String,
    },
    /// An RTX codec has no usable `apt` parameter.
    #[error("RTX codec {payload_type} lacks a valid apt parameter")]
    MissingApt {
        /// Payload type of the RTX codec (its preferred one in capabilities).
        payload_type: u8,
    },
    /// An RTX codec's `apt` does not name a media codec of the same parameters.
    #[error("apt {apt} of RTX codec {payload_type} does not point to a media codec")]
    InvalidApt {
        /// Payload type of the RTX codec.
        payload_type: u8,
        /// Its `apt` value.
        apt: u8,
    },
    /// Two codecs share a payload type.
    #[error("duplicated payload type {0}")]
    DuplicatedPayloadType(u8),
    /// The parameters list no media codec (only RTX, or nothing).
    #[error("no media codec in rtpParameters")]
    NoMediaCodecs,
    /// A header extension entry is unusable.
    #[error("header extension {uri:?}: {reason}")]
    InvalidHeaderExtension {
        /// Extension URI.
        uri: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An encoding is unusable.
    #[error("encoding #{index}: {reason}")]
    InvalidEncoding {
        /// Position in `encodings`.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A configured router media codec is not in the supported list.
    #[error("media codec not supported [mimeType:{0}]")]
    UnsupportedMediaCodec(String),
    /// Two configured router media codecs want the same payload type.
    #[error("duplicated preferredPayloadType {0} in router media codecs")]
    DuplicatedPreferredPayloadType(u8),
    /// The router media codecs need more than the 32 dynamic payload types.
    #[error("cannot allocate more dynamic codec payload types")]
    NoMorePayloadTypes,
    /// A producer codec matches no router codec.
    #[error("unsupported codec [mimeType:{mime_type}, payloadType:{payload_type}]")]
    UnsupportedCodec {
        /// Codec MIME type.
        mime_type: String,
        /// Producer's payload type.
        payload_type: u8,
    },
    /// A producer sends RTX for a codec the router has no RTX for.
    #[error("no RTX codec in router capabilities for payload type {0}")]
    NoRtxCodec(u8),
    /// A producer announces a codec of the other media kind.
    #[error("codec {mime_type} cannot be used by a {kind} producer")]
    KindMismatch {
        /// Declared producer kind.
        kind: MediaKind,
        /// Codec MIME type.
        mime_type: String,
    },
    /// Parameters and mapping do not belong together (a programming error upstream).
    #[error("rtpParameters and rtpMapping disagree: {0}")]
    MappingMismatch(&'static str),
    /// The consuming endpoint cannot receive any of the producer's codecs.
    #[error("no compatible media codecs")]
    NoCompatibleMediaCodecs,
}

/// How a producer's payload types and streams translate to the router's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpMapping {
    /// Producer payload type → router payload type (media codecs first, then RTX).
    pub codecs: Vec<RtpMappingCodec>,
    /// One entry per producer encoding, in the same order.
    pub encodings: Vec<RtpMappingEncoding>,
}

impl RtpMapping {
    /// Router payload type for a producer payload type.
    pub fn mapped_payload_type(&self, payload_type: u8) -> Option<u8> {
        self.codecs
            .iter()
            .find(|c| c.payload_type == payload_type)
            .map(|c| c.mapped_payload_type)
    }
}

/// One payload type translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpMappingCodec {
    /// As sent by the producer.
    pub payload_type: u8,
    /// As used by the router and its consumers.
    pub mapped_payload_type: u8,
}

/// How one producer encoding is recognized, and the SSRC the router gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpMappingEncoding {
    /// Producer's SSRC, if announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssrc: Option<u32>,
    /// Producer's RID, if simulcast by RID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Scalability mode of the encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalability_mode: Option<String>,
    /// Server-side SSRC of this stream in consumable parameters.
    pub mapped_ssrc: u32,
}

/// Dynamic payload types in mediasoup's allocation order (100–127 first, then 96–99), so a
/// ferrosoup router hands out the same numbers a mediasoup router would.
fn dynamic_payload_types() -> Vec<u8> {
    (100..=127).chain(96..=99).collect()
}

/// A random SSRC in mediasoup's range; the headroom above it lets `ssrc + n` never wrap.
fn generate_random_ssrc() -> u32 {
    rand::random_range(100_000_000..1_000_000_000)
}

/// Checks and normalizes capabilities (from a client or from configuration).
///
/// Normalizing matters because codec matching compares fields literally: the kind is taken
/// from the MIME type, audio codecs get `channels: 1` when missing and video codecs lose it.
pub fn validate_rtp_capabilities(caps: &mut RtpCapabilities) -> Result<(), OrtcError> {
    for codec in &mut caps.codecs {
        validate_codec_capability(codec)?;
    }
    for ext in &caps.header_extensions {
        if ext.uri.is_empty() {
            return Err(OrtcError::InvalidHeaderExtension {
                uri: String::new(),
                reason: "empty uri",
            });
        }
        if ext.preferred_id == 0 {
            return Err(OrtcError::InvalidHeaderExtension {
                uri: ext.uri.clone(),
                reason: "preferredId cannot be 0",
            });
        }
    }
    Ok(())
}

/// Checks and normalizes a producer's RTP parameters as received from a client.
///
/// Besides mediasoup's normalization (kind-dependent `channels`, `dtx` defaulting to false,
/// empty `mid`/`rid` treated as absent, no encodings meaning one), this enforces what
/// mediasoup's worker would otherwise reject later: unique payload types, RTX `apt`
/// pointing to a media codec, at least one media codec, `codecPayloadType` naming a media
/// codec, and no simulcast combined with spatial SVC layers.
pub fn validate_rtp_parameters(params: &mut RtpParameters) -> Result<(), OrtcError> {
    if params.mid.as_deref() == Some("") {
        params.mid = None;
    }

    for codec in &mut params.codecs {
        let kind = MediaKind::from_mime_type(&codec.mime_type)
            .ok_or_else(|| OrtcError::InvalidMimeType(codec.mime_type.clone()))?;
        check_payload_type(&codec.mime_type, codec.payload_type)?;
        check_clock_rate(&codec.mime_type, codec.clock_rate)?;
        normalize_channels(kind, &codec.mime_type, &mut codec.channels)?;
        check_codec_parameters(&codec.mime_type, &codec.parameters)?;
        check_rtcp_feedback(&codec.mime_type, &codec.rtcp_feedback)?;
    }

    if params.codecs.iter().all(RtpCodecParameters::is_rtx) {
        return Err(OrtcError::NoMediaCodecs);
    }

    for (i, codec) in params.codecs.iter().enumerate() {
        if params.codecs[..i]
            .iter()
            .any(|c| c.payload_type == codec.payload_type)
        {
            return Err(OrtcError::DuplicatedPayloadType(codec.payload_type));
        }
        if codec.is_rtx() {
            let apt = codec.apt().ok_or(OrtcError::MissingApt {
                payload_type: codec.payload_type,
            })?;
            let points_to_media = params
                .codecs
                .iter()
                .any(|c| c.payload_type == apt && !c.is_rtx());
            if !points_to_media {
                return Err(OrtcError::InvalidApt {
                    payload_type: codec.payload_type,
                    apt,
                });
            }
        }
    }

    for ext in &params.header_extensions {
        if ext.uri.is_empty() {
            return Err(OrtcError::InvalidHeaderExtension {
                uri: String::new(),
                reason: "empty uri",
            });
        }
        if ext.id == 0 {
            return Err(OrtcError::InvalidHeaderExtension {
                uri: ext.uri.clone(),
                reason: "id cannot be 0",
            });
        }
    }

    // mediasoup-client always sends encodings, other clients may not: one implicit stream,
    // recognized by its MID.
    if params.encodings.is_empty() {
        params.encodings.push(RtpEncodingParameters::default());
    }
    let simulcast = params.encodings.len() > 1;
    for (index, encoding) in params.encodings.iter_mut().enumerate() {
        if encoding.rid.as_deref() == Some("") {
            encoding.rid = None;
        }
        if encoding.ssrc == Some(0) {
            encoding.ssrc = None;
        }
        if encoding.dtx.is_none() {
            encoding.dtx = Some(false);
        }
        if let Some(pt) = encoding.codec_payload_type {
            let is_media = params
                .codecs
                .iter()
                .any(|c| c.payload_type == pt && !c.is_rtx());
            if !is_media {
                return Err(OrtcError::InvalidEncoding {
                    index,
                    reason: "codecPayloadType does not name a media codec",
                });
            }
        }
        let spatial_layers = encoding
            .scalability_mode
            .as_deref()
            .and_then(ScalabilityMode::parse)
            .unwrap_or_default()
            .spatial_layers;
        if simulcast && spatial_layers > 1 {
            return Err(OrtcError::InvalidEncoding {
                index,
                reason: "cannot combine simulcast with SVC spatial layers",
            });
        }
    }

    Ok(())
}

fn validate_codec_capability(codec: &mut RtpCodecCapability) -> Result<(), OrtcError> {
    let kind = MediaKind::from_mime_type(&codec.mime_type)
        .ok_or_else(|| OrtcError::InvalidMimeType(codec.mime_type.clone()))?;
    codec.kind = kind;
    if let Some(pt) = codec.preferred_payload_type {
        check_payload_type(&codec.mime_type, pt)?;
    }
    check_clock_rate(&codec.mime_type, codec.clock_rate)?;
    normalize_channels(kind, &codec.mime_type, &mut codec.channels)?;
    check_codec_parameters(&codec.mime_type, &codec.parameters)?;
    check_rtcp_feedback(&codec.mime_type, &codec.rtcp_feedback)?;
    if codec.is_rtx() && codec_apt(&codec.parameters).is_none() {
        return Err(OrtcError::MissingApt {
            payload_type: codec.preferred_payload_type.unwrap_or_default(),
        });
    }
    Ok(())
}

fn check_payload_type(mime_type: &str, payload_type: u8) -> Result<(), OrtcError> {
    if payload_type > 127 {
        return Err(OrtcError::InvalidPayloadType {
            mime_type: mime_type.to_owned(),
            payload_type,
        });
    }
    Ok(())
}

fn check_clock_rate(mime_type: &str, clock_rate: u32) -> Result<(), OrtcError> {
    if clock_rate == 0 {
        return Err(OrtcError::InvalidClockRate {
            mime_type: mime_type.to_owned(),
        });
    }
    Ok(())
}

fn normalize_channels(
    kind: MediaKind,
    mime_type: &str,
    channels: &mut Option<u8>,
) -> Result<(), OrtcError> {
    match kind {
        MediaKind::Audio => match *channels {
            None => *channels = Some(1),
            Some(0) => {
                return Err(OrtcError::InvalidChannels {
                    mime_type: mime_type.to_owned(),
                })
            }
            Some(_) => {}
        },
        MediaKind::Video => *channels = None,
    }
    Ok(())
}

fn check_codec_parameters(mime_type: &str, parameters: &ParameterMap) -> Result<(), OrtcError> {
    if parameters.contains_key("apt") && codec_apt(parameters).is_none() {
        return Err(OrtcError::InvalidCodecParameter {
            mime_type: mime_type.to_owned(),
            key: "apt".into(),
            reason: "must be a payload type (0-127)",
        });
    }
    Ok(())
}

fn check_rtcp_feedback(mime_type: &str, feedback: &[RtcpFeedback]) -> Result<(), OrtcError> {
    if feedback.iter().any(|fb| fb.r#type.is_empty()) {
        return Err(OrtcError::InvalidRtcpFeedback {
            mime_type: mime_type.to_owned(),
        });
    }
    Ok(())
}

/// `apt` as a payload type.
fn codec_apt(parameters: &ParameterMap) -> Option<u8> {
    parameters
        .get_u64("apt")
        .and_then(|v| u8::try_from(v).ok())
        .filter(|&pt| pt <= 127)
}

/// Builds a router's capabilities from its configured media codecs.
///
/// Each configured codec takes the supported entry's feedback, merges its parameters over
/// the supported ones, and gets its `preferredPayloadType` if given, the supported static
/// one (PCMU 0, …) otherwise, else the next dynamic one; every video codec is followed by an
/// RTX codec. Header extensions are all supported ones.
pub fn generate_router_rtp_capabilities(
    media_codecs: &[RtpCodecCapability],
) -> Result<RtpCapabilities, OrtcError> {
    let supported = supported_rtp_capabilities();
    let mut dynamic = dynamic_payload_types();
    let mut caps = RtpCapabilities {
        codecs: Vec::new(),
        header_extensions: supported.header_extensions.clone(),
    };

    for media_codec in media_codecs {
        let mut media_codec = media_codec.clone();
        validate_codec_capability(&mut media_codec)?;

        let matched = supported
            .codecs
            .iter()
            .find(|s| {
                match_codecs(CodecView::from(&media_codec), CodecView::from(*s), false).is_some()
            })
            .ok_or_else(|| OrtcError::UnsupportedMediaCodec(media_codec.mime_type.clone()))?;
        let mut codec = matched.clone();

        let payload_type = match (
            media_codec.preferred_payload_type,
            codec.preferred_payload_type,
        ) {
            (Some(pt), _) => {
                dynamic.retain(|&d| d != pt);
                pt
            }
            // Static payload types (PCMU 0, …) are not in the dynamic list.
            (None, Some(pt)) => pt,
            (None, None) => take_dynamic(&mut dynamic)?,
        };
        if caps
            .codecs
            .iter()
            .any(|c| c.preferred_payload_type == Some(payload_type))
        {
            return Err(OrtcError::DuplicatedPreferredPayloadType(payload_type));
        }
        codec.preferred_payload_type = Some(payload_type);
        codec.parameters.extend(media_codec.parameters);

        let kind = codec.kind;
        let clock_rate = codec.clock_rate;
        caps.codecs.push(codec);

        if kind == MediaKind::Video {
            let rtx_payload_type = take_dynamic(&mut dynamic)?;
            caps.codecs.push(RtpCodecCapability {
                kind,
                mime_type: format!("{kind}/rtx"),
                preferred_payload_type: Some(rtx_payload_type),
                clock_rate,
                channels: None,
                parameters: [("apt", payload_type)].into_iter().collect(),
                rtcp_feedback: Vec::new(),
            });
        }
    }

    Ok(caps)
}

fn take_dynamic(dynamic: &mut Vec<u8>) -> Result<u8, OrtcError> {
    if dynamic.is_empty() {
        return Err(OrtcError::NoMorePayloadTypes);
    }
    Ok(dynamic.remove(0))
}

/// Relates a producer's payload types and encodings to the router's.
///
/// Call [`validate_rtp_parameters`] first. Each media codec maps to the first router codec
/// it strictly matches (H264 on packetization mode and profile, VP9/AV1 on profile), each
/// RTX codec to the router's RTX for that codec. Mapped SSRCs are random and consecutive.
pub fn get_producer_rtp_parameters_mapping(
    params: &RtpParameters,
    caps: &RtpCapabilities,
) -> Result<RtpMapping, OrtcError> {
    let mut mapping = RtpMapping::default();

    for codec in params.codecs.iter().filter(|c| !c.is_rtx()) {
        let mapped_payload_type = caps
            .codecs
            .iter()
            .find(|cap| match_codecs(CodecView::from(codec), CodecView::from(*cap), true).is_some())
            .and_then(|cap| cap.preferred_payload_type)
            .ok_or_else(|| OrtcError::UnsupportedCodec {
                mime_type: codec.mime_type.clone(),
                payload_type: codec.payload_type,
            })?;
        mapping.codecs.push(RtpMappingCodec {
            payload_type: codec.payload_type,
            mapped_payload_type,
        });
    }

    for codec in params.codecs.iter().filter(|c| c.is_rtx()) {
        let apt = codec.apt().ok_or(OrtcError::MissingApt {
            payload_type: codec.payload_type,
        })?;
        let mapped_media = mapping
            .mapped_payload_type(apt)
            .ok_or(OrtcError::InvalidApt {
                payload_type: codec.payload_type,
                apt,
            })?;
        let mapped_payload_type = caps
            .codecs
            .iter()
            .find(|c| c.is_rtx() && codec_apt(&c.parameters) == Some(mapped_media))
            .and_then(|c| c.preferred_payload_type)
            .ok_or(OrtcError::NoRtxCodec(mapped_media))?;
        mapping.codecs.push(RtpMappingCodec {
            payload_type: codec.payload_type,
            mapped_payload_type,
        });
    }

    let has_mid = params.mid.as_deref().is_some_and(|m| !m.is_empty());
    let single = params.encodings.len() == 1;
    let mut mapped_ssrc = generate_random_ssrc();
    for (index, encoding) in params.encodings.iter().enumerate() {
        let ssrc = encoding.ssrc.filter(|&s| s != 0);
        let rid = encoding.rid.clone().filter(|r| !r.is_empty());
        if ssrc.is_none() && rid.is_none() && !(single && has_mid) {
            return Err(OrtcError::InvalidEncoding {
                index,
                reason: "needs an ssrc or a rid (or, as the only encoding, rtpParameters.mid)",
            });
        }
        mapping.encodings.push(RtpMappingEncoding {
            ssrc,
            rid,
            scalability_mode: encoding.scalability_mode.clone().filter(|m| !m.is_empty()),
            mapped_ssrc,
        });
        mapped_ssrc = mapped_ssrc.wrapping_add(1);
    }

    Ok(mapping)
}

/// Describes a producer in router terms: router payload types and codecs (keeping the
/// producer's codec parameters, H264 level negotiated), router header extension ids usable
/// towards consumers, and the mapped SSRCs. Consumers are derived from this, never from the
/// raw producer parameters.
///
/// Fails if a codec does not belong to `kind` (the client declares both separately) or if
/// `mapping` was not computed from `params`.
pub fn get_consumable_rtp_parameters(
    kind: MediaKind,
    params: &RtpParameters,
    caps: &RtpCapabilities,
    mapping: &RtpMapping,
) -> Result<RtpParameters, OrtcError> {
    let mut consumable = RtpParameters::default();

    for codec in params.codecs.iter().filter(|c| !c.is_rtx()) {
        if codec.kind() != Some(kind) {
            return Err(OrtcError::KindMismatch {
                kind,
                mime_type: codec.mime_type.clone(),
            });
        }
        let payload_type = mapping
            .mapped_payload_type(codec.payload_type)
            .ok_or(OrtcError::MappingMismatch("codec missing from rtpMapping"))?;
        let cap_codec = caps
            .codecs
            .iter()
            .find(|c| c.preferred_payload_type == Some(payload_type))
            .ok_or(OrtcError::MappingMismatch(
                "mapped payload type not in router capabilities",
            ))?;
        consumable.codecs.push(RtpCodecParameters {
            mime_type: cap_codec.mime_type.clone(),
            payload_type,
            clock_rate: cap_codec.clock_rate,
            channels: cap_codec.channels,
            parameters: negotiated_parameters(codec, cap_codec),
            rtcp_feedback: cap_codec.rtcp_feedback.clone(),
        });

        let rtx = caps.codecs.iter().find_map(|c| {
            let pt = c.preferred_payload_type?;
            (c.is_rtx() && codec_apt(&c.parameters) == Some(payload_type)).then_some((c, pt))
        });
        if let Some((rtx, rtx_payload_type)) = rtx {
            consumable.codecs.push(RtpCodecParameters {
                mime_type: rtx.mime_type.clone(),
                payload_type: rtx_payload_type,
                clock_rate: rtx.clock_rate,
                channels: None,
                parameters: rtx.parameters.clone(),
                rtcp_feedback: rtx.rtcp_feedback.clone(),
            });
        }
    }

    consumable.header_extensions = caps
        .header_extensions
        .iter()
        .filter(|ext| {
            ext.kind == kind
                && matches!(
                    ext.direction,
                    RtpHeaderExtensionDirection::Sendrecv | RtpHeaderExtensionDirection::Sendonly
                )
        })
        .map(|ext| RtpHeaderExtensionParameters {
            uri: ext.uri.clone(),
            id: ext.preferred_id,
            encrypt: ext.preferred_encrypt,
            parameters: ParameterMap::new(),
        })
        .collect();

    if mapping.encodings.len() != params.encodings.len() {
        return Err(OrtcError::MappingMismatch(
            "encodings and rtpMapping.encodings differ in length",
        ));
    }
    consumable.encodings = params
        .encodings
        .iter()
        .zip(&mapping.encodings)
        .map(|(encoding, mapped)| RtpEncodingParameters {
            ssrc: Some(mapped.mapped_ssrc),
            rid: None,
            rtx: None,
            codec_payload_type: None,
            ..encoding.clone()
        })
        .collect();

    consumable.rtcp = RtcpParameters {
        cname: params.rtcp.cname.clone(),
        reduced_size: true,
        mux: None,
    };

    Ok(consumable)
}

/// The producer's codec parameters, with an H264 `profile-level-id` replaced by the one
/// negotiated with the router codec (canonical spelling, level per asymmetry rules), as
/// mediasoup does.
fn negotiated_parameters(
    codec: &RtpCodecParameters,
    cap_codec: &RtpCodecCapability,
) -> ParameterMap {
    let mut parameters = codec.parameters.clone();
    if let Some(Matched::H264 { profile_level_id }) =
        match_codecs(CodecView::from(codec), CodecView::from(cap_codec), true)
    {
        match profile_level_id {
            Some(id) => {
                parameters.insert("profile-level-id", id);
            }
            None => {
                parameters.remove("profile-level-id");
            }
        }
    }
    parameters
}

/// Whether an endpoint with `caps` can receive a producer with these consumable
/// parameters: the first of the producer's codecs the endpoint supports must be a media
/// codec (H264, VP9 and AV1 matched on profile).
pub fn can_consume(consumable: &RtpParameters, caps: &RtpCapabilities) -> bool {
    consumable
        .codecs
        .iter()
        .find(|codec| find_matching_codec(codec, caps).is_some())
        .is_some_and(|codec| !codec.is_rtx())
}

/// The endpoint capability codec that can receive `codec`, with mediasoup's strict rules
/// (same MIME type, clock rate and channels; H264 packetization mode and profile; VP9 and
/// AV1 profile; multiopus stream layout).
pub fn find_matching_codec<'a>(
    codec: &RtpCodecParameters,
    caps: &'a RtpCapabilities,
) -> Option<&'a RtpCodecCapability> {
    caps.codecs
        .iter()
        .find(|cap| match_codecs(CodecView::from(*cap), CodecView::from(codec), true).is_some())
}

/// Parameters for one consumer, reduced to what the consuming endpoint can receive.
///
/// Codecs are those the endpoint supports (with the endpoint's RTCP feedback, RTX dropped
/// when disabled or orphaned); header extensions are the ones the endpoint knows with the
/// router's ids; RTCP feedback keeps one congestion control scheme (transport-cc if the
/// transport-wide-cc extension survives, else goog-remb if abs-send-time does, else none),
/// since sending both confuses browsers' estimators.
///
/// A regular consumer gets exactly one encoding with fresh SSRCs (RTX SSRC = SSRC + 1)
/// and, for simulcast producers, `L<encodings>T<temporal layers>` so the browser treats the
/// single stream as layered. A `pipe` consumer keeps all encodings, re-numbered. The `mid`
/// is left unset: the transport assigns it.
pub fn get_consumer_rtp_parameters(
    consumable: &RtpParameters,
    remote_caps: &RtpCapabilities,
    pipe: bool,
    enable_rtx: bool,
) -> Result<RtpParameters, OrtcError> {
    let mut codecs: Vec<RtpCodecParameters> = Vec::new();
    for codec in &consumable.codecs {
        if !enable_rtx && codec.is_rtx() {
            continue;
        }
        let Some(cap_codec) = find_matching_codec(codec, remote_caps) else {
            continue;
        };
        let mut codec = codec.clone();
        codec.rtcp_feedback = cap_codec
            .rtcp_feedback
            .iter()
            .filter(|fb| enable_rtx || fb.r#type != "nack" || !fb.parameter.is_empty())
            .cloned()
            .collect();
        codecs.push(codec);
    }

    let media_payload_types: Vec<u8> = codecs
        .iter()
        .filter(|c| !c.is_rtx())
        .map(|c| c.payload_type)
        .collect();
    codecs.retain(|c| {
        !c.is_rtx()
            || c.apt()
                .is_some_and(|apt| media_payload_types.contains(&apt))
    });
    if codecs.first().is_none_or(RtpCodecParameters::is_rtx) {
        return Err(OrtcError::NoCompatibleMediaCodecs);
    }
    let rtx_supported = codecs.iter().any(RtpCodecParameters::is_rtx);

    let header_extensions: Vec<RtpHeaderExtensionParameters> = consumable
        .header_extensions
        .iter()
        .filter(|ext| {
            remote_caps
                .header_extensions
                .iter()
                .any(|cap| cap.preferred_id == ext.id && cap.uri == ext.uri)
        })
        .cloned()
        .collect();

    let has_ext = |uri: &str| header_extensions.iter().any(|ext| ext.uri == uri);
    let keep_feedback: fn(&str) -> bool = if has_ext(extension_uri::TRANSPORT_WIDE_CC_01) {
        |t| t != "goog-remb"
    } else if has_ext(extension_uri::ABS_SEND_TIME) {
        |t| t != "transport-cc"
    } else {
        |t| t != "transport-cc" && t != "goog-remb"
    };
    for codec in &mut codecs {
        codec.rtcp_feedback.retain(|fb| keep_feedback(&fb.r#type));
    }

    let encodings = if pipe {
        let base_ssrc = generate_random_ssrc();
        let base_rtx_ssrc = generate_random_ssrc();
        consumable
            .encodings
            .iter()
            .zip(0u32..)
            .map(|(encoding, i)| RtpEncodingParameters {
                ssrc: Some(base_ssrc.wrapping_add(i)),
                rtx: rtx_supported.then(|| RtxParameters {
                    ssrc: base_rtx_ssrc.wrapping_add(i),
                }),
                ..encoding.clone()
            })
            .collect()
    } else {
        let ssrc = generate_random_ssrc();
        let mut scalability_mode = consumable
            .encodings
            .iter()
            .find_map(|e| e.scalability_mode.clone().filter(|m| !m.is_empty()));
        if consumable.encodings.len() > 1 {
            let temporal_layers = scalability_mode
                .as_deref()
                .and_then(ScalabilityMode::parse)
                .unwrap_or_default()
                .temporal_layers;
            scalability_mode = Some(format!(
                "L{}T{}",
                consumable.encodings.len(),
                temporal_layers
            ));
        }
        vec![RtpEncodingParameters {
            ssrc: Some(ssrc),
            rtx: rtx_supported.then(|| RtxParameters {
                ssrc: ssrc.wrapping_add(1),
            }),
            scalability_mode,
            max_bitrate: consumable
                .encodings
                .iter()
                .filter_map(|e| e.max_bitrate)
                .max()
                .filter(|&b| b > 0),
            ..RtpEncodingParameters::default()
        }]
    };

    Ok(RtpParameters {
        mid: None,
        codecs,
        header_extensions,
        encodings,
        rtcp: consumable.rtcp.clone(),
        msid: None,
    })
}

/// Pairs `(producer id, router id)` for the producer's header extensions the router
/// receives for this kind.
///
/// Browsers number extensions their own way; incoming packets must have their extension
/// ids rewritten to the router's before being forwarded, and extensions the router does not
/// know are dropped. The first entry wins if a URI or an id is listed twice.
pub fn producer_header_extension_ids(
    kind: MediaKind,
    producer_extensions: &[RtpHeaderExtensionParameters],
    router_caps: &RtpCapabilities,
) -> Vec<(u8, u8)> {
    let mut pairs: Vec<(u8, u8)> = Vec::new();
    let mut seen_uris: Vec<&str> = Vec::new();
    for ext in producer_extensions {
        if ext.id == 0
            || seen_uris.contains(&ext.uri.as_str())
            || pairs.iter().any(|&(id, _)| id == ext.id)
        {
            continue;
        }
        let router_ext = router_caps.header_extensions.iter().find(|cap| {
            cap.kind == kind
                && cap.uri == ext.uri
                && matches!(
                    cap.direction,
                    RtpHeaderExtensionDirection::Sendrecv | RtpHeaderExtensionDirection::Recvonly
                )
        });
        if let Some(router_ext) = router_ext {
            seen_uris.push(&ext.uri);
            pairs.push((ext.id, router_ext.preferred_id));
        }
    }
    pairs
}

/// The fields codec matching looks at, shared by capabilities and parameters.
#[derive(Clone, Copy)]
struct CodecView<'a> {
    mime_type: &'a str,
    clock_rate: u32,
    channels: Option<u8>,
    parameters: &'a ParameterMap,
}

impl<'a> From<&'a RtpCodecCapability> for CodecView<'a> {
    fn from(c: &'a RtpCodecCapability) -> Self {
        CodecView {
            mime_type: &c.mime_type,
            clock_rate: c.clock_rate,
            channels: c.channels,
            parameters: &c.parameters,
        }
    }
}

impl<'a> From<&'a RtpCodecParameters> for CodecView<'a> {
    fn from(c: &'a RtpCodecParameters) -> Self {
        CodecView {
            mime_type: &c.mime_type,
            clock_rate: c.clock_rate,
            channels: c.channels,
            parameters: &c.parameters,
        }
    }
}

impl CodecView<'_> {
    /// Channels as validation would set them, so unvalidated input compares the same way.
    fn effective_channels(&self) -> Option<u8> {
        match MediaKind::from_mime_type(self.mime_type) {
            Some(MediaKind::Audio) => Some(self.channels.unwrap_or(1)),
            _ => None,
        }
    }
}

/// A successful codec match.
enum Matched {
    /// Nothing to adjust.
    Plain,
    /// Strict H264 match: the `profile-level-id` to use for `a` (None: leave it out).
    H264 { profile_level_id: Option<String> },
}

/// Parameter text with JavaScript's `|| 0` default, compared across number/string forms.
fn param_or_zero(parameters: &ParameterMap, key: &str) -> String {
    let text = parameters
        .get(key)
        .map(|v| v.to_text().trim().to_owned())
        .unwrap_or_default();
    if text.is_empty() {
        "0".to_owned()
    } else {
        text
    }
}

fn same_param_or_zero(a: CodecView<'_>, b: CodecView<'_>, key: &str) -> bool {
    param_or_zero(a.parameters, key) == param_or_zero(b.parameters, key)
}

fn param_text(parameters: &ParameterMap, key: &str) -> Option<String> {
    parameters.get(key).map(|v| v.to_text().trim().to_owned())
}

fn match_codecs(a: CodecView<'_>, b: CodecView<'_>, strict: bool) -> Option<Matched> {
    if !a.mime_type.eq_ignore_ascii_case(b.mime_type)
        || a.clock_rate != b.clock_rate
        || a.effective_channels() != b.effective_channels()
    {
        return None;
    }

    match a.mime_type.to_ascii_lowercase().as_str() {
        "audio/multiopus" => {
            let same = |key| param_text(a.parameters, key) == param_text(b.parameters, key);
            if !same("num_streams") || !same("coupled_streams") {
                return None;
            }
        }
        "video/h264" | "video/h264-svc" if strict => {
            if !same_param_or_zero(a, b, "packetization-mode")
                || !h264::is_same_profile(a.parameters, b.parameters)
            {
                return None;
            }
            let profile_level_id = h264::answer_profile_level_id(a.parameters, b.parameters)?;
            return Some(Matched::H264 { profile_level_id });
        }
        "video/vp9" if strict && !same_param_or_zero(a, b, "profile-id") => return None,
        "video/av1" if strict && !same_param_or_zero(a, b, "profile") => return None,
        _ => {}
    }
    Some(Matched::Plain)
}

/// H264 `profile-level-id` handling (RFC 6184 §8.1), as WebRTC and mediasoup's
/// h264-profile-level-id package do it: profiles must be equal, levels are negotiated.
mod h264 {
    use crate::rtp_parameters::ParameterMap;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Profile {
        ConstrainedBaseline,
        Baseline,
        Main,
        ConstrainedHigh,
        High,
        PredictiveHigh444,
    }

    /// `level_idc`, with level 1b (which shares `level_idc` 11 with 1.1) stored as 0.
    type Level = u8;
    const LEVEL_1B: Level = 0;
    const LEVEL_1: Level = 10;
    const LEVEL_1_1: Level = 11;
    const LEVEL_3_1: Level = 31;
    const VALID_LEVELS: [Level; 16] = [
        10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52,
    ];

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) struct ProfileLevelId {
        pub(super) profile: Profile,
        pub(super) level: Level,
    }

    /// What an absent `profile-level-id` means. RFC 6184 says Baseline 1, but WebRTC (and
    /// therefore every browser) assumes Constrained Baseline 3.1 for compatibility.
    const DEFAULT: ProfileLevelId = ProfileLevelId {
        profile: Profile::ConstrainedBaseline,
        level: LEVEL_3_1,
    };

    /// `(mask, value)` for a pattern like `x1xx0000` (`x` = don't care).
    const fn bit_pattern(pattern: &[u8; 8]) -> (u8, u8) {
        let mut mask = 0u8;
        let mut value = 0u8;
        let mut i = 0;
        while i < 8 {
            let bit = 0x80 >> i;
            if pattern[i] != b'x' {
                mask |= bit;
                if pattern[i] == b'1' {
                    value |= bit;
                }
            }
            i += 1;
        }
        (mask, value)
    }

    /// `(profile_idc, profile_iop pattern, profile)`, first match wins.
    const PROFILE_PATTERNS: [(u8, (u8, u8), Profile); 9] = [
        (0x42, bit_pattern(b"x1xx0000"), Profile::ConstrainedBaseline),
        (0x4d, bit_pattern(b"1xxx0000"), Profile::ConstrainedBaseline),
        (0x58, bit_pattern(b"11xx0000"), Profile::ConstrainedBaseline),
        (0x42, bit_pattern(b"x0xx0000"), Profile::Baseline),
        (0x58, bit_pattern(b"10xx0000"), Profile::Baseline),
        (0x4d, bit_pattern(b"0x0x0000"), Profile::Main),
        (0x64, bit_pattern(b"00000000"), Profile::High),
        (0x64, bit_pattern(b"00001100"), Profile::ConstrainedHigh),
        (0xf4, bit_pattern(b"00000000"), Profile::PredictiveHigh444),
    ];

    /// Parses six hex digits (`42e01f`); `None` for unknown profiles or levels.
    pub(super) fn parse_profile_level_id(text: &str) -> Option<ProfileLevelId> {
        const CONSTRAINT_SET3_FLAG: u32 = 0x10;
        if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let numeric = u32::from_str_radix(text, 16).ok()?;
        if numeric == 0 {
            return None;
        }
        let level_idc = (numeric & 0xff) as u8;
        let profile_iop = (numeric >> 8) & 0xff;
        let profile_idc = ((numeric >> 16) & 0xff) as u8;

        let level = if level_idc == LEVEL_1_1 && profile_iop & CONSTRAINT_SET3_FLAG != 0 {
            LEVEL_1B
        } else if VALID_LEVELS.contains(&level_idc) {
            level_idc
        } else {
            return None;
        };

        let iop = profile_iop as u8;
        PROFILE_PATTERNS
            .iter()
            .find(|(idc, (mask, value), _)| *idc == profile_idc && iop & mask == *value)
            .map(|&(_, _, profile)| ProfileLevelId { profile, level })
    }

    fn raw_profile_level_id(params: &ParameterMap) -> Option<String> {
        params
            .get("profile-level-id")
            .map(|v| v.to_text().trim().to_owned())
            .filter(|t| !t.is_empty())
    }

    /// The profile-level-id a parameter set stands for (the default when absent); `None`
    /// when present but invalid.
    fn parse_sdp(params: &ParameterMap) -> Option<ProfileLevelId> {
        match raw_profile_level_id(params) {
            Some(text) => parse_profile_level_id(&text),
            None => Some(DEFAULT),
        }
    }

    pub(super) fn is_same_profile(a: &ParameterMap, b: &ParameterMap) -> bool {
        match (parse_sdp(a), parse_sdp(b)) {
            (Some(a), Some(b)) => a.profile == b.profile,
            _ => false,
        }
    }

    fn level_asymmetry_allowed(params: &ParameterMap) -> bool {
        params.get_u64("level-asymmetry-allowed") == Some(1)
    }

    /// Level order, with 1b between 1 and 1.1.
    ///
    /// The JavaScript package (and its ports) answer `a != 1` for `b == 1b`, which ranks
    /// every level above 1.1 below 1b; this uses the intended order. Browsers never offer
    /// level 1b, so the difference is theoretical.
    fn is_less_level(a: Level, b: Level) -> bool {
        if a == LEVEL_1B {
            return b != LEVEL_1 && b != LEVEL_1B;
        }
        if b == LEVEL_1B {
            return a == LEVEL_1;
        }
        a < b
    }

    fn to_text(id: ProfileLevelId) -> Option<String> {
        if id.level == LEVEL_1B {
            return match id.profile {
                Profile::ConstrainedBaseline => Some("42f00b".into()),
                Profile::Baseline => Some("42100b".into()),
                Profile::Main => Some("4d100b".into()),
                _ => None,
            };
        }
        let prefix = match id.profile {
            Profile::ConstrainedBaseline => "42e0",
            Profile::Baseline => "4200",
            Profile::Main => "4d00",
            Profile::ConstrainedHigh => "640c",
            Profile::High => "6400",
            Profile::PredictiveHigh444 => "f400",
        };
        Some(format!("{prefix}{:02x}", id.level))
    }

    /// The profile-level-id `local` should use after negotiating with `remote`
    /// (`Some(None)`: leave it out). `None` when the two cannot be negotiated.
    ///
    /// With level asymmetry allowed on both sides each side keeps its own level; otherwise
    /// the lower level applies.
    pub(super) fn answer_profile_level_id(
        local: &ParameterMap,
        remote: &ParameterMap,
    ) -> Option<Option<String>> {
        if raw_profile_level_id(local).is_none() && raw_profile_level_id(remote).is_none() {
            return Some(None);
        }
        let local_id = parse_sdp(local)?;
        let remote_id = parse_sdp(remote)?;
        if local_id.profile != remote_id.profile {
            return None;
        }
        let keep_local = (level_asymmetry_allowed(local) && level_asymmetry_allowed(remote))
            || is_less_level(local_id.level, remote_id.level);
        let level = if keep_local {
            local_id.level
        } else {
            remote_id.level
        };
        Some(to_text(ProfileLevelId {
            profile: local_id.profile,
            level,
        }))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn params(entries: &[(&str, &str)]) -> ParameterMap {
            entries.iter().map(|&(k, v)| (k, v)).collect()
        }

        #[test]
        fn parses_common_profiles() {
            let parse = |s| parse_profile_level_id(s).map(|p| (p.profile, p.level));
            assert_eq!(parse("42e01f"), Some((Profile::ConstrainedBaseline, 31)));
            assert_eq!(parse("42001f"), Some((Profile::Baseline, 31)));
            assert_eq!(parse("4d0032"), Some((Profile::Main, 50)));
            assert_eq!(parse("4d001f"), Some((Profile::Main, 31)));
            assert_eq!(parse("640c1f"), Some((Profile::ConstrainedHigh, 31)));
            assert_eq!(parse("640032"), Some((Profile::High, 50)));
            assert_eq!(parse("f4001f"), Some((Profile::PredictiveHigh444, 31)));
            assert_eq!(
                parse("42f00b"),
                Some((Profile::ConstrainedBaseline, LEVEL_1B))
            );
            assert_eq!(parse("42e00b"), Some((Profile::ConstrainedBaseline, 11)));
            assert_eq!(parse("58f01f"), Some((Profile::ConstrainedBaseline, 31)));
            assert_eq!(parse("000000"), None);
            assert_eq!(parse("42e0ff"), None);
            assert_eq!(parse("ff001f"), None);
            assert_eq!(parse("42e01"), None);
            assert_eq!(parse("42e01g"), None);
            assert_eq!(parse("+42e01"), None);
        }

        #[test]
        fn canonical_text() {
            for id in [
                "42e01f", "42001f", "4d0032", "640c1f", "640032", "f40034", "42f00b",
            ] {
                let parsed = parse_profile_level_id(id).and_then(to_text);
                assert_eq!(parsed.as_deref(), Some(id));
            }
            // Other constraint flags normalize to the canonical spelling.
            let parsed = parse_profile_level_id("42c01f").and_then(to_text);
            assert_eq!(parsed.as_deref(), Some("42e01f"));
        }

        #[test]
        fn same_profile_ignores_level() {
            let cb31 = params(&[("profile-level-id", "42e01f")]);
            let cb52 = params(&[("profile-level-id", "42e034")]);
            let main = params(&[("profile-level-id", "4d001f")]);
            let none = ParameterMap::new();
            assert!(is_same_profile(&cb31, &cb52));
            assert!(is_same_profile(&cb31, &none));
            assert!(!is_same_profile(&cb31, &main));
            assert!(!is_same_profile(
                &params(&[("profile-level-id", "zzz")]),
                &none
            ));
        }

        #[test]
        fn answer_levels() {
            let asym =
                |id: &str| params(&[("profile-level-id", id), ("level-asymmetry-allowed", "1")]);
            let sym = |id: &str| params(&[("profile-level-id", id)]);
            let answer = |l: &ParameterMap, r: &ParameterMap| answer_profile_level_id(l, r);
            assert_eq!(
                answer(&asym("42e01f"), &asym("42e034")),
                Some(Some("42e01f".into()))
            );
            assert_eq!(
                answer(&sym("42e034"), &asym("42e01f")),
                Some(Some("42e01f".into()))
            );
            assert_eq!(
                answer(&sym("42e01f"), &sym("42e034")),
                Some(Some("42e01f".into()))
            );
            assert_eq!(
                answer(&sym("42e00a"), &sym("42f00b")),
                Some(Some("42e00a".into()))
            );
            assert_eq!(
                answer(&sym("42e00c"), &sym("42f00b")),
                Some(Some("42f00b".into()))
            );
            assert_eq!(
                answer(&ParameterMap::new(), &ParameterMap::new()),
                Some(None)
            );
            assert_eq!(
                answer(&ParameterMap::new(), &sym("42e034")),
                Some(Some("42e01f".into()))
            );
            assert_eq!(answer(&sym("42e01f"), &sym("4d001f")), None);
            assert_eq!(answer(&sym("bogus!"), &sym("42e01f")), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp_parameters::RtpHeaderExtension;
    use crate::supported_rtp_capabilities::default_media_codecs;
    use serde_json::{json, Value};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn router_caps() -> Result<RtpCapabilities, OrtcError> {
        generate_router_rtp_capabilities(&default_media_codecs())
    }

    fn feedback(list: &[(&str, &str)]) -> Vec<RtcpFeedback> {
        list.iter().map(|(t, p)| RtcpFeedback::new(t, p)).collect()
    }

    #[test]
    fn router_capabilities_shape() -> TestResult {
        let caps = router_caps()?;
        let json = serde_json::to_value(&caps)?;
        let video_fb = json!([
            {"type": "nack", "parameter": ""},
            {"type": "nack", "parameter": "pli"},
            {"type": "ccm", "parameter": "fir"},
            {"type": "goog-remb", "parameter": ""},
            {"type": "transport-cc", "parameter": ""}
        ]);
        let rtx = |pt: u8, apt: u8| {
            json!({"kind": "video", "mimeType": "video/rtx", "preferredPayloadType": pt,
                   "clockRate": 90000, "parameters": {"apt": apt}, "rtcpFeedback": []})
        };
        assert_eq!(
            json["codecs"],
            json!([
                {"kind": "audio", "mimeType": "audio/opus", "preferredPayloadType": 100,
                 "clockRate": 48000, "channels": 2, "parameters": {"useinbandfec": 1},
                 "rtcpFeedback": [{"type": "nack", "parameter": ""},
                                  {"type": "transport-cc", "parameter": ""}]},
                {"kind": "video", "mimeType": "video/VP8", "preferredPayloadType": 101,
                 "clockRate": 90000, "parameters": {}, "rtcpFeedback": video_fb},
                rtx(102, 101),
                {"kind": "video", "mimeType": "video/VP9", "preferredPayloadType": 103,
                 "clockRate": 90000, "parameters": {"profile-id": 0}, "rtcpFeedback": video_fb},
                rtx(104, 103),
                {"kind": "video", "mimeType": "video/H264", "preferredPayloadType": 105,
                 "clockRate": 90000,
                 "parameters": {"level-asymmetry-allowed": 1, "packetization-mode": 1,
                                "profile-level-id": "42e01f"},
                 "rtcpFeedback": video_fb},
                rtx(106, 105),
                {"kind": "video", "mimeType": "video/H264", "preferredPayloadType": 107,
                 "clockRate": 90000,
                 "parameters": {"level-asymmetry-allowed": 1, "packetization-mode": 1,
                                "profile-level-id": "4d0032"},
                 "rtcpFeedback": video_fb},
                rtx(108, 107),
                {"kind": "video", "mimeType": "video/AV1", "preferredPayloadType": 109,
                 "clockRate": 90000, "parameters": {}, "rtcpFeedback": video_fb},
                rtx(110, 109)
            ])
        );
        assert_eq!(
            json["headerExtensions"][0],
            json!({"kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid",
                   "preferredId": 1, "preferredEncrypt": false, "direction": "sendrecv"})
        );
        assert_eq!(
            json["headerExtensions"][2]["direction"],
            json!("recvonly"),
            "rid is only received"
        );
        // What mediasoup-client's device.load() receives must parse back identically.
        let back: RtpCapabilities = serde_json::from_value(json)?;
        assert_eq!(back, caps);
        Ok(())
    }

    #[test]
    fn router_capabilities_keep_configured_payload_types_and_parameters() -> TestResult {
        let codecs: Vec<RtpCodecCapability> = serde_json::from_value(json!([
            {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2,
             "parameters": {"useinbandfec": 1, "foo": "bar"}},
            {"kind": "video", "mimeType": "video/VP8", "preferredPayloadType": 125, "clockRate": 90000},
            {"kind": "video", "mimeType": "video/H264", "clockRate": 90000,
             "parameters": {"level-asymmetry-allowed": 1, "profile-level-id": "42e01f", "foo": "bar"},
             "rtcpFeedback": []},
            {"kind": "audio", "mimeType": "audio/PCMU", "clockRate": 8000}
        ]))?;
        let caps = generate_router_rtp_capabilities(&codecs)?;
        let pts: Vec<Option<u8>> = caps
            .codecs
            .iter()
            .map(|c| c.preferred_payload_type)
            .collect();
        assert_eq!(
            pts,
            [
                Some(100),
                Some(125),
                Some(101),
                Some(102),
                Some(103),
                Some(0)
            ]
        );
        assert_eq!(caps.codecs[0].parameters.get("foo"), Some(&"bar".into()));
        assert_eq!(caps.codecs[2].parameters.get_u64("apt"), Some(125));
        // Supported feedback replaces the configured (empty) list.
        assert_eq!(caps.codecs[3].rtcp_feedback.len(), 5);
        assert_eq!(caps.codecs[5].channels, Some(1));
        Ok(())
    }

    #[test]
    fn router_capabilities_errors() -> TestResult {
        let codec = |v: Value| serde_json::from_value::<RtpCodecCapability>(v);
        let chicken =
            codec(json!({"kind": "audio", "mimeType": "audio/chicken", "clockRate": 8000}))?;
        assert_eq!(
            generate_router_rtp_capabilities(&[chicken]),
            Err(OrtcError::UnsupportedMediaCodec("audio/chicken".into()))
        );
        // Opus is only supported as stereo.
        let mono = codec(json!({"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000}))?;
        assert!(matches!(
            generate_router_rtp_capabilities(&[mono]),
            Err(OrtcError::UnsupportedMediaCodec(_))
        ));
        let opus = codec(
            json!({"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}),
        )?;
        assert_eq!(
            generate_router_rtp_capabilities(&vec![opus; 40]),
            Err(OrtcError::NoMorePayloadTypes)
        );
        let vp8 = |pt: u8| {
            codec(
                json!({"kind": "video", "mimeType": "video/VP8", "clockRate": 90000, "preferredPayloadType": pt}),
            )
        };
        assert_eq!(
            generate_router_rtp_capabilities(&[vp8(110)?, vp8(110)?]),
            Err(OrtcError::DuplicatedPreferredPayloadType(110))
        );
        let bad = codec(json!({"kind": "video", "mimeType": "VP8", "clockRate": 90000}))?;
        assert_eq!(
            generate_router_rtp_capabilities(&[bad]),
            Err(OrtcError::InvalidMimeType("VP8".into()))
        );
        Ok(())
    }

    /// Chrome's audio producer parameters as mediasoup-client sends them.
    fn chrome_audio_producer() -> Result<RtpParameters, serde_json::Error> {
        serde_json::from_value(json!({
            "codecs": [{"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000,
                        "channels": 2, "parameters": {"minptime": 10, "useinbandfec": 1, "sprop-stereo": 1},
                        "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}]}],
            "headerExtensions": [
                {"uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id": 1, "encrypt": false, "parameters": {}},
                {"uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 2, "encrypt": false, "parameters": {}},
                {"uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id": 3, "encrypt": false, "parameters": {}},
                {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4, "encrypt": false, "parameters": {}},
                {"uri": "urn:example:unknown", "id": 7, "encrypt": false, "parameters": {}}
            ],
            "encodings": [{"ssrc": 1111111111u32, "dtx": false}],
            "rtcp": {"cname": "audiocname", "reducedSize": true},
            "mid": "0"
        }))
    }

    /// Chrome's simulcast VP8 producer (plus an H264 entry) as mediasoup-client sends it.
    fn chrome_video_producer() -> Result<RtpParameters, serde_json::Error> {
        let video_fb = json!([
            {"type": "goog-remb", "parameter": ""}, {"type": "transport-cc", "parameter": ""},
            {"type": "ccm", "parameter": "fir"}, {"type": "nack", "parameter": ""},
            {"type": "nack", "parameter": "pli"}
        ]);
        serde_json::from_value(json!({
            "codecs": [
                {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "parameters": {},
                 "rtcpFeedback": video_fb},
                {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000,
                 "parameters": {"apt": 96}, "rtcpFeedback": []},
                {"mimeType": "video/H264", "payloadType": 127, "clockRate": 90000,
                 "parameters": {"level-asymmetry-allowed": 1, "packetization-mode": 1,
                                "profile-level-id": "4d001f"},
                 "rtcpFeedback": video_fb},
                {"mimeType": "video/rtx", "payloadType": 125, "clockRate": 90000,
                 "parameters": {"apt": 127}, "rtcpFeedback": []}
            ],
            "headerExtensions": [
                {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4, "encrypt": false, "parameters": {}},
                {"uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "id": 10, "encrypt": false, "parameters": {}},
                {"uri": "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", "id": 11, "encrypt": false, "parameters": {}},
                {"uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 2, "encrypt": false, "parameters": {}},
                {"uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id": 3, "encrypt": false, "parameters": {}},
                {"uri": "urn:3gpp:video-orientation", "id": 13, "encrypt": false, "parameters": {}},
                {"uri": "urn:ietf:params:rtp-hdrext:toffset", "id": 14, "encrypt": false, "parameters": {}}
            ],
            "encodings": [
                {"active": true, "scalabilityMode": "L1T3", "scaleResolutionDownBy": 4, "maxBitrate": 150000, "rid": "r0"},
                {"active": true, "scalabilityMode": "L1T3", "scaleResolutionDownBy": 2, "maxBitrate": 500000, "rid": "r1"},
                {"active": true, "scalabilityMode": "L1T3", "scaleResolutionDownBy": 1, "maxBitrate": 1500000, "rid": "r2"}
            ],
            "rtcp": {"cname": "videocname", "reducedSize": true},
            "mid": "1",
            "msid": "- 6b5c4d0e"
        }))
    }

    /// `device.rtpCapabilities` of a Chrome mediasoup-client loaded with the default router
    /// capabilities: router payload types and extension ids, Chrome's feedback.
    fn chrome_recv_capabilities() -> Result<RtpCapabilities, serde_json::Error> {
        let video_fb = json!([
            {"type": "goog-remb", "parameter": ""}, {"type": "transport-cc", "parameter": ""},
            {"type": "ccm", "parameter": "fir"}, {"type": "nack", "parameter": ""},
            {"type": "nack", "parameter": "pli"}
        ]);
        serde_json::from_value(json!({
            "codecs": [
                {"mimeType": "audio/opus", "kind": "audio", "preferredPayloadType": 100, "clockRate": 48000,
                 "channels": 2, "parameters": {"minptime": 10, "useinbandfec": 1},
                 "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}]},
                {"mimeType": "video/VP8", "kind": "video", "preferredPayloadType": 101, "clockRate": 90000,
                 "parameters": {}, "rtcpFeedback": video_fb},
                {"mimeType": "video/rtx", "kind": "video", "preferredPayloadType": 102, "clockRate": 90000,
                 "parameters": {"apt": 101}, "rtcpFeedback": []},
                {"mimeType": "video/VP9", "kind": "video", "preferredPayloadType": 103, "clockRate": 90000,
                 "parameters": {"profile-id": 0}, "rtcpFeedback": video_fb},
                {"mimeType": "video/rtx", "kind": "video", "preferredPayloadType": 104, "clockRate": 90000,
                 "parameters": {"apt": 103}, "rtcpFeedback": []},
                {"mimeType": "video/H264", "kind": "video", "preferredPayloadType": 105, "clockRate": 90000,
                 "parameters": {"level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "42e01f"},
                 "rtcpFeedback": video_fb},
                {"mimeType": "video/rtx", "kind": "video", "preferredPayloadType": 106, "clockRate": 90000,
                 "parameters": {"apt": 105}, "rtcpFeedback": []},
                {"mimeType": "video/H264", "kind": "video", "preferredPayloadType": 107, "clockRate": 90000,
                 "parameters": {"level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "4d0032"},
                 "rtcpFeedback": video_fb},
                {"mimeType": "video/rtx", "kind": "video", "preferredPayloadType": 108, "clockRate": 90000,
                 "parameters": {"apt": 107}, "rtcpFeedback": []}
            ],
            "headerExtensions": [
                {"kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1, "preferredEncrypt": false, "direction": "sendrecv"},
                {"kind": "video", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1, "preferredEncrypt": false, "direction": "sendrecv"},
                {"kind": "audio", "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "preferredId": 4, "preferredEncrypt": false, "direction": "sendrecv"},
                {"kind": "video", "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "preferredId": 4, "preferredEncrypt": false, "direction": "sendrecv"},
                {"kind": "video", "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "preferredId": 5, "preferredEncrypt": false, "direction": "sendrecv"},
                {"kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "preferredId": 6, "preferredEncrypt": false, "direction": "sendrecv"},
                {"kind": "video", "uri": "urn:3gpp:video-orientation", "preferredId": 8, "preferredEncrypt": false, "direction": "sendrecv"},
                {"kind": "video", "uri": "urn:ietf:params:rtp-hdrext:toffset", "preferredId": 9, "preferredEncrypt": false, "direction": "sendrecv"}
            ]
        }))
    }

    /// Runs the whole producer side: validate, map, consumable.
    fn produce(
        kind: MediaKind,
        mut params: RtpParameters,
        caps: &RtpCapabilities,
    ) -> Result<(RtpParameters, RtpMapping, RtpParameters), OrtcError> {
        validate_rtp_parameters(&mut params)?;
        let mapping = get_producer_rtp_parameters_mapping(&params, caps)?;
        let consumable = get_consumable_rtp_parameters(kind, &params, caps, &mapping)?;
        Ok((params, mapping, consumable))
    }

    #[test]
    fn chrome_audio_producer_is_mapped() -> TestResult {
        let caps = router_caps()?;
        let (params, mapping, consumable) =
            produce(MediaKind::Audio, chrome_audio_producer()?, &caps)?;
        assert_eq!(
            mapping.codecs,
            [RtpMappingCodec {
                payload_type: 111,
                mapped_payload_type: 100
            }]
        );
        assert_eq!(mapping.encodings.len(), 1);
        assert_eq!(mapping.encodings[0].ssrc, Some(1111111111));
        assert!((100_000_000..1_000_000_000).contains(&mapping.encodings[0].mapped_ssrc));

        let json = serde_json::to_value(&consumable)?;
        assert_eq!(
            json["codecs"],
            json!([{"mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000, "channels": 2,
                    "parameters": {"minptime": 10, "sprop-stereo": 1, "useinbandfec": 1},
                    "rtcpFeedback": [{"type": "nack", "parameter": ""},
                                     {"type": "transport-cc", "parameter": ""}]}])
        );
        let ids: Vec<(&str, u8)> = consumable
            .header_extensions
            .iter()
            .map(|e| (e.uri.as_str(), e.id))
            .collect();
        // transport-wide-cc is receive-only for audio, so consumers do not get it.
        assert_eq!(
            ids,
            [
                (extension_uri::MID, 1),
                (extension_uri::ABS_SEND_TIME, 4),
                (extension_uri::SSRC_AUDIO_LEVEL, 6),
                (extension_uri::ABS_CAPTURE_TIME, 10),
                (extension_uri::PLAYOUT_DELAY, 11),
            ]
        );
        assert_eq!(
            json["encodings"],
            json!([{"ssrc": mapping.encodings[0].mapped_ssrc, "dtx": false}])
        );
        assert_eq!(
            json["rtcp"],
            json!({"cname": "audiocname", "reducedSize": true})
        );

        assert_eq!(
            producer_header_extension_ids(MediaKind::Audio, &params.header_extensions, &caps),
            [(1, 6), (2, 4), (3, 5), (4, 1)]
        );
        Ok(())
    }

    #[test]
    fn chrome_simulcast_video_producer_is_mapped() -> TestResult {
        let caps = router_caps()?;
        let (params, mapping, consumable) =
            produce(MediaKind::Video, chrome_video_producer()?, &caps)?;
        let pairs: Vec<(u8, u8)> = mapping
            .codecs
            .iter()
            .map(|c| (c.payload_type, c.mapped_payload_type))
            .collect();
        assert_eq!(pairs, [(96, 101), (127, 107), (97, 102), (125, 108)]);
        // Main 3.1 is negotiated against the router's Main 5.0 and keeps its own level.
        assert_eq!(
            consumable.codecs[2].parameters.get("profile-level-id"),
            Some(&"4d001f".into())
        );

        let rids: Vec<Option<&str>> = mapping.encodings.iter().map(|e| e.rid.as_deref()).collect();
        assert_eq!(rids, [Some("r0"), Some("r1"), Some("r2")]);
        let base = mapping.encodings[0].mapped_ssrc;
        assert_eq!(mapping.encodings[2].mapped_ssrc, base + 2);
        assert_eq!(
            mapping.encodings[1].scalability_mode.as_deref(),
            Some("L1T3")
        );

        let consumable_pts: Vec<(u8, &str)> = consumable
            .codecs
            .iter()
            .map(|c| (c.payload_type, c.mime_type.as_str()))
            .collect();
        assert_eq!(
            consumable_pts,
            [
                (101, "video/VP8"),
                (102, "video/rtx"),
                (107, "video/H264"),
                (108, "video/rtx")
            ]
        );
        let json = serde_json::to_value(&consumable)?;
        assert_eq!(
            json["encodings"][1],
            json!({"ssrc": base + 1, "dtx": false, "scalabilityMode": "L1T3",
                   "scaleResolutionDownBy": 2.0, "maxBitrate": 500000, "active": true})
        );
        let ids: Vec<u8> = consumable.header_extensions.iter().map(|e| e.id).collect();
        assert_eq!(ids, [1, 4, 5, 7, 8, 9, 10, 11]);

        assert_eq!(
            producer_header_extension_ids(MediaKind::Video, &params.header_extensions, &caps),
            [(4, 1), (10, 2), (11, 3), (2, 4), (3, 5), (13, 8), (14, 9)]
        );
        Ok(())
    }

    #[test]
    fn consumer_for_chrome() -> TestResult {
        let caps = router_caps()?;
        let (_, _, consumable) = produce(MediaKind::Video, chrome_video_producer()?, &caps)?;
        let remote = chrome_recv_capabilities()?;
        assert!(can_consume(&consumable, &remote));

        let consumer = get_consumer_rtp_parameters(&consumable, &remote, false, true)?;
        let json = serde_json::to_value(&consumer)?;
        let fb_without_remb = json!([
            {"type": "transport-cc", "parameter": ""}, {"type": "ccm", "parameter": "fir"},
            {"type": "nack", "parameter": ""}, {"type": "nack", "parameter": "pli"}
        ]);
        assert_eq!(
            json["codecs"],
            json!([
                {"mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000, "parameters": {},
                 "rtcpFeedback": fb_without_remb},
                {"mimeType": "video/rtx", "payloadType": 102, "clockRate": 90000,
                 "parameters": {"apt": 101}, "rtcpFeedback": []},
                {"mimeType": "video/H264", "payloadType": 107, "clockRate": 90000,
                 "parameters": {"level-asymmetry-allowed": 1, "packetization-mode": 1,
                                "profile-level-id": "4d001f"},
                 "rtcpFeedback": fb_without_remb},
                {"mimeType": "video/rtx", "payloadType": 108, "clockRate": 90000,
                 "parameters": {"apt": 107}, "rtcpFeedback": []}
            ])
        );
        let exts: Vec<(&str, u8)> = consumer
            .header_extensions
            .iter()
            .map(|e| (e.uri.as_str(), e.id))
            .collect();
        assert_eq!(
            exts,
            [
                (extension_uri::MID, 1),
                (extension_uri::ABS_SEND_TIME, 4),
                (extension_uri::TRANSPORT_WIDE_CC_01, 5),
                (extension_uri::VIDEO_ORIENTATION, 8),
                (extension_uri::TOFFSET, 9),
            ]
        );
        assert_eq!(consumer.encodings.len(), 1);
        let encoding = &consumer.encodings[0];
        let ssrc = encoding.ssrc.ok_or("no ssrc")?;
        assert_eq!(encoding.rtx, Some(RtxParameters { ssrc: ssrc + 1 }));
        assert_eq!(encoding.scalability_mode.as_deref(), Some("L3T3"));
        assert_eq!(encoding.max_bitrate, Some(1_500_000));
        assert_eq!(encoding.rid, None);
        assert_eq!(
            json["rtcp"],
            json!({"cname": "videocname", "reducedSize": true})
        );
        assert!(json.get("mid").is_none());
        Ok(())
    }

    #[test]
    fn consumer_feedback_follows_negotiated_extensions() -> TestResult {
        let caps = router_caps()?;
        let (_, _, consumable) = produce(MediaKind::Video, chrome_video_producer()?, &caps)?;
        let types = |params: &RtpParameters| -> Vec<String> {
            params.codecs[0]
                .rtcp_feedback
                .iter()
                .map(|f| format!("{} {}", f.r#type, f.parameter).trim().to_owned())
                .collect()
        };

        let mut remote = chrome_recv_capabilities()?;
        remote
            .header_extensions
            .retain(|e| e.uri != extension_uri::TRANSPORT_WIDE_CC_01);
        let consumer = get_consumer_rtp_parameters(&consumable, &remote, false, true)?;
        assert_eq!(
            types(&consumer),
            ["goog-remb", "ccm fir", "nack", "nack pli"]
        );

        remote
            .header_extensions
            .retain(|e| e.uri != extension_uri::ABS_SEND_TIME);
        let consumer = get_consumer_rtp_parameters(&consumable, &remote, false, true)?;
        assert_eq!(types(&consumer), ["ccm fir", "nack", "nack pli"]);

        // Without RTX: no RTX codec, no RTX SSRC, no generic NACK.
        let remote = chrome_recv_capabilities()?;
        let consumer = get_consumer_rtp_parameters(&consumable, &remote, false, false)?;
        assert!(consumer.codecs.iter().all(|c| !c.is_rtx()));
        assert_eq!(consumer.encodings[0].rtx, None);
        assert_eq!(types(&consumer), ["transport-cc", "ccm fir", "nack pli"]);
        Ok(())
    }

    #[test]
    fn audio_consumer_and_pipe_consumer() -> TestResult {
        let caps = router_caps()?;
        let remote = chrome_recv_capabilities()?;
        let (_, _, audio) = produce(MediaKind::Audio, chrome_audio_producer()?, &caps)?;
        let consumer = get_consumer_rtp_parameters(&audio, &remote, false, true)?;
        assert_eq!(consumer.codecs.len(), 1);
        assert_eq!(consumer.codecs[0].rtcp_feedback, feedback(&[]));
        assert_eq!(consumer.encodings[0].rtx, None);
        assert_eq!(consumer.encodings[0].scalability_mode, None);
        let ids: Vec<u8> = consumer.header_extensions.iter().map(|e| e.id).collect();
        assert_eq!(ids, [1, 4, 6]);

        let (_, _, video) = produce(MediaKind::Video, chrome_video_producer()?, &caps)?;
        let pipe = get_consumer_rtp_parameters(&video, &remote, true, true)?;
        assert_eq!(pipe.encodings.len(), 3);
        let base = pipe.encodings[0].ssrc.ok_or("no ssrc")?;
        assert_eq!(pipe.encodings[2].ssrc, Some(base + 2));
        assert!(pipe
            .encodings
            .iter()
            .all(|e| e.rtx.is_some() && e.rid.is_none()));
        assert_eq!(pipe.encodings[0].scalability_mode.as_deref(), Some("L1T3"));
        Ok(())
    }

    #[test]
    fn cannot_consume_without_a_common_codec() -> TestResult {
        let caps = router_caps()?;
        let (_, _, consumable) = produce(MediaKind::Video, chrome_video_producer()?, &caps)?;

        let mut opus_only = chrome_recv_capabilities()?;
        opus_only.codecs.retain(|c| c.kind == MediaKind::Audio);
        assert!(!can_consume(&consumable, &opus_only));
        assert_eq!(
            get_consumer_rtp_parameters(&consumable, &opus_only, false, true),
            Err(OrtcError::NoCompatibleMediaCodecs)
        );

        // Only RTX in common is not enough.
        let mut rtx_only = chrome_recv_capabilities()?;
        rtx_only.codecs.retain(RtpCodecCapability::is_rtx);
        assert!(!can_consume(&consumable, &rtx_only));

        // H264: same MIME type, other profile (a Main producer, a Constrained Baseline
        // receiver) does not match.
        let mut h264_only = consumable.clone();
        h264_only.codecs.retain(|c| c.payload_type >= 107);
        let mut baseline_receiver = chrome_recv_capabilities()?;
        baseline_receiver.codecs.retain(|c| {
            c.preferred_payload_type
                .is_some_and(|pt| pt == 105 || pt == 106)
        });
        assert!(!can_consume(&h264_only, &baseline_receiver));

        // Same profile, other packetization mode.
        let mut mode0 = chrome_recv_capabilities()?;
        for codec in &mut mode0.codecs {
            codec.parameters.insert("packetization-mode", 0u32);
        }
        mode0.codecs.retain(|c| c.mime_type == "video/H264");
        assert!(!can_consume(&h264_only, &mode0));

        // VP9 profile 2 receiver for a VP9 profile 0 producer.
        let vp9 = RtpParameters {
            codecs: vec![RtpCodecParameters {
                mime_type: "video/VP9".into(),
                payload_type: 103,
                clock_rate: 90000,
                channels: None,
                parameters: [("profile-id", 0u32)].into_iter().collect(),
                rtcp_feedback: vec![],
            }],
            ..RtpParameters::default()
        };
        let mut vp9_profile2 = chrome_recv_capabilities()?;
        for codec in &mut vp9_profile2.codecs {
            codec.parameters.insert("profile-id", "2");
        }
        assert!(!can_consume(&vp9, &vp9_profile2));
        assert!(can_consume(&vp9, &chrome_recv_capabilities()?));
        Ok(())
    }

    #[test]
    fn producer_with_unsupported_h264_profile_is_rejected() -> TestResult {
        let caps = router_caps()?;
        for profile_level_id in ["42001f", "640c1f", "640032"] {
            let mut params = chrome_video_producer()?;
            params.codecs.truncate(2);
            params.codecs[0].mime_type = "video/H264".into();
            params.codecs[0].parameters = [
                ("packetization-mode", "1"),
                ("profile-level-id", profile_level_id),
            ]
            .into_iter()
            .collect();
            validate_rtp_parameters(&mut params)?;
            assert_eq!(
                get_producer_rtp_parameters_mapping(&params, &caps),
                Err(OrtcError::UnsupportedCodec {
                    mime_type: "video/H264".into(),
                    payload_type: 96
                }),
                "{profile_level_id}"
            );
        }
        // An H264 producer without packetization-mode (mode 0) is not mode 1.
        let mut params = chrome_video_producer()?;
        params.codecs.drain(..2);
        params.codecs[0].parameters.remove("packetization-mode");
        assert!(matches!(
            get_producer_rtp_parameters_mapping(&params, &caps),
            Err(OrtcError::UnsupportedCodec { .. })
        ));
        Ok(())
    }

    #[test]
    fn validation_errors() -> TestResult {
        let base = chrome_video_producer()?;
        let check = |edit: &dyn Fn(&mut RtpParameters)| {
            let mut params = base.clone();
            edit(&mut params);
            validate_rtp_parameters(&mut params)
        };
        assert_eq!(check(&|_| {}), Ok(()));
        assert_eq!(
            check(&|p| p.codecs[0].mime_type = "VP8".into()),
            Err(OrtcError::InvalidMimeType("VP8".into()))
        );
        assert_eq!(
            check(&|p| p.codecs[0].mime_type = "application/VP8".into()),
            Err(OrtcError::InvalidMimeType("application/VP8".into()))
        );
        assert_eq!(
            check(&|p| {
                p.codecs[1].parameters.remove("apt");
            }),
            Err(OrtcError::MissingApt { payload_type: 97 })
        );
        assert_eq!(
            check(&|p| {
                p.codecs[1].parameters.insert("apt", 55u32);
            }),
            Err(OrtcError::InvalidApt {
                payload_type: 97,
                apt: 55
            })
        );
        assert_eq!(
            check(&|p| {
                p.codecs[1].parameters.insert("apt", 125u32);
            }),
            Err(OrtcError::InvalidApt {
                payload_type: 97,
                apt: 125
            })
        );
        assert!(matches!(
            check(&|p| {
                p.codecs[1].parameters.insert("apt", "x");
            }),
            Err(OrtcError::InvalidCodecParameter { .. })
        ));
        assert_eq!(
            check(&|p| p.codecs[3].payload_type = 96),
            Err(OrtcError::DuplicatedPayloadType(96))
        );
        assert!(matches!(
            check(&|p| p.codecs[0].clock_rate = 0),
            Err(OrtcError::InvalidClockRate { .. })
        ));
        assert!(matches!(
            check(&|p| p.codecs[0].payload_type = 200),
            Err(OrtcError::InvalidPayloadType { .. })
        ));
        assert_eq!(
            check(&|p| p.codecs.retain(RtpCodecParameters::is_rtx)),
            Err(OrtcError::NoMediaCodecs)
        );
        assert_eq!(check(&|p| p.codecs.clear()), Err(OrtcError::NoMediaCodecs));
        assert!(matches!(
            check(&|p| p.header_extensions[0].id = 0),
            Err(OrtcError::InvalidHeaderExtension { .. })
        ));
        assert!(matches!(
            check(&|p| p.encodings[1].scalability_mode = Some("L3T3".into())),
            Err(OrtcError::InvalidEncoding { index: 1, .. })
        ));
        assert!(matches!(
            check(&|p| p.encodings[0].codec_payload_type = Some(97)),
            Err(OrtcError::InvalidEncoding { index: 0, .. })
        ));
        assert!(matches!(
            check(&|p| p.codecs[0].rtcp_feedback.push(RtcpFeedback::new("", "pli"))),
            Err(OrtcError::InvalidRtcpFeedback { .. })
        ));

        // Normalization: audio channels default to 1, video channels are dropped.
        let mut params: RtpParameters = serde_json::from_value(json!({
            "codecs": [{"mimeType": "audio/PCMU", "payloadType": 0, "clockRate": 8000}],
            "encodings": [{"ssrc": 5, "rid": ""}],
            "mid": ""
        }))?;
        validate_rtp_parameters(&mut params)?;
        assert_eq!(params.codecs[0].channels, Some(1));
        assert_eq!(params.encodings[0].rid, None);
        assert_eq!(params.encodings[0].dtx, Some(false));
        assert_eq!(params.mid, None);

        let mut caps: RtpCapabilities = serde_json::from_value(json!({
            "codecs": [{"kind": "audio", "mimeType": "video/VP8", "clockRate": 90000, "channels": 2},
                       {"kind": "video", "mimeType": "video/rtx", "clockRate": 90000}]
        }))?;
        assert_eq!(
            validate_rtp_capabilities(&mut caps),
            Err(OrtcError::MissingApt { payload_type: 0 })
        );
        assert_eq!(caps.codecs[0].kind, MediaKind::Video);
        assert_eq!(caps.codecs[0].channels, None);
        Ok(())
    }

    #[test]
    fn producer_mapping_errors() -> TestResult {
        let caps = router_caps()?;

        // Simulcast encodings must say which stream they are.
        let mut params = chrome_video_producer()?;
        params.encodings[1].rid = None;
        assert!(matches!(
            get_producer_rtp_parameters_mapping(&params, &caps),
            Err(OrtcError::InvalidEncoding { index: 1, .. })
        ));

        // A single stream can be recognized by MID alone; without MID it needs an SSRC.
        let mut params = chrome_audio_producer()?;
        params.encodings.clear();
        validate_rtp_parameters(&mut params)?;
        assert_eq!(params.encodings.len(), 1);
        let mapping = get_producer_rtp_parameters_mapping(&params, &caps)?;
        assert_eq!(mapping.encodings.len(), 1);
        params.mid = None;
        assert!(matches!(
            get_producer_rtp_parameters_mapping(&params, &caps),
            Err(OrtcError::InvalidEncoding { index: 0, .. })
        ));

        // RTX for a codec whose router entry has no RTX (audio).
        let mut params = chrome_audio_producer()?;
        params.codecs.push(serde_json::from_value(json!(
            {"mimeType": "audio/rtx", "payloadType": 112, "clockRate": 48000, "parameters": {"apt": 111}}
        ))?);
        validate_rtp_parameters(&mut params)?;
        assert_eq!(
            get_producer_rtp_parameters_mapping(&params, &caps),
            Err(OrtcError::NoRtxCodec(100))
        );

        // Kind declared by the client must fit the codecs.
        let params = chrome_audio_producer()?;
        let mapping = get_producer_rtp_parameters_mapping(&params, &caps)?;
        assert!(matches!(
            get_consumable_rtp_parameters(MediaKind::Video, &params, &caps, &mapping),
            Err(OrtcError::KindMismatch { .. })
        ));
        // Mapping from other parameters.
        let other = RtpMapping::default();
        assert!(matches!(
            get_consumable_rtp_parameters(MediaKind::Audio, &params, &caps, &other),
            Err(OrtcError::MappingMismatch(_))
        ));
        Ok(())
    }

    #[test]
    fn matching_helpers() -> TestResult {
        let caps = router_caps()?;
        let remote = chrome_recv_capabilities()?;
        let (_, _, consumable) = produce(MediaKind::Video, chrome_video_producer()?, &caps)?;
        let matched = find_matching_codec(&consumable.codecs[0], &remote).ok_or("no match")?;
        assert_eq!(matched.preferred_payload_type, Some(101));
        // Unvalidated capabilities (mono audio without `channels`) still match.
        let pcmu = RtpCodecParameters {
            mime_type: "audio/PCMU".into(),
            payload_type: 0,
            clock_rate: 8000,
            channels: Some(1),
            parameters: ParameterMap::new(),
            rtcp_feedback: vec![],
        };
        let raw = RtpCapabilities {
            codecs: vec![RtpCodecCapability {
                kind: MediaKind::Audio,
                mime_type: "audio/pcmu".into(),
                preferred_payload_type: Some(0),
                clock_rate: 8000,
                channels: None,
                parameters: ParameterMap::new(),
                rtcp_feedback: vec![],
            }],
            header_extensions: vec![RtpHeaderExtension {
                kind: MediaKind::Audio,
                uri: extension_uri::MID.into(),
                preferred_id: 1,
                preferred_encrypt: false,
                direction: RtpHeaderExtensionDirection::Sendrecv,
            }],
        };
        assert!(find_matching_codec(&pcmu, &raw).is_some());

        // A non-canonical Constrained Baseline id is negotiated to the canonical spelling,
        // at the producer's level (asymmetry allowed on both sides).
        let mut h264 = chrome_video_producer()?;
        h264.codecs.drain(..2);
        h264.codecs[0]
            .parameters
            .insert("profile-level-id", "42c034");
        let (_, mapping, consumable) = produce(MediaKind::Video, h264, &caps)?;
        assert_eq!(mapping.mapped_payload_type(127), Some(105));
        assert_eq!(
            consumable.codecs[0].parameters.get("profile-level-id"),
            Some(&"42e034".into())
        );
        Ok(())
    }

    #[test]
    fn mapping_serializes_like_mediasoup() -> TestResult {
        let mapping = RtpMapping {
            codecs: vec![RtpMappingCodec {
                payload_type: 96,
                mapped_payload_type: 101,
            }],
            encodings: vec![RtpMappingEncoding {
                ssrc: None,
                rid: Some("r0".into()),
                scalability_mode: Some("L1T3".into()),
                mapped_ssrc: 123456789,
            }],
        };
        assert_eq!(
            serde_json::to_value(&mapping)?,
            json!({"codecs": [{"payloadType": 96, "mappedPayloadType": 101}],
                   "encodings": [{"rid": "r0", "scalabilityMode": "L1T3", "mappedSsrc": 123456789}]})
        );
        Ok(())
    }
}
