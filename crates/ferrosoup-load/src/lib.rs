//! The `ferrosoup-load` tool: publishers and subscribers over real WebRTC (ICE, DTLS, SRTP) against a ferrosoup server,
//! speaking its signaling protocol, for a bounded time; reports packets in/out, loss, one-way latency and the CPU and
//! memory of the server and of itself.
//!
//! Phases: set-up (every peer joins and connects, every consumer resumed), wait until every stream delivers, warm-up,
//! measurement (only packets sent in it count), drain (packets of the measurement still in flight arrive), teardown.

pub mod baseline;
mod media;
mod mediasoup;
mod pacing;
mod plain;
mod procfs;
pub mod report;
mod server_status;
mod setup;
mod signal;
mod socket;
mod spawn;
mod stats;
mod timer;
mod webrtc;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::{Parser, ValueEnum};
use futures_util::{stream, StreamExt};
use serde_json::json;

use crate::media::{Phase, MIN_PAYLOAD};
use crate::procfs::ProcessSample;
use crate::report::{round2, BitrateSpread, Latency, ProcessFigures, ProgressState};
use crate::server_status::LatencyReading;
use crate::setup::{Context, PeerHandle, PublisherHandle};
pub use crate::socket::Receiving;
use crate::stats::{lock, RunStats};

pub use crate::report::Summary;

/// Hard ceilings, whatever the flags say: the tool must not exhaust the machine it measures on.
const MAX_PEERS: usize = 4000;
const MAX_PPS_PER_PUBLISHER: u32 = 200_000;
const MAX_DURATION_S: f64 = 3600.0;
/// How long every stream gets to deliver its first packet (a key frame) after set-up.
const FLOW_TIMEOUT: Duration = Duration::from_secs(15);

/// How clients reach the server's media.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TransportKind {
    /// WebRtcTransport: ICE-lite, DTLS, SRTP (str0m clients).
    Webrtc,
    /// PlainTransport: clear RTP/RTCP, no header extensions (as ffmpeg; what mediasoup's published figures use).
    Plain,
}

/// Load generator for ferrosoup: N publishers and M subscribers per room over WebRTC.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// Signaling URL of the server.
    #[arg(long, default_value = "ws://127.0.0.1:3000/ws")]
    pub url: String,
    /// Start this ferrosoup binary on free loopback ports, measure it, and stop it at the end (overrides --url).
    #[arg(long, value_name = "PATH")]
    pub spawn: Option<String>,
    /// Measure CPU and RSS of this (already running) server process.
    #[arg(long)]
    pub server_pid: Option<u32>,
    #[arg(long, value_enum, default_value = "webrtc")]
    pub transport: TransportKind,
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// Publishers per room, each sending one VP8 stream.
    #[arg(long, default_value_t = 1)]
    pub publishers: usize,
    /// Subscribers per room; each consumes every publisher of its room.
    #[arg(long, default_value_t = 10)]
    pub subscribers: usize,
    /// Packets per second per publisher.
    #[arg(long, default_value_t = 1000)]
    pub pps: u32,
    /// Packets each publisher sends back to back, every burst/pps seconds (1: evenly spaced; a video frame's
    /// packets leave a browser in bursts).
    #[arg(long, default_value_t = 1)]
    pub burst: u32,
    /// RTP payload bytes per packet (64..=1200).
    #[arg(long, default_value_t = 1000)]
    pub payload: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of traffic before the measurement starts.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Peers set up at once.
    #[arg(long, default_value_t = 16)]
    pub setup_concurrency: usize,
    /// Runtime threads driving the peers.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Subscribers read their sockets every MS milliseconds instead of sleeping until a datagram arrives. On loopback
    /// the kernel bills waking a sleeping receiver to the sender, the server; polled, no one sleeps on the sockets.
    /// Latency is then measured to the kernel's receive timestamps.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=100))]
    pub receive_every: Option<u64>,
    /// Refuse more peers than this (rooms × (publishers + subscribers)).
    #[arg(long, default_value_t = 1000)]
    pub max_peers: usize,
    /// Local IP the clients' UDP sockets bind.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind_ip: IpAddr,
    /// Allow a server that is not on this machine (a load tool pointed at the wrong host is an attack).
    #[arg(long)]
    pub allow_remote: bool,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// No progress lines.
    #[arg(long)]
    pub quiet: bool,
    /// Log filter: a level and `target=level` directives.
    #[arg(long, default_value = "warn")]
    pub log: String,
    /// Measure no server: run the same traffic through a bare forwarding loop in this process (kernel UDP path, and
    /// AES-GCM unless `--transport plain`) and print its CPU, the floor under any server's figure on this machine now.
    #[arg(long, conflicts_with_all = ["spawn", "server_pid"])]
    pub baseline: bool,
    /// Extra arguments for the spawned server (repeatable).
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
}

