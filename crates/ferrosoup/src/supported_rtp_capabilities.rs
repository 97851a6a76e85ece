//! What ferrosoup can route, and the codecs a router is configured with by default.
//!
//! The supported list mirrors mediasoup's `supportedRtpCapabilities`: a router's
//! capabilities are built by matching its configured media codecs against it (see
//! [`crate::ortc::generate_router_rtp_capabilities`]). As an SFU ferrosoup never decodes
//! media, so "supported" means "can be forwarded"; codec-specific work (key frame detection,
//! layer switching) is the RTP layer's concern.
//!
//! Header extension ids follow mediasoup 3.20's compact numbering (1–11).

use std::sync::LazyLock;

use crate::rtp_parameters::{
    extension_uri, MediaKind, ParameterMap, ParameterValue, RtcpFeedback, RtpCapabilities,
    RtpCodecCapability, RtpHeaderExtension, RtpHeaderExtensionDirection,
};

/// Everything ferrosoup can route, already normalized (audio codecs carry `channels`).
///
/// Built once: routers are created often and this list never changes at run time.
pub fn supported_rtp_capabilities() -> &'static RtpCapabilities {
    static SUPPORTED: LazyLock<RtpCapabilities> = LazyLock::new(build_supported);
    &SUPPORTED
}

/// The media codecs a ferrosoup router is configured with unless the application says
/// otherwise.
///
/// The order decides the router's payload types (opus 100, VP8 101/rtx 102, VP9 103/104,
/// H264 baseline 105/106, H264 main 107/108, AV1 109/110). Two H264 entries because mediasoup
/// matches H264 strictly on profile: constrained baseline is what every browser can encode,
/// main is what hardware encoders (Safari, some Android) prefer. AV1 comes last so the
/// others keep the payload types they had before it was added.
pub fn default_media_codecs() -> Vec<RtpCodecCapability> {
    vec![
        RtpCodecCapability {
            kind: MediaKind::Audio,
            mime_type: "audio/opus".into(),
            preferred_payload_type: None,
            clock_rate: 48000,
            channels: Some(2),
            parameters: params([("useinbandfec", 1u32.into())]),
            rtcp_feedback: vec![],
        },
        video_codec("video/VP8", []),
        video_codec("video/VP9", [("profile-id", 0u32.into())]),
        video_codec(
            "video/H264",
            [
                ("packetization-mode", 1u32.into()),
                ("level-asymmetry-allowed", 1u32.into()),
                ("profile-level-id", "42e01f".into()),
            ],
        ),
        video_codec(
            "video/H264",
            [
                ("packetization-mode", 1u32.into()),
                ("level-asymmetry-allowed", 1u32.into()),
                ("profile-level-id", "4d0032".into()),
            ],
        ),
        video_codec("video/AV1", []),
    ]
}

fn params<const N: usize>(entries: [(&str, ParameterValue); N]) -> ParameterMap {
    entries.into_iter().collect()
}

fn fb(list: &[(&str, &str)]) -> Vec<RtcpFeedback> {
    list.iter().map(|(t, p)| RtcpFeedback::new(t, p)).collect()
}

/// A 90 kHz video codec entry for media codec configuration.
fn video_codec<const N: usize>(
    mime_type: &str,
    parameters: [(&str, ParameterValue); N],
) -> RtpCodecCapability {
    RtpCodecCapability {
        kind: MediaKind::Video,
        mime_type: mime_type.into(),
        preferred_payload_type: None,
        clock_rate: 90000,
        channels: None,
        parameters: params(parameters),
        rtcp_feedback: vec![],
    }
}

