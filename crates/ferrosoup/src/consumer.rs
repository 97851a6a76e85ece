//! Consumers: a producer's stream sent to one client.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ids::{ConsumerId, ProducerId, TransportId};
use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpParameters};
use crate::worker::{Channel, Command};
use crate::Error;

/// Options of [`crate::WebRtcTransport::consume`].
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    pub producer_id: ProducerId,
    /// The receiving client's capabilities (`device.rtpCapabilities`).
    pub rtp_capabilities: RtpCapabilities,
    /// Start paused; resume once the client's consumer exists (recommended, as in mediasoup).
    pub paused: bool,
}

/// A spatial and a temporal layer of a simulcast or SVC stream (`{"spatialLayer", "temporalLayer"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerLayers {
    pub spatial_layer: u8,
    pub temporal_layer: u8,
}

impl ConsumerLayers {
    pub const fn new(spatial_layer: u8, temporal_layer: u8) -> Self {
        ConsumerLayers {
            spatial_layer,
            temporal_layer,
        }
    }
}

/// A consumer's score, as mediasoup's consumer `score` event has it (each 0–10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerScore {
    /// How well the receiving client gets this consumer's stream (from its receiver reports).
    pub score: u8,
    /// Score of the producer stream being forwarded.
    pub producer_score: u8,
    /// Scores of all the producer's streams.
    pub producer_scores: Vec<u8>,
}

/// How the consumer receives, as mediasoup names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsumerType {
    Simple,
    Simulcast,
    Svc,
}

/// What the engine tells the handle about a new consumer.
#[derive(Debug, Clone)]
pub struct ConsumerInfo {
    pub id: ConsumerId,
    pub producer_id: ProducerId,
    /// The transport it sends on.
    pub transport_id: TransportId,
    pub kind: MediaKind,
    pub consumer_type: ConsumerType,
    /// What `transport.consume()` on the client takes: router payload types, the consumer's own SSRCs and mid.
    pub rtp_parameters: RtpParameters,
    pub producer_paused: bool,
}

struct ConsumerInner {
    info: ConsumerInfo,
    channel: Channel,
}

impl Drop for ConsumerInner {
    fn drop(&mut self) {
        self.channel
            .notify(Command::CloseConsumer { id: self.info.id });
    }
}

/// Handle to a consumer. It closes when the last clone is dropped, on [`Consumer::close`], or with its producer.
#[derive(Clone)]
pub struct Consumer {
    inner: Arc<ConsumerInner>,
}

impl Consumer {
    pub(crate) fn new(info: ConsumerInfo, channel: Channel) -> Self {
        Consumer {
            inner: Arc::new(ConsumerInner { info, channel }),
        }
    }

    pub fn id(&self) -> ConsumerId {
        self.inner.info.id
    }

    pub fn transport_id(&self) -> TransportId {
        self.inner.info.transport_id
    }

    pub fn producer_id(&self) -> ProducerId {
        self.inner.info.producer_id
    }

    pub fn kind(&self) -> MediaKind {
        self.inner.info.kind
    }

    pub fn consumer_type(&self) -> ConsumerType {
        self.inner.info.consumer_type
    }

    pub fn rtp_parameters(&self) -> &RtpParameters {
        &self.inner.info.rtp_parameters
    }

    /// Whether the producer was paused when this consumer was created.
    pub fn producer_paused(&self) -> bool {
        self.inner.info.producer_paused
    }

    pub async fn pause(&self) -> Result<(), Error> {
        self.set_paused(true).await
    }

    /// Starts (or restarts) forwarding; video waits for a key frame, which is requested from the producer.
    pub async fn resume(&self) -> Result<(), Error> {
        self.set_paused(false).await
    }

    async fn set_paused(&self, paused: bool) -> Result<(), Error> {
        let id = self.id();
        self.inner
            .channel
            .request(|reply| Command::SetConsumerPaused { id, paused, reply })
            .await
    }

    /// Asks the producer for a key frame (throttled per producer stream).
    pub async fn request_key_frame(&self) -> Result<(), Error> {
        let id = self.id();
        self.inner
            .channel
            .request(|reply| Command::RequestConsumerKeyFrame { id, reply })
            .await
    }

    /// Caps the layers of a simulcast/SVC consumer (mediasoup's `setPreferredLayers`); the bandwidth allocation
    /// picks at most these. Values above what the producer has are clamped.
    pub async fn set_preferred_layers(&self, layers: ConsumerLayers) -> Result<(), Error> {
        let id = self.id();
        self.inner
            .channel
            .request(|reply| Command::SetConsumerPreferredLayers { id, layers, reply })
            .await
    }

    /// Sets the consumer's share of its transport's bitrate relative to the others (1–255; default 1): each round
    /// of the allocation, a consumer may climb this many layers.
    pub async fn set_priority(&self, priority: u8) -> Result<(), Error> {
        let id = self.id();
        self.inner
            .channel
            .request(|reply| Command::SetConsumerPriority {
                id,
                priority,
                reply,
            })
            .await
    }

    /// The consumer's outgoing stream and the producer stream it forwards, in mediasoup's stats shape.
    pub async fn get_stats(&self) -> Result<Vec<crate::stats::RtpStreamStats>, Error> {
        let id = self.id();
        self.inner
            .channel
            .request(|reply| Command::GetConsumerStats { id, reply })
            .await
    }

    pub fn close(&self) {
        self.inner
            .channel
            .notify(Command::CloseConsumer { id: self.id() });
    }
}
