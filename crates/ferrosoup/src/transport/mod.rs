//! Transports: how media enters and leaves a router. The WebRTC transport speaks ICE-lite, DTLS and SRTP to a browser;
//! the plain transport bare RTP/RTCP (optionally SRTP with signalled keys) to tools such as ffmpeg and GStreamer.

mod parameters;
mod plain;

pub use parameters::{
    DtlsFingerprint, DtlsParameters, DtlsRole, DtlsState, IceCandidate, IceParameters, IceState,
    ListenInfo,
};
pub(crate) use plain::PlainSetup;
pub use plain::{
    PlainConnectParameters, PlainTransport, PlainTransportInfo, PlainTransportOptions,
    SrtpCryptoSuite, SrtpParameters, TransportTuple,
};

use std::sync::Arc;

use serde::Serialize;

use crate::consumer::{Consumer, ConsumerOptions};
use crate::ids::{ConsumerId, ProducerId, TransportId};
use crate::producer::{Producer, ProducerOptions};
use crate::worker::{Channel, Command};
use crate::Error;

/// What a client needs to create its side of a WebRTC transport (`device.createSendTransport(info)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebRtcTransportInfo {
    pub id: TransportId,
    pub ice_parameters: IceParameters,
    pub ice_candidates: Vec<IceCandidate>,
    pub dtls_parameters: DtlsParameters,
}

struct TransportInner {
    info: WebRtcTransportInfo,
    channel: Channel,
}

impl Drop for TransportInner {
    fn drop(&mut self) {
        self.channel
            .notify(Command::CloseTransport { id: self.info.id });
    }
}

/// Handle to a WebRTC transport. It closes, with its producers and consumers, when the last clone is dropped or on
/// [`WebRtcTransport::close`].
#[derive(Clone)]
pub struct WebRtcTransport {
    inner: Arc<TransportInner>,
}

impl WebRtcTransport {
    pub(crate) fn new(info: WebRtcTransportInfo, channel: Channel) -> Self {
        WebRtcTransport {
            inner: Arc::new(TransportInner { info, channel }),
        }
    }

    pub fn id(&self) -> TransportId {
        self.inner.info.id
    }

    /// Parameters for the client, in mediasoup's shape.
    pub fn info(&self) -> &WebRtcTransportInfo {
        &self.inner.info
    }

    /// Gives the client's DTLS parameters; the handshake can then complete.
    pub async fn connect(&self, dtls_parameters: DtlsParameters) -> Result<(), Error> {
        let id = self.id();
        self.inner
            .channel
            .request(|reply| Command::ConnectWebRtcTransport {
                id,
                dtls_parameters,
                reply,
            })
            .await
    }

    /// Starts receiving a stream the client sends.
    pub async fn produce(&self, options: ProducerOptions) -> Result<Producer, Error> {
        produce(&self.inner.channel, self.id(), options).await
    }

    /// Starts sending a producer's stream to the client. Consumers should be created paused and resumed once the client
    /// has set up its side.
    pub async fn consume(&self, options: ConsumerOptions) -> Result<Consumer, Error> {
        consume(&self.inner.channel, self.id(), options).await
    }

    /// Byte counters, bitrates, the bandwidth estimate and ICE/DTLS state, in mediasoup's stats shape.
    pub async fn get_stats(&self) -> Result<crate::stats::TransportStats, Error> {
        get_stats(&self.inner.channel, self.id()).await
    }

    /// Closes the transport with its producers and consumers now.
    pub fn close(&self) {
        self.inner
            .channel
            .notify(Command::CloseTransport { id: self.id() });
    }
}

/// Produce on any kind of transport: the engine treats them alike once a packet is in the clear.
pub(crate) async fn produce(
    channel: &Channel,
    transport_id: TransportId,
    options: ProducerOptions,
) -> Result<Producer, Error> {
    let id = ProducerId::new();
    let ProducerOptions {
        kind,
        rtp_parameters,
        paused,
        screen_share,
    } = options;
    let info = channel
        .request(|reply| Command::Produce {
            transport_id,
            id,
            kind,
            rtp_parameters,
            paused,
            screen_share,
            reply,
        })
        .await?;
    Ok(Producer::new(info, channel.clone()))
}

/// Consume on any kind of transport.
pub(crate) async fn consume(
    channel: &Channel,
    transport_id: TransportId,
    options: ConsumerOptions,
) -> Result<Consumer, Error> {
    let id = ConsumerId::new();
    let ConsumerOptions {
        producer_id,
        rtp_capabilities,
        paused,
    } = options;
    let info = channel
        .request(|reply| Command::Consume {
            transport_id,
            id,
            producer_id,
            rtp_capabilities,
            paused,
            reply,
        })
        .await?;
    Ok(Consumer::new(info, channel.clone()))
}

pub(crate) async fn get_stats(
    channel: &Channel,
    id: TransportId,
) -> Result<crate::stats::TransportStats, Error> {
    channel
        .request(|reply| Command::GetTransportStats { id, reply })
        .await
}
