//! RTP capabilities and parameters in mediasoup's JSON shapes.
//!
//! These types travel unchanged between mediasoup-client and ferrosoup, so their serde
//! representation *is* the wire protocol: camelCase keys, optional fields omitted when unset,
//! unknown fields from clients ignored. Deserialization is deliberately forgiving (a `null`
//! list or map becomes empty, codec parameter values may be numbers or strings) because
//! browsers and apps feed these objects through JavaScript; the semantic checks live in
//! [`crate::ortc`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Well-known RTP header extension URIs.
///
/// Kept as plain strings (not an enum) because clients may announce extensions ferrosoup does
/// not know, and those must still deserialize and simply be ignored.
pub mod extension_uri {
    /// `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 8843): identifies the m-section of a packet.
    pub const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
    /// RFC 8852 RtpStreamId: identifies a simulcast encoding by its `rid`.
    pub const RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    /// RFC 8852 RepairedRtpStreamId: the `rid` a retransmission stream repairs.
    pub const REPAIRED_RTP_STREAM_ID: &str =
        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
    /// Absolute send time, used by REMB bandwidth estimation.
    pub const ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    /// Transport-wide sequence numbers, used by transport-cc bandwidth estimation.
    pub const TRANSPORT_WIDE_CC_01: &str =
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    /// RFC 6464 client-to-mixer audio level.
    pub const SSRC_AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    /// AV1 dependency descriptor (needed for AV1 SVC layer selection).
    pub const DEPENDENCY_DESCRIPTOR: &str =
        "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension";
    /// 3GPP coordination of video orientation.
    pub const VIDEO_ORIENTATION: &str = "urn:3gpp:video-orientation";
    /// RFC 5450 transmission time offset.
    pub const TOFFSET: &str = "urn:ietf:params:rtp-hdrext:toffset";
    /// Absolute capture time (A/V sync across senders).
    pub const ABS_CAPTURE_TIME: &str =
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
    /// Playout delay hints from sender to receiver.
    pub const PLAYOUT_DELAY: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
}

/// Media kind, serialized as `"audio"` / `"video"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Audio track.
    Audio,
    /// Video track.
    Video,
}

impl MediaKind {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }

    /// Kind named by a MIME type such as `"video/VP8"`.
    ///
    /// mediasoup derives the kind from the MIME type rather than trusting a separate `kind`
    /// field, so this is the authority. Case-insensitive; `None` unless the type has a
    /// non-empty subtype.
    pub fn from_mime_type(mime_type: &str) -> Option<MediaKind> {
        let (top, sub) = mime_type.split_once('/')?;
        if sub.is_empty() {
            return None;
        }
        if top.eq_ignore_ascii_case("audio") {
            Some(MediaKind::Audio)
        } else if top.eq_ignore_ascii_case("video") {
            Some(MediaKind::Video)
        } else {
            None
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a MIME type names a retransmission (RFC 4588) codec.
fn mime_is_rtx(mime_type: &str) -> bool {
    match mime_type.split_once('/') {
        Some((top, sub)) => !top.is_empty() && sub.eq_ignore_ascii_case("rtx"),
        None => false,
    }
}

/// One codec parameter value (an SDP fmtp value).
///
/// JavaScript (through sdp-transform) turns fmtp values that look like integers into numbers
/// and leaves the rest as strings, so the same key may arrive as `1`, `"1"` or even `1.0`.
/// Keeping the original type lets ferrosoup echo values back exactly as received; the
/// accessors interpret them leniently.
#[derive(Clone, Debug, PartialEq)]
pub enum ParameterValue {
    /// A JSON number, kept verbatim (integer or float).
    Number(serde_json::Number),
    /// A JSON string.
    String(String),
}

impl ParameterValue {
    /// Non-negative integer value; accepts integral floats and numeric strings.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            ParameterValue::Number(n) => n.as_u64().or_else(|| {
                let f = n.as_f64()?;
                (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64)
                    .then_some(f as u64)
            }),
            ParameterValue::String(s) => s.trim().parse().ok(),
        }
    }

    /// Numeric value; accepts numeric strings.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParameterValue::Number(n) => n.as_f64(),
            ParameterValue::String(s) => s.trim().parse().ok(),
        }
    }

    /// The string, if this value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ParameterValue::String(s) => Some(s),
            ParameterValue::Number(_) => None,
        }
    }

    /// The value as SDP text: strings as they are, integral numbers without a fraction.
    ///
    /// Needed for keys like `profile-level-id` where sdp-transform turns `"640032"` into
    /// the number `640032`.
    pub fn to_text(&self) -> String {
        match self {
            ParameterValue::String(s) => s.clone(),
            ParameterValue::Number(n) => {
                if let Some(u) = n.as_u64() {
                    u.to_string()
                } else if let Some(i) = n.as_i64() {
                    i.to_string()
                } else {
                    match n.as_f64() {
                        Some(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 => {
                            format!("{}", f as i64)
                        }
                        _ => n.to_string(),
                    }
                }
            }
        }
    }
}

