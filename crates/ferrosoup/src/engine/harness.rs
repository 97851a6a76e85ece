//! A whole engine with a publisher and a subscriber already connected, driven without a network or a clock: the
//! fuzz targets and the abuse regression tests feed it datagrams as an attacker (or a broken client) would.
//!
//! ICE is done for real (authenticated binding requests built with the transports' passwords); DTLS is skipped by
//! installing fixed SRTP keys, so that SRTP-protected input reaches the RTP and RTCP paths. Every SRTP packet the
//! engine sends to a peer is checked to decrypt and parse with that peer's keys.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use is::stun::{StunMessage, TransId};
use is::Sha1HmacProvider;
use tokio::sync::oneshot;

use super::{Engine, LocalCandidate};
use crate::ids::{ConsumerId, ProducerId, RouterId, TransportId};
use crate::rtp::{classify_packet, PacketClass, RtpPacket};
use crate::rtp_parameters::{MediaKind, RtpParameters};
use crate::srtp::{SrtpContext, SrtpError, SrtpProfile};
use crate::transport::{DtlsFingerprint, DtlsParameters, DtlsRole};
use crate::worker::{Command, WorkerDump};

/// Who a datagram claims to come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The publishing client's ICE-verified address.
    Publisher,
    /// The subscribing client's ICE-verified address.
    Subscriber,
    /// An address no check came from.
    Stranger,
}

const PROFILE: SrtpProfile = SrtpProfile::Aes128CmHmacSha1_80;
const LOCAL: ([u8; 4], u16) = ([127, 0, 0, 1], 40000);
/// Publisher's SSRCs and payload types (what the fuzz seeds use).
pub const VIDEO_SSRC: u32 = 0x1111_0001;
pub const VIDEO_RTX_SSRC: u32 = 0x1111_0002;
pub const AUDIO_SSRC: u32 = 0x2222_0001;
pub const VP8_PT: u8 = 96;
pub const RTX_PT: u8 = 97;
pub const OPUS_PT: u8 = 111;
pub const EXT_MID: u8 = 9;
pub const EXT_ABS_SEND_TIME: u8 = 3;
pub const EXT_TRANSPORT_CC: u8 = 12;

struct Peer {
    transport: TransportId,
    address: SocketAddr,
    ufrag: String,
    password: String,
    /// Protects what this peer sends (the engine's inbound keys).
    tx: SrtpContext,
    /// Unprotects what the engine sends it (the engine's outbound keys).
    rx: SrtpContext,
}

pub struct Harness {
    engine: Engine,
    now: Instant,
    publisher: Peer,
    subscriber: Peer,
    scratch: Vec<u8>,
    /// Outgoing SRTP packets that failed to decrypt at their peer (must stay 0).
    pub bad_output: u64,
    /// RTP packets that reached the subscriber.
    pub delivered: u64,
    /// The last of them, decrypted.
    pub last_delivered: Vec<u8>,
    /// The consumers' SSRCs (video, audio): random, so feedback from the subscriber names them as 1 and 2.
    consumer_ssrcs: Vec<u32>,
}

impl Harness {
    /// Router, two transports, a VP8 and an opus producer, consumers of both (resumed), ICE done and SRTP keyed.
    pub fn new() -> Option<Harness> {
        Harness::with_receiver_transport_cc(true)
    }

