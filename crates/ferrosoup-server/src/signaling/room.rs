//! Rooms: a router per worker and the peers in it, and the registry that creates rooms on first join and closes them
//! when the last peer leaves. Which worker a peer's media goes to: `placement`.
//!
//! Concurrency: the registry is a `tokio::sync::Mutex` (creating a room awaits the worker); a room's state is a
//! `std::sync::Mutex` that is never held across an `.await`. When both are needed the registry is locked first.
//! Requests that await the worker (produce, consume, …) take what they need from the room, release the lock, await,
//! then lock again and check the peer is still there.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use ferrosoup::{
    IceState, ProducerId, Router, RouterEvent, RouterOptions, RtpCodecCapability, Worker,
};
use serde_json::json;
use tokio::sync::mpsc;

use super::peer::{Peer, ProducerEntry};
use super::protocol::{self, ErrorCode, RequestError};

/// Limits that keep one room or client from taking the server down. Reaching one is a `limit` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Open WebSocket connections, joined or not; more are refused with HTTP 503.
    pub max_connections: usize,
    pub max_rooms: usize,
    pub max_peers_per_room: usize,
    /// WebRTC transports one peer may hold (a client needs two: send and receive).
    pub max_transports_per_peer: usize,
    /// Producers one peer may hold (camera, microphone, screen and its audio make four).
    pub max_producers_per_peer: usize,
    /// Consumers one peer may hold (one per other peer's producer it watches).
    pub max_consumers_per_peer: usize,
    /// Longest `appData` of a producer, in bytes of JSON: it is copied into every other peer's notifications.
    pub max_app_data_size: usize,
    /// Replies and notifications queued for one client; a client that lets more pile up is disconnected.
    pub max_queued_messages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 2000,
            max_rooms: 1000,
            max_peers_per_room: 200,
            max_transports_per_peer: 8,
            max_producers_per_peer: 16,
            max_consumers_per_peer: 1000,
            max_app_data_size: 4096,
            max_queued_messages: 1024,
        }
    }
}

pub struct RoomState {
    pub peers: HashMap<String, Peer>,
}

impl RoomState {
    /// Sends `text` to every peer but `except`.
    pub fn broadcast(&self, except: &str, text: &str) {
        for peer in self.peers.values().filter(|p| p.id != except) {
            peer.notifier.send(text.to_string());
        }
    }

    /// Tells everyone but `closer` that `owner`'s producer closed (`closer` is the owner, or a moderator who closed
    /// it, named as `byPeerId`).
    pub fn producer_closed(&self, owner: &str, producer_id: ProducerId, closer: &str) {
        let mut data = json!({"producerId": producer_id, "peerId": owner});
        if closer != owner {
            data["byPeerId"] = json!(closer);
        }
        self.broadcast(closer, &protocol::notification("producerClosed", data));
    }
}

pub struct Room {
    pub id: String,
    /// One router per worker (index = worker index); a peer's transports are in router `Peer::router`.
    pub routers: Vec<Router>,
    state: Mutex<RoomState>,
    /// Serialises pipe creation, so that two consumers of the same producer do not pipe it twice.
    pipe_lock: tokio::sync::Mutex<()>,
}