impl From<u64> for ParameterValue {
    fn from(v: u64) -> Self {
        ParameterValue::Number(v.into())
    }
}

impl From<u32> for ParameterValue {
    fn from(v: u32) -> Self {
        ParameterValue::Number(v.into())
    }
}

impl From<u8> for ParameterValue {
    fn from(v: u8) -> Self {
        ParameterValue::Number(v.into())
    }
}

impl From<&str> for ParameterValue {
    fn from(v: &str) -> Self {
        ParameterValue::String(v.to_owned())
    }
}

impl From<String> for ParameterValue {
    fn from(v: String) -> Self {
        ParameterValue::String(v)
    }
}

impl Serialize for ParameterValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ParameterValue::Number(n) => n.serialize(serializer),
            ParameterValue::String(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for ParameterValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;

        impl Visitor<'_> for ValueVisitor {
            type Value = ParameterValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a codec parameter value (number or string)")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ParameterValue::Number(v.into()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ParameterValue::Number(v.into()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                serde_json::Number::from_f64(v)
                    .map(ParameterValue::Number)
                    .ok_or_else(|| E::custom("non-finite codec parameter value"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ParameterValue::String(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(ParameterValue::String(v))
            }

            // `level-asymmetry-allowed: true` is understood by WebRTC stacks as 1.
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(ParameterValue::Number(u64::from(v).into()))
            }

            // mediasoup turns an undefined value into "" rather than rejecting the codec.
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ParameterValue::String(String::new()))
            }

            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ParameterValue::String(String::new()))
            }
        }

        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Codec (or header extension) parameters: the SDP fmtp key/value pairs.
///
/// Sorted by key so serialization is deterministic regardless of the order a client used.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParameterMap(BTreeMap<String, ParameterValue>);

impl ParameterMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Value for `key`.
    pub fn get(&self, key: &str) -> Option<&ParameterValue> {
        self.0.get(key)
    }

    /// Lenient non-negative integer value for `key` (see [`ParameterValue::as_u64`]).
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(ParameterValue::as_u64)
    }

    /// Sets `key`, returning the previous value.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<ParameterValue>,
    ) -> Option<ParameterValue> {
        self.0.insert(key.into(), value.into())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<ParameterValue> {
        self.0.remove(key)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ParameterValue)> {
        self.0.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<ParameterValue>> FromIterator<(K, V)> for ParameterMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        ParameterMap(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl<K: Into<String>, V: Into<ParameterValue>> Extend<(K, V)> for ParameterMap {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.0
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v.into())));
    }
}

impl IntoIterator for ParameterMap {
    type Item = (String, ParameterValue);
    type IntoIter = std::collections::btree_map::IntoIter<String, ParameterValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Treats an explicit JSON `null` like a missing field.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `reducedSize` defaults to true, also when sent as `null`.
fn null_as_true<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(true))
}

fn default_true() -> bool {
    true
}

/// Bitrates computed in JavaScript may carry a fraction; truncate instead of rejecting.
fn lenient_opt_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let value = Option::<f64>::deserialize(deserializer)?;
    Ok(value.and_then(|f| {
        if f.is_finite() && f >= 0.0 {
            Some(f.min(f64::from(u32::MAX)) as u32)
        } else {
            None
        }
    }))
}

/// One RTCP feedback mechanism of a codec (`a=rtcp-fb`), e.g. `nack pli`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RtcpFeedback {
    /// Feedback type: `nack`, `ccm`, `goog-remb`, `transport-cc`, …
    #[serde(rename = "type")]
    pub r#type: String,
    /// Feedback parameter (`pli`, `fir`, …); empty when none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameter: String,
}

impl RtcpFeedback {
    /// Builds a feedback entry.
    pub fn new(r#type: &str, parameter: &str) -> Self {
        RtcpFeedback {
            r#type: r#type.to_owned(),
            parameter: parameter.to_owned(),
        }
    }
}

