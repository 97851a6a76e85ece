//! The router: a room's media hub. Producers and consumers of the same router can be connected; transports belong to
//! one router.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::consumer::{ConsumerLayers, ConsumerScore};
use crate::engine::{PipeEnd, PipeInbox};
use crate::ids::{ConsumerId, ProducerId, RouterId, TransportId};
use crate::producer::Producer;
use crate::producer::ProducerScore;
use crate::rtp_parameters::{RtpCapabilities, RtpCodecCapability};
use crate::transport::{
    DtlsState, IceState, PlainSetup, PlainTransport, PlainTransportOptions, WebRtcTransport,
};
use crate::worker::{Channel, Command};
use crate::Error;

/// Options of [`crate::Worker::create_router`].
#[derive(Debug, Default)]
pub struct RouterOptions {
    /// Codecs the router offers; see [`crate::supported_rtp_capabilities::default_media_codecs`].
    pub media_codecs: Vec<RtpCodecCapability>,
    /// Where the router reports what happens to its objects without being asked.
    pub events: Option<mpsc::UnboundedSender<RouterEvent>>,
}

/// Something that happened in a router that its owner did not ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouterEvent {
    /// A transport's ICE state changed.
    TransportIceState {
        transport_id: TransportId,
        state: IceState,
    },
    /// A transport's DTLS state changed. `Failed` and `Closed` end the transport's media.
    TransportDtlsState {
        transport_id: TransportId,
        state: DtlsState,
    },
    /// A comedia plain transport learnt where its media (`tuple`) or RTCP (`rtcp_tuple`) comes from, from the first
    /// authentic packet: mediasoup's `tuple` / `rtcptuple` events. Both tuples as they now stand.
    PlainTransportTuple {
        transport_id: TransportId,
        tuple: crate::transport::TransportTuple,
        rtcp_tuple: Option<crate::transport::TransportTuple>,
    },
    /// A consumer was closed because its producer closed.
    ConsumerClosed {
        consumer_id: ConsumerId,
        producer_id: ProducerId,
    },
    /// The layers a simulcast/SVC consumer forwards changed (`None`: none, it waits for a key frame).
    ConsumerLayersChanged {
        consumer_id: ConsumerId,
        layers: Option<ConsumerLayers>,
    },
    /// A consumer's score changed: how well its client receives it, and how well we receive its producer.
    ConsumerScore {
        consumer_id: ConsumerId,
        score: ConsumerScore,
    },
    /// The highest spatial layer of a video producer that any consumer needs changed (`None`: no consumer needs
    /// it at all). The sending application may stop encoding the layers above (see the engine's `demand`).
    ProducerLayersNeeded {
        producer_id: ProducerId,
        spatial_layer: Option<u8>,
    },
    /// A producer's per-stream scores changed.
    ProducerScore {
        producer_id: ProducerId,
        scores: Vec<ProducerScore>,
    },
}

struct RouterInner {
    id: RouterId,
    capabilities: RtpCapabilities,
    channel: Channel,
    /// The worker's pipe queue, for producers piped into this router.
    pipe: PipeInbox,
}

impl Drop for RouterInner {
    fn drop(&mut self) {
        self.channel.notify(Command::CloseRouter { id: self.id });
    }
}

/// Handle to a router. Clones share the router; it closes, with all its transports, when the last clone is dropped or
/// on [`Router::close`].
#[derive(Clone)]
pub struct Router {
    inner: Arc<RouterInner>,
}

impl Router {
    pub(crate) fn new(
        id: RouterId,
        capabilities: RtpCapabilities,
        channel: Channel,
        pipe: PipeInbox,
    ) -> Self {
        Router {
            inner: Arc::new(RouterInner {
                id,
                capabilities,
                channel,
                pipe,
            }),
        }
    }

    pub fn id(&self) -> RouterId {
        self.inner.id
    }

    /// What `device.load({routerRtpCapabilities})` takes.
    pub fn rtp_capabilities(&self) -> &RtpCapabilities {
        &self.inner.capabilities
    }

