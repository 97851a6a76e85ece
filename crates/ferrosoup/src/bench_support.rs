//! The worker's engine with one VP8 producer fanned out to N consumers, each on its own transport, driven without a
//! network: what `benches/fanout.rs` measures. Only with the `bench-internals` feature; not a public API.
//!
//! Objects are made with the engine's own commands (router, transports, produce, consume, resume), so the packet path
//! is the one a running server takes; only ICE and DTLS are skipped, by handing each transport the SRTP contexts and
//! client address they would have produced.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::engine::{Engine, LocalCandidate};
use crate::ids::{ConsumerId, ProducerId, RouterId, TransportId};
use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpParameters};
use crate::srtp::{SrtpContext, SrtpProfile, SRTP_MAX_OVERHEAD};
use crate::worker::Command;
use crate::Error;

/// The publishing client's view: its payload type, extension ids and SSRC (different from the router's, as a
/// browser's are, so the ingress remap does real work).
const PT: u8 = 96;
const EXT_MID: u8 = 9;
const EXT_ABS_SEND_TIME: u8 = 3;
const EXT_TRANSPORT_CC: u8 = 12;
const SSRC: u32 = 0x1111_0001;

/// One producer and `consumers` consumers in one engine.
pub struct Fanout {
    engine: Engine,
    publisher: SocketAddr,
    consumers: usize,
}

/// Encrypts what the publishing client sends.
pub struct Publisher {
    srtp: SrtpContext,
    seq: u16,
    twcc: u16,
    timestamp: u32,
    payload_len: usize,
}

fn call<T>(
    engine: &mut Engine,
    make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Command,
) -> Result<T, Error> {
    let (tx, mut rx) = oneshot::channel();
    engine.handle_command(Instant::now(), make(tx));
    // The engine answers every command before returning.
    rx.try_recv().map_err(|_| Error::WorkerClosed)?
}

fn bad(what: &str) -> Error {
    Error::Io(std::io::Error::other(what.to_string()))
}

/// Master key and salt of one direction of one transport.
fn keys(profile: SrtpProfile, seed: u8) -> (Vec<u8>, Vec<u8>) {
    (
        (0..profile.key_len() as u8).map(|i| i ^ seed).collect(),
        (0..profile.salt_len() as u8)
            .map(|i| i.wrapping_mul(7) ^ seed)
            .collect(),
    )
}

fn context(profile: SrtpProfile, seed: u8) -> Result<SrtpContext, Error> {
    let (key, salt) = keys(profile, seed);
    SrtpContext::new(profile, &key, &salt).map_err(|e| bad(&format!("SRTP context: {e:?}")))
}

impl Fanout {
    /// A producer on one transport and `consumers` consumers of it, each on its own connected transport, resumed.
    /// `payload_len` bytes of VP8 per packet, `profile` on every transport.
    pub fn new(
        consumers: usize,
        profile: SrtpProfile,
        payload_len: usize,
    ) -> Result<(Fanout, Publisher), Error> {
        let local = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000);
        let mut engine = Engine::new(vec![LocalCandidate {
            local,
            address: "127.0.0.1".into(),
            priority: 1,
        }]);
        let capabilities = crate::ortc::generate_router_rtp_capabilities(
            &crate::supported_rtp_capabilities::default_media_codecs(),
        )
        .map_err(|e| bad(&format!("router capabilities: {e}")))?;
        let router_id = RouterId::new();
        call(&mut engine, |reply| Command::CreateRouter {
            id: router_id,
            capabilities: capabilities.clone(),
            events: None,
            reply,
        })?;

        let transport = |engine: &mut Engine, port: u16, seed: u8| -> Result<TransportId, Error> {
            let id = TransportId::new();
            call(engine, |reply| Command::CreateWebRtcTransport {
                router_id,
                id,
                reply,
            })?;
            let remote = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
            // Server inbound = the client's outbound keys (seed), server outbound its own (seed + 1).
            if !engine.bench_connect(
                id,
                remote,
                context(profile, seed)?,
                context(profile, seed.wrapping_add(1))?,
            ) {
                return Err(bad("transport vanished"));
            }
            Ok(id)
        };

