//! ferrosoup — a pure-Rust SFU with mediasoup's concepts and JSON shapes.
//!
//! See `docs/architecture.md` at the repository root for how the pieces fit.

pub mod ortc;
pub mod rtp;
pub mod rtp_parameters;
pub mod srtp;
pub mod supported_rtp_capabilities;
