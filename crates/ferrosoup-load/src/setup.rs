//! Bringing peers up through the signaling protocol, in the order a mediasoup-client app does: join, create a
//! transport, connect it (DTLS fingerprint), produce or consume, then ICE + DTLS, then resume the consumers.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use serde_json::json;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::media::VideoSource;
use crate::mediasoup::{Consumed, RouterVideo, TransportInfo};
use crate::signal::Signal;
use crate::socket::Receiving;
use crate::stats::{RunStats, SubscriberStats};
use crate::webrtc::{self, Peer, Publisher, Role};

/// How long ICE + DTLS may take for one peer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The publisher's media section.
const VIDEO_MID: &str = "0";

/// What every peer set-up needs.
pub struct Context {
    pub url: String,
    pub router: RouterVideo,
    pub run: Arc<RunStats>,
    pub stop: watch::Receiver<bool>,
    pub bind_ip: IpAddr,
    pub pps: u32,
    pub burst: u32,
    pub payload: usize,
    pub subscribers_per_room: u64,
    pub transport: crate::TransportKind,
    /// How subscribers wait for datagrams (publishers always wake on arrival: they must answer a key-frame request
    /// at once).
    pub subscribers_receive: Receiving,
}

impl Context {
    pub fn receiving_for(&self, role: &Role) -> Receiving {
        match role {
            Role::Publisher(_) => Receiving::OnArrival,
            Role::Subscriber(_) => self.subscribers_receive,
        }
    }
}

/// A running peer: its signaling connection (closing it makes the server remove the peer) and its media task.
pub struct PeerHandle {
    pub signal: Signal,
    pub task: JoinHandle<()>,
    pub local_port: u16,
    /// The server's media ports this peer's transport was given.
    pub server_ports: Vec<u16>,
    /// A WebRTC subscriber's transport, whose bandwidth estimate (driven by this peer's transport-cc feedback) the
    /// summary reports.
    pub estimated_transport: Option<String>,
}

pub struct PublisherHandle {
    pub peer: PeerHandle,
    pub producer_id: String,
}

pub fn room_id(room: usize) -> String {
    format!("load-{room}")
}

pub async fn publisher(ctx: &Context, room: usize, index: u32) -> anyhow::Result<PublisherHandle> {
    let name = format!("pub-{index}");
    let signal = join(ctx, room, &name, None).await?;
    let mut peer = Peer::new(&ctx.router, ctx.bind_ip)?;
    let ssrc = publisher_ssrc(room, index);
    let rtx_ssrc = ctx.router.rtx_pt.map(|_| ssrc | 1);
    peer.declare_send(VIDEO_MID, ssrc, rtx_ssrc);
    let info = create_transport(&signal, &mut peer, "send").await?;
    let rtp_parameters = ctx
        .router
        .publisher_parameters(VIDEO_MID, ssrc, ssrc | 1, &name);
    let producer_id = produce_video(&signal, &info.id, rtp_parameters).await?;
    let role = publisher_role(ctx, index, VIDEO_MID);
    let peer = start(ctx, peer, &info, signal, role).await?;
    Ok(PublisherHandle { peer, producer_id })
}

/// A publisher's SSRC: only unique per transport is needed, but distinct ones make captures easier to read.
pub fn publisher_ssrc(room: usize, index: u32) -> u32 {
    0x4000_0000 | ((room as u32 & 0xfff) << 16) | (index << 1)
}

/// Produces the publisher's video on `transport_id`; returns the producer id.
pub async fn produce_video(
    signal: &Signal,
    transport_id: &str,
    rtp_parameters: serde_json::Value,
) -> anyhow::Result<String> {
    let produced = signal
        .request(
            "produce",
            json!({"transportId": transport_id, "kind": "video", "rtpParameters": rtp_parameters,
                   "appData": {"source": "ferrosoup-load"}}),
            "produced",
        )
        .await?;
    Ok(produced["id"]
        .as_str()
        .ok_or_else(|| anyhow!("produced without id"))?
        .to_string())
}

