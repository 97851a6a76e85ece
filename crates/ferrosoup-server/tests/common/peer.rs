//! A WebRTC peer built on str0m, used as an independent client of the server: str0m is a full ICE agent (here
//! controlling, as a browser facing an ICE-lite server), the DTLS client and the SRTP endpoint. Its direct API lets
//! the test pick its own payload types, header-extension ids and SSRCs without any SDP.
//!
//! One blocking thread per peer drives the `Rtc` (poll_output → UDP socket / timeouts; socket → handle_input). An
//! optional pump thread writes VP8 and opus RTP at a realistic pace and answers key-frame requests with a key frame.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use str0m::config::Fingerprint;
use str0m::format::{Codec, FormatParams};
use str0m::media::{Frequency, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{Extension, ExtensionMap, RtpWrite, SeqNo, Ssrc};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Input, Output, Rtc};

pub const URI_MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
pub const URI_ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
pub const URI_TRANSPORT_CC: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
pub const URI_AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// The header extensions this client understands, by URI.
pub fn extension_for_uri(uri: &str) -> Option<Extension> {
    match uri {
        URI_MID => Some(Extension::RtpMid),
        URI_ABS_SEND_TIME => Some(Extension::AbsoluteSendTime),
        URI_TRANSPORT_CC => Some(Extension::TransportSequenceNumber),
        URI_AUDIO_LEVEL => Some(Extension::AudioLevel),
        _ => None,
    }
}

/// A payload type the peer's str0m session knows.
#[derive(Debug, Clone)]
pub struct CodecSetup {
    pub pt: u8,
    pub rtx: Option<u8>,
    pub codec: Codec,
    pub clock_rate: u32,
    pub channels: Option<u8>,
}

impl CodecSetup {
    pub fn vp8(pt: u8, rtx: Option<u8>) -> Self {
        CodecSetup {
            pt,
            rtx,
            codec: Codec::Vp8,
            clock_rate: 90_000,
            channels: None,
        }
    }

    pub fn opus(pt: u8) -> Self {
        CodecSetup {
            pt,
            rtx: None,
            codec: Codec::Opus,
            clock_rate: 48_000,
            channels: Some(2),
        }
    }
}

/// How a peer's session is configured before it connects.
#[derive(Debug, Clone, Default)]
pub struct PeerSetup {
    pub name: String,
    pub codecs: Vec<CodecSetup>,
    /// (id, extension URI)
    pub extensions: Vec<(u8, String)>,
    /// Take the DTLS *server* role (str0m passive; `dtlsParameters.role = "server"`), so the SFU must be the DTLS
    /// client. The default (false) is the DTLS client, as a browser facing an ICE-lite server.
    pub dtls_server: bool,
}

/// One RTP packet as the peer received it (after SRTP and RTX unwrapping).
#[derive(Debug, Clone)]
pub struct RecvPacket {
    pub ssrc: u32,
    pub pt: u8,
    pub seq: u16,
    pub ext_seq: u64,
    pub timestamp: u32,
    pub marker: bool,
    pub mid: Option<String>,
    pub payload: Vec<u8>,
    pub at: Instant,
}

/// State the driver thread shares with the test.
#[derive(Default)]
pub struct PeerShared {
    pub connected: AtomicBool,
    pub ice_state: Mutex<Option<IceConnectionState>>,
    pub closed: AtomicBool,
    /// Received RTP by SSRC, in arrival order.
    pub received: Mutex<HashMap<u32, Vec<RecvPacket>>>,
    /// Key-frame requests (PLI/FIR) received, by mid.
    pub keyframe_requests: Mutex<HashMap<String, u64>>,
    /// Set by a key-frame request, cleared by the pump when it sends a key frame.
    pub keyframe_wanted: AtomicBool,
    pub errors: Mutex<Vec<String>>,
}

