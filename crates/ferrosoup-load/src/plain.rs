//! A plain RTP client (the server's PlainTransport): clear RTP and RTCP on one UDP socket, as ffmpeg or GStreamer
//! send it — no ICE, DTLS or SRTP, no header extensions. Publishers send the same synthetic VP8 as the WebRTC ones and
//! act on PLI/FIR; subscribers read the payload trailers. This is the set-up mediasoup's published figures use
//! (plain-RTP consumers), so the two can be compared.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _};
use serde_json::json;
use tokio::sync::watch;

use crate::pacing::{pace, Sending};
use crate::setup::{
    join, produce_video, publisher_role, publisher_ssrc, resume_all, Context, PeerHandle,
    PublisherHandle,
};
use crate::signal::Signal;
use crate::socket::{arrived_ns, PeerSocket};
use crate::stats::{RunStats, SubscriberStats};
use crate::timer::Timer;
use crate::webrtc::{bind_udp, Role, RECV_BATCH};

/// How often a subscriber wakes when nothing arrives, to pass its counts on.
const IDLE_TICK: Duration = Duration::from_millis(100);

const RTP_HEADER: usize = 12;
/// RTCP payload-specific feedback, and its PLI and FIR formats (RFC 4585, RFC 5104).
const RTCP_PSFB: u8 = 206;
const FMT_PLI: u8 = 1;
const FMT_FIR: u8 = 4;

pub async fn publisher(ctx: &Context, room: usize, index: u32) -> anyhow::Result<PublisherHandle> {
    let name = format!("pub-{index}");
    let signal = join(ctx, room, &name, None).await?;
    let (socket, transport_id, server) = transport(ctx, &signal, "send").await?;
    let ssrc = publisher_ssrc(room, index);
    // VP8 only, no mid (plain senders send no header extensions): the SSRC names the stream.
    let rtp_parameters = json!({
        "codecs": [{"mimeType": "video/VP8", "payloadType": ctx.router.vp8_pt, "clockRate": 90000,
                    "rtcpFeedback": [{"type": "nack"}, {"type": "nack", "parameter": "pli"},
                                     {"type": "ccm", "parameter": "fir"}]}],
        "encodings": [{"ssrc": ssrc}],
        "rtcp": {"cname": name}});
    let producer_id = produce_video(&signal, &transport_id, rtp_parameters).await?;
    let role = publisher_role(ctx, index, "");
    let peer = start(ctx, socket, server, ssrc, signal, role)?;
    Ok(PublisherHandle { peer, producer_id })
}

pub async fn subscriber(
    ctx: &Context,
    room: usize,
    index: u32,
    producers: &[String],
) -> anyhow::Result<PeerHandle> {
    let name = format!("sub-{index}");
    // VP8 only, no RTX and no header extensions: what a plain RTP receiver takes.
    let caps = json!({
        "codecs": [{"kind": "video", "mimeType": "video/VP8", "preferredPayloadType": ctx.router.vp8_pt,
                    "clockRate": 90000, "parameters": {},
                    "rtcpFeedback": [{"type": "nack", "parameter": ""}, {"type": "nack", "parameter": "pli"}]}],
        "headerExtensions": []
    });
    let signal = join(ctx, room, &name, Some(&caps)).await?;
    let (socket, transport_id, server) = transport(ctx, &signal, "recv").await?;
    let mut consumers = Vec::with_capacity(producers.len());
    for producer_id in producers {
        let data = signal
            .request(
                "consume",
                json!({"transportId": transport_id, "producerId": producer_id, "rtpCapabilities": caps}),
                "consumed",
            )
            .await?;
        consumers.push(
            data["id"]
                .as_str()
                .ok_or_else(|| anyhow!("consumed without id"))?
                .to_string(),
        );
    }
    let role = Role::Subscriber(SubscriberStats::new(producers.len()));
    let handle = start(ctx, socket, server, 0x5000_0000 | index, signal, role)?;
    resume_all(&handle.signal, consumers).await?;
    Ok(handle)
}

/// Binds our socket, creates a plain transport (RTCP muxed, not comedia) and connects it to the socket.
async fn transport(
    ctx: &Context,
    signal: &Signal,
    direction: &str,
) -> anyhow::Result<(std::net::UdpSocket, String, SocketAddr)> {
    let socket = bind_udp(SocketAddr::new(ctx.bind_ip, 0))?;
    let local = socket.local_addr()?;
    let created = signal
        .request(
            "createPlainTransport",
            json!({"direction": direction, "rtcpMux": true, "comedia": false}),
            "plainTransportCreated",
        )
        .await?;
    let id = created["id"]
        .as_str()
        .ok_or_else(|| anyhow!("plainTransportCreated without id"))?
        .to_string();
    let ip = created["tuple"]["localIp"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("plainTransportCreated without tuple.localIp: {created}"))?;
    let port = created["tuple"]["localPort"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| anyhow!("plainTransportCreated without tuple.localPort"))?;
    signal
        .request(
            "connectPlainTransport",
            json!({"transportId": id, "ip": local.ip().to_string(), "port": local.port()}),
            "plainTransportConnected",
        )
        .await
        .context("connectPlainTransport")?;
    Ok((socket, id, SocketAddr::new(ip, port)))
}

