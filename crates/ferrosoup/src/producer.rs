//! Producers: a stream a client sends into a router.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ids::ProducerId;
use crate::rtp_parameters::{MediaKind, RtpParameters};
use crate::worker::{Channel, Command};
use crate::Error;

/// Options of [`crate::WebRtcTransport::produce`].
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    pub kind: MediaKind,
    /// The client's parameters: its own payload types, header-extension ids and SSRCs.
    pub rtp_parameters: RtpParameters,
    /// Start paused (nothing is forwarded until resumed).
    pub paused: bool,
    /// A screen share: its consumers get a higher priority (3) and, when bandwidth is short, keep resolution and
    /// give up frame rate first (text must stay legible; motion matters less).
    pub screen_share: bool,
}

/// How the producer's stream is layered, as mediasoup names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProducerType {
    /// One stream, one layer.
    Simple,
    /// Several encodings (rids or SSRCs).
    Simulcast,
    /// One encoding with several spatial or temporal layers (VP9/AV1 SVC).
    Svc,
}

/// Score of one of a producer's streams, as mediasoup's producer `score` event has it: 0–10, how well the server
/// receives it (10: no loss; 0: nothing arrives).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerScore {
    pub encoding_idx: usize,
    pub ssrc: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    pub score: u8,
}

/// What the engine tells the handle about a new producer.
#[derive(Debug, Clone)]
pub struct ProducerInfo {
    pub id: ProducerId,
    pub kind: MediaKind,
    pub producer_type: ProducerType,
    /// Parameters with the router's payload types and the server's SSRCs: what consumers are built from.
    pub consumable_rtp_parameters: RtpParameters,
}

struct ProducerInner {
    info: ProducerInfo,
    channel: Channel,
}

impl Drop for ProducerInner {
    fn drop(&mut self) {
        self.channel
            .notify(Command::CloseProducer { id: self.info.id });
    }
}

/// Handle to a producer. It closes, with all its consumers, when the last clone is dropped or on [`Producer::close`].
#[derive(Clone)]
pub struct Producer {
    inner: Arc<ProducerInner>,
}

impl Producer {
    pub(crate) fn new(info: ProducerInfo, channel: Channel) -> Self {
        Producer {
            inner: Arc::new(ProducerInner { info, channel }),
        }
    }

    pub fn id(&self) -> ProducerId {
        self.inner.info.id
    }

    pub fn kind(&self) -> MediaKind {
        self.inner.info.kind
    }

    pub fn producer_type(&self) -> ProducerType {
        self.inner.info.producer_type
    }

    pub fn consumable_rtp_parameters(&self) -> &RtpParameters {
        &self.inner.info.consumable_rtp_parameters
    }

    /// Stops forwarding to every consumer (they stay, and resume with a key frame).
    pub async fn pause(&self) -> Result<(), Error> {
        self.set_paused(true).await
    }

    pub async fn resume(&self) -> Result<(), Error> {
        self.set_paused(false).await
    }

    async fn set_paused(&self, paused: bool) -> Result<(), Error> {
        let id = self.id();
        self.inner
            .channel
            .request(|reply| Command::SetProducerPaused { id, paused, reply })
            .await
    }

    /// Each received stream (encoding), in mediasoup's stats shape.
    pub async fn get_stats(&self) -> Result<Vec<crate::stats::RtpStreamStats>, Error> {
        let id = self.id();
        self.inner
            .channel
            .request(|reply| Command::GetProducerStats { id, reply })
            .await
    }

    /// Closes the producer and its consumers now.
    pub fn close(&self) {
        self.inner
            .channel
            .notify(Command::CloseProducer { id: self.id() });
    }
}
