//! The embeddable server: a worker, the rooms and the HTTP/WebSocket listener, behind one handle with start, stop and
//! status. The `ferrosoup` binary and the Tauri plugin are thin layers over it.

use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use ferrosoup::{ListenInfo, RtpCodecCapability, Worker, WorkerSettings};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::auth::{AuthSecret, Authenticator};
use crate::signaling::connection::ConnectionSettings;
use crate::signaling::{Keepalive, Limits, RateLimit, Rooms};

/// Everything the server can be told at start.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// HTTP and WebSocket address. Loopback by default: serving a LAN is a decision, not an accident.
    pub listen: SocketAddr,
    /// Where media is received (one UDP port shared by all transports of a worker). Worker `i` binds each port
    /// `+ i` (port 0: any free port).
    pub rtc_listen: Vec<ListenInfo>,
    /// Media workers, each one task (so up to one core) with its own ports. A room spreads over several once it is
    /// large (`peers_per_worker`); separate rooms are spread too.
    pub workers: usize,
    /// A room's peers on one worker before the room takes in another worker (see `signaling::placement`).
    pub peers_per_worker: usize,
    /// Allow `createPlainTransport` (RTP to and from tools such as ffmpeg). Off by default: a plain transport sends
    /// media to whatever address its creator names, without the consent check ICE makes. With authentication, only a
    /// teacher may create one.
    pub plain_transports: bool,
    /// Longest signaling message answered normally; longer ones get `too_large`.
    pub max_message_size: usize,
    /// Codecs every room offers.
    pub media_codecs: Vec<RtpCodecCapability>,
    /// Rooms, peers per room, objects per peer, queued messages per client.
    pub limits: Limits,
    /// Messages per second one connection may send.
    pub rate_limit: RateLimit,
    /// WebSocket pings, and how long a silent client is kept.
    pub keepalive: Keepalive,
    /// Web origins allowed to open the WebSocket besides the server's own and clients that send no `Origin`; `*`
    /// allows any. Defaults to the Tauri webview's origins.
    pub allowed_origins: Vec<String>,
    /// When set, `join` needs a JWT signed with this secret (HS256) naming the room and the peer's role.
    pub auth_secret: Option<AuthSecret>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            rtc_listen: WorkerSettings::default().listen_infos,
            workers: 1,
            peers_per_worker: 10,
            plain_transports: false,
            max_message_size: 256 * 1024,
            media_codecs: ferrosoup::supported_rtp_capabilities::default_media_codecs(),
            limits: Limits::default(),
            rate_limit: RateLimit::default(),
            keepalive: Keepalive::default(),
            allowed_origins: crate::origin::DEFAULT_ALLOWED_ORIGINS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            auth_secret: None,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot open the media sockets: {0}")]
    Media(#[from] ferrosoup::Error),
}

/// A snapshot of what the server holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Status {
    pub rooms: usize,
    pub peers: usize,
    pub transports: usize,
    pub producers: usize,
    pub consumers: usize,
}

pub(crate) struct Shared {
    pub config: ServerConfig,
    pub rooms: Arc<Rooms>,
    pub connection: ConnectionSettings,
    /// Open WebSocket connections, for `Limits::max_connections`.
    pub connections: Arc<AtomicUsize>,
}

/// What `/status` shows: the counts, the media datagrams dropped by reason, and how long the workers held datagrams
/// (arrival to send).
#[derive(Serialize)]
pub(crate) struct StatusPage {
    #[serde(flatten)]
    status: Status,
    dropped: ferrosoup::DropCounters,
    latency: ferrosoup::LatencyHistogram,
}

impl Shared {
    pub async fn status(&self) -> Result<Status, ferrosoup::Error> {
        Ok(self.status_page().await?.status)
    }

    /// The counts and the workers' figures, from one dump of the workers.
    pub async fn status_page(&self) -> Result<StatusPage, ferrosoup::Error> {
        let totals = self.rooms.totals().await;
        let dump = self.rooms.dump().await?;
        Ok(StatusPage {
            status: Status {
                rooms: totals.rooms,
                peers: totals.peers,
                transports: dump.transports,
                producers: dump.producers,
                consumers: dump.consumers,
            },
            dropped: dump.dropped,
            latency: dump.latency,
        })
    }
}