impl Args {
    /// How subscribers (and `--baseline`'s sinks) wait for datagrams.
    pub fn receiving(&self) -> Receiving {
        match self.receive_every {
            Some(ms) => Receiving::Every(Duration::from_millis(ms)),
            None => Receiving::OnArrival,
        }
    }

    pub fn check(&self) -> anyhow::Result<()> {
        let peers = self.rooms * (self.publishers + self.subscribers);
        if self.rooms == 0 || self.publishers == 0 {
            bail!("need at least one room and one publisher");
        }
        if peers > self.max_peers.min(MAX_PEERS) {
            bail!(
                "{peers} peers is more than --max-peers {} (ceiling {MAX_PEERS})",
                self.max_peers
            );
        }
        if self.pps == 0 || self.pps > MAX_PPS_PER_PUBLISHER {
            bail!("--pps must be 1..={MAX_PPS_PER_PUBLISHER}");
        }
        if !(1..=pacing::MAX_BURST).contains(&self.burst) {
            bail!("--burst must be 1..={}", pacing::MAX_BURST);
        }
        if !(MIN_PAYLOAD..=1200).contains(&self.payload) {
            bail!("--payload must be {MIN_PAYLOAD}..=1200 bytes");
        }
        let duration_ok = self.duration > 0.0 && self.duration <= MAX_DURATION_S;
        if !duration_ok || !(0.0..=60.0).contains(&self.warmup) {
            bail!("--duration must be in (0, {MAX_DURATION_S}] s and --warmup in [0, 60] s");
        }
        if self.threads == 0 || self.threads > 64 || self.setup_concurrency == 0 {
            bail!("--threads must be 1..=64 and --setup-concurrency at least 1");
        }
        Ok(())
    }
}

/// Runs one load test as `args` say (spawning the server if asked) and returns its summary.
pub async fn run_load(args: &Args) -> anyhow::Result<Summary> {
    args.check()?;
    let spawned = match &args.spawn {
        Some(path) => {
            let mut server_args = args.server_args.clone();
            if matches!(args.transport, TransportKind::Plain) {
                // The server refuses plain transports unless told otherwise.
                server_args.push("--plain-transports".into());
            }
            Some(spawn::SpawnedServer::start(path, &server_args).await?)
        }
        None => None,
    };
    let url = spawned.as_ref().map_or(args.url.clone(), |s| s.url.clone());
    let server_pid = args.server_pid.or(spawned.as_ref().map(|s| s.pid));
    let startup = spawned.as_ref().map(|s| s.startup);
    let result = run(args, &url, server_pid, startup).await;
    if let Some(s) = spawned {
        s.stop().await;
    }
    result
}

async fn run(
    args: &Args,
    url: &str,
    server_pid: Option<u32>,
    startup: Option<Duration>,
) -> anyhow::Result<Summary> {
    check_loopback(url, args.allow_remote)?;
    let started = Instant::now();
    let caps = signal::Signal::connect(url).await?;
    let router = mediasoup::RouterVideo::from_caps(
        caps.request(
            "getRouterRtpCapabilities",
            json!({}),
            "routerRtpCapabilities",
        )
        .await?,
    )?;
    caps.close().await;

    let run = Arc::new(RunStats::new());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ctx = Context {
        url: url.to_string(),
        router,
        run: run.clone(),
        stop: stop_rx,
        bind_ip: args.bind_ip,
        pps: args.pps,
        burst: args.burst,
        payload: args.payload,
        subscribers_per_room: args.subscribers as u64,
        transport: args.transport,
        subscribers_receive: args.receiving(),
    };

    let mut peers: Vec<PeerHandle> = Vec::new();
    let outcome = set_up_and_measure(args, &ctx, &run, &mut peers, server_pid, started).await;
    // Teardown whatever happened: stop the media tasks, then close every signaling connection.
    let _ = stop_tx.send(true);
    let mut signals = Vec::with_capacity(peers.len());
    for p in peers {
        let _ = tokio::time::timeout(Duration::from_secs(2), p.task).await;
        signals.push(p.signal);
    }
    stream::iter(signals)
        .for_each_concurrent(64, |s| s.close())
        .await;
    let mut summary = outcome?;
    summary.server_startup_ms = startup.map(|d| round2(d.as_secs_f64() * 1000.0));
    summary.add_warnings(args.threads);
    Ok(summary)
}

