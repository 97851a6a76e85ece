//! Messages from the async handles to the worker's engine.
//!
//! Each request carries a oneshot sender for its reply. Close messages carry none: they are also sent from `Drop`,
//! where nobody can wait.

use tokio::sync::{mpsc, oneshot};

use crate::engine::{PipeEnd, PipeSource, ProducerKey};
use crate::ids::{ConsumerId, ProducerId, RouterId, TransportId};
use crate::router::RouterEvent;
use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpParameters};
use crate::stats::{RtpStreamStats, TransportStats};
use crate::transport::{DtlsParameters, PlainConnectParameters, PlainSetup, PlainTransportInfo};
use crate::worker::WorkerDump;
use crate::{ConsumerInfo, ConsumerLayers, Error, ProducerInfo, WebRtcTransportInfo};

pub(crate) type Reply<T> = oneshot::Sender<Result<T, Error>>;

pub(crate) enum Command {
    CreateRouter {
        id: RouterId,
        capabilities: RtpCapabilities,
        events: Option<mpsc::UnboundedSender<RouterEvent>>,
        reply: Reply<()>,
    },
    CloseRouter {
        id: RouterId,
    },
    CreateWebRtcTransport {
        router_id: RouterId,
        id: TransportId,
        reply: Reply<WebRtcTransportInfo>,
    },
    ConnectWebRtcTransport {
        id: TransportId,
        dtls_parameters: DtlsParameters,
        reply: Reply<()>,
    },
    /// The handle bound the sockets; the driver takes them out and registers them with the worker's runtime
    /// (`sockets` is empty when the engine sees this), and the engine numbers them after its others.
    CreatePlainTransport {
        router_id: RouterId,
        id: TransportId,
        setup: PlainSetup,
        sockets: Vec<std::net::UdpSocket>,
        socket_count: usize,
        reply: Reply<PlainTransportInfo>,
    },
    ConnectPlainTransport {
        id: TransportId,
        parameters: PlainConnectParameters,
        reply: Reply<PlainTransportInfo>,
    },
    GetPlainTransport {
        id: TransportId,
        reply: Reply<PlainTransportInfo>,
    },
    CloseTransport {
        id: TransportId,
    },
    Produce {
        transport_id: TransportId,
        id: ProducerId,
        kind: MediaKind,
        rtp_parameters: RtpParameters,
        paused: bool,
        screen_share: bool,
        reply: Reply<ProducerInfo>,
    },
    SetProducerPaused {
        id: ProducerId,
        paused: bool,
        reply: Reply<()>,
    },
    CloseProducer {
        id: ProducerId,
    },
    Consume {
        transport_id: TransportId,
        id: ConsumerId,
        producer_id: ProducerId,
        rtp_capabilities: RtpCapabilities,
        paused: bool,
        reply: Reply<ConsumerInfo>,
    },
    CanConsume {
        router_id: RouterId,
        producer_id: ProducerId,
        rtp_capabilities: RtpCapabilities,
        reply: Reply<bool>,
    },
    SetConsumerPaused {
        id: ConsumerId,
        paused: bool,
        reply: Reply<()>,
    },
    RequestConsumerKeyFrame {
        id: ConsumerId,
        reply: Reply<()>,
    },
    CloseConsumer {
        id: ConsumerId,
    },
    SetConsumerPreferredLayers {
        id: ConsumerId,
        layers: ConsumerLayers,
        reply: Reply<()>,
    },
    SetConsumerPriority {
        id: ConsumerId,
        priority: u8,
        reply: Reply<()>,
    },
    GetConsumerStats {
        id: ConsumerId,
        reply: Reply<Vec<RtpStreamStats>>,
    },
    GetProducerStats {
        id: ProducerId,
        reply: Reply<Vec<RtpStreamStats>>,
    },
    GetTransportStats {
        id: TransportId,
        reply: Reply<TransportStats>,
    },
    Dump {
        reply: oneshot::Sender<WorkerDump>,
    },
    /// `Router::pipe_to_router`, in three steps: describe the source producer, mirror it in the target worker, then
    /// start feeding the mirror.
    DescribePipeSource {
        router_id: RouterId,
        producer_id: ProducerId,
        reply: Reply<PipeSource>,
    },
    CreatePipeProducer {
        router_id: RouterId,
        source: PipeSource,
        end: PipeEnd,
        reply: Reply<(ProducerInfo, ProducerKey)>,
    },
    AddPipeSink {
        producer_id: ProducerId,
        sink: PipeEnd,
        reply: Reply<()>,
    },
}

/// The sending side of a worker's command queue, shared by every handle of that worker.
#[derive(Clone)]
pub(crate) struct Channel(pub(crate) mpsc::UnboundedSender<Command>);

impl Channel {
    /// Sends a request and waits for its reply.
    pub async fn request<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.0.send(make(tx)).map_err(|_| Error::WorkerClosed)?;
        rx.await.map_err(|_| Error::WorkerClosed)?
    }

    /// Sends a message that needs no reply (closes). Fails silently once the worker is gone, as then so is the object.
    pub fn notify(&self, command: Command) {
        let _ = self.0.send(command);
    }
}
