//! WebSocket signaling: the JSON protocol of docs/protocol.md, rooms and peers.

pub mod connection;
mod media_events;
pub mod peer;
pub mod protocol;
pub mod room;
pub mod session;

pub use room::{Limits, RoomTotals, Rooms, ServerEvent};