async fn set_up_and_measure(
    args: &Args,
    ctx: &Context,
    run: &Arc<RunStats>,
    peers: &mut Vec<PeerHandle>,
    server_pid: Option<u32>,
    started: Instant,
) -> anyhow::Result<Summary> {
    let total_peers = args.rooms * (args.publishers + args.subscribers);
    if !args.quiet {
        eprintln!(
            "setting up {total_peers} peers ({} room(s) × {} publisher(s) + {} subscriber(s)) against {}",
            args.rooms, args.publishers, args.subscribers, ctx.url
        );
    }
    // Publishers first: subscribers consume what exists.
    let publisher_jobs: Vec<(usize, u32)> = (0..args.rooms)
        .flat_map(|r| (0..args.publishers as u32).map(move |i| (r, i)))
        .collect();
    let results: Vec<(usize, anyhow::Result<PublisherHandle>)> = stream::iter(publisher_jobs)
        .map(|(room, i)| async move {
            let handle = match ctx.transport {
                TransportKind::Webrtc => setup::publisher(ctx, room, i).await,
                TransportKind::Plain => plain::publisher(ctx, room, i).await,
            };
            (room, handle)
        })
        .buffered(args.setup_concurrency)
        .collect()
        .await;
    let mut producers: Vec<Vec<String>> = vec![Vec::new(); args.rooms];
    let mut first_error = None;
    for (room, r) in results {
        match r {
            Ok(p) => {
                producers[room].push(p.producer_id);
                peers.push(p.peer);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e.context("a publisher failed to set up"));
    }
    let subscriber_jobs: Vec<(usize, u32)> = (0..args.rooms)
        .flat_map(|r| (0..args.subscribers as u32).map(move |i| (r, i)))
        .collect();
    let producers = &producers;
    let mut results = stream::iter(subscriber_jobs)
        .map(|(room, i)| async move {
            match ctx.transport {
                TransportKind::Webrtc => setup::subscriber(ctx, room, i, &producers[room]).await,
                TransportKind::Plain => plain::subscriber(ctx, room, i, &producers[room]).await,
            }
        })
        .buffer_unordered(args.setup_concurrency);
    let mut done = 0;
    while let Some(r) = results.next().await {
        match r {
            Ok(p) => peers.push(p),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        done += 1;
        if !args.quiet && (done % 50 == 0 || done == args.rooms * args.subscribers) {
            eprintln!(
                "  {done}/{} subscribers set up",
                args.rooms * args.subscribers
            );
        }
    }
    drop(results);
    if let Some(e) = first_error {
        return Err(e.context("a subscriber failed to set up"));
    }

    // Every consumer starts at a key frame the publisher sends on request.
    let streams_expected = args.rooms * args.publishers * args.subscribers;
    let flow_deadline = Instant::now() + FLOW_TIMEOUT;
    while run.streams_started.load(Ordering::Relaxed) < streams_expected
        && Instant::now() < flow_deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let setup_s = started.elapsed().as_secs_f64();
    let streams_flowing = run.streams_started.load(Ordering::Relaxed);
    if !args.quiet {
        eprintln!("set up in {setup_s:.2} s; {streams_flowing}/{streams_expected} streams flowing");
    }

    let mut progress = ProgressState::new(run, server_pid);
    tick(
        args,
        Duration::from_secs_f64(args.warmup),
        &mut progress,
        run,
        server_pid,
        started,
    )
    .await;

    let mut ports: HashSet<u16> = HashSet::new();
    let mut server_ports: HashSet<u16> = HashSet::new();
    for p in peers.iter() {
        ports.insert(p.local_port);
        server_ports.extend(p.server_ports.iter().copied());
    }
    let server_before = server_pid.map(ProcessSample::read).transpose()?;
    let tool_before = ProcessSample::read(std::process::id())?;
    let drops_before = (procfs::udp_drops(&server_ports), procfs::udp_drops(&ports));
    let server_latency_before = read_server_latency(args, &ctx.url).await;
    run.set_phase(Phase::Measure);
    let measure_start = Instant::now();
    tick(
        args,
        Duration::from_secs_f64(args.duration),
        &mut progress,
        run,
        server_pid,
        started,
    )
    .await;
    run.set_phase(Phase::Drain);
    let measured_s = measure_start.elapsed().as_secs_f64();
    let server_after = server_pid.map(ProcessSample::read).transpose()?;
    let tool_after = ProcessSample::read(std::process::id())?;
    let drops_after = (procfs::udp_drops(&server_ports), procfs::udp_drops(&ports));
    let server_latency_after = read_server_latency(args, &ctx.url).await;
    let server_estimate = read_server_estimates(args, peers).await;
    // Packets of the measurement still in flight (or being retransmitted) arrive now.
    tick(
        args,
        Duration::from_secs(1),
        &mut progress,
        run,
        server_pid,
        started,
    )
    .await;

    let sent = run.sent_measured.load(Ordering::Relaxed);
    let expected = run.expected_measured.load(Ordering::Relaxed);
    let received = run.received_measured.load(Ordering::Relaxed);
    let latency = Latency::of(&lock(&run.measured_latency));
    Ok(Summary {
        url: ctx.url.clone(),
        transport: match args.transport {
            TransportKind::Webrtc => "webrtc",
            TransportKind::Plain => "plain",
        },
        rooms: args.rooms,
        publishers_per_room: args.publishers,
        subscribers_per_room: args.subscribers,
        consumers: streams_expected,
        pps_per_publisher: args.pps,
        payload_bytes: args.payload,
        duration_s: round2(measured_s),
        setup_s: round2(setup_s),
        server_startup_ms: None,
        streams_flowing,
        streams_expected,
        packets_sent: sent,
        packets_expected_out: expected,
        packets_received: received,
        loss_percent: if expected == 0 {
            0.0
        } else {
            (100.0 * (1.0 - received as f64 / expected as f64)).max(0.0)
        },
        duplicates: run.duplicates.load(Ordering::Relaxed),
        too_late: run.too_late.load(Ordering::Relaxed),
        send_skipped: run.send_skipped.load(Ordering::Relaxed),
        send_errors: run.send_errors.load(Ordering::Relaxed),
        in_pps: round2(sent as f64 / measured_s),
        out_pps: round2(received as f64 / measured_s),
        key_frames_sent: run.key_frames_sent.load(Ordering::Relaxed),
        key_frame_requests: run.key_frame_requests.load(Ordering::Relaxed),
        latency,
        // Read while the publishers still send, so the window holds just the measurement's packets (and a few of
        // the readings' own milliseconds).
        server_latency: match (server_latency_before, server_latency_after) {
            (Some(before), Some(after)) => Some(after.since(&before)),
            _ => None,
        },
        server_estimate,
        server: match (server_pid, server_before, server_after) {
            (Some(pid), Some(a), Some(b)) => Some(ProcessFigures::between(
                pid,
                &a,
                &b,
                drops_after.0.saturating_sub(drops_before.0),
            )),
            _ => None,
        },
        tool: ProcessFigures::between(
            std::process::id(),
            &tool_before,
            &tool_after,
            drops_after.1.saturating_sub(drops_before.1),
        ),
        warnings: Vec::new(),
    })
}

/// Waits `length`, printing a progress line every second.
async fn tick(
    args: &Args,
    length: Duration,
    progress: &mut ProgressState,
    run: &RunStats,
    server_pid: Option<u32>,
    started: Instant,
) {
    let end = Instant::now() + length;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        tokio::time::sleep((end - now).min(Duration::from_secs(1))).await;
        if !args.quiet {
            progress.line(run, server_pid, started);
        }
    }
}

/// The server's latency buckets, or `None` (with a note) when its `/status` cannot be read: the run goes on
/// without the figure.
/// The server's bandwidth estimate toward each WebRTC subscriber, read after the measurement (so the requests cost
/// the server nothing it is measured for).
async fn read_server_estimates(args: &Args, peers: &[PeerHandle]) -> Option<BitrateSpread> {
    let requests = peers.iter().filter_map(|p| {
        let id = p.estimated_transport.as_ref()?;
        Some(async move {
            let stats = p
                .signal
                .request(
                    "getTransportStats",
                    json!({"transportId": id}),
                    "transportStats",
                )
                .await
                .ok()?;
            stats
                .as_array()?
                .iter()
                .find_map(|s| s["availableOutgoingBitrate"].as_u64())
        })
    });
    let mut bps: Vec<u64> = stream::iter(requests)
        .buffer_unordered(64)
        .filter_map(|b| async move { b })
        .collect()
        .await;
    let spread = BitrateSpread::of(&mut bps);
    if spread.is_none() && !args.quiet && peers.iter().any(|p| p.estimated_transport.is_some()) {
        eprintln!("server bandwidth estimates not read");
    }
    spread
}

async fn read_server_latency(args: &Args, url: &str) -> Option<LatencyReading> {
    match LatencyReading::fetch(url).await {
        Ok(reading) => Some(reading),
        Err(e) => {
            if !args.quiet {
                eprintln!("server latency not measured: {e:#}");
            }
            None
        }
    }
}

/// Refuses a server on another machine unless allowed.
fn check_loopback(url: &str, allow_remote: bool) -> anyhow::Result<()> {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    let host = host
        .rsplit_once(':')
        .map_or(host, |(h, _)| h)
        .trim_matches(['[', ']']);
    let local = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !local && !allow_remote {
        bail!("{url} is not on this machine; pass --allow-remote to load a remote server");
    }
    Ok(())
}