/// A codec an endpoint (or the router) can receive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpCodecCapability {
    /// Media kind; normalized from `mime_type` by validation.
    pub kind: MediaKind,
    /// MIME type such as `audio/opus` or `video/rtx`.
    pub mime_type: String,
    /// Payload type the endpoint prefers; for the router, the one it will use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_payload_type: Option<u8>,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count; audio only (validation sets 1 when missing, removes it for video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u8>,
    /// fmtp parameters.
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameters: ParameterMap,
    /// Supported RTCP feedback.
    #[serde(default, deserialize_with = "null_as_default")]
    pub rtcp_feedback: Vec<RtcpFeedback>,
}

impl RtpCodecCapability {
    /// Whether this is a retransmission codec.
    pub fn is_rtx(&self) -> bool {
        mime_is_rtx(&self.mime_type)
    }
}

/// Direction of a header extension from the router's point of view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RtpHeaderExtensionDirection {
    /// Received from producers and sent to consumers.
    #[default]
    Sendrecv,
    /// Only sent to consumers.
    Sendonly,
    /// Only received from producers (e.g. `rid`, which consumers never get).
    Recvonly,
    /// Neither.
    Inactive,
}

/// A header extension in RTP capabilities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpHeaderExtension {
    /// Media kind this entry applies to (mediasoup lists shared extensions once per kind).
    pub kind: MediaKind,
    /// Extension URI.
    pub uri: String,
    /// Extension id the endpoint prefers; for the router, the one it uses towards consumers.
    pub preferred_id: u8,
    /// Whether the extension should be encrypted (RFC 6904); ferrosoup never does.
    #[serde(default, deserialize_with = "null_as_default")]
    pub preferred_encrypt: bool,
    /// Direction; `sendrecv` when missing.
    #[serde(default, deserialize_with = "null_as_default")]
    pub direction: RtpHeaderExtensionDirection,
}

/// What an endpoint (or the router) can receive: codecs and header extensions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpCapabilities {
    /// Media and RTX codecs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub codecs: Vec<RtpCodecCapability>,
    /// Header extensions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub header_extensions: Vec<RtpHeaderExtension>,
}

/// A codec actually used by a stream, with its negotiated payload type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpCodecParameters {
    /// MIME type such as `audio/opus` or `video/rtx`.
    pub mime_type: String,
    /// RTP payload type.
    pub payload_type: u8,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count; audio only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u8>,
    /// fmtp parameters (for RTX: `apt`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameters: ParameterMap,
    /// RTCP feedback in use.
    #[serde(default, deserialize_with = "null_as_default")]
    pub rtcp_feedback: Vec<RtcpFeedback>,
}

impl RtpCodecParameters {
    /// Whether this is a retransmission codec.
    pub fn is_rtx(&self) -> bool {
        mime_is_rtx(&self.mime_type)
    }

    /// Kind named by the MIME type; `None` for a malformed MIME type.
    pub fn kind(&self) -> Option<MediaKind> {
        MediaKind::from_mime_type(&self.mime_type)
    }

    /// For an RTX codec, the payload type it protects (`apt`), if valid.
    pub fn apt(&self) -> Option<u8> {
        self.parameters
            .get_u64("apt")
            .and_then(|v| u8::try_from(v).ok())
    }
}

/// A header extension in use by a stream, with its negotiated id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpHeaderExtensionParameters {
    /// Extension URI.
    pub uri: String,
    /// Extension id in the RTP header.
    pub id: u8,
    /// Whether it is encrypted (RFC 6904); ferrosoup never does.
    #[serde(default, deserialize_with = "null_as_default")]
    pub encrypt: bool,
    /// Extension attributes, rarely used.
    #[serde(default, deserialize_with = "null_as_default")]
    pub parameters: ParameterMap,
}

/// The retransmission stream of an encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtxParameters {
    /// SSRC of the RTX stream.
    pub ssrc: u32,
}