fn build_supported() -> RtpCapabilities {
    const VIDEO_FB: &[(&str, &str)] = &[
        ("nack", ""),
        ("nack", "pli"),
        ("ccm", "fir"),
        ("goog-remb", ""),
        ("transport-cc", ""),
    ];
    const OPUS_FB: &[(&str, &str)] = &[("nack", ""), ("transport-cc", "")];
    const AUDIO_FB: &[(&str, &str)] = &[("transport-cc", "")];

    let audio = |mime: &str, pt: Option<u8>, rate: u32, channels: u8, feedback: &[(&str, &str)]| {
        RtpCodecCapability {
            kind: MediaKind::Audio,
            mime_type: mime.into(),
            preferred_payload_type: pt,
            clock_rate: rate,
            channels: Some(channels),
            parameters: ParameterMap::new(),
            rtcp_feedback: fb(feedback),
        }
    };
    let multiopus = |channels: u8, mapping: &str, streams: u32, coupled: u32| RtpCodecCapability {
        parameters: params([
            ("channel_mapping", mapping.into()),
            ("num_streams", streams.into()),
            ("coupled_streams", coupled.into()),
        ]),
        ..audio("audio/multiopus", None, 48000, channels, OPUS_FB)
    };
    let video = |mime: &str, parameters: ParameterMap| RtpCodecCapability {
        kind: MediaKind::Video,
        mime_type: mime.into(),
        preferred_payload_type: None,
        clock_rate: 90000,
        channels: None,
        parameters,
        rtcp_feedback: fb(VIDEO_FB),
    };
    let asymmetry = || params([("level-asymmetry-allowed", 1u32.into())]);

    let mut codecs = vec![
        audio("audio/opus", None, 48000, 2, OPUS_FB),
        multiopus(4, "0,1,2,3", 2, 2),
        multiopus(6, "0,4,1,2,3,5", 4, 2),
        multiopus(8, "0,6,1,2,3,4,5,7", 5, 3),
        audio("audio/PCMU", Some(0), 8000, 1, AUDIO_FB),
        audio("audio/PCMA", Some(8), 8000, 1, AUDIO_FB),
        audio("audio/ISAC", None, 32000, 1, AUDIO_FB),
        audio("audio/ISAC", None, 16000, 1, AUDIO_FB),
        audio("audio/G722", Some(9), 8000, 1, AUDIO_FB),
        audio("audio/iLBC", None, 8000, 1, AUDIO_FB),
        audio("audio/SILK", None, 24000, 1, AUDIO_FB),
        audio("audio/SILK", None, 16000, 1, AUDIO_FB),
        audio("audio/SILK", None, 12000, 1, AUDIO_FB),
        audio("audio/SILK", None, 8000, 1, AUDIO_FB),
    ];
    for rate in [32000, 16000, 8000] {
        codecs.push(audio("audio/CN", Some(13), rate, 1, &[]));
    }
    for rate in [48000, 32000, 16000, 8000] {
        codecs.push(audio("audio/telephone-event", None, rate, 1, &[]));
    }
    codecs.extend([
        video("video/VP8", ParameterMap::new()),
        video("video/VP9", ParameterMap::new()),
        video("video/H264", asymmetry()),
        video("video/H264-SVC", asymmetry()),
        video("video/H265", asymmetry()),
        video("video/AV1", ParameterMap::new()),
    ]);

    use MediaKind::{Audio, Video};
    use RtpHeaderExtensionDirection::{Recvonly, Sendrecv};
    let ext = |kind: MediaKind, uri: &str, id: u8, direction| RtpHeaderExtension {
        kind,
        uri: uri.into(),
        preferred_id: id,
        preferred_encrypt: false,
        direction,
    };
    let header_extensions = vec![
        ext(Audio, extension_uri::MID, 1, Sendrecv),
        ext(Video, extension_uri::MID, 1, Sendrecv),
        ext(Video, extension_uri::RTP_STREAM_ID, 2, Recvonly),
        ext(Video, extension_uri::REPAIRED_RTP_STREAM_ID, 3, Recvonly),
        ext(Audio, extension_uri::ABS_SEND_TIME, 4, Sendrecv),
        ext(Video, extension_uri::ABS_SEND_TIME, 4, Sendrecv),
        // Audio only feeds the router's own bandwidth estimation; consumers of audio do
        // not get transport-cc sequence numbers (as in mediasoup).
        ext(Audio, extension_uri::TRANSPORT_WIDE_CC_01, 5, Recvonly),
        ext(Video, extension_uri::TRANSPORT_WIDE_CC_01, 5, Sendrecv),
        ext(Audio, extension_uri::SSRC_AUDIO_LEVEL, 6, Sendrecv),
        // Forwarded, rewritten per consumer (frame numbers, active decode targets): Chrome's AV1
        // decoder needs it on SVC streams, and mediasoup-client keeps it for AV1/H264 consumers.
        ext(Video, extension_uri::DEPENDENCY_DESCRIPTOR, 7, Sendrecv),
        ext(Video, extension_uri::VIDEO_ORIENTATION, 8, Sendrecv),
        ext(Video, extension_uri::TOFFSET, 9, Sendrecv),
        ext(Audio, extension_uri::ABS_CAPTURE_TIME, 10, Sendrecv),
        ext(Video, extension_uri::ABS_CAPTURE_TIME, 10, Sendrecv),
        ext(Audio, extension_uri::PLAYOUT_DELAY, 11, Sendrecv),
        ext(Video, extension_uri::PLAYOUT_DELAY, 11, Sendrecv),
    ];

    RtpCapabilities {
        codecs,
        header_extensions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ortc::validate_rtp_capabilities;

    #[test]
    fn supported_capabilities_are_already_normalized() -> Result<(), crate::ortc::OrtcError> {
        let supported = supported_rtp_capabilities();
        let mut copy = supported.clone();
        validate_rtp_capabilities(&mut copy)?;
        assert_eq!(&copy, supported);
        Ok(())
    }

    #[test]
    fn supported_contains_the_expected_codecs() {
        let supported = supported_rtp_capabilities();
        for mime in [
            "audio/opus",
            "audio/multiopus",
            "audio/PCMU",
            "audio/PCMA",
            "audio/G722",
            "audio/ISAC",
            "video/VP8",
            "video/VP9",
            "video/H264",
            "video/H264-SVC",
            "video/H265",
            "video/AV1",
        ] {
            assert!(
                supported.codecs.iter().any(|c| c.mime_type == mime),
                "{mime} missing"
            );
        }
        let ids: Vec<(MediaKind, &str, u8)> = supported
            .header_extensions
            .iter()
            .map(|e| (e.kind, e.uri.as_str(), e.preferred_id))
            .collect();
        assert!(ids.contains(&(MediaKind::Video, extension_uri::TRANSPORT_WIDE_CC_01, 5)));
        assert!(ids.contains(&(MediaKind::Audio, extension_uri::SSRC_AUDIO_LEVEL, 6)));
        assert!(ids.contains(&(MediaKind::Video, extension_uri::TOFFSET, 9)));
        // One id per URI, whatever the kind.
        for a in &supported.header_extensions {
            for b in &supported.header_extensions {
                assert_eq!(a.uri == b.uri, a.preferred_id == b.preferred_id);
            }
        }
    }

    #[test]
    fn default_codecs_are_accepted_by_the_router() -> Result<(), crate::ortc::OrtcError> {
        let caps = crate::ortc::generate_router_rtp_capabilities(&default_media_codecs())?;
        assert_eq!(caps.codecs.len(), 11);
        Ok(())
    }
}
