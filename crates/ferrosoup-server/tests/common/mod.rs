//! Shared pieces of the integration tests: the in-process server, a signaling client ([`signal`]), a str0m WebRTC
//! peer ([`peer`]), and the publisher/subscriber set-ups the tests build on.
//!
//! Logs: set `FERROSOUP_TEST_LOG` to an env-filter (e.g. `ferrosoup=debug,ferrosoup_server=debug,str0m=info`).

#![allow(dead_code)]

pub mod call;
pub mod peer;
pub mod signal;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use ferrosoup::ListenInfo;
use ferrosoup_server::{Limits, Server, ServerConfig, Status};
use serde_json::{json, Value};
use str0m::media::MediaKind;

pub use peer::*;
pub use signal::*;

/// Upper bound for one test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

// Publisher ("browser" A): its own payload types, header-extension ids and SSRCs, all different from the router's
// (router: opus 100, VP8 101/rtx 102; mid 1, abs-send-time 4, transport-cc 5) to prove the server maps them.
pub const A_VP8_PT: u8 = 96;
pub const A_RTX_PT: u8 = 97;
pub const A_OPUS_PT: u8 = 111;
pub const A_EXT_MID: u8 = 9;
pub const A_EXT_ABS_SEND_TIME: u8 = 3;
pub const A_EXT_TRANSPORT_CC: u8 = 12;
pub const A_VIDEO_SSRC: u32 = 0x1111_0001;
pub const A_VIDEO_RTX_SSRC: u32 = 0x1111_0002;
pub const A_AUDIO_SSRC: u32 = 0x2222_0001;
pub const A_VIDEO_MID: &str = "0";
pub const A_AUDIO_MID: &str = "1";

