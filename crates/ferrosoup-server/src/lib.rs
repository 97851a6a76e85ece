//! ferrosoup's server: WebSocket signaling (docs/protocol.md), rooms, the demo page, and the [`Server`] handle that the
//! `ferrosoup` binary and the Tauri plugin embed.

mod http;
mod server;
pub mod signaling;

pub use server::{Server, ServerConfig, StartError, Status};
pub use signaling::{Limits, ServerEvent};