/// One RTP stream (simulcast layer or the single stream) of a producer or consumer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpEncodingParameters {
    /// Media SSRC; absent for simulcast, where streams are identified by `rid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssrc: Option<u32>,
    /// RID of the encoding (simulcast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Payload type of the media codec used by this encoding (default: the first one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec_payload_type: Option<u8>,
    /// Retransmission stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtx: Option<RtxParameters>,
    /// Discontinuous transmission (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtx: Option<bool>,
    /// Scalability mode such as `L1T3` (see [`ScalabilityMode`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalability_mode: Option<String>,
    /// Downscale factor of this simulcast layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_resolution_down_by: Option<f64>,
    /// Maximum bitrate in bps.
    #[serde(
        default,
        deserialize_with = "lenient_opt_u32",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_bitrate: Option<u32>,
    /// Maximum frame rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_framerate: Option<f64>,
    /// Whether the sender currently sends this encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// RTCP settings of a stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcpParameters {
    /// CNAME used in SDES.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// Reduced-size RTCP (RFC 5506); true unless a client says otherwise.
    #[serde(default = "default_true", deserialize_with = "null_as_true")]
    pub reduced_size: bool,
    /// RTCP multiplexed with RTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mux: Option<bool>,
}

impl Default for RtcpParameters {
    fn default() -> Self {
        RtcpParameters {
            cname: None,
            reduced_size: true,
            mux: None,
        }
    }
}

/// The RTP parameters of a producer (as sent by a client) or a consumer (as sent to one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpParameters {
    /// MID of the m-section carrying the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// Media codecs, each optionally followed by its RTX codec.
    pub codecs: Vec<RtpCodecParameters>,
    /// Header extensions in use.
    #[serde(default, deserialize_with = "null_as_default")]
    pub header_extensions: Vec<RtpHeaderExtensionParameters>,
    /// Encodings (one per simulcast layer, or a single one).
    #[serde(default, deserialize_with = "null_as_default")]
    pub encodings: Vec<RtpEncodingParameters>,
    /// RTCP settings.
    #[serde(default, deserialize_with = "null_as_default")]
    pub rtcp: RtcpParameters,
    /// MediaStream id / track id (`a=msid`), passed through for the receiving side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msid: Option<String>,
}

impl RtpParameters {
    /// The id these parameters give the header extension `uri`, if negotiated.
    pub fn header_extension_id(&self, uri: &str) -> Option<u8> {
        self.header_extensions
            .iter()
            .find(|e| e.uri == uri)
            .map(|e| e.id)
    }
}

/// A parsed scalability mode (`L1T3`, `L3T3_KEY`, `S3T3`, …).
///
/// Parsed the way mediasoup does: only the leading `[LS]<spatial>T<temporal>[_KEY]` part
/// counts, so suffixes such as `h` (`L1T3h`) are tolerated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScalabilityMode {
    /// Number of spatial layers (1–99).
    pub spatial_layers: u8,
    /// Number of temporal layers (1–99).
    pub temporal_layers: u8,
    /// K-SVC: spatial layers depend on each other only at key frames.
    pub ksvc: bool,
}

impl Default for ScalabilityMode {
    /// mediasoup's fallback for missing or unparsable modes: one layer of each.
    fn default() -> Self {
        ScalabilityMode {
            spatial_layers: 1,
            temporal_layers: 1,
            ksvc: false,
        }
    }
}

impl ScalabilityMode {
    /// Parses a mode; `None` if it does not start with a valid `[LS]nTm` pattern.
    pub fn parse(mode: &str) -> Option<ScalabilityMode> {
        let bytes = mode.as_bytes();
        if !matches!(bytes.first(), Some(b'L' | b'S')) {
            return None;
        }
        let (spatial_layers, rest) = parse_layer_count(&bytes[1..])?;
        let rest = rest.strip_prefix(b"T")?;
        let (temporal_layers, rest) = parse_layer_count(rest)?;
        Some(ScalabilityMode {
            spatial_layers,
            temporal_layers,
            ksvc: rest.starts_with(b"_KEY"),
        })
    }
}

/// Parses `[1-9][0-9]?` at the start of `bytes`.
fn parse_layer_count(bytes: &[u8]) -> Option<(u8, &[u8])> {
    let first = *bytes.first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut value = first - b'0';
    let mut used = 1;
    if let Some(&second) = bytes.get(1) {
        if second.is_ascii_digit() {
            value = value * 10 + (second - b'0');
            used = 2;
        }
    }
    Some((value, &bytes[used..]))
}