        let publisher = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 50000);
        let send_transport = transport(&mut engine, publisher.port(), 0)?;
        let producer_id = ProducerId::new();
        let rtp_parameters = producer_parameters()?;
        call(&mut engine, |reply| Command::Produce {
            transport_id: send_transport,
            id: producer_id,
            kind: MediaKind::Video,
            rtp_parameters,
            paused: false,
            screen_share: false,
            reply,
        })?;
        for i in 0..consumers {
            let t = transport(&mut engine, 50001 + i as u16, 2 + 2 * i as u8)?;
            let id = ConsumerId::new();
            let consumer_caps: RtpCapabilities = capabilities.clone();
            call(&mut engine, |reply| Command::Consume {
                transport_id: t,
                id,
                producer_id,
                rtp_capabilities: consumer_caps,
                paused: true,
                reply,
            })?;
            call(&mut engine, |reply| Command::SetConsumerPaused {
                id,
                paused: false,
                reply,
            })?;
        }
        // Resuming queued key-frame requests to the publisher; they are not part of the fan-out.
        while let Some(d) = engine.poll_transmit() {
            engine.recycle(d);
        }
        let mut fanout = Fanout {
            engine,
            publisher,
            consumers,
        };
        let mut client = Publisher {
            srtp: context(profile, 0)?,
            seq: 1000,
            twcc: 1,
            timestamp: 90_000,
            payload_len,
        };
        // Consumers start at a key frame.
        let mut first = client.next_packet(true);
        let sent = fanout.push(&mut first);
        if sent != consumers {
            return Err(bad(&format!(
                "the key frame reached {sent} of {consumers} consumers"
            )));
        }
        Ok((fanout, client))
    }

    /// Hands one datagram from the publisher to the engine and takes what it queued (as the driver would send it);
    /// returns how many datagrams it queued.
    pub fn push(&mut self, datagram: &mut [u8]) -> usize {
        self.engine
            .handle_datagram(Instant::now(), 0, self.publisher, datagram);
        let mut n = 0;
        while let Some(d) = self.engine.poll_transmit() {
            n += 1;
            self.engine.recycle(d);
        }
        n
    }

    pub fn consumers(&self) -> usize {
        self.consumers
    }
}

impl Publisher {
    /// The next SRTP packet of the stream: RTP header with mid, abs-send-time and transport-wide seq extensions, a VP8
    /// payload (key frame or not), encrypted.
    pub fn next_packet(&mut self, key_frame: bool) -> Vec<u8> {
        let mut p = Vec::with_capacity(12 + 16 + self.payload_len + SRTP_MAX_OVERHEAD);
        p.extend_from_slice(&[0x90, 0x80 | PT]);
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&self.timestamp.to_be_bytes());
        p.extend_from_slice(&SSRC.to_be_bytes());
        // One-byte extensions: mid "0", abs-send-time (3 bytes), transport-wide seq (2 bytes), padded to 12 bytes.
        p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x03]);
        p.extend_from_slice(&[EXT_MID << 4, b'0']);
        p.extend_from_slice(&[(EXT_ABS_SEND_TIME << 4) | 2, 0x01, 0x02, 0x03]);
        p.extend_from_slice(&[(EXT_TRANSPORT_CC << 4) | 1]);
        p.extend_from_slice(&self.twcc.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0]);
        // VP8 descriptor: X, S, picture id; then a frame start.
        p.extend_from_slice(&[0x90, 0x80, 0x80, 0x01]);
        if key_frame {
            p.extend_from_slice(&[0x10, 0x08, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
        } else {
            p.extend_from_slice(&[0x11, 0x08, 0x00]);
        }
        // 28 bytes of RTP header and extensions, then the payload.
        let plain = 28 + self.payload_len.max(p.len() - 28);
        p.resize(plain, 0xab);
        p.resize(plain + SRTP_MAX_OVERHEAD, 0);
        if let Ok(n) = self.srtp.protect_rtp(&mut p, plain) {
            p.truncate(n);
        }
        self.seq = self.seq.wrapping_add(1);
        self.twcc = self.twcc.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(3000);
        p
    }
}

/// What a browser's `produce` would carry for the VP8 track.
fn producer_parameters() -> Result<RtpParameters, Error> {
    let json = serde_json::json!({
        "mid": "0",
        "codecs": [
            {"mimeType": "video/VP8", "payloadType": PT, "clockRate": 90000, "parameters": {},
             "rtcpFeedback": [{"type": "transport-cc"}, {"type": "ccm", "parameter": "fir"},
                              {"type": "nack"}, {"type": "nack", "parameter": "pli"}]},
            {"mimeType": "video/rtx", "payloadType": PT + 1, "clockRate": 90000, "parameters": {"apt": PT}}
        ],
        "headerExtensions": [
            {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": EXT_MID},
            {"uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": EXT_ABS_SEND_TIME},
            {"uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id": EXT_TRANSPORT_CC}
        ],
        "encodings": [{"ssrc": SSRC, "rtx": {"ssrc": SSRC + 1}}],
        "rtcp": {"cname": "bench", "reducedSize": true}
    });
    serde_json::from_value(json).map_err(|e| bad(&format!("producer parameters: {e}")))
}
