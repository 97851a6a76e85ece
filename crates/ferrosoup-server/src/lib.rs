//! ferrosoup's server: WebSocket signaling (docs/protocol.md), rooms, the demo page, and the [`Server`] handle that the
//! `ferrosoup` binary and the Tauri plugin embed.

mod auth;
mod http;
mod origin;
mod server;
pub mod signaling;

pub use auth::{AuthSecret, Role};
pub use origin::DEFAULT_ALLOWED_ORIGINS;
pub use server::{Server, ServerConfig, StartError, Status};
pub use signaling::{Keepalive, Limits, RateLimit, ServerEvent};