    /// Creates a WebRTC transport reachable at every address of the worker.
    pub async fn create_webrtc_transport(&self) -> Result<WebRtcTransport, Error> {
        // Made here rather than in the worker, which would stall every room on it while the certificate is made.
        crate::certificate::ready().await?;
        let id = TransportId::new();
        let router_id = self.inner.id;
        let info = self
            .inner
            .channel
            .request(|reply| Command::CreateWebRtcTransport {
                router_id,
                id,
                reply,
            })
            .await?;
        Ok(WebRtcTransport::new(info, self.inner.channel.clone()))
    }

    /// Creates a plain RTP transport (mediasoup's `PlainTransport`) on its own UDP port(s): for ffmpeg, GStreamer and
    /// other RTP tools. The ports are released when the transport closes.
    pub async fn create_plain_transport(
        &self,
        options: PlainTransportOptions,
    ) -> Result<PlainTransport, Error> {
        let (rtp, local) = crate::worker::bind_plain(&options.listen_info)?;
        let mut sockets = vec![rtp];
        let rtcp_local =
            if options.rtcp_mux {
                None
            } else {
                let info = options.rtcp_listen_info.clone().unwrap_or_else(|| {
                    crate::transport::ListenInfo {
                        port: 0,
                        ..options.listen_info.clone()
                    }
                });
                let (rtcp, rtcp_local) = crate::worker::bind_plain(&info)?;
                sockets.push(rtcp);
                Some((rtcp_local, info.announced_address))
            };
        let setup = PlainSetup {
            local,
            announced: options.listen_info.announced_address,
            rtcp_local,
            comedia: options.comedia,
            srtp: options.enable_srtp.then_some(options.srtp_crypto_suite),
        };
        let id = TransportId::new();
        let router_id = self.inner.id;
        let socket_count = sockets.len();
        let info = self
            .inner
            .channel
            .request(|reply| Command::CreatePlainTransport {
                router_id,
                id,
                setup,
                sockets,
                socket_count,
                reply,
            })
            .await?;
        Ok(PlainTransport::new(info, self.inner.channel.clone()))
    }

    /// Whether a consumer with these capabilities could receive the producer.
    pub async fn can_consume(
        &self,
        producer_id: ProducerId,
        rtp_capabilities: &RtpCapabilities,
    ) -> Result<bool, Error> {
        let router_id = self.inner.id;
        let rtp_capabilities = rtp_capabilities.clone();
        self.inner
            .channel
            .request(|reply| Command::CanConsume {
                router_id,
                producer_id,
                rtp_capabilities,
                reply,
            })
            .await
    }

    /// Makes the producer `producer_id` of this router consumable in `target`, a router of another worker
    /// (mediasoup's `pipeToRouter`): returns the pipe producer in `target`, which has the same id. Its consumers get
    /// the producer's packets through an in-memory queue between the two workers; pause, resume and close follow
    /// the original, and key frame requests and the layers its consumers need go back to it. Dropping the returned
    /// handle closes the pipe producer (its consumers close as for any producer).
    pub async fn pipe_to_router(
        &self,
        producer_id: ProducerId,
        target: &Router,
    ) -> Result<Producer, Error> {
        if self.inner.pipe.same_worker(&target.inner.pipe) {
            return Err(Error::InvalidState(
                "pipe_to_router needs routers of two different workers".into(),
            ));
        }
        let router_id = self.inner.id;
        let source = self
            .inner
            .channel
            .request(|reply| Command::DescribePipeSource {
                router_id,
                producer_id,
                reply,
            })
            .await?;
        let end = PipeEnd {
            inbox: self.inner.pipe.clone(),
            producer: source.key,
        };
        let target_id = target.inner.id;
        let (info, key) = target
            .inner
            .channel
            .request(|reply| Command::CreatePipeProducer {
                router_id: target_id,
                source,
                end,
                reply,
            })
            .await?;
        // From here on, an error drops this handle, which closes the pipe producer again.
        let producer = Producer::new(info, target.inner.channel.clone());
        let sink = PipeEnd {
            inbox: target.inner.pipe.clone(),
            producer: key,
        };
        self.inner
            .channel
            .request(|reply| Command::AddPipeSink {
                producer_id,
                sink,
                reply,
            })
            .await?;
        Ok(producer)
    }

    /// Closes the router and everything in it now.
    pub fn close(&self) {
        self.inner
            .channel
            .notify(Command::CloseRouter { id: self.inner.id });
    }
}