impl Room {
    /// Locks the room's state. A poisoned lock (a panic elsewhere) still yields the state: the maps stay consistent
    /// because no code path panics halfway through an update.
    pub fn lock(&self) -> MutexGuard<'_, RoomState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The router of the worker `peer_id`'s transports are in.
    pub fn router_of(&self, peer_id: &str) -> Result<Router, RequestError> {
        self.lock()
            .peers
            .get(peer_id)
            .and_then(|p| self.routers.get(p.router))
            .cloned()
            .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "no longer in the room"))
    }

    /// Makes `producer_id` (of a peer on worker `home`) consumable in the router on worker `to`, piping it there the
    /// first time.
    pub async fn ensure_piped(
        &self,
        producer_id: ProducerId,
        home: usize,
        to: usize,
    ) -> Result<(), ferrosoup::Error> {
        if home == to {
            return Ok(());
        }
        let _serial = self.pipe_lock.lock().await;
        if Self::producer_entry(&mut self.lock(), producer_id)
            .is_some_and(|e| e.pipes.contains_key(&to))
        {
            return Ok(());
        }
        let (Some(source), Some(target)) = (self.routers.get(home), self.routers.get(to)) else {
            return Err(ferrosoup::Error::InvalidState("no such worker".into()));
        };
        let pipe = source.pipe_to_router(producer_id, target).await?;
        // The pipe lives as long as the producer's entry, whichever way that goes (close, closeTransport, leave). If
        // the producer went meanwhile, dropping `pipe` closes the pipe producer again.
        if let Some(entry) = Self::producer_entry(&mut self.lock(), producer_id) {
            entry.pipes.insert(to, pipe);
        }
        Ok(())
    }

    fn producer_entry(
        state: &mut RoomState,
        producer_id: ProducerId,
    ) -> Option<&mut ProducerEntry> {
        state
            .peers
            .values_mut()
            .find_map(|p| p.producers.get_mut(&producer_id))
    }

    fn close(&self) {
        for router in &self.routers {
            router.close();
        }
    }

    fn on_router_event(&self, event: RouterEvent) {
        match event {
            RouterEvent::ConsumerClosed {
                consumer_id,
                producer_id,
            } => {
                let mut state = self.lock();
                for peer in state.peers.values_mut() {
                    if peer.consumers.remove(&consumer_id).is_some() {
                        peer.notifier.send(protocol::notification(
                            "consumerClosed",
                            json!({"consumerId": consumer_id, "producerId": producer_id}),
                        ));
                    }
                }
            }
            RouterEvent::TransportIceState {
                transport_id,
                state,
            } => {
                tracing::debug!(room = %self.id, %transport_id, ?state, "ICE state");
                // Consent expiry (no STUN from the client for a while) and the recovery from it are worth telling the
                // owner: its media stopped or resumed. The transport stays until the peer leaves. Ordinary connects
                // are not announced: the client sees those itself.
                let mut guard = self.lock();
                let Some(peer) = guard
                    .peers
                    .values_mut()
                    .find(|p| p.transports.contains_key(&transport_id))
                else {
                    return;
                };
                let announce = match state {
                    IceState::Disconnected => {
                        tracing::info!(room = %self.id, peer = %peer.id, %transport_id, "ICE consent expired");
                        peer.ice_disconnected.insert(transport_id)
                    }
                    IceState::Connected | IceState::Completed => {
                        peer.ice_disconnected.remove(&transport_id)
                    }
                    IceState::New | IceState::Closed => false,
                };
                if announce {
                    peer.notifier.send(protocol::notification(
                        "transportIceStateChanged",
                        json!({"transportId": transport_id, "iceState": state}),
                    ));
                }
            }
            RouterEvent::TransportDtlsState {
                transport_id,
                state,
            } => tracing::debug!(room = %self.id, %transport_id, ?state, "DTLS state"),
            event => super::media_events::notify_owner(&self.lock(), event),
        }
    }
}

/// What happened in the rooms, for an embedding app (the Tauri plugin forwards these to its front end).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerEvent {
    #[serde(rename_all = "camelCase")]
    RoomCreated { room_id: String },
    #[serde(rename_all = "camelCase")]
    RoomClosed { room_id: String },
    #[serde(rename_all = "camelCase")]
    PeerJoined {
        room_id: String,
        peer_id: String,
        display_name: String,
    },
    #[serde(rename_all = "camelCase")]
    PeerLeft { room_id: String, peer_id: String },
}

/// Totals for status pages and leak checks.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct RoomTotals {
    pub rooms: usize,
    pub peers: usize,
}

pub struct Rooms {
    workers: Vec<Worker>,
    /// Peers of a room on one worker before the room spreads to another (`placement`).
    spill: usize,
    /// Peers on each worker, all rooms together.
    load: Mutex<Vec<usize>>,
    media_codecs: Vec<RtpCodecCapability>,
    limits: Limits,
    rooms: tokio::sync::Mutex<HashMap<String, Arc<Room>>>,
    events: tokio::sync::broadcast::Sender<ServerEvent>,
    /// Where plain transports listen (port 0: each its own free port); `None`: plain transports are off.
    plain_listen: Option<ferrosoup::ListenInfo>,
}

impl Rooms {
    /// `workers` must not be empty.
    pub fn new(
        workers: Vec<Worker>,
        spill: usize,
        media_codecs: Vec<RtpCodecCapability>,
        limits: Limits,
    ) -> Self {
        Rooms {
            load: Mutex::new(vec![0; workers.len()]),
            workers,
            spill: spill.max(1),
            media_codecs,
            limits,
            rooms: tokio::sync::Mutex::new(HashMap::new()),
            // Slow subscribers lose old events (broadcast semantics) rather than holding up the rooms.
            events: tokio::sync::broadcast::channel(256).0,
            plain_listen: None,
        }
    }

    /// Allows plain transports, listening at `info`. Without this they are refused.
    pub fn with_plain_listen(mut self, info: ferrosoup::ListenInfo) -> Self {
        self.plain_listen = Some(info);
        self
    }

    /// Where plain transports listen, if they are allowed.
    pub fn plain_listen(&self) -> Option<ferrosoup::ListenInfo> {
        self.plain_listen.clone()
    }

    /// Events from now on. A subscriber that falls more than 256 events behind skips the oldest.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ServerEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: ServerEvent) {
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    pub fn workers(&self) -> &[Worker] {
        &self.workers
    }

    /// Sums the workers' object counts.
    pub async fn dump(&self) -> Result<ferrosoup::WorkerDump, ferrosoup::Error> {
        let mut total = ferrosoup::WorkerDump::default();
        for worker in &self.workers {
            total += worker.dump().await?;
        }
        Ok(total)
    }

