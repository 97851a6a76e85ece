//! A peer's transport of either kind: produce, consume and stats work alike on both.

use ferrosoup::{
    Consumer, ConsumerOptions, Error, PlainTransport, Producer, ProducerOptions, TransportId,
    WebRtcTransport,
};

#[derive(Clone)]
pub enum PeerTransport {
    WebRtc(WebRtcTransport),
    /// RTP from or to a tool such as ffmpeg, set up by a script speaking the signaling protocol.
    Plain(PlainTransport),
}

impl PeerTransport {
    pub fn id(&self) -> TransportId {
        match self {
            PeerTransport::WebRtc(t) => t.id(),
            PeerTransport::Plain(t) => t.id(),
        }
    }

    pub async fn produce(&self, options: ProducerOptions) -> Result<Producer, Error> {
        match self {
            PeerTransport::WebRtc(t) => t.produce(options).await,
            PeerTransport::Plain(t) => t.produce(options).await,
        }
    }

    pub async fn consume(&self, options: ConsumerOptions) -> Result<Consumer, Error> {
        match self {
            PeerTransport::WebRtc(t) => t.consume(options).await,
            PeerTransport::Plain(t) => t.consume(options).await,
        }
    }

    pub async fn get_stats(&self) -> Result<ferrosoup::stats::TransportStats, Error> {
        match self {
            PeerTransport::WebRtc(t) => t.get_stats().await,
            PeerTransport::Plain(t) => t.get_stats().await,
        }
    }

    pub fn close(&self) {
        match self {
            PeerTransport::WebRtc(t) => t.close(),
            PeerTransport::Plain(t) => t.close(),
        }
    }
}