pub struct RtcPeer {
    pub name: String,
    /// Whether this peer is the DTLS server ([`PeerSetup::dtls_server`]).
    pub dtls_server: bool,
    rtc: Arc<Mutex<Rtc>>,
    pub shared: Arc<PeerShared>,
    pub local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    driver: Option<JoinHandle<()>>,
    pump: Option<Pump>,
}

impl RtcPeer {
    /// Builds the str0m session (RTP mode, only the given codecs and extensions) on a UDP socket bound to
    /// 127.0.0.1:0 and starts its driver thread.
    pub fn new(setup: PeerSetup) -> RtcPeer {
        let mut exts = ExtensionMap::empty();
        for (id, uri) in &setup.extensions {
            if let Some(ext) = extension_for_uri(uri) {
                exts.set(*id, ext);
            }
        }
        let mut config = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .set_extension_map(exts)
            .set_stats_interval(None);
        for c in &setup.codecs {
            config.codec_config().add_config(
                Pt::new_with_value(c.pt),
                c.rtx.map(Pt::new_with_value),
                c.codec,
                Frequency::new(c.clock_rate).expect("clock rate"),
                c.channels,
                FormatParams::default(),
            );
        }
        let mut rtc = config.build(Instant::now());

        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket on 127.0.0.1");
        let local_addr = socket.local_addr().expect("local address");
        let candidate = Candidate::host(local_addr, "udp").expect("host candidate");
        rtc.add_local_candidate(candidate);
        {
            let mut direct = rtc.direct_api();
            direct.set_ice_lite(false);
            direct.set_ice_controlling(true);
        }

        let rtc = Arc::new(Mutex::new(rtc));
        let shared = Arc::new(PeerShared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let driver = {
            let rtc = rtc.clone();
            let shared = shared.clone();
            let stop = stop.clone();
            let name = setup.name.clone();
            std::thread::Builder::new()
                .name(format!("rtc-{}", setup.name))
                .spawn(move || drive(name, rtc, socket, local_addr, shared, stop))
                .expect("spawn the driver thread")
        };
        RtcPeer {
            name: setup.name,
            dtls_server: setup.dtls_server,
            rtc,
            shared,
            local_addr,
            stop,
            driver: Some(driver),
            pump: None,
        }
    }

    pub fn rtc(&self) -> MutexGuard<'_, Rtc> {
        self.rtc.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `{"role":"client","fingerprints":[{"algorithm":"sha-256","value":"AB:..."}]}` for `connectWebRtcTransport`
    /// (`"server"` when the peer is set up as the DTLS server).
    pub fn dtls_parameters(&self) -> Value {
        let mut rtc = self.rtc();
        let fp = rtc.direct_api().local_dtls_fingerprint().clone();
        let value = fp
            .bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let role = if self.dtls_server { "server" } else { "client" };
        json!({"role": role, "fingerprints": [{"algorithm": fp.hash_func, "value": value}]})
    }

    /// Starts ICE (controlling, nominating) and DTLS (client, or server when set up so) against the server transport
    /// described by `info` (the `webRtcTransportCreated` data).
    pub fn start(&self, info: &Value) {
        let ice = &info["iceParameters"];
        let ufrag = ice["usernameFragment"]
            .as_str()
            .expect("iceParameters.usernameFragment");
        let pass = ice["password"].as_str().expect("iceParameters.password");
        let fingerprints = info["dtlsParameters"]["fingerprints"]
            .as_array()
            .expect("dtlsParameters.fingerprints");
        // mediasoup-client uses the last fingerprint; prefer sha-256 which str0m verifies.
        let fp = fingerprints
            .iter()
            .rev()
            .find(|f| f["algorithm"] == "sha-256")
            .or(fingerprints.last())
            .expect("a fingerprint");
        let fingerprint = Fingerprint {
            hash_func: fp["algorithm"].as_str().expect("algorithm").to_string(),
            bytes: fp["value"]
                .as_str()
                .expect("fingerprint value")
                .split(':')
                .map(|h| u8::from_str_radix(h, 16).expect("hex fingerprint"))
                .collect(),
        };
        let mut rtc = self.rtc();
        for c in info["iceCandidates"].as_array().expect("iceCandidates") {
            if c["protocol"].as_str().unwrap_or("udp") != "udp" {
                continue;
            }
            let ip = c["address"]
                .as_str()
                .or(c["ip"].as_str())
                .expect("candidate address");
            let port = c["port"].as_u64().expect("candidate port") as u16;
            let addr: SocketAddr = SocketAddr::new(ip.parse().expect("candidate ip"), port);
            rtc.add_remote_candidate(Candidate::host(addr, "udp").expect("remote candidate"));
        }
        let mut direct = rtc.direct_api();
        direct.set_remote_ice_credentials(IceCreds {
            ufrag: ufrag.to_string(),
            pass: pass.to_string(),
        });
        direct.set_remote_fingerprint(fingerprint);
        direct
            .start_dtls(!self.dtls_server)
            .expect("start DTLS (active unless set up as the DTLS server)");
    }

    /// Waits for ICE + DTLS + SRTP (str0m's `Event::Connected`).
    pub async fn wait_connected(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.shared.connected.load(Ordering::SeqCst) {
            if Instant::now() > deadline {
                panic!(
                    "peer {}: not connected within {timeout:?} (ICE state {:?}, errors {:?})",
                    self.name,
                    self.shared.ice_state.lock().unwrap(),
                    self.shared.errors.lock().unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Declares an outgoing stream (the media section `mid` and its SSRCs).
    pub fn declare_send(&self, mid: &str, kind: MediaKind, ssrc: u32, rtx: Option<u32>) {
        let mut rtc = self.rtc();
        let mut direct = rtc.direct_api();
        let mid = Mid::from(mid);
        direct.declare_media(mid, kind);
        direct.declare_stream_tx(Ssrc::from(ssrc), rtx.map(Ssrc::from), mid, None);
    }

    /// Declares an incoming stream (a consumer's SSRCs under its mid).
    pub fn declare_recv(&self, mid: &str, kind: MediaKind, ssrc: u32, rtx: Option<u32>) {
        let mut rtc = self.rtc();
        let mid = Mid::from(mid);
        let has_media = rtc.media(mid).is_some();
        let mut direct = rtc.direct_api();
        if !has_media {
            direct.declare_media(mid, kind);
        }
        direct.expect_stream_rx(Ssrc::from(ssrc), rtx.map(Ssrc::from), mid, None);
    }

    /// A snapshot of what was received on `ssrc`.
    pub fn received(&self, ssrc: u32) -> Vec<RecvPacket> {
        self.shared
            .received
            .lock()
            .unwrap()
            .get(&ssrc)
            .cloned()
            .unwrap_or_default()
    }

    pub fn received_count(&self, ssrc: u32) -> usize {
        self.shared
            .received
            .lock()
            .unwrap()
            .get(&ssrc)
            .map_or(0, |v| v.len())
    }

    /// Every SSRC something arrived on, with counts (for diagnostics).
    pub fn received_summary(&self) -> Vec<(u32, usize, Vec<u8>)> {
        let map = self.shared.received.lock().unwrap();
        let mut v: Vec<(u32, usize, Vec<u8>)> = map
            .iter()
            .map(|(ssrc, p)| {
                let mut pts: Vec<u8> = p.iter().map(|p| p.pt).collect();
                pts.sort();
                pts.dedup();
                (*ssrc, p.len(), pts)
            })
            .collect();
        v.sort();
        v
    }

    /// Waits until at least `n` packets arrived on `ssrc`; returns them all.
    pub async fn wait_packets(&self, ssrc: u32, n: usize, timeout: Duration) -> Vec<RecvPacket> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received(ssrc);
            if got.len() >= n {
                return got;
            }
            if Instant::now() > deadline {
                panic!(
                    "peer {}: {} of {n} packets on SSRC {ssrc} within {timeout:?}; received so far (ssrc, count, pts): \
                     {:?}; connected {}; errors {:?}",
                    self.name,
                    got.len(),
                    self.received_summary(),
                    self.shared.connected.load(Ordering::SeqCst),
                    self.shared.errors.lock().unwrap()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub fn keyframe_requests(&self) -> u64 {
        self.shared.keyframe_requests.lock().unwrap().values().sum()
    }

    /// Starts writing media on the declared streams.
    pub fn start_pump(&mut self, config: PumpConfig) {
        assert!(self.pump.is_none(), "pump already running");
        self.pump = Some(Pump::start(
            self.name.clone(),
            self.rtc.clone(),
            self.shared.clone(),
            config,
        ));
    }

    pub fn pump_stats(&self) -> Arc<PumpStats> {
        self.pump.as_ref().expect("pump running").stats.clone()
    }

    pub fn stop_pump(&mut self) {
        if let Some(p) = self.pump.take() {
            p.stop();
        }
    }

    /// Stops the threads (the UDP socket closes with the driver).
    pub fn shutdown(&mut self) {
        self.stop_pump();
        self.stop.store(true, Ordering::SeqCst);
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
    }
}

impl Drop for RtcPeer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn drive(
    name: String,
    rtc: Arc<Mutex<Rtc>>,
    socket: UdpSocket,
    local_addr: SocketAddr,
    shared: Arc<PeerShared>,
    stop: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 2048];
    let lock = || rtc.lock().unwrap_or_else(|e| e.into_inner());
    while !stop.load(Ordering::SeqCst) {
        let next = {
            let mut rtc = lock();
            if let Err(e) = rtc.handle_input(Input::Timeout(Instant::now())) {
                shared.errors.lock().unwrap().push(format!("timeout: {e}"));
            }
            poll_all(&name, &mut rtc, &socket, &shared)
        };
        let wait = next
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(1), Duration::from_millis(2));
        let _ = socket.set_read_timeout(Some(wait));
        match socket.recv_from(&mut buf) {
            Ok((n, source)) => {
                let mut rtc = lock();
                match Receive::new(Protocol::Udp, source, local_addr, &buf[..n]) {
                    Ok(receive) => {
                        if let Err(e) = rtc.handle_input(Input::Receive(Instant::now(), receive)) {
                            shared.errors.lock().unwrap().push(format!("input: {e}"));
                        }
                    }
                    Err(e) => {
                        tracing::debug!(peer = %name, "unparsable datagram from {source}: {e:?}")
                    }
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => {
                // ICMP port unreachable after the server closed the port shows up here on Linux.
                tracing::debug!(peer = %name, "recv: {e}");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

fn poll_all(name: &str, rtc: &mut Rtc, socket: &UdpSocket, shared: &PeerShared) -> Instant {
    loop {
        match rtc.poll_output() {
            Ok(Output::Timeout(t)) => return t,
            Ok(Output::Transmit(t)) => {
                let _ = socket.send_to(&t.contents, t.destination);
            }
            Ok(Output::Event(e)) => on_event(name, e, shared),
            Err(e) => {
                shared.errors.lock().unwrap().push(format!("poll: {e}"));
                return Instant::now() + Duration::from_millis(5);
            }
        }
    }
}

fn on_event(name: &str, event: Event, shared: &PeerShared) {
    match event {
        Event::Connected => {
            tracing::info!(peer = %name, "str0m connected (DTLS + SRTP ready)");
            shared.connected.store(true, Ordering::SeqCst);
        }
        Event::IceConnectionStateChange(state) => {
            tracing::info!(peer = %name, ?state, "str0m ICE state");
            *shared.ice_state.lock().unwrap() = Some(state);
        }
        Event::RtpPacket(p) => {
            let packet = RecvPacket {
                ssrc: *p.header.ssrc,
                pt: *p.header.payload_type,
                seq: p.header.sequence_number,
                ext_seq: *p.seq_no,
                timestamp: p.header.timestamp,
                marker: p.header.marker,
                mid: p.header.ext_vals.mid.map(|m| m.to_string()),
                payload: p.payload.to_vec(),
                at: Instant::now(),
            };
            shared
                .received
                .lock()
                .unwrap()
                .entry(packet.ssrc)
                .or_default()
                .push(packet);
        }
        Event::KeyframeRequest(req) => {
            tracing::info!(peer = %name, mid = %req.mid, kind = ?req.kind, "key frame requested");
            *shared
                .keyframe_requests
                .lock()
                .unwrap()
                .entry(req.mid.to_string())
                .or_default() += 1;
            shared.keyframe_wanted.store(true, Ordering::SeqCst);
        }
        Event::Closed => {
            tracing::info!(peer = %name, "str0m closed");
            shared.closed.store(true, Ordering::SeqCst);
        }
        _ => {}
    }
}

/// What the pump sends.
#[derive(Debug, Clone)]
pub struct PumpConfig {
    /// VP8: (mid, ssrc, pt), one packet per frame at 30 fps.
    pub video: Option<(String, u32, u8)>,
    /// opus: (mid, ssrc, pt), one packet every 20 ms.
    pub audio: Option<(String, u32, u8)>,
    /// A key frame every this many video frames (besides the ones answering requests).
    pub keyframe_interval: u32,
    /// How long after a key-frame request the key frame is sent (a real encoder takes a few frames; meanwhile the
    /// server must hold back the delta frames from a consumer that needs a key frame).
    pub keyframe_delay: Duration,
}

#[derive(Debug, Default)]
pub struct PumpStats {
    pub video_packets: AtomicU64,
    pub video_keyframes: AtomicU64,
    pub audio_packets: AtomicU64,
    /// Last video sequence number written.
    pub video_last_seq: AtomicU64,
}

struct Pump {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<PumpStats>,
}

impl Pump {
    fn start(
        name: String,
        rtc: Arc<Mutex<Rtc>>,
        shared: Arc<PeerShared>,
        config: PumpConfig,
    ) -> Pump {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(PumpStats::default());
        let thread = {
            let stop = stop.clone();
            let stats = stats.clone();
            std::thread::Builder::new()
                .name(format!("pump-{name}"))
                .spawn(move || pump(rtc, shared, config, stop, stats))
                .expect("spawn the pump thread")
        };
        Pump {
            stop,
            thread: Some(thread),
            stats,
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A VP8 RTP payload: descriptor with a 15-bit picture id (X=1, S=1, PID=0; I=1, M=1), then the start of a VP8
/// frame (key frames: P bit 0, start code, 640x480; delta frames: P bit 1), then filler carrying `frame`.
pub fn vp8_payload(picture_id: u16, key: bool, frame: u32) -> Vec<u8> {
    let mut p = vec![
        0x90,
        0x80,
        0x80 | ((picture_id >> 8) as u8 & 0x7f),
        picture_id as u8,
    ];
    if key {
        // frame tag: P=0 (key), version 0, show_frame=1; first partition size 64
        p.extend_from_slice(&[0x10, 0x08, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
    } else {
        p.extend_from_slice(&[0x11, 0x08, 0x00]);
    }
    p.extend_from_slice(b"ferrosoup");
    p.extend_from_slice(&frame.to_be_bytes());
    p.resize(p.len() + 100, 0xab);
    p
}

/// Parses the VP8 payload descriptor of an RTP payload: is this the first packet of a key frame?
pub fn vp8_is_keyframe(payload: &[u8]) -> bool {
    let Some(&b0) = payload.first() else {
        return false;
    };
    let start = b0 & 0x10 != 0;
    let pid = b0 & 0x07;
    let mut off = 1;
    if b0 & 0x80 != 0 {
        let Some(&x) = payload.get(off) else {
            return false;
        };
        off += 1;
        if x & 0x80 != 0 {
            let Some(&p0) = payload.get(off) else {
                return false;
            };
            off += if p0 & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            off += 1;
        }
        if x & 0x30 != 0 {
            off += 1;
        }
    }
    match payload.get(off) {
        Some(&first) => start && pid == 0 && first & 0x01 == 0,
        None => false,
    }
}

/// The frame counter `vp8_payload` put in the payload.
pub fn vp8_frame_number(payload: &[u8]) -> Option<u32> {
    let pos = payload.windows(9).position(|w| w == b"ferrosoup")?;
    let b = payload.get(pos + 9..pos + 13)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn pump(
    rtc: Arc<Mutex<Rtc>>,
    shared: Arc<PeerShared>,
    config: PumpConfig,
    stop: Arc<AtomicBool>,
    stats: Arc<PumpStats>,
) {
    let start = Instant::now();
    let mut next_video = start;
    let mut next_audio = start;
    let mut frame: u32 = 0;
    let mut video_seq: u64 = 4000;
    let mut audio_seq: u64 = 9000;
    let mut video_ts: u32 = 1_000_000;
    let mut audio_ts: u32 = 2_000_000;
    let mut picture_id: u16 = 300;
    let mut key_due: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if let Some((mid, ssrc, pt)) = &config.video {
            if now >= next_video {
                next_video += Duration::from_millis(33);
                if shared.keyframe_wanted.swap(false, Ordering::SeqCst) && key_due.is_none() {
                    key_due = Some(now + config.keyframe_delay);
                }
                let requested = key_due.is_some_and(|t| now >= t);
                if requested {
                    key_due = None;
                }
                let key = frame == 0
                    || requested
                    || (config.keyframe_interval > 0
                        && frame.is_multiple_of(config.keyframe_interval));
                let payload = vp8_payload(picture_id, key, frame);
                {
                    let mut rtc = rtc.lock().unwrap_or_else(|e| e.into_inner());
                    let mut direct = rtc.direct_api();
                    let Some(stream) = direct.stream_tx_by_mid(Mid::from(mid.as_str()), None)
                    else {
                        panic!("no send stream for mid {mid} (ssrc {ssrc})");
                    };
                    stream.write_rtp(
                        RtpWrite::new(
                            Pt::new_with_value(*pt),
                            SeqNo::from(video_seq),
                            video_ts,
                            now,
                            payload,
                        )
                        .marker(true)
                        .nackable(true),
                    );
                }
                stats.video_packets.fetch_add(1, Ordering::SeqCst);
                if key {
                    stats.video_keyframes.fetch_add(1, Ordering::SeqCst);
                }
                stats.video_last_seq.store(video_seq, Ordering::SeqCst);
                frame += 1;
                video_seq += 1;
                video_ts = video_ts.wrapping_add(3000);
                picture_id = (picture_id + 1) & 0x7fff;
            }
        }
        if let Some((mid, _ssrc, pt)) = &config.audio {
            if now >= next_audio {
                next_audio += Duration::from_millis(20);
                // opus TOC: config 31 (CELT FB 20 ms), stereo, one frame; then filler
                let mut payload = vec![0xfc, 0xff, 0xfe];
                payload.extend_from_slice(&(audio_seq as u32).to_be_bytes());
                payload.resize(60, 0x55);
                {
                    let mut rtc = rtc.lock().unwrap_or_else(|e| e.into_inner());
                    let mut direct = rtc.direct_api();
                    let stream = direct
                        .stream_tx_by_mid(Mid::from(mid.as_str()), None)
                        .expect("audio send stream");
                    stream.write_rtp(
                        RtpWrite::new(
                            Pt::new_with_value(*pt),
                            SeqNo::from(audio_seq),
                            audio_ts,
                            now,
                            payload,
                        )
                        .nackable(true),
                    );
                }
                stats.audio_packets.fetch_add(1, Ordering::SeqCst);
                audio_seq += 1;
                audio_ts = audio_ts.wrapping_add(960);
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