    fn load(&self) -> MutexGuard<'_, Vec<usize>> {
        self.load.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A peer no longer counts for its worker's load.
    fn unload(&self, peer: &Peer) {
        if let Some(n) = self.load().get_mut(peer.router) {
            *n = n.saturating_sub(1);
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn media_codecs(&self) -> &[RtpCodecCapability] {
        &self.media_codecs
    }

    /// Adds `peer` to the room `room_id`, creating the room if needed. Returns the room and whether `peer` was
    /// accepted; on success the others have been told.
    pub async fn join(&self, room_id: &str, mut peer: Peer) -> Result<Arc<Room>, RequestError> {
        let mut rooms = self.rooms.lock().await;
        let room = match rooms.get(room_id) {
            Some(room) => room.clone(),
            None => {
                if rooms.len() >= self.limits.max_rooms {
                    return Err(RequestError::new(ErrorCode::Limit, "too many rooms"));
                }
                let room = self.create_room(room_id).await?;
                rooms.insert(room_id.to_string(), room.clone());
                self.emit(ServerEvent::RoomCreated {
                    room_id: room_id.to_string(),
                });
                room
            }
        };
        let mut state = room.lock();
        if state.peers.contains_key(&peer.id) {
            return Err(RequestError::new(
                ErrorCode::BadRequest,
                format!("peerId {:?} is already in room {room_id:?}", peer.id),
            ));
        }
        if state.peers.len() >= self.limits.max_peers_per_room {
            return Err(RequestError::new(ErrorCode::Limit, "the room is full"));
        }
        let mut room_counts = vec![0; self.workers.len()];
        for p in state.peers.values() {
            if let Some(n) = room_counts.get_mut(p.router) {
                *n += 1;
            }
        }
        {
            let mut load = self.load();
            peer.router = super::placement::place(&room_counts, &load, self.spill);
            if let Some(n) = load.get_mut(peer.router) {
                *n += 1;
            }
        }
        state.broadcast(
            &peer.id,
            &protocol::notification(
                "peerJoined",
                json!({"peerId": peer.id, "displayName": peer.display_name}),
            ),
        );
        let joined = ServerEvent::PeerJoined {
            room_id: room_id.to_string(),
            peer_id: peer.id.clone(),
            display_name: peer.display_name.clone(),
        };
        state.peers.insert(peer.id.clone(), peer);
        drop(state);
        self.emit(joined);
        Ok(room)
    }

    async fn create_room(&self, room_id: &str) -> Result<Arc<Room>, RequestError> {
        // All routers of the room report to the one event task.
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut routers = Vec::with_capacity(self.workers.len());
        for worker in &self.workers {
            routers.push(
                worker
                    .create_router(RouterOptions {
                        media_codecs: self.media_codecs.clone(),
                        events: Some(tx.clone()),
                    })
                    .await?,
            );
        }
        drop(tx);
        let room = Arc::new(Room {
            id: room_id.to_string(),
            routers,
            state: Mutex::new(RoomState {
                peers: HashMap::new(),
            }),
            pipe_lock: tokio::sync::Mutex::new(()),
        });
        // The event task holds the room weakly, so a closed room is not kept alive by its own events.
        let weak: Weak<Room> = Arc::downgrade(&room);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                match weak.upgrade() {
                    Some(room) => room.on_router_event(event),
                    None => break,
                }
            }
        });
        tracing::info!(room = room_id, "room created");
        Ok(room)
    }

    /// Removes a peer, tells the others, and closes the room if it is now empty. The peer's objects close when the
    /// returned value is dropped.
    pub async fn leave(&self, room: &Arc<Room>, peer_id: &str) -> Option<Peer> {
        let mut rooms = self.rooms.lock().await;
        let mut state = room.lock();
        let peer = state.peers.remove(peer_id)?;
        self.unload(&peer);
        for producer_id in peer.producers.keys() {
            state.producer_closed(peer_id, *producer_id, peer_id);
        }
        state.broadcast(
            peer_id,
            &protocol::notification("peerLeft", json!({"peerId": peer_id})),
        );
        if state.peers.is_empty() {
            drop(state);
            if rooms.get(&room.id).is_some_and(|r| Arc::ptr_eq(r, room)) {
                rooms.remove(&room.id);
                room.close();
                tracing::info!(room = %room.id, "room closed");
            }
        }
        Some(peer)
    }

    pub async fn totals(&self) -> RoomTotals {
        let rooms = self.rooms.lock().await;
        RoomTotals {
            rooms: rooms.len(),
            peers: rooms.values().map(|r| r.lock().peers.len()).sum(),
        }
    }

    /// Closes every room (the server is stopping): every peer's objects close with them.
    pub async fn close_all(&self) {
        let rooms: Vec<Arc<Room>> = self.rooms.lock().await.drain().map(|(_, r)| r).collect();
        for room in rooms {
            let peers: Vec<Peer> = room.lock().peers.drain().map(|(_, p)| p).collect();
            for peer in &peers {
                self.unload(peer);
            }
            for peer in &peers {
                peer.notifier.kick.notify_one();
            }
            for peer in &peers {
                self.emit(ServerEvent::PeerLeft {
                    room_id: room.id.clone(),
                    peer_id: peer.id.clone(),
                });
            }
            drop(peers);
            room.close();
            self.emit(ServerEvent::RoomClosed {
                room_id: room.id.clone(),
            });
        }
    }
}
