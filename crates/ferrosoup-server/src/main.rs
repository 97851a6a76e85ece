//! `ferrosoup`: the media server with embedded defaults. `ferrosoup --help` lists the settings.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use clap::Parser;
use ferrosoup::ListenInfo;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use ferrosoup_server::{
    AuthSecret, Keepalive, Limits, RateLimit, Server, ServerConfig, DEFAULT_ALLOWED_ORIGINS,
};

/// A pure-Rust SFU for mediasoup-client, with WebSocket signaling and a demo page.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// HTTP and WebSocket address. Loopback by default; use 0.0.0.0:3000 to serve a LAN.
    #[arg(long, env = "FERROSOUP_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,

    /// IP the media (UDP) socket binds. 0.0.0.0 binds every interface address and advertises each.
    #[arg(long, env = "FERROSOUP_RTC_IP", default_value = "127.0.0.1")]
    rtc_ip: IpAddr,

    /// UDP port for all media.
    #[arg(long, env = "FERROSOUP_RTC_PORT", default_value_t = 40000)]
    rtc_port: u16,

    /// Address to advertise to clients instead of the bound one (public IP behind NAT, or a host name).
    #[arg(long, env = "FERROSOUP_ANNOUNCED_ADDRESS")]
    announced_address: Option<String>,

    /// Media workers (one task each, so up to a core each); worker i uses UDP port rtc-port + i. Default: one per
    /// core.
    #[arg(long, env = "FERROSOUP_WORKERS")]
    workers: Option<usize>,

    /// A room's peers on one worker before the room spreads to another worker (its producers are then piped
    /// between the workers).
    #[arg(long, env = "FERROSOUP_PEERS_PER_WORKER", default_value_t = ServerConfig::default().peers_per_worker)]
    peers_per_worker: usize,

    /// Allow plain RTP transports (createPlainTransport), e.g. for ffmpeg. They send media wherever their creator
    /// says, without ICE's consent check; with --auth-secret only a teacher may create one.
    #[arg(long, env = "FERROSOUP_PLAIN_TRANSPORTS")]
    plain_transports: bool,

    /// Largest signaling message in bytes.
    #[arg(long, env = "FERROSOUP_MAX_MESSAGE_SIZE", default_value_t = 256 * 1024)]
    max_message_size: usize,

    /// Open WebSocket connections (joined or not); more are refused with HTTP 503.
    #[arg(long, env = "FERROSOUP_MAX_CONNECTIONS", default_value_t = Limits::default().max_connections)]
    max_connections: usize,

    /// Rooms the server holds at once.
    #[arg(long, env = "FERROSOUP_MAX_ROOMS", default_value_t = Limits::default().max_rooms)]
    max_rooms: usize,

    /// Peers one room holds.
    #[arg(long, env = "FERROSOUP_MAX_PEERS_PER_ROOM", default_value_t = Limits::default().max_peers_per_room)]
    max_peers_per_room: usize,

    /// WebRTC transports one peer may hold.
    #[arg(long, env = "FERROSOUP_MAX_TRANSPORTS_PER_PEER", default_value_t = Limits::default().max_transports_per_peer)]
    max_transports_per_peer: usize,

    /// Producers one peer may hold.
    #[arg(long, env = "FERROSOUP_MAX_PRODUCERS_PER_PEER", default_value_t = Limits::default().max_producers_per_peer)]
    max_producers_per_peer: usize,

    /// Consumers one peer may hold.
    #[arg(long, env = "FERROSOUP_MAX_CONSUMERS_PER_PEER", default_value_t = Limits::default().max_consumers_per_peer)]
    max_consumers_per_peer: usize,

    /// Largest producer appData in bytes of JSON.
    #[arg(long, env = "FERROSOUP_MAX_APP_DATA_SIZE", default_value_t = Limits::default().max_app_data_size)]
    max_app_data_size: usize,

    /// Replies and notifications queued for one client before it is disconnected as not reading.
    #[arg(long, env = "FERROSOUP_MAX_QUEUED_MESSAGES", default_value_t = Limits::default().max_queued_messages)]
    max_queued_messages: usize,

    /// Sustained messages per second per connection (0: no limit); more get `rate_limited`.
    #[arg(long, env = "FERROSOUP_RATE_LIMIT", default_value_t = RateLimit::default().per_second)]
    rate_limit: u32,

    /// Messages a connection may send at once above the rate; a client refused this many more is disconnected.
    #[arg(long, env = "FERROSOUP_RATE_BURST", default_value_t = RateLimit::default().burst)]
    rate_burst: u32,

    /// Seconds between WebSocket pings (0: no pings and no timeout).
    #[arg(long, env = "FERROSOUP_PING_INTERVAL", default_value_t = Keepalive::default().interval.as_secs())]
    ping_interval: u64,

    /// Seconds without hearing from a client (pong or message) before it is dropped.
    #[arg(long, env = "FERROSOUP_PING_TIMEOUT", default_value_t = Keepalive::default().timeout.as_secs())]
    ping_timeout: u64,

    /// Web origins allowed to open the WebSocket, comma-separated (`*`: any), besides the server's own origin and
    /// clients that send no Origin. Default: the Tauri webview's origins.
    #[arg(long, env = "FERROSOUP_ALLOWED_ORIGINS", value_delimiter = ',', default_values_t = DEFAULT_ALLOWED_ORIGINS.map(String::from))]
    allowed_origins: Vec<String>,

    /// Require a join token (JWT, HS256) signed with this secret. Prefer the environment variable: command lines are
    /// visible to other users of the machine.
    #[arg(long, env = "FERROSOUP_AUTH_SECRET", hide_env_values = true)]
    auth_secret: Option<String>,

    /// Log filter: a level and `target=level` directives, e.g. `info` or `info,ferrosoup=debug`. Falls back to
    /// RUST_LOG, then `info`.
    #[arg(long, env = "FERROSOUP_LOG")]
    log: Option<String>,
}

