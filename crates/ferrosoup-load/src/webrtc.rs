//! A WebRTC client on str0m: ICE (controlling, as a browser facing an ICE-lite server), DTLS client, SRTP, in str0m's
//! RTP mode so the tool writes and reads whole RTP packets.
//!
//! Each peer is one tokio task owning its `Rtc` and UDP socket. Tasks are cheap and the reactor wakes only the ones
//! whose socket has data or whose timer is due, so one runtime thread drives hundreds of peers; a wake drains up to
//! [`RECV_BATCH`] datagrams before the peer's output is flushed.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use str0m::config::Fingerprint;
use str0m::format::{Codec, FormatParams};
use str0m::media::{Frequency, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{Extension, ExtensionMap, RtpWrite, SeqNo, Ssrc};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Input, Output, Rtc};
use tokio::sync::{oneshot, watch};

use crate::media::VideoSource;
use crate::mediasoup::{
    RouterVideo, TransportInfo, PROBATOR_MID, PROBATOR_PT, PROBATOR_SSRC, URI_ABS_SEND_TIME,
    URI_MID, URI_TRANSPORT_CC,
};
use crate::pacing::{pace, Sending};
use crate::socket::{arrived_ns, PeerSocket, Receiving};
use crate::stats::{RunStats, SubscriberStats};
use crate::timer::Timer;

/// Datagrams handled per wake-up before output is flushed and the task yields.
pub(crate) const RECV_BATCH: usize = 64;
/// Kernel buffers asked for (capped by net.core.[rw]mem_max): a subscriber's socket must not be where packets drop.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;
/// Shortest sleep before a str0m timeout (str0m may return one that is already due).
pub(crate) const MIN_SLEEP: Duration = Duration::from_micros(500);

/// A str0m session on its own loopback UDP socket, not yet connected.
pub struct Peer {
    rtc: Rtc,
    socket: std::net::UdpSocket,
    local: SocketAddr,
}

impl Peer {
    /// A session speaking the router's VP8 (and RTX) payload types and video extension ids, bound on `bind_ip`.
    pub fn new(router: &RouterVideo, bind_ip: std::net::IpAddr) -> anyhow::Result<Peer> {
        let mut exts = ExtensionMap::empty();
        for (id, uri) in &router.extensions {
            let ext = match *uri {
                URI_MID => Extension::RtpMid,
                URI_ABS_SEND_TIME => Extension::AbsoluteSendTime,
                URI_TRANSPORT_CC => Extension::TransportSequenceNumber,
                _ => continue,
            };
            exts.set(*id, ext);
        }
        let twcc = exts.id_of(Extension::TransportSequenceNumber).is_some();
        let mut config = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .set_extension_map(exts)
            .set_stats_interval(None);
        let clock = Frequency::new(90_000).ok_or_else(|| anyhow!("90 kHz clock"))?;
        let mut vp8 = |pt: u8, rtx: Option<u8>| {
            config.codec_config().add_config(
                Pt::new_with_value(pt),
                rtx.map(Pt::new_with_value),
                Codec::Vp8,
                clock,
                None,
                FormatParams::default(),
            );
        };
        vp8(router.vp8_pt, router.rtx_pt);
        if router.vp8_pt != PROBATOR_PT && router.rtx_pt != Some(PROBATOR_PT) {
            // The probator's payload type, so that str0m accepts its probes (see `declare_probator`).
            vp8(PROBATOR_PT, None);
        }
        let mut rtc = config.build(Instant::now());

        let socket = bind_udp(SocketAddr::new(bind_ip, 0))?;
        let local = socket.local_addr()?;
        let candidate = Candidate::host(local, "udp").context("local host candidate")?;
        rtc.add_local_candidate(candidate);
        let mut direct = rtc.direct_api();
        direct.set_ice_lite(false);
        direct.set_ice_controlling(true);
        if twcc {
            // As a browser does once transport-cc is negotiated: the server's bandwidth estimator lives on this
            // feedback, and handling it is part of what a server costs (without it, str0m's direct API sends none).
            direct.enable_twcc_feedback();
        }
        Ok(Peer { rtc, socket, local })
    }

    pub fn local_port(&self) -> u16 {
        self.local.port()
    }

    /// `dtlsParameters` for `connectWebRtcTransport`: this peer is the DTLS client, as a browser facing ICE-lite.
    pub fn dtls_parameters(&mut self) -> Value {
        let fp = self.rtc.direct_api().local_dtls_fingerprint().clone();
        let value = fp
            .bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        json!({"role": "client", "fingerprints": [{"algorithm": fp.hash_func, "value": value}]})
    }

