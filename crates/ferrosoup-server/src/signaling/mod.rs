//! WebSocket signaling: the JSON protocol of docs/protocol.md, rooms and peers.

pub mod connection;
mod media_events;
pub mod peer;
pub mod placement;
pub mod protocol;
pub mod rate;
pub mod room;
pub mod session;
pub mod transport;

pub use connection::Keepalive;
pub use rate::RateLimit;
pub use room::{Limits, RoomTotals, Rooms, ServerEvent};