    /// The same; without `transport_cc` the subscriber's capabilities leave transport-wide-cc out (a receiver that
    /// only sends REMB).
    pub fn with_receiver_transport_cc(transport_cc: bool) -> Option<Harness> {
        let now = Instant::now();
        let mut engine = Engine::new(vec![LocalCandidate {
            local: SocketAddr::from(LOCAL),
            address: "127.0.0.1".into(),
            priority: 1,
        }]);
        let capabilities = crate::ortc::generate_router_rtp_capabilities(
            &crate::supported_rtp_capabilities::default_media_codecs(),
        )
        .ok()?;
        let router_id = RouterId::new();
        request(&mut engine, now, |reply| Command::CreateRouter {
            id: router_id,
            capabilities: capabilities.clone(),
            events: None,
            reply,
        })?;
        let publisher = create_peer(&mut engine, now, router_id, 1, 5000)?;
        let subscriber = create_peer(&mut engine, now, router_id, 2, 6000)?;
        let mut receiver_caps = capabilities.clone();
        if !transport_cc {
            receiver_caps
                .header_extensions
                .retain(|e| !e.uri.contains("transport-wide-cc"));
            for codec in &mut receiver_caps.codecs {
                codec.rtcp_feedback.retain(|f| f.r#type != "transport-cc");
            }
        }
        let mut consumer_ssrcs = Vec::new();
        let producers = [
            (MediaKind::Video, video_parameters()),
            (MediaKind::Audio, audio_parameters()),
        ];
        for (kind, rtp_parameters) in producers {
            let rtp_parameters = rtp_parameters?;
            let producer_id = ProducerId::new();
            request(&mut engine, now, |reply| Command::Produce {
                transport_id: publisher.transport,
                id: producer_id,
                kind,
                rtp_parameters,
                paused: false,
                screen_share: false,
                reply,
            })?;
            let consumer = request(&mut engine, now, |reply| Command::Consume {
                transport_id: subscriber.transport,
                id: ConsumerId::new(),
                producer_id,
                rtp_capabilities: receiver_caps.clone(),
                paused: false,
                reply,
            })?;
            let encoding = consumer.rtp_parameters.encodings.first();
            consumer_ssrcs.push(encoding.and_then(|e| e.ssrc).unwrap_or(0));
        }
        let mut harness = Harness {
            engine,
            now,
            publisher,
            subscriber,
            scratch: Vec::with_capacity(2048),
            bad_output: 0,
            delivered: 0,
            last_delivered: Vec::new(),
            consumer_ssrcs,
        };
        for sender in [Sender::Publisher, Sender::Subscriber] {
            let port = harness.peer(sender)?.address.port();
            harness.stun_check(sender, port, true, true, "remote");
        }
        harness.use_profile(PROFILE)?;
        Some(harness)
    }

    /// Keys both peers and their transports afresh with `profile` (as DTLS would have): call it before any media.
    pub fn use_profile(&mut self, profile: SrtpProfile) -> Option<()> {
        for sender in [Sender::Publisher, Sender::Subscriber] {
            let (seed_in, seed_out) = seeds(sender);
            let t = self.transport_of(sender)?;
            t.srtp_in = Some(context(profile, seed_in)?.into());
            t.srtp_out = Some(context(profile, seed_out)?.into());
            let peer = match sender {
                Sender::Publisher => &mut self.publisher,
                _ => &mut self.subscriber,
            };
            peer.tx = context(profile, seed_in)?;
            peer.rx = context(profile, seed_out)?;
        }
        Some(())
    }

    /// The engine's state counts and drop counters.
    pub fn dump(&self) -> WorkerDump {
        self.engine.dump()
    }

    /// Client addresses the engine routes packets by.
    pub fn known_addresses(&self) -> usize {
        self.engine.by_remote.len()
    }

    /// A raw datagram.
    pub fn datagram(&mut self, from: Sender, bytes: &[u8]) {
        self.scratch.clear();
        self.scratch.extend_from_slice(bytes);
        let address = self.address(from);
        let mut buf = std::mem::take(&mut self.scratch);
        self.engine.handle_datagram(self.now, 0, address, &mut buf);
        self.scratch = buf;
        self.drain();
    }

    /// `plain` as SRTP (or SRTCP) protected with the keys of `from` (a stranger uses the publisher's keys). Input that
    /// cannot be protected (not a valid RTP/RTCP header) is sent as it is. In the subscriber's RTCP, feedback about
    /// media SSRC 1 or 2 is about the video or audio consumer (whose SSRCs are random).
    pub fn protected(&mut self, from: Sender, plain: &[u8], rtcp: bool) {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        buf.extend_from_slice(plain);
        if rtcp && from == Sender::Subscriber {
            let ssrcs = &self.consumer_ssrcs;
            let _ = crate::rtp::rewrite_feedback_media_ssrc(&mut buf, |s| {
                s.checked_sub(1)
                    .and_then(|i| ssrcs.get(i as usize).copied())
            });
        }
        buf.resize(plain.len() + crate::srtp::SRTP_MAX_OVERHEAD, 0);
        let peer = match from {
            Sender::Subscriber => &mut self.subscriber,
            Sender::Publisher | Sender::Stranger => &mut self.publisher,
        };
        let result = if rtcp {
            peer.tx.protect_rtcp(&mut buf, plain.len())
        } else {
            peer.tx.protect_rtp(&mut buf, plain.len())
        };
        buf.truncate(result.unwrap_or(plain.len()));
        let address = self.address(from);
        self.engine.handle_datagram(self.now, 0, address, &mut buf);
        self.scratch = buf;
        self.drain();
    }

    /// A binding request for `sender`'s transport from `sender`'s IP and `port`, with the right password or not.
    pub fn stun_check(
        &mut self,
        sender: Sender,
        port: u16,
        use_candidate: bool,
        right_password: bool,
        remote_ufrag: &str,
    ) {
        let Some(peer) = self.peer(sender) else {
            return;
        };
        let username = format!("{}:{}", peer.ufrag, remote_ufrag);
        let password = if right_password {
            peer.password.clone()
        } else {
            format!("{}x", peer.password)
        };
        let from = SocketAddr::new(peer.address.ip(), port);
        let message = StunMessage::binding_request(
            &username,
            TransId::new(),
            true,
            7,
            1 << 24,
            use_candidate,
        );
        let mut buf = [0u8; 512];
        let hmac = |key: &[u8], parts: &[&[u8]]| is::DefaultSha1HmacProvider.sha1_hmac(key, parts);
        let Ok(n) = message.to_bytes(Some(password.as_bytes()), &mut buf, hmac) else {
            return;
        };
        self.engine
            .handle_datagram(self.now, 0, from, &mut buf[..n.min(512)]);
        self.drain();
    }

    /// The server's stats of `sender`'s transport.
    pub fn transport_stats(&mut self, sender: Sender) -> Option<crate::stats::TransportStats> {
        let id = self.peer(sender)?.transport;
        request(&mut self.engine, self.now, |reply| {
            Command::GetTransportStats { id, reply }
        })
    }

    /// Lets `ms` milliseconds pass and runs every timer that came due.
    pub fn advance(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
        // Timers re-arm relative to `now`, so a bounded number of rounds catches up with any step; one still due
        // after them would keep the worker awake for ever.
        for _ in 0..16 {
            match self.engine.poll_timeout() {
                Some(t) if t <= self.now => self.engine.handle_timeout(self.now),
                _ => return,
            }
            self.drain();
        }
        let due = self.engine.poll_timeout();
        assert!(
            due.is_none_or(|at| at > self.now),
            "a timer stays due: the worker would spin"
        );
    }

    fn address(&self, from: Sender) -> SocketAddr {
        match from {
            Sender::Publisher => self.publisher.address,
            Sender::Subscriber => self.subscriber.address,
            Sender::Stranger => SocketAddr::from(([127, 0, 0, 1], 7000)),
        }
    }

    fn peer(&self, sender: Sender) -> Option<&Peer> {
        match sender {
            Sender::Publisher => Some(&self.publisher),
            Sender::Subscriber => Some(&self.subscriber),
            Sender::Stranger => None,
        }
    }

    fn transport_of(&mut self, sender: Sender) -> Option<&mut super::TransportState> {
        let id = self.peer(sender)?.transport;
        let key = *self.engine.transport_ids.get(&id)?;
        self.engine.transports.get_mut(key)
    }

    /// Takes what the engine queued; SRTP and SRTCP to a peer must decrypt with the peer's keys and parse.
    fn drain(&mut self) {
        while let Some(mut datagram) = self.engine.poll_transmit() {
            let to_subscriber = datagram.to == self.subscriber.address;
            let peer = if datagram.to == self.publisher.address {
                Some(&mut self.publisher)
            } else if datagram.to == self.subscriber.address {
                Some(&mut self.subscriber)
            } else {
                None
            };
            if let Some(peer) = peer {
                let result = match classify_packet(&datagram.data) {
                    PacketClass::Rtp => peer.rx.unprotect_rtp(&mut datagram.data).and_then(|n| {
                        RtpPacket::parse(&datagram.data[..n])
                            .map(|_| n)
                            .map_err(|_| SrtpError::BadHeader)
                    }),
                    PacketClass::Rtcp => peer.rx.unprotect_rtcp(&mut datagram.data).and_then(|n| {
                        crate::rtp::validate_compound(&datagram.data[..n])
                            .map(|_| n)
                            .map_err(|_| SrtpError::BadHeader)
                    }),
                    _ => Ok(0),
                };
                // Retransmissions answer NACKs with an index the peer already saw when RTX is not negotiated.
                match result {
                    Ok(n)
                        if to_subscriber && classify_packet(&datagram.data) == PacketClass::Rtp =>
                    {
                        self.delivered += 1;
                        self.last_delivered.clear();
                        self.last_delivered
                            .extend_from_slice(datagram.data.get(..n).unwrap_or_default());
                    }
                    Ok(_) | Err(SrtpError::Replayed | SrtpError::TooOld) => {}
                    Err(_) => self.bad_output += 1,
                }
            }
            self.engine.recycle(datagram);
        }
    }
}

/// Sends a command and takes its reply, which the engine gives before returning.
fn request<T>(
    engine: &mut Engine,
    now: Instant,
    make: impl FnOnce(oneshot::Sender<Result<T, crate::Error>>) -> Command,
) -> Option<T> {
    let (tx, mut rx) = oneshot::channel();
    engine.handle_command(now, make(tx));
    rx.try_recv().ok()?.ok()
}

fn create_peer(
    engine: &mut Engine,
    now: Instant,
    router_id: RouterId,
    ip_last: u8,
    port: u16,
) -> Option<Peer> {
    let transport = TransportId::new();
    let info = request(engine, now, |reply| Command::CreateWebRtcTransport {
        router_id,
        id: transport,
        reply,
    })?;
    // The client takes the DTLS client role, so the engine's DTLS server waits for records (and can be fed garbage).
    request(engine, now, |reply| Command::ConnectWebRtcTransport {
        id: transport,
        dtls_parameters: DtlsParameters {
            role: DtlsRole::Client,
            fingerprints: vec![DtlsFingerprint {
                algorithm: "sha-256".into(),
                value: "00".into(),
            }],
        },
        reply,
    })?;
    let sender = if ip_last == 1 {
        Sender::Publisher
    } else {
        Sender::Subscriber
    };
    let (seed_in, seed_out) = seeds(sender);
    Some(Peer {
        transport,
        address: SocketAddr::from(([127, 0, 0, ip_last + 1], port)),
        ufrag: info.ice_parameters.username_fragment,
        password: info.ice_parameters.password,
        tx: context(PROFILE, seed_in)?,
        rx: context(PROFILE, seed_out)?,
    })
}

/// A context of `profile` whose master key and salt are `seed` repeated.
fn context(profile: SrtpProfile, seed: u8) -> Option<SrtpContext> {
    SrtpContext::new(
        profile,
        &vec![seed; profile.key_len()],
        &vec![seed; profile.salt_len()],
    )
    .ok()
}

/// Fixed keys per peer: (what the peer sends with, what the engine sends to it with).
fn seeds(sender: Sender) -> (u8, u8) {
    let seed = match sender {
        Sender::Publisher => 1,
        Sender::Subscriber => 2,
        Sender::Stranger => 3,
    };
    (seed, seed + 10)
}

fn video_parameters() -> Option<RtpParameters> {
    serde_json::from_value(serde_json::json!({
        "mid": "0",
        "codecs": [
            {"mimeType": "video/VP8", "payloadType": VP8_PT, "clockRate": 90000, "parameters": {},
             "rtcpFeedback": [{"type": "transport-cc"}, {"type": "ccm", "parameter": "fir"},
                              {"type": "nack"}, {"type": "nack", "parameter": "pli"}]},
            {"mimeType": "video/rtx", "payloadType": RTX_PT, "clockRate": 90000,
             "parameters": {"apt": VP8_PT}, "rtcpFeedback": []}
        ],
        "headerExtensions": extensions(),
        "encodings": [{"ssrc": VIDEO_SSRC, "rtx": {"ssrc": VIDEO_RTX_SSRC}}],
        "rtcp": {"cname": "fuzz", "reducedSize": true}
    }))
    .ok()
}

fn audio_parameters() -> Option<RtpParameters> {
    serde_json::from_value(serde_json::json!({
        "mid": "1",
        "codecs": [
            {"mimeType": "audio/opus", "payloadType": OPUS_PT, "clockRate": 48000, "channels": 2,
             "parameters": {}, "rtcpFeedback": [{"type": "transport-cc"}]}
        ],
        "headerExtensions": extensions(),
        "encodings": [{"ssrc": AUDIO_SSRC}],
        "rtcp": {"cname": "fuzz", "reducedSize": true}
    }))
    .ok()
}

fn extensions() -> serde_json::Value {
    serde_json::json!([
        {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": EXT_MID},
        {"uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": EXT_ABS_SEND_TIME},
        {"uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id": EXT_TRANSPORT_CC}
    ])
}

/// A VP8 packet of the publisher: `key` frames start a consumer.
pub fn vp8_packet(seq: u16, key: bool) -> Vec<u8> {
    let mut p = vec![0x80, VP8_PT, 0, 0, 0, 0, 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    p.extend_from_slice(&VIDEO_SSRC.to_be_bytes());
    // VP8 descriptor (start of partition 0), then a frame tag: bit 0 clear is a key frame.
    p.extend_from_slice(&[
        0x10,
        if key { 0x00 } else { 0x01 },
        0x00,
        0x00,
        0x9d,
        0x01,
        0x2a,
    ]);
    p.extend_from_slice(&[0x55; 40]);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RTP_HEADER_LEN;

    /// A VP8 packet with a 15-bit picture id and a TL0PICIDX, a payload of distinct bytes and, if `padded`, 3 bytes of
    /// RTP padding.
    fn vp8_with_picture_id(seq: u16, key: bool, padded: bool) -> Vec<u8> {
        let mut p = vp8_packet(seq, key);
        p.truncate(RTP_HEADER_LEN);
        let picture_id = 0x1200 + seq;
        p.extend_from_slice(&[
            0x90,
            0xC0,
            0x80 | (picture_id >> 8) as u8,
            picture_id as u8,
            7,
        ]);
        p.push(if key { 0x00 } else { 0x01 });
        p.extend((0..1000u32).map(|i| (i * 31 + u32::from(seq)) as u8));
        if padded {
            p[0] |= 0x20;
            p.extend_from_slice(&[0, 0, 3]);
        }
        p
    }

    #[test]
    fn fan_out_keeps_the_payload_and_rewrites_the_vp8_descriptor_with_every_profile() {
        for profile in [
            SrtpProfile::Aes128CmHmacSha1_80,
            SrtpProfile::AeadAes128Gcm,
            SrtpProfile::AeadAes256Gcm,
        ] {
            let mut h = Harness::new().expect("harness");
            h.use_profile(profile).expect("keys");
            let mut picture_ids = Vec::new();
            for (seq, padded) in [(1u16, false), (2, false), (3, true), (4, false)] {
                let sent = vp8_with_picture_id(seq, seq == 1, padded);
                h.protected(Sender::Publisher, &sent, false);
                assert_eq!(h.delivered, u64::from(seq), "{profile:?}: {:?}", h.dump());
                let src = RtpPacket::parse(&sent[..]).expect("source");
                let out = RtpPacket::parse(&h.last_delivered[..]).expect("delivered");
                assert_eq!(out.ssrc(), h.consumer_ssrcs[0], "{profile:?}");
                assert_eq!(
                    out.payload_len(),
                    src.payload_len(),
                    "{profile:?} seq {seq}"
                );
                assert_eq!(
                    out.padding_len(),
                    src.padding_len(),
                    "{profile:?} seq {seq}"
                );
                // The descriptor (5 bytes here) is the consumer's; everything after it is the producer's.
                assert_eq!(
                    out.payload()[5..],
                    src.payload()[5..],
                    "{profile:?} seq {seq}"
                );
                picture_ids.push(u16::from_be_bytes([out.payload()[2], out.payload()[3]]) & 0x7FFF);
            }
            assert!(
                picture_ids.windows(2).all(|w| w[1] == (w[0] + 1) & 0x7FFF),
                "{profile:?}: picture ids {picture_ids:?}"
            );
            assert_eq!(h.bad_output, 0, "{profile:?}");
        }
    }

    #[test]
    fn media_flows_and_garbage_is_counted() {
        let mut h = Harness::new().expect("harness");
        assert_eq!(h.known_addresses(), 2);
        h.protected(Sender::Publisher, &vp8_packet(1, true), false);
        h.protected(Sender::Publisher, &vp8_packet(2, false), false);
        assert_eq!(h.delivered, 2, "{:?}", h.dump());
        h.datagram(Sender::Stranger, &[0x80; 40]);
        h.datagram(Sender::Publisher, &[0x80; 40]);
        h.datagram(Sender::Publisher, &[0xFF; 3]);
        h.datagram(Sender::Stranger, &[0x00; 20]);
        let d = h.dump().dropped;
        assert_eq!(
            (
                d.unknown_sender,
                d.srtp_auth_failed,
                d.unclassified,
                d.stun_malformed
            ),
            (1, 1, 1, 1),
            "{d:?}"
        );
        // Reports and feedback that fall due decrypt at their peers.
        h.advance(1100);
        assert_eq!(h.bad_output, 0);
    }

    /// Without transport-cc the receiver's REMB is the transport's estimate (and so what allocation shares out); with
    /// it, the send-side estimator's figure is, whatever REMB says.
    #[test]
    fn a_remb_only_receiver_sets_the_estimate() {
        for transport_cc in [false, true] {
            let mut h = Harness::with_receiver_transport_cc(transport_cc).expect("harness");
            for seq in 1..=20 {
                h.protected(Sender::Publisher, &vp8_packet(seq, seq == 1), false);
                h.advance(10);
            }
            let mut remb = [0u8; 64];
            let n = crate::rtp::write_remb(&mut remb, 0x5151, 300_000, &[1]).expect("remb");
            h.protected(Sender::Subscriber, &remb[..n], true);
            h.advance(1100);
            let estimate = h
                .transport_stats(Sender::Subscriber)
                .and_then(|s| s.available_outgoing_bitrate);
            if transport_cc {
                assert_ne!(estimate, Some(300_000), "transport-cc wins over REMB");
                assert!(estimate.is_some());
            } else {
                assert_eq!(estimate, Some(300_000), "REMB is the estimate");
            }
            assert_eq!(h.bad_output, 0);
        }
    }

    /// A publisher's send transport measures no RTT itself; the RTT measured by a receive transport of a client at the
    /// same IP paces the NACKs sent to it. Clients at other IPs do not lend theirs.
    #[test]
    fn a_send_transport_borrows_its_hosts_rtt() {
        let mut h = Harness::new().expect("harness");
        let rtt = Duration::from_millis(50);
        let subscriber_ip = h.address(Sender::Subscriber).ip();
        if let Some(t) = h.transport_of(Sender::Subscriber) {
            t.rtt = Some(rtt);
        }
        crate::engine::rtcp::refresh_host_rtts(&mut h.engine);
        let publisher = h.transport_of(Sender::Publisher).and_then(|t| t.host_rtt);
        assert_eq!(publisher, None, "another host's RTT is not this one's");
        if let Some(t) = h.transport_of(Sender::Publisher) {
            t.selected = t
                .selected
                .map(|(socket, addr)| (socket, SocketAddr::new(subscriber_ip, addr.port())));
        }
        crate::engine::rtcp::refresh_host_rtts(&mut h.engine);
        let publisher = h.transport_of(Sender::Publisher).and_then(|t| t.host_rtt);
        assert_eq!(publisher, Some(rtt), "same client IP: the sibling's RTT");
    }

    /// Once a receiving transport's last consumer is gone, its estimator's timers must not stay due: a deadline in the
    /// past would wake the worker again at once, for ever.
    #[test]
    fn a_transport_without_consumers_leaves_no_timer_due() {
        let mut h = Harness::new().expect("harness");
        h.advance(1100);
        let consumers: Vec<ConsumerId> = h.engine.consumer_ids.keys().copied().collect();
        assert_eq!(consumers.len(), 2);
        for id in consumers {
            h.engine
                .handle_command(h.now, Command::CloseConsumer { id });
        }
        h.advance(1100);
        let due = h.engine.poll_timeout();
        assert!(
            due.is_none_or(|at| at > h.now),
            "a timer is still due {:?} after handling it",
            h.now - due.unwrap_or(h.now)
        );
    }

    #[test]
    fn forged_checks_create_no_address() {
        let mut h = Harness::new().expect("harness");
        for port in 100..200 {
            h.stun_check(Sender::Publisher, port, true, false, "remote");
        }
        assert_eq!(h.known_addresses(), 2);
        assert_eq!(h.dump().dropped.stun_rejected, 100);
        // Authenticated checks from ever new ports are capped per transport.
        for port in 100..200 {
            h.stun_check(Sender::Publisher, port, false, true, "remote");
        }
        assert_eq!(h.known_addresses(), 1 + 8);
        // Media still flows to the subscriber.
        h.protected(Sender::Publisher, &vp8_packet(1, true), false);
        assert_eq!(h.delivered, 1);
    }
}