fn main() -> anyhow::Result<()> {
    one_malloc_arena();
    let args = Args::parse();
    // `Targets` (target=level directives) rather than `EnvFilter`, whose regex engine is a tenth of the binary.
    let filter: tracing_subscriber::filter::Targets = args
        .log
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into())
        .parse()
        .context("bad --log filter (expected e.g. `info` or `info,ferrosoup=debug`)")?;
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
    // Signaling and HTTP need one thread: each media worker runs on a thread of its own (`ferrosoup::Worker`), and
    // the DTLS certificate is made on another. One scheduler flavour also keeps the other's code out of memory.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(args))
}

/// glibc gives each thread that allocates a heap (an arena) of its own. The media workers allocate only when rooms
/// change, never per packet, so one arena serves every thread without contention, and idle memory is 0.26 MiB smaller
/// than with an arena per worker thread. The library leaves this to the application (a Tauri app has its own needs).
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: changes a glibc allocator setting; called first thing in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = ServerConfig {
        listen: args.listen,
        rtc_listen: vec![ListenInfo {
            ip: args.rtc_ip,
            announced_address: args.announced_address,
            port: args.rtc_port,
        }],
        workers: args
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, 64),
        peers_per_worker: args.peers_per_worker,
        plain_transports: args.plain_transports,
        max_message_size: args.max_message_size,
        limits: Limits {
            max_connections: args.max_connections,
            max_rooms: args.max_rooms,
            max_peers_per_room: args.max_peers_per_room,
            max_transports_per_peer: args.max_transports_per_peer,
            max_producers_per_peer: args.max_producers_per_peer,
            max_consumers_per_peer: args.max_consumers_per_peer,
            max_app_data_size: args.max_app_data_size,
            max_queued_messages: args.max_queued_messages,
        },
        rate_limit: RateLimit {
            per_second: args.rate_limit,
            burst: args.rate_burst,
        },
        keepalive: Keepalive {
            interval: Duration::from_secs(args.ping_interval),
            timeout: Duration::from_secs(args.ping_timeout),
        },
        allowed_origins: args
            .allowed_origins
            .iter()
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect(),
        auth_secret: match args.auth_secret {
            Some(s) if s.len() < 32 => {
                anyhow::bail!("the auth secret must be at least 32 bytes (HS256 keys shorter than the hash are weak)")
            }
            Some(s) => Some(AuthSecret::new(s)),
            None => None,
        },
        ..ServerConfig::default()
    };
    if args.listen.ip().is_unspecified() && config.auth_secret.is_none() {
        tracing::warn!("serving every network interface without --auth-secret: anyone who can reach this port can join any room");
    }
    let server = Server::start(config).await?;
    let media: Vec<String> = server
        .media_addresses()
        .iter()
        .map(|a| a.to_string())
        .collect();
    println!(
        "ferrosoup listening on {} (media on udp {})",
        server.url(),
        media.join(", ")
    );
    shutdown_signal().await?;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM where there is one (service managers and test harnesses stop processes with it).
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot wait for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    Ok(())
}
