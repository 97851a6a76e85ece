//! The worker: one thread that owns a set of UDP sockets and every router, transport, producer and consumer on them.
//!
//! As in mediasoup, all media state of a worker lives in one place and is touched by one task only, on a thread of its
//! own (a single-threaded tokio runtime), so the packet path takes no locks. Handles ([`crate::Router`], [`crate::WebRtcTransport`], …) talk to it through a command queue and
//! await the reply. Every transport of a worker shares the worker's sockets (mediasoup's WebRtcServer model):
//! packets are told apart by STUN username and, after ICE, by the client's address.

mod command;
mod driver;
mod latency;
mod receive;
mod sockets;
mod transmit;

pub(crate) use command::{Channel, Command};
pub use latency::LatencyHistogram;
pub(crate) use sockets::bind_plain;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::engine::{Engine, PipeInbox, PIPE_QUEUE};
use crate::ids::RouterId;
use crate::router::{Router, RouterOptions};
use crate::transport::ListenInfo;
use crate::{certificate, ortc, Error};

/// How a worker listens.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Where media is received. Every WebRTC transport of the worker is reachable at all of these.
    pub listen_infos: Vec<ListenInfo>,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            listen_infos: vec![ListenInfo {
                ip: std::net::Ipv4Addr::LOCALHOST.into(),
                announced_address: None,
                port: 40000,
            }],
        }
    }
}

/// Counts of the objects a worker holds, for status pages and leak checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerDump {
    pub routers: usize,
    pub transports: usize,
    pub producers: usize,
    pub consumers: usize,
    /// Client addresses that passed ICE and that packets are routed by.
    pub client_addresses: usize,
    /// Incoming datagrams dropped since the worker started, by reason.
    pub dropped: crate::engine::DropCounters,
    /// How long the worker held datagrams, arrival to send, since it started.
    pub latency: LatencyHistogram,
}

/// Totals over several workers.
impl std::ops::AddAssign for WorkerDump {
    fn add_assign(&mut self, other: WorkerDump) {
        self.routers += other.routers;
        self.transports += other.transports;
        self.producers += other.producers;
        self.consumers += other.consumers;
        self.client_addresses += other.client_addresses;
        self.dropped += other.dropped;
        self.latency += &other.latency;
    }
}

struct WorkerInner {
    channel: Channel,
    /// Other workers' engines queue piped packets here (`Router::pipe_to_router`).
    pipe: PipeInbox,
    local_addresses: Vec<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
    /// Closed once the worker's sockets are dropped.
    released: tokio::sync::watch::Receiver<()>,
}

impl Drop for WorkerInner {
    fn drop(&mut self) {
        // Routers hold the channel too; aborting makes sure the sockets are released when the last handle goes.
        self.task.abort();
    }
}

/// Handle to a running worker. Cheap to clone; the worker stops when the last clone is dropped or on [`Worker::close`].
#[derive(Clone)]
pub struct Worker {
    inner: Arc<WorkerInner>,
}

impl Worker {
    /// Binds the sockets and starts the worker on a thread of its own.
    ///
    /// The worker's loop runs on a single-threaded runtime that waits on the worker's sockets itself, so a datagram
    /// wakes the thread that handles it: no hand-over between threads, no work stealing, and the packet path never
    /// waits behind signaling, which stays on the caller's runtime.
    pub async fn new(settings: WorkerSettings) -> Result<Worker, Error> {
        let bound = sockets::bind(&settings.listen_infos)?;
        let local_addresses = bound.iter().map(|s| s.local).collect();
        let engine = Engine::new(bound.iter().map(|s| s.candidate.clone()).collect());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (udp, twins): (Vec<_>, Vec<_>) = bound.into_iter().map(|s| (s.socket, s.twin)).unzip();
        let udp = {
            // Sockets register with the reactor of the runtime they are created in: the worker's. Twins only send,
            // so they are never registered.
            let _worker_runtime = runtime.enter();
            udp.into_iter()
                .map(|s| tokio::net::UdpSocket::from_std(s).map(Some))
                .collect::<std::io::Result<Vec<_>>>()?
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let (pipe_tx, pipe_rx) = mpsc::channel(PIPE_QUEUE);
        let (released_tx, released) = tokio::sync::watch::channel(());
        let sockets = driver::Sockets {
            udp,
            twins,
            _released: released_tx,
        };
        let task = runtime.spawn(driver::run(engine, sockets, rx, pipe_rx));
        let mut until_released = released.clone();
        std::thread::Builder::new()
            .name("ferrosoup-worker".into())
            .spawn(move || {
                // A current-thread runtime runs its tasks only inside `block_on`: run until the loop has ended (or
                // was aborted) and dropped its sockets, then shut the runtime down with the thread.
                runtime.block_on(async move { while until_released.changed().await.is_ok() {} });
            })?;
        Ok(Worker {
            inner: Arc::new(WorkerInner {
                channel: Channel(tx),
                pipe: PipeInbox(pipe_tx),
                local_addresses,
                task,
                released,
            }),
        })
    }

    /// The socket addresses media arrives at.
    pub fn local_addresses(&self) -> &[SocketAddr] {
        &self.inner.local_addresses
    }

    /// Creates a router (a room's media hub) with the given codecs.
    pub async fn create_router(&self, options: RouterOptions) -> Result<Router, Error> {
        // A room is coming: its first WebRTC transport will need the DTLS certificate.
        certificate::prewarm();
        let capabilities = ortc::generate_router_rtp_capabilities(&options.media_codecs)?;
        let id = RouterId::new();
        let channel = self.inner.channel.clone();
        let events = options.events;
        let caps = capabilities.clone();
        channel
            .request(|reply| Command::CreateRouter {
                id,
                capabilities: caps,
                events,
                reply,
            })
            .await?;
        Ok(Router::new(
            id,
            capabilities,
            channel,
            self.inner.pipe.clone(),
        ))
    }

    /// Object counts.
    pub async fn dump(&self) -> Result<WorkerDump, Error> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .channel
            .0
            .send(Command::Dump { reply: tx })
            .map_err(|_| Error::WorkerClosed)?;
        rx.await.map_err(|_| Error::WorkerClosed)
    }

    /// Stops the worker now: every router and transport closes and the sockets are released.
    pub fn close(&self) {
        self.inner.task.abort();
    }

    /// Waits until the worker's sockets are closed (after [`Worker::close`]), so its ports can be bound again.
    pub async fn closed(&self) {
        let mut released = self.inner.released.clone();
        while released.changed().await.is_ok() {}
    }

    /// Whether the worker's loop has ended.
    pub fn is_closed(&self) -> bool {
        self.inner.task.is_finished()
    }
}
