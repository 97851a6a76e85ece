//! The library's error type.

use crate::ortc::OrtcError;

/// Why a request to the SFU failed.
///
/// Every variant is something a caller can act on or report; none means "the process is broken", since a worker keeps
/// running whatever a peer sends it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The worker behind this handle has stopped (closed, or its task ended).
    #[error("worker is closed")]
    WorkerClosed,
    /// The object does not exist (or no longer does).
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked for: "router", "transport", "producer", "consumer".
        kind: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// The request does not fit the object's current state.
    #[error("invalid state: {0}")]
    InvalidState(String),
    /// A parameter is missing or has a value the operation cannot use (mediasoup's `TypeError`).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The RTP parameters or capabilities are not acceptable.
    #[error("invalid RTP parameters: {0}")]
    Ortc(#[from] OrtcError),
    /// The consumer's capabilities cannot receive this producer.
    #[error("cannot consume: {0}")]
    CannotConsume(String),
    /// A socket could not be opened or used.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The DTLS certificate could not be made.
    #[error("DTLS certificate: {0}")]
    Certificate(String),
}

impl Error {
    pub(crate) fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}