    /// Gives ICE the server's candidates and credentials and starts DTLS; packets flow once [`run`] drives the peer.
    pub fn start(&mut self, info: &TransportInfo) -> anyhow::Result<()> {
        for addr in &info.candidates {
            self.rtc
                .add_remote_candidate(Candidate::host(*addr, "udp").context("remote candidate")?);
        }
        let mut direct = self.rtc.direct_api();
        direct.set_remote_ice_credentials(IceCreds {
            ufrag: info.ufrag.clone(),
            pass: info.password.clone(),
        });
        direct.set_remote_fingerprint(Fingerprint {
            hash_func: info.fingerprint.0.clone(),
            bytes: info.fingerprint.1.clone(),
        });
        direct.start_dtls(true).context("start DTLS")?;
        Ok(())
    }

    pub fn declare_send(&mut self, mid: &str, ssrc: u32, rtx_ssrc: Option<u32>) {
        let mut direct = self.rtc.direct_api();
        let mid = Mid::from(mid);
        direct.declare_media(mid, MediaKind::Video);
        direct.declare_stream_tx(Ssrc::from(ssrc), rtx_ssrc.map(Ssrc::from), mid, None);
    }

    /// Receives the server's bandwidth probes, as mediasoup-client does with its `probator` consumer. Without it str0m
    /// drops them unread, no transport-cc feedback covers them, and the server's probes never raise its estimate.
    pub fn declare_probator(&mut self) {
        self.declare_recv(PROBATOR_MID, PROBATOR_SSRC, None);
    }

    pub fn declare_recv(&mut self, mid: &str, ssrc: u32, rtx_ssrc: Option<u32>) {
        let mid = Mid::from(mid);
        let has_media = self.rtc.media(mid).is_some();
        let mut direct = self.rtc.direct_api();
        if !has_media {
            direct.declare_media(mid, MediaKind::Video);
        }
        direct.expect_stream_rx(Ssrc::from(ssrc), rtx_ssrc.map(Ssrc::from), mid, None);
    }
}

pub(crate) fn bind_udp(addr: SocketAddr) -> anyhow::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol as SockProtocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::DGRAM,
        Some(SockProtocol::UDP),
    )?;
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.set_nonblocking(true)?;
    socket
        .bind(&addr.into())
        .with_context(|| format!("bind UDP on {addr}"))?;
    Ok(socket.into())
}

/// What a peer does once connected.
pub enum Role {
    Publisher(Publisher),
    Subscriber(SubscriberStats),
}

/// A publisher's sending state: one VP8 stream at a fixed packet rate.
pub struct Publisher {
    pub index: u32,
    pub mid: String,
    pub pt: u8,
    pub pps: u32,
    /// Packets sent back to back, every `burst / pps` seconds (1: evenly spaced).
    pub burst: u32,
    /// Subscribers receiving this stream: each measured packet is expected this many times.
    pub subscribers: u64,
    pub source: VideoSource,
    pub first_seq: u64,
}