impl fmt::Display for ScalabilityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}T{}", self.spatial_layers, self.temporal_layers)?;
        if self.ksvc {
            f.write_str("_KEY")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn media_kind_from_mime_type() {
        assert_eq!(
            MediaKind::from_mime_type("audio/opus"),
            Some(MediaKind::Audio)
        );
        assert_eq!(
            MediaKind::from_mime_type("VIDEO/VP8"),
            Some(MediaKind::Video)
        );
        assert_eq!(MediaKind::from_mime_type("video/"), None);
        assert_eq!(MediaKind::from_mime_type("VP8"), None);
        assert_eq!(MediaKind::from_mime_type("text/plain"), None);
        assert_eq!(
            serde_json::to_value(MediaKind::Video).ok(),
            Some(json!("video"))
        );
    }

    #[test]
    fn rtx_detection() {
        for (mime, rtx) in [
            ("video/rtx", true),
            ("video/RTX", true),
            ("audio/rtx", true),
            ("/rtx", false),
            ("video/VP8", false),
            ("video/rtxx", false),
        ] {
            let codec = RtpCodecParameters {
                mime_type: mime.into(),
                payload_type: 97,
                clock_rate: 90000,
                channels: None,
                parameters: ParameterMap::new(),
                rtcp_feedback: vec![],
            };
            assert_eq!(codec.is_rtx(), rtx, "{mime}");
        }
    }

    #[test]
    fn scalability_mode_parsing() {
        let parse = ScalabilityMode::parse;
        assert_eq!(
            parse("L1T3"),
            Some(ScalabilityMode {
                spatial_layers: 1,
                temporal_layers: 3,
                ksvc: false
            })
        );
        assert_eq!(
            parse("L3T3_KEY"),
            Some(ScalabilityMode {
                spatial_layers: 3,
                temporal_layers: 3,
                ksvc: true
            })
        );
        assert_eq!(
            parse("S3T3"),
            Some(ScalabilityMode {
                spatial_layers: 3,
                temporal_layers: 3,
                ksvc: false
            })
        );
        assert_eq!(
            parse("L12T10").map(|m| (m.spatial_layers, m.temporal_layers)),
            Some((12, 10))
        );
        assert_eq!(parse("L1T3h").map(|m| m.temporal_layers), Some(3));
        assert_eq!(parse("L0T1"), None);
        assert_eq!(parse("L1"), None);
        assert_eq!(parse("X1T1"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("L123T1"), None);
        assert_eq!(ScalabilityMode::default().to_string(), "L1T1");
        assert_eq!(
            parse("L3T3_KEY").map(|m| m.to_string()),
            Some("L3T3_KEY".into())
        );
    }

    #[test]
    fn parameter_values_are_lenient() -> Result<(), serde_json::Error> {
        let params: ParameterMap = serde_json::from_value(json!({
            "apt": 96,
            "float": 1.0,
            "str": "1",
            "profile-level-id": 640032,
            "flag": true,
            "nothing": null,
            "text": "42e01f"
        }))?;
        assert_eq!(params.get_u64("apt"), Some(96));
        assert_eq!(params.get_u64("float"), Some(1));
        assert_eq!(params.get_u64("str"), Some(1));
        assert_eq!(params.get_u64("flag"), Some(1));
        assert_eq!(params.get_u64("text"), None);
        assert_eq!(params.get("nothing"), Some(&ParameterValue::from("")));
        assert_eq!(
            params.get("profile-level-id").map(ParameterValue::to_text),
            Some("640032".to_owned())
        );
        assert_eq!(
            params.get("float").map(ParameterValue::to_text),
            Some("1".into())
        );
        // Numbers are echoed back as numbers, strings as strings.
        let back = serde_json::to_value(&params)?;
        assert_eq!(back["apt"], json!(96));
        assert_eq!(back["str"], json!("1"));
        assert!(serde_json::from_value::<ParameterMap>(json!({"bad": [1]})).is_err());
        Ok(())
    }

    #[test]
    fn producer_rtp_parameters_round_trip() -> Result<(), serde_json::Error> {
        // As mediasoup-client 3.x sends it in `produce` (Chrome, simulcast VP8).
        let input = r#"{
            "codecs": [
                {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000,
                 "parameters": {}, "rtcpFeedback": [
                    {"type": "goog-remb", "parameter": ""}, {"type": "transport-cc", "parameter": ""},
                    {"type": "ccm", "parameter": "fir"}, {"type": "nack", "parameter": ""},
                    {"type": "nack", "parameter": "pli"}]},
                {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000,
                 "parameters": {"apt": 96}, "rtcpFeedback": []}
            ],
            "headerExtensions": [
                {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4, "encrypt": false, "parameters": {}},
                {"uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "id": 10, "encrypt": false, "parameters": {}}
            ],
            "encodings": [
                {"active": true, "scalabilityMode": "L1T3", "scaleResolutionDownBy": 4, "maxBitrate": 100000.5, "rid": "r0", "networkPriority": "low"},
                {"active": true, "scalabilityMode": "L1T3", "scaleResolutionDownBy": 2, "maxBitrate": 300000, "rid": "r1"},
                {"active": true, "scalabilityMode": "L1T3", "scaleResolutionDownBy": 1, "maxBitrate": 900000, "rid": "r2", "dtx": false}
            ],
            "rtcp": {"cname": "PqXh3kGzYw", "reducedSize": true},
            "mid": "1",
            "msid": "stream-1 track-1",
            "someFutureField": 1
        }"#;
        let params: RtpParameters = serde_json::from_str(input)?;
        assert_eq!(params.mid.as_deref(), Some("1"));
        assert_eq!(params.codecs[1].apt(), Some(96));
        assert!(params.codecs[1].is_rtx());
        assert_eq!(params.codecs[0].kind(), Some(MediaKind::Video));
        assert_eq!(params.encodings[0].max_bitrate, Some(100000));
        assert_eq!(params.encodings[0].scale_resolution_down_by, Some(4.0));
        assert_eq!(params.encodings[0].ssrc, None);
        assert_eq!(params.header_extensions[0].id, 4);

        let out = serde_json::to_value(&params)?;
        assert_eq!(out["encodings"][0]["rid"], json!("r0"));
        assert!(out["encodings"][0].get("ssrc").is_none());
        assert!(out["encodings"][0].get("networkPriority").is_none());
        assert!(out.get("someFutureField").is_none());
        assert_eq!(
            out["rtcp"],
            json!({"cname": "PqXh3kGzYw", "reducedSize": true})
        );
        assert_eq!(out["codecs"][1]["parameters"], json!({"apt": 96}));
        assert!(out["codecs"][0].get("channels").is_none());
        let again: RtpParameters = serde_json::from_value(out)?;
        assert_eq!(again, params);
        Ok(())
    }

    #[test]
    fn missing_and_null_fields_get_defaults() -> Result<(), serde_json::Error> {
        let params: RtpParameters = serde_json::from_value(json!({
            "codecs": [{"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000,
                        "channels": 2, "parameters": null,
                        "rtcpFeedback": [{"type": "transport-cc"}]}],
            "headerExtensions": null,
            "rtcp": {"reducedSize": null}
        }))?;
        assert!(params.encodings.is_empty());
        assert!(params.header_extensions.is_empty());
        assert!(params.rtcp.reduced_size);
        assert_eq!(params.codecs[0].rtcp_feedback[0].parameter, "");
        assert!(params.codecs[0].parameters.is_empty());

        let no_rtcp: RtpParameters = serde_json::from_value(json!({"codecs": []}))?;
        assert_eq!(no_rtcp.rtcp, RtcpParameters::default());
        assert!(serde_json::from_value::<RtpParameters>(json!({"encodings": []})).is_err());
        Ok(())
    }

    #[test]
    fn capabilities_round_trip() -> Result<(), serde_json::Error> {
        // A slice of what mediasoup-client's `device.rtpCapabilities` looks like.
        let input = json!({
            "codecs": [
                {"mimeType": "audio/opus", "kind": "audio", "preferredPayloadType": 100,
                 "clockRate": 48000, "channels": 2, "parameters": {"minptime": 10, "useinbandfec": 1},
                 "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}]},
                {"mimeType": "video/rtx", "kind": "video", "preferredPayloadType": 102,
                 "clockRate": 90000, "parameters": {"apt": 101}, "rtcpFeedback": []}
            ],
            "headerExtensions": [
                {"kind": "video", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1,
                 "preferredEncrypt": false, "direction": "sendrecv"},
                {"kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "preferredId": 6}
            ]
        });
        let caps: RtpCapabilities = serde_json::from_value(input)?;
        assert_eq!(caps.codecs[0].kind, MediaKind::Audio);
        assert_eq!(caps.codecs[1].preferred_payload_type, Some(102));
        assert_eq!(
            caps.header_extensions[1].direction,
            RtpHeaderExtensionDirection::Sendrecv
        );
        assert!(!caps.header_extensions[1].preferred_encrypt);
        let out = serde_json::to_value(&caps)?;
        assert_eq!(out["headerExtensions"][1]["direction"], json!("sendrecv"));
        assert_eq!(out["headerExtensions"][1]["preferredEncrypt"], json!(false));
        assert!(out["codecs"][1].get("channels").is_none());
        assert_eq!(serde_json::from_value::<RtpCapabilities>(out)?, caps);
        Ok(())
    }
}