pub fn init_tracing() {
    if let Ok(filter) = std::env::var("FERROSOUP_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// Runs a test body under [`TEST_TIMEOUT`].
pub async fn bounded<F: Future<Output = ()>>(body: F) {
    init_tracing();
    if tokio::time::timeout(TEST_TIMEOUT, body).await.is_err() {
        panic!("test did not finish within {TEST_TIMEOUT:?}");
    }
}

pub fn server_config(max_message_size: usize) -> ServerConfig {
    ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        rtc_listen: vec![ListenInfo {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            announced_address: None,
            port: 0,
        }],
        max_message_size,
        media_codecs: ferrosoup::supported_rtp_capabilities::default_media_codecs(),
        limits: Limits::default(),
        ..ServerConfig::default()
    }
}

pub async fn start_server(max_message_size: usize) -> Server {
    Server::start(server_config(max_message_size))
        .await
        .expect("the server starts on 127.0.0.1")
}

/// Polls `server.status()` until `pred` holds; panics with the last status after `timeout`.
pub async fn wait_status(
    server: &Server,
    timeout: Duration,
    pred: impl Fn(&Status) -> bool,
) -> Status {
    let deadline = Instant::now() + timeout;
    loop {
        let status = server.status().await.expect("status");
        if pred(&status) {
            return status;
        }
        if Instant::now() > deadline {
            panic!("status did not reach the expected state within {timeout:?}; last: {status:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The id a capability list gives `uri` for `kind`.
pub fn router_ext_id(caps: &Value, kind: &str, uri: &str) -> Option<u8> {
    caps["headerExtensions"]
        .as_array()?
        .iter()
        .find(|e| e["kind"] == kind && e["uri"] == uri)
        .and_then(|e| e["preferredId"].as_u64())
        .map(|v| v as u8)
}

/// A codec of the router's capabilities by mime type (case-insensitive).
pub fn router_codec<'a>(caps: &'a Value, mime: &str) -> &'a Value {
    caps["codecs"]
        .as_array()
        .expect("codecs")
        .iter()
        .find(|c| {
            c["mimeType"]
                .as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case(mime))
        })
        .unwrap_or_else(|| panic!("router has no {mime}: {caps}"))
}

pub fn router_rtx_for(caps: &Value, apt: u64) -> Option<&Value> {
    caps["codecs"].as_array()?.iter().find(|c| {
        c["mimeType"]
            .as_str()
            .is_some_and(|m| m.eq_ignore_ascii_case("video/rtx"))
            && c["parameters"]["apt"].as_u64() == Some(apt)
    })
}

/// What a browser-like receiver declares: opus, VP8 + its rtx, as the router offers them, and the header extensions
/// it understands.
pub fn receiver_capabilities(router_caps: &Value) -> Value {
    let opus = router_codec(router_caps, "audio/opus").clone();
    let vp8 = router_codec(router_caps, "video/VP8").clone();
    let vp8_pt = vp8["preferredPayloadType"]
        .as_u64()
        .expect("VP8 preferredPayloadType");
    let mut codecs = vec![opus, vp8];
    if let Some(rtx) = router_rtx_for(router_caps, vp8_pt) {
        codecs.push(rtx.clone());
    }
    let exts: Vec<Value> = router_caps["headerExtensions"]
        .as_array()
        .expect("headerExtensions")
        .iter()
        .filter(|e| e["uri"].as_str().and_then(extension_for_uri).is_some())
        .cloned()
        .collect();
    json!({"codecs": codecs, "headerExtensions": exts})
}

fn feedback_video() -> Value {
    json!([
        {"type": "goog-remb", "parameter": ""},
        {"type": "transport-cc", "parameter": ""},
        {"type": "ccm", "parameter": "fir"},
        {"type": "nack", "parameter": ""},
        {"type": "nack", "parameter": "pli"}
    ])
}

fn publisher_extensions() -> Value {
    json!([
        {"uri": URI_MID, "id": A_EXT_MID, "encrypt": false, "parameters": {}},
        {"uri": URI_ABS_SEND_TIME, "id": A_EXT_ABS_SEND_TIME, "encrypt": false, "parameters": {}},
        {"uri": URI_TRANSPORT_CC, "id": A_EXT_TRANSPORT_CC, "encrypt": false, "parameters": {}}
    ])
}

/// The `rtpParameters` a browser would send for A's VP8 track.
pub fn publisher_video_parameters() -> Value {
    json!({
        "mid": A_VIDEO_MID,
        "codecs": [
            {"mimeType": "video/VP8", "payloadType": A_VP8_PT, "clockRate": 90000, "parameters": {},
             "rtcpFeedback": feedback_video()},
            {"mimeType": "video/rtx", "payloadType": A_RTX_PT, "clockRate": 90000,
             "parameters": {"apt": A_VP8_PT}, "rtcpFeedback": []}
        ],
        "headerExtensions": publisher_extensions(),
        "encodings": [{"ssrc": A_VIDEO_SSRC, "rtx": {"ssrc": A_VIDEO_RTX_SSRC}, "dtx": false}],
        "rtcp": {"cname": "alice-cname", "reducedSize": true},
        "msid": "stream-a track-video-a"
    })
}

/// The `rtpParameters` a browser would send for A's opus track.
pub fn publisher_audio_parameters() -> Value {
    json!({
        "mid": A_AUDIO_MID,
        "codecs": [
            {"mimeType": "audio/opus", "payloadType": A_OPUS_PT, "clockRate": 48000, "channels": 2,
             "parameters": {"minptime": 10, "useinbandfec": 1},
             "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}]}
        ],
        "headerExtensions": publisher_extensions(),
        "encodings": [{"ssrc": A_AUDIO_SSRC, "dtx": false}],
        "rtcp": {"cname": "alice-cname", "reducedSize": true},
        "msid": "stream-a track-audio-a"
    })
}

/// `createWebRtcTransport` of `direction`; returns the `webRtcTransportCreated` data (nothing connected yet).
pub async fn create_transport(sig: &SignalClient, direction: &str) -> Value {
    let info = sig
        .request(
            "createWebRtcTransport",
            json!({"direction": direction}),
            "webRtcTransportCreated",
        )
        .await;
    assert_eq!(
        info["iceParameters"]["iceLite"], true,
        "server should be ICE-lite: {info}"
    );
    info
}

/// `connectWebRtcTransport` with `rtc`'s fingerprint and DTLS role (signaling only; no packet is sent).
pub async fn signal_connect(sig: &SignalClient, rtc: &RtcPeer, info: &Value) {
    let transport_id = info["id"].as_str().expect("transport id").to_string();
    sig.request(
        "connectWebRtcTransport",
        json!({"transportId": transport_id, "dtlsParameters": rtc.dtls_parameters()}),
        "webRtcTransportConnected",
    )
    .await;
}

/// Creates a transport of `direction`, connects it with `rtc`'s fingerprint and waits for ICE + DTLS.
pub async fn create_and_connect(sig: &SignalClient, rtc: &RtcPeer, direction: &str) -> Value {
    let info = create_transport(sig, direction).await;
    signal_connect(sig, rtc, &info).await;
    rtc.start(&info);
    rtc.wait_connected(CONNECT_TIMEOUT).await;
    info
}

/// Peer A: joined, a connected send transport, producing VP8 and/or opus, media flowing.
pub struct Publisher {
    pub sig: SignalClient,
    pub peer_id: String,
    pub rtc: RtcPeer,
    pub transport_id: String,
    pub video_producer: Option<String>,
    pub audio_producer: Option<String>,
}

/// How [`Publisher::start_with`] sets A up.
#[derive(Debug, Clone)]
pub struct PublisherOptions {
    pub video: bool,
    pub audio: bool,
    /// A key frame every this many frames besides frame 0 and the requested ones; 0: only those.
    pub keyframe_interval: u32,
    /// See [`PumpConfig::keyframe_delay`].
    pub keyframe_delay: Duration,
    /// See [`PeerSetup::dtls_server`].
    pub dtls_server: bool,
}

impl Default for PublisherOptions {
    fn default() -> Self {
        PublisherOptions {
            video: true,
            audio: true,
            keyframe_interval: 30,
            keyframe_delay: Duration::from_millis(150),
            dtls_server: false,
        }
    }
}

impl Publisher {
    pub async fn start(
        url: &str,
        room: &str,
        name: &str,
        video: bool,
        audio: bool,
        keyframe_interval: u32,
    ) -> Publisher {
        Publisher::start_with(
            url,
            room,
            name,
            PublisherOptions {
                video,
                audio,
                keyframe_interval,
                ..PublisherOptions::default()
            },
        )
        .await
    }

    pub async fn start_with(
        url: &str,
        room: &str,
        name: &str,
        options: PublisherOptions,
    ) -> Publisher {
        let PublisherOptions {
            video,
            audio,
            keyframe_interval,
            keyframe_delay,
            dtls_server,
        } = options;
        let sig = SignalClient::connect(url, name).await;
        let caps = sig
            .request(
                "getRouterRtpCapabilities",
                json!({"roomId": room}),
                "routerRtpCapabilities",
            )
            .await;
        assert!(
            caps["codecs"].as_array().is_some_and(|c| !c.is_empty()),
            "caps: {caps}"
        );
        let joined = sig
            .request(
                "join",
                json!({"roomId": room, "peerId": name, "displayName": name}),
                "joined",
            )
            .await;
        let peer_id = joined["peerId"].as_str().expect("peerId").to_string();

        let rtc = RtcPeer::new(PeerSetup {
            name: name.to_string(),
            codecs: vec![
                CodecSetup::vp8(A_VP8_PT, Some(A_RTX_PT)),
                CodecSetup::opus(A_OPUS_PT),
            ],
            extensions: vec![
                (A_EXT_MID, URI_MID.to_string()),
                (A_EXT_ABS_SEND_TIME, URI_ABS_SEND_TIME.to_string()),
                (A_EXT_TRANSPORT_CC, URI_TRANSPORT_CC.to_string()),
            ],
            dtls_server,
        });
        if video {
            rtc.declare_send(
                A_VIDEO_MID,
                MediaKind::Video,
                A_VIDEO_SSRC,
                Some(A_VIDEO_RTX_SSRC),
            );
        }
        if audio {
            rtc.declare_send(A_AUDIO_MID, MediaKind::Audio, A_AUDIO_SSRC, None);
        }
        let info = create_and_connect(&sig, &rtc, "send").await;
        let transport_id = info["id"].as_str().unwrap().to_string();

        let mut video_producer = None;
        let mut audio_producer = None;
        if video {
            let produced = sig
                .request(
                    "produce",
                    json!({"transportId": transport_id, "kind": "video",
                           "rtpParameters": publisher_video_parameters(), "appData": {"source": "camera"}}),
                    "produced",
                )
                .await;
            video_producer = Some(produced["id"].as_str().expect("producer id").to_string());
        }
        if audio {
            let produced = sig
                .request(
                    "produce",
                    json!({"transportId": transport_id, "kind": "audio",
                           "rtpParameters": publisher_audio_parameters(), "appData": {"source": "mic"}}),
                    "produced",
                )
                .await;
            audio_producer = Some(produced["id"].as_str().expect("producer id").to_string());
        }
        let mut rtc = rtc;
        rtc.start_pump(PumpConfig {
            video: video.then(|| (A_VIDEO_MID.to_string(), A_VIDEO_SSRC, A_VP8_PT)),
            audio: audio.then(|| (A_AUDIO_MID.to_string(), A_AUDIO_SSRC, A_OPUS_PT)),
            keyframe_interval,
            keyframe_delay,
        });
        Publisher {
            sig,
            peer_id,
            rtc,
            transport_id,
            video_producer,
            audio_producer,
        }
    }
}

/// A consumer as the server described it.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub id: String,
    pub producer_id: String,
    pub kind: String,
    pub ssrc: u32,
    pub rtx_ssrc: Option<u32>,
    pub pt: u8,
    pub mid: String,
    pub data: Value,
}

/// Peer B: joined with its capabilities, a connected recv transport.
pub struct Subscriber {
    pub sig: SignalClient,
    pub peer_id: String,
    pub rtc: RtcPeer,
    pub transport_id: String,
    pub router_caps: Value,
    pub caps: Value,
    pub joined: Value,
    /// The `webRtcTransportCreated` data of the recv transport.
    pub transport_info: Value,
}

impl Subscriber {
    /// Joined, with a recv transport connected (ICE + DTLS done).
    pub async fn start(url: &str, room: &str, name: &str) -> Subscriber {
        let b = Subscriber::start_unconnected(url, room, name, false).await;
        b.connect_transport().await;
        b
    }

    /// Joined, with a recv transport created but neither `connectWebRtcTransport` sent nor ICE/DTLS started: call
    /// [`Subscriber::connect_transport`] (or [`signal_connect`] and then `rtc.start`) later.
    pub async fn start_unconnected(
        url: &str,
        room: &str,
        name: &str,
        dtls_server: bool,
    ) -> Subscriber {
        let sig = SignalClient::connect(url, name).await;
        let router_caps = sig
            .request(
                "getRouterRtpCapabilities",
                json!({"roomId": room}),
                "routerRtpCapabilities",
            )
            .await;
        let caps = receiver_capabilities(&router_caps);
        let joined = sig
            .request(
                "join",
                json!({"roomId": room, "peerId": name, "displayName": name, "rtpCapabilities": caps}),
                "joined",
            )
            .await;
        let peer_id = joined["peerId"].as_str().expect("peerId").to_string();

        // B's session speaks the router's payload types and extension ids, as a browser would after
        // `device.load()` + `transport.consume()`.
        let opus_pt = router_codec(&router_caps, "audio/opus")["preferredPayloadType"]
            .as_u64()
            .unwrap() as u8;
        let vp8_pt = router_codec(&router_caps, "video/VP8")["preferredPayloadType"]
            .as_u64()
            .unwrap();
        let rtx_pt = router_rtx_for(&router_caps, vp8_pt)
            .and_then(|c| c["preferredPayloadType"].as_u64())
            .map(|p| p as u8);
        let extensions: Vec<(u8, String)> = caps["headerExtensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["preferredId"].as_u64().unwrap() as u8,
                    e["uri"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let rtc = RtcPeer::new(PeerSetup {
            name: name.to_string(),
            codecs: vec![
                CodecSetup::vp8(vp8_pt as u8, rtx_pt),
                CodecSetup::opus(opus_pt),
            ],
            extensions,
            dtls_server,
        });
        let info = create_transport(&sig, "recv").await;
        Subscriber {
            sig,
            peer_id,
            rtc,
            transport_id: info["id"].as_str().unwrap().to_string(),
            router_caps,
            caps,
            joined,
            transport_info: info,
        }
    }

    /// `connectWebRtcTransport`, then ICE + DTLS; waits until str0m reports connected.
    pub async fn connect_transport(&self) {
        signal_connect(&self.sig, &self.rtc, &self.transport_info).await;
        self.rtc.start(&self.transport_info);
        self.rtc.wait_connected(CONNECT_TIMEOUT).await;
    }

    /// `consume` with B's capabilities; declares the incoming stream in B's session. The consumer is still paused.
    pub async fn consume(&self, producer_id: &str) -> Consumed {
        let data = self
            .sig
            .request(
                "consume",
                json!({"transportId": self.transport_id, "producerId": producer_id,
                       "rtpCapabilities": self.caps}),
                "consumed",
            )
            .await;
        let params = &data["rtpParameters"];
        let encodings = params["encodings"].as_array().expect("encodings");
        assert_eq!(
            encodings.len(),
            1,
            "a consumer has exactly one encoding: {data}"
        );
        let ssrc = encodings[0]["ssrc"].as_u64().expect("encodings[0].ssrc") as u32;
        let rtx_ssrc = encodings[0]["rtx"]["ssrc"].as_u64().map(|s| s as u32);
        let pt = params["codecs"][0]["payloadType"]
            .as_u64()
            .expect("codecs[0].payloadType") as u8;
        let mid = params["mid"].as_str().expect("consumer mid").to_string();
        let kind = data["kind"].as_str().expect("kind").to_string();
        let media_kind = if kind == "video" {
            MediaKind::Video
        } else {
            MediaKind::Audio
        };
        self.rtc.declare_recv(&mid, media_kind, ssrc, rtx_ssrc);
        Consumed {
            id: data["id"].as_str().expect("consumer id").to_string(),
            producer_id: producer_id.to_string(),
            kind,
            ssrc,
            rtx_ssrc,
            pt,
            mid,
            data,
        }
    }

    pub async fn resume(&self, consumer_id: &str) {
        self.sig
            .request(
                "resumeConsumer",
                json!({"consumerId": consumer_id}),
                "consumerResumed",
            )
            .await;
    }

    pub async fn pause(&self, consumer_id: &str) {
        self.sig
            .request(
                "pauseConsumer",
                json!({"consumerId": consumer_id}),
                "consumerPaused",
            )
            .await;
    }
}

/// Sequence numbers `packets` cover, checked for gaps and duplicates (extended numbers, arrival order aside).
pub fn assert_contiguous(what: &str, packets: &[RecvPacket]) {
    let mut seqs: Vec<u64> = packets.iter().map(|p| p.ext_seq).collect();
    let arrival = seqs.clone();
    seqs.sort_unstable();
    let before = seqs.len();
    seqs.dedup();
    assert_eq!(
        before,
        seqs.len(),
        "{what}: duplicate sequence numbers: {arrival:?}"
    );
    let first = seqs[0];
    let gaps: Vec<(u64, u64)> = seqs
        .windows(2)
        .filter(|w| w[1] != w[0] + 1)
        .map(|w| (w[0], w[1]))
        .collect();
    assert!(
        gaps.is_empty(),
        "{what}: sequence numbers from {first} have gaps {gaps:?} (arrival order {arrival:?})"
    );
}