/// Publisher `index`'s sending state: the run's rate and payload size, its own synthetic VP8 source.
pub fn publisher_role(ctx: &Context, index: u32, mid: &str) -> Role {
    Role::Publisher(Publisher {
        index,
        mid: mid.to_string(),
        pt: ctx.router.vp8_pt,
        pps: ctx.pps,
        burst: ctx.burst,
        subscribers: ctx.subscribers_per_room,
        source: VideoSource::new(
            ctx.pps,
            ctx.payload,
            0x1000_0000_u32.wrapping_mul(index + 1),
        ),
        first_seq: 1000,
    })
}

pub async fn subscriber(
    ctx: &Context,
    room: usize,
    index: u32,
    producers: &[String],
) -> anyhow::Result<PeerHandle> {
    let name = format!("sub-{index}");
    let caps = ctx.router.receiver_capabilities();
    let signal = join(ctx, room, &name, Some(&caps)).await?;
    let mut peer = Peer::new(&ctx.router, ctx.bind_ip)?;
    let info = create_transport(&signal, &mut peer, "recv").await?;
    peer.declare_probator();
    let mut consumers = Vec::with_capacity(producers.len());
    for producer_id in producers {
        let data = signal
            .request(
                "consume",
                json!({"transportId": info.id, "producerId": producer_id, "rtpCapabilities": caps}),
                "consumed",
            )
            .await?;
        let consumed = Consumed::parse(&data)?;
        peer.declare_recv(&consumed.mid, consumed.ssrc, consumed.rtx_ssrc);
        consumers.push(consumed.id);
    }
    let role = Role::Subscriber(SubscriberStats::new(producers.len()));
    let handle = start(ctx, peer, &info, signal, role).await?;
    resume_all(&handle.signal, consumers).await?;
    Ok(handle)
}

/// Joins room `room` as `name` (with the receiving capabilities, for a subscriber).
pub async fn join(
    ctx: &Context,
    room: usize,
    name: &str,
    caps: Option<&serde_json::Value>,
) -> anyhow::Result<Signal> {
    let signal = Signal::connect(&ctx.url).await?;
    let mut params = json!({"roomId": room_id(room), "peerId": name, "displayName": name});
    if let Some(caps) = caps {
        params["rtpCapabilities"] = caps.clone();
    }
    signal.request("join", params, "joined").await?;
    Ok(signal)
}

/// Consumers start paused; resuming makes the server ask the publisher for a key frame.
pub async fn resume_all(signal: &Signal, consumers: Vec<String>) -> anyhow::Result<()> {
    for id in consumers {
        signal
            .request(
                "resumeConsumer",
                json!({"consumerId": id}),
                "consumerResumed",
            )
            .await?;
    }
    Ok(())
}

async fn create_transport(
    signal: &Signal,
    peer: &mut Peer,
    direction: &str,
) -> anyhow::Result<TransportInfo> {
    let data = signal
        .request(
            "createWebRtcTransport",
            json!({"direction": direction}),
            "webRtcTransportCreated",
        )
        .await?;
    let info = TransportInfo::parse(&data)?;
    signal
        .request(
            "connectWebRtcTransport",
            json!({"transportId": info.id, "dtlsParameters": peer.dtls_parameters()}),
            "webRtcTransportConnected",
        )
        .await?;
    Ok(info)
}

/// Starts ICE/DTLS, hands the peer to its task and waits until it is connected.
async fn start(
    ctx: &Context,
    mut peer: Peer,
    info: &TransportInfo,
    signal: Signal,
    role: Role,
) -> anyhow::Result<PeerHandle> {
    peer.start(info)?;
    let local_port = peer.local_port();
    let subscriber = matches!(role, Role::Subscriber(_));
    let (connected_tx, connected_rx) = oneshot::channel();
    let receiving = ctx.receiving_for(&role);
    let task = tokio::spawn(webrtc::run(
        peer,
        role,
        receiving,
        ctx.run.clone(),
        connected_tx,
        ctx.stop.clone(),
    ));
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, connected_rx).await;
    if !matches!(connected, Ok(Ok(()))) {
        task.abort();
        signal.close().await;
        return Err(anyhow!(
            "transport {}: ICE/DTLS did not connect within {CONNECT_TIMEOUT:?}",
            info.id
        ));
    }
    Ok(PeerHandle {
        signal,
        task,
        local_port,
        server_ports: info.candidates.iter().map(|c| c.port()).collect(),
        estimated_transport: subscriber.then(|| info.id.clone()),
    })
}
