//! A peer: one client in a room, with the media objects it owns.
//!
//! A peer controls only its own transports, producers and consumers: every lookup by id goes through these maps, so an
//! id of another peer's object is simply "not found". Dropping a peer drops its handles, which closes the objects in
//! the worker.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ferrosoup::{Consumer, ConsumerId, Producer, ProducerId, RtpCapabilities, TransportId};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, Notify};

use super::protocol::Direction;
use super::transport::PeerTransport;
use crate::auth::Grant;

/// The way to reach a peer's connection: its outgoing queue, and a switch to drop it when the queue is stuck.
#[derive(Clone)]
pub struct Notifier {
    pub queue: mpsc::Sender<String>,
    pub kick: Arc<Notify>,
}

impl Notifier {
    /// Queues a message without waiting. A client that does not read its notifications fast enough is disconnected
    /// rather than buffered for without bound.
    pub fn send(&self, text: String) {
        if self.queue.try_send(text).is_err() {
            self.kick.notify_one();
        }
    }
}

pub struct ProducerEntry {
    pub producer: Producer,
    pub app_data: Map<String, Value>,
    pub paused: bool,
    /// The transport it arrives on (closing that transport closes it).
    pub transport_id: TransportId,
    /// Its pipe producers in the room's routers on other workers, by worker index (see `Room::ensure_piped`); they
    /// close when this entry is dropped.
    pub pipes: HashMap<usize, Producer>,
}

pub struct Peer {
    pub id: String,
    pub display_name: String,
    pub rtp_capabilities: Option<RtpCapabilities>,
    pub notifier: Notifier,
    pub transports: HashMap<TransportId, (PeerTransport, Direction)>,
    pub producers: HashMap<ProducerId, ProducerEntry>,
    pub consumers: HashMap<ConsumerId, Consumer>,
    /// Transports whose ICE consent expired and has not come back.
    pub ice_disconnected: HashSet<TransportId>,
    /// What this peer may do (its token's role, or everything but moderation without auth).
    pub grant: Grant,
    /// The worker (index into `Room::routers`) its transports are in; set when it joins.
    pub router: usize,
}

impl Peer {
    pub fn new(
        id: String,
        display_name: String,
        rtp_capabilities: Option<RtpCapabilities>,
        notifier: Notifier,
        grant: Grant,
    ) -> Self {
        Peer {
            id,
            display_name,
            rtp_capabilities,
            notifier,
            transports: HashMap::new(),
            producers: HashMap::new(),
            consumers: HashMap::new(),
            ice_disconnected: HashSet::new(),
            grant,
            router: 0,
        }
    }
}