/// A running server. Dropping it without [`Server::stop`] also stops it, less gracefully.
pub struct Server {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    media_addresses: Vec<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Binds the HTTP listener and the media sockets and starts serving on the current tokio runtime.
    pub async fn start(config: ServerConfig) -> Result<Server, StartError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Http {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Http {
            addr: config.listen,
            source,
        })?;
        let mut workers = Vec::with_capacity(config.workers.max(1));
        for index in 0..config.workers.max(1) {
            let listen_infos = config
                .rtc_listen
                .iter()
                .map(|l| {
                    let mut l = l.clone();
                    if l.port != 0 {
                        l.port = l.port.checked_add(index as u16).ok_or_else(|| {
                            ferrosoup::Error::InvalidState(format!(
                                "no UDP port {} + {index} for worker {index}",
                                l.port
                            ))
                        })?;
                    }
                    Ok(l)
                })
                .collect::<Result<Vec<_>, ferrosoup::Error>>()?;
            workers.push(Worker::new(WorkerSettings { listen_infos }).await?);
        }
        let media_addresses: Vec<SocketAddr> = workers
            .iter()
            .flat_map(|w| w.local_addresses().iter().copied())
            .collect();
        // Plain transports bind the first media address (a wildcard is already expanded there) and announce the same.
        let plain_listen = ferrosoup::ListenInfo {
            ip: media_addresses
                .first()
                .map_or(std::net::Ipv4Addr::LOCALHOST.into(), |a| a.ip()),
            announced_address: config
                .rtc_listen
                .first()
                .and_then(|l| l.announced_address.clone()),
            port: 0,
        };
        let mut rooms = Rooms::new(
            workers,
            config.peers_per_worker,
            config.media_codecs.clone(),
            config.limits.clone(),
        );
        if config.plain_transports {
            rooms = rooms.with_plain_listen(plain_listen);
        }
        let rooms = Arc::new(rooms);
        let connection = ConnectionSettings {
            max_message_size: config.max_message_size,
            max_queued_messages: config.limits.max_queued_messages,
            rate_limit: config.rate_limit,
            keepalive: config.keepalive,
            auth: config
                .auth_secret
                .as_ref()
                .map(|secret| Arc::new(Authenticator::new(secret))),
        };
        let shared = Arc::new(Shared {
            config,
            rooms,
            connection,
            connections: Arc::new(AtomicUsize::new(0)),
        });
        let app = crate::http::router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!("HTTP server failed: {e}");
            }
        });
        Ok(Server {
            shared,
            local_addr,
            media_addresses,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The HTTP address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// `ws://host:port/ws`.
    pub fn signaling_url(&self) -> String {
        format!("ws://{}/ws", self.local_addr)
    }

    /// Addresses the media sockets are bound to.
    pub fn media_addresses(&self) -> &[SocketAddr] {
        &self.media_addresses
    }

    pub async fn status(&self) -> Result<Status, ferrosoup::Error> {
        self.shared.status().await
    }

    /// The media workers' object counts, client addresses and the datagrams they dropped by reason (garbage, forged
    /// STUN, unknown senders, SRTP failures, …), summed.
    pub async fn worker_dump(&self) -> Result<ferrosoup::WorkerDump, ferrosoup::Error> {
        self.shared.rooms.dump().await
    }

    /// Room and peer events from now on (see [`crate::ServerEvent`]).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::ServerEvent> {
        self.shared.rooms.subscribe()
    }

    /// Closes every room, stops accepting connections and releases the ports.
    pub async fn stop(mut self) {
        self.shutdown_now().await;
    }

    async fn shutdown_now(&mut self) {
        self.shared.rooms.close_all().await;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            // Open WebSockets end as their rooms closed; do not wait forever on a stuck one.
            if tokio::time::timeout(std::time::Duration::from_secs(3), task)
                .await
                .is_err()
            {
                tracing::warn!("HTTP server did not stop in time");
            }
        }
        let workers = self.shared.rooms.workers();
        for worker in workers {
            worker.close();
        }
        // Return only once the media ports are free: a restart on the same ports must not race the old sockets.
        let all_closed = futures_util::future::join_all(workers.iter().map(|w| w.closed()));
        if tokio::time::timeout(std::time::Duration::from_secs(2), all_closed)
            .await
            .is_err()
        {
            tracing::warn!("media sockets were not released in time");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for worker in self.shared.rooms.workers() {
            worker.close();
        }
    }
}
