//! ferrosoup — a pure-Rust SFU with mediasoup's concepts and JSON shapes.
//!
//! A [`Worker`] owns the UDP sockets and runs every [`Router`] on them; a router connects [`Producer`]s (streams a
//! client sends) to [`Consumer`]s (streams sent to other clients) over [`WebRtcTransport`]s. The parameter types
//! serialize to exactly what mediasoup-client expects, so an unmodified browser client works against it.
//!
//! See `docs/architecture.md` at the repository root for how the pieces fit.

#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_support;
mod certificate;
pub mod consumer;
mod engine;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
pub mod ortc;
mod prefetch;
pub mod producer;
pub mod router;
pub mod rtp;
pub mod rtp_parameters;
pub mod srtp;
pub mod stats;
pub mod supported_rtp_capabilities;
pub mod transport;
pub mod worker;

pub use certificate::prewarm as prewarm_dtls_certificate;
pub use consumer::{
    Consumer, ConsumerInfo, ConsumerLayers, ConsumerOptions, ConsumerScore, ConsumerType,
};
pub use engine::DropCounters;
pub use error::Error;
pub use ids::{ConsumerId, ProducerId, RouterId, TransportId};
pub use producer::{Producer, ProducerInfo, ProducerOptions, ProducerScore, ProducerType};
pub use router::{Router, RouterEvent, RouterOptions};
pub use rtp_parameters::{MediaKind, RtpCapabilities, RtpCodecCapability, RtpParameters};
pub use transport::{
    DtlsFingerprint, DtlsParameters, DtlsRole, DtlsState, IceCandidate, IceParameters, IceState,
    ListenInfo, PlainConnectParameters, PlainTransport, PlainTransportInfo, PlainTransportOptions,
    SrtpCryptoSuite, SrtpParameters, TransportTuple, WebRtcTransport, WebRtcTransportInfo,
};
pub use worker::{LatencyHistogram, Worker, WorkerDump, WorkerSettings};