/// Drives `peer` until `stop` turns true; `connected` fires once ICE, DTLS and SRTP are up.
pub async fn run(
    peer: Peer,
    mut role: Role,
    receiving: Receiving,
    run: Arc<RunStats>,
    connected: oneshot::Sender<()>,
    mut stop: watch::Receiver<bool>,
) {
    let Peer {
        mut rtc,
        socket,
        local,
    } = peer;
    let mut socket = match PeerSocket::new(socket, receiving) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot set up a UDP socket: {e}");
            return;
        }
    };
    let mut connected = Some(connected);
    let mut sending: Option<Sending> = None;
    let mut buf = vec![0u8; 2048];
    let mut rtc_timeout = flush(&mut rtc, &socket, &mut role, &run, &mut connected, None);
    let mut timer = match role {
        Role::Publisher(_) => Timer::precise(),
        Role::Subscriber(_) => Timer::coarse(),
    };
    loop {
        let mut wake = rtc_timeout.max(Instant::now() + MIN_SLEEP);
        if let (Some(s), Role::Publisher(p)) = (&sending, &role) {
            wake = wake.min(s.next_due(p));
        }
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            ready = socket.readable() => {
                if ready.is_err() {
                    break;
                }
                for _ in 0..RECV_BATCH {
                    let received = match socket.try_recv(&mut buf) {
                        Ok(r) => r,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        // ICMP errors (the server went away) surface here on Linux.
                        Err(_) => continue,
                    };
                    let Some(datagram) = buf.get(..received.len) else { continue };
                    let Ok(receive) = Receive::new(Protocol::Udp, received.from, local, datagram) else {
                        continue;
                    };
                    if let Err(e) = rtc.handle_input(Input::Receive(Instant::now(), receive)) {
                        tracing::debug!("str0m input: {e}");
                    }
                    let at_ns = received.stamp.map(|s| arrived_ns(s, run.now_ns()));
                    // RTP mode holds one received packet at a time: it must be polled before the next input.
                    rtc_timeout = flush(&mut rtc, &socket, &mut role, &run, &mut connected, at_ns);
                }
                // A socket read on a tick is ready at every tick, and `wake` (never earlier than now) is then always
                // later: timers that came due are handled here, or they would wait for a tick with nothing to read.
                let now = Instant::now();
                if rtc_timeout <= now {
                    rtc_timeout = advance(&mut rtc, &socket, &mut role, &run, &mut connected, now);
                }
            }
            _ = timer.sleep_until(wake) => {
                let now = Instant::now();
                if let Role::Publisher(p) = &mut role {
                    if connected.is_none() {
                        let s = sending.get_or_insert_with(|| Sending::new(now, p.first_seq));
                        send_due(&mut rtc, p, s, &run, now);
                    }
                }
                rtc_timeout = advance(&mut rtc, &socket, &mut role, &run, &mut connected, now);
            }
        }
        if let Role::Subscriber(s) = &mut role {
            s.flush(&run, Instant::now(), false);
        }
    }
    if let Role::Subscriber(s) = &mut role {
        s.flush(&run, Instant::now(), true);
    }
}

/// Writes the packets that came due at `pps` since sending started.
fn send_due(rtc: &mut Rtc, p: &mut Publisher, s: &mut Sending, run: &RunStats, now: Instant) {
    let mut direct = rtc.direct_api();
    let Some(stream) = direct.stream_tx_by_mid(Mid::from(p.mid.as_str()), None) else {
        return;
    };
    let pt = Pt::new_with_value(p.pt);
    pace(p, s, run, now, |seq, packet| {
        stream.write_rtp(
            RtpWrite::new(pt, SeqNo::from(seq), packet.timestamp, now, packet.payload)
                .marker(packet.marker)
                .nackable(true),
        );
    });
}

/// Lets the session act on time `now` (its timers; and new media, which str0m's pacer releases only on a timeout) and
/// flushes; returns when it next wants a timeout.
fn advance(
    rtc: &mut Rtc,
    socket: &PeerSocket,
    role: &mut Role,
    run: &RunStats,
    connected: &mut Option<oneshot::Sender<()>>,
    now: Instant,
) -> Instant {
    let mut next = now;
    // A few rounds at most: a session that keeps asking for "now" must not hold the thread.
    for _ in 0..4 {
        if let Err(e) = rtc.handle_input(Input::Timeout(now)) {
            tracing::debug!("str0m timeout: {e}");
        }
        next = flush(rtc, socket, role, run, connected, None);
        if next > now {
            break;
        }
    }
    next
}

/// Sends what the session queued and handles its events; returns when it next wants a timeout. `received_ns`: when
/// the datagram just handed to the session arrived, if the kernel said (otherwise its media counts as arriving now).
fn flush(
    rtc: &mut Rtc,
    socket: &PeerSocket,
    role: &mut Role,
    run: &RunStats,
    connected: &mut Option<oneshot::Sender<()>>,
    received_ns: Option<u64>,
) -> Instant {
    loop {
        match rtc.poll_output() {
            Ok(Output::Timeout(t)) => return t,
            Ok(Output::Transmit(t)) => {
                if socket.try_send_to(&t.contents, t.destination).is_err() {
                    run.send_errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(Output::Event(e)) => match e {
                Event::RtpPacket(p) => {
                    if let Role::Subscriber(s) = role {
                        s.on_payload(&p.payload, received_ns.unwrap_or_else(|| run.now_ns()));
                    }
                }
                Event::Connected => {
                    if let Some(c) = connected.take() {
                        let _ = c.send(());
                    }
                }
                Event::KeyframeRequest(_) => {
                    run.key_frame_requests.fetch_add(1, Ordering::Relaxed);
                    if let Role::Publisher(p) = role {
                        p.source.request_key_frame();
                    }
                }
                Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                    tracing::warn!("a peer's ICE connection dropped");
                }
                _ => {}
            },
            Err(e) => {
                tracing::debug!("str0m poll: {e}");
                return Instant::now() + Duration::from_millis(5);
            }
        }
    }
}