fn start(
    ctx: &Context,
    socket: std::net::UdpSocket,
    server: SocketAddr,
    ssrc: u32,
    signal: Signal,
    role: Role,
) -> anyhow::Result<PeerHandle> {
    let local_port = socket.local_addr()?.port();
    let socket = PeerSocket::new(socket, ctx.receiving_for(&role))?;
    let task = tokio::spawn(run(
        socket,
        server,
        ssrc,
        role,
        ctx.run.clone(),
        ctx.stop.clone(),
    ));
    Ok(PeerHandle {
        signal,
        task,
        local_port,
        server_ports: vec![server.port()],
        estimated_transport: None,
    })
}

/// Sends (a publisher) or receives (a subscriber) until `stop` turns true.
async fn run(
    mut socket: PeerSocket,
    server: SocketAddr,
    ssrc: u32,
    mut role: Role,
    run: Arc<RunStats>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 2048];
    let mut out = Vec::with_capacity(1500);
    // A plain publisher has no handshake to wait for: it sends from the start.
    let mut sending = match &role {
        Role::Publisher(p) => Some(Sending::new(Instant::now(), p.first_seq)),
        Role::Subscriber(_) => None,
    };
    let mut timer = match role {
        Role::Publisher(_) => Timer::precise(),
        Role::Subscriber(_) => Timer::coarse(),
    };
    loop {
        let wake = match (&sending, &role) {
            (Some(s), Role::Publisher(p)) => s.next_due(p),
            _ => Instant::now() + IDLE_TICK,
        };
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
                        Err(_) => continue,
                    };
                    let Some(datagram) = buf.get(..received.len) else { continue };
                    let at_ns = received.stamp.map_or_else(|| run.now_ns(), |s| arrived_ns(s, run.now_ns()));
                    on_datagram(datagram, at_ns, &mut role, &run);
                }
            }
            _ = timer.sleep_until(wake) => {
                if let (Role::Publisher(p), Some(s)) = (&mut role, &mut sending) {
                    let now = Instant::now();
                    let pt = p.pt;
                    pace(p, s, &run, now, |seq, packet| {
                        out.clear();
                        out.push(0x80);
                        out.push(pt | if packet.marker { 0x80 } else { 0 });
                        out.extend_from_slice(&(seq as u16).to_be_bytes());
                        out.extend_from_slice(&packet.timestamp.to_be_bytes());
                        out.extend_from_slice(&ssrc.to_be_bytes());
                        out.extend_from_slice(&packet.payload);
                        if socket.try_send_to(&out, server).is_err() {
                            run.send_errors.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
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

/// `at_ns`: when it arrived, on `run`'s clock.
fn on_datagram(datagram: &[u8], at_ns: u64, role: &mut Role, run: &RunStats) {
    let Some(&second) = datagram.get(1) else {
        return;
    };
    // RTP and RTCP share the port (RFC 5761): RTCP packet types are 192–223.
    if (192..=223).contains(&second) {
        if let Role::Publisher(p) = role {
            if asks_key_frame(datagram) {
                run.key_frame_requests.fetch_add(1, Ordering::Relaxed);
                p.source.request_key_frame();
            }
        }
        return;
    }
    if let (Role::Subscriber(s), Some(payload)) = (role, rtp_payload(datagram)) {
        s.on_payload(payload, at_ns);
    }
}

/// Whether a compound RTCP packet holds a PLI or FIR.
fn asks_key_frame(mut rtcp: &[u8]) -> bool {
    while rtcp.len() >= 4 {
        let fmt = rtcp[0] & 0x1F;
        let words = u16::from_be_bytes([rtcp[2], rtcp[3]]) as usize;
        if rtcp[1] == RTCP_PSFB && (fmt == FMT_PLI || fmt == FMT_FIR) {
            return true;
        }
        rtcp = rtcp.get((words + 1) * 4..).unwrap_or(&[]);
    }
    false
}

/// The payload of an RTP packet: after the CSRCs and the header extension, before the padding.
fn rtp_payload(packet: &[u8]) -> Option<&[u8]> {
    let first = *packet.first()?;
    let mut start = RTP_HEADER + 4 * usize::from(first & 0x0F);
    if first & 0x10 != 0 {
        let ext = packet.get(start + 2..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    let mut end = packet.len();
    if first & 0x20 != 0 {
        end = end.checked_sub(usize::from(*packet.last()?))?;
    }
    packet.get(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_skips_csrcs_extension_and_padding() {
        let mut p = vec![0x80 | 0x20 | 0x10 | 0x01, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        p.extend_from_slice(&[9, 9, 9, 9]); // one CSRC
        p.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // one-word extension
        p.extend_from_slice(b"payload");
        p.extend_from_slice(&[0, 0, 3]); // 3 bytes of padding
        assert_eq!(rtp_payload(&p), Some(&b"payload"[..]));
        assert_eq!(rtp_payload(&p[..14]), None);
    }

    #[test]
    fn finds_a_pli_after_a_receiver_report() {
        let rr = [0x80, 201, 0, 1, 0, 0, 0, 1];
        let pli = [0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
        assert!(asks_key_frame(&[&rr[..], &pli[..]].concat()));
        assert!(!asks_key_frame(&rr));
        assert!(!asks_key_frame(&[0x80, 201, 0xFF, 0xFF]));
    }
}
