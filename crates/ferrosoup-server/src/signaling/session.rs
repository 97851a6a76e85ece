//! One WebSocket connection's requests: the connection's membership in a room and each method's logic.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use ferrosoup::{
    ConsumerId, ConsumerOptions, ProducerId, ProducerOptions, RtpCapabilities, TransportId,
};
use serde_json::{json, Map, Value};

use super::peer::{Notifier, Peer, ProducerEntry};
use super::protocol::{
    self, ConnectWebRtcTransport, Consume, CreateWebRtcTransport, Direction, ErrorCode, Join,
    Produce, Request, RequestError,
};
use super::room::{Room, Rooms};
use super::transport::PeerTransport;
use crate::auth::{Authenticator, Grant};

mod media;
mod plain;

type Result<T> = std::result::Result<T, RequestError>;

fn not_found(what: &str, id: &str) -> RequestError {
    RequestError::new(ErrorCode::NotFound, format!("{what} {id:?} not found"))
}

fn parse_id<T: FromStr>(what: &str, id: &str) -> Result<T> {
    id.parse().map_err(|_| not_found(what, id))
}

fn limit(what: &str, max: usize) -> RequestError {
    RequestError::new(
        ErrorCode::Limit,
        format!("a peer may hold at most {max} {what}"),
    )
}

pub struct Session {
    rooms: Arc<Rooms>,
    notifier: Notifier,
    membership: Option<(Arc<Room>, String)>,
    auth: Option<Arc<Authenticator>>,
}

impl Session {
    pub fn new(rooms: Arc<Rooms>, notifier: Notifier, auth: Option<Arc<Authenticator>>) -> Self {
        Session {
            rooms,
            notifier,
            membership: None,
            auth,
        }
    }

    /// Answers one text message with the reply to send.
    pub async fn handle_text(&mut self, text: &str) -> String {
        let incoming = protocol::parse(text);
        let id = incoming.id.as_ref();
        let request = match incoming.request {
            Ok(r) => r,
            Err(e) => return protocol::error(id, &e),
        };
        let result_type = request.result_type();
        match self.handle(request).await {
            Ok(data) => protocol::success(id, result_type, data),
            Err(e) => protocol::error(id, &e),
        }
    }

    async fn handle(&mut self, request: Request) -> Result<Value> {
        match request {
            Request::GetRouterRtpCapabilities(_) => {
                let caps =
                    ferrosoup::ortc::generate_router_rtp_capabilities(self.rooms.media_codecs())
                        .map_err(|e| RequestError::new(ErrorCode::Internal, e.to_string()))?;
                Ok(serde_json::to_value(caps).unwrap_or(Value::Null))
            }
            Request::Join(join) => self.join(join).await,
            Request::CreateWebRtcTransport(c) => self.create_webrtc_transport(c).await,
            Request::ConnectWebRtcTransport(c) => self.connect_webrtc_transport(c).await,
            Request::CreatePlainTransport(c) => self.create_plain_transport(c).await,
            Request::ConnectPlainTransport(c) => self.connect_plain_transport(c).await,
            Request::CloseTransport(t) => self.close_transport(&t.transport_id),
            Request::Produce(p) => self.produce(p).await,
            Request::Consume(c) => self.consume(c).await,
            Request::PauseConsumer(c) => self.consumer_paused(&c.consumer_id, true).await,
            Request::ResumeConsumer(c) => self.consumer_paused(&c.consumer_id, false).await,
            Request::CloseConsumer(c) => {
                let (room, peer_id) = self.member()?;
                let id: ConsumerId = parse_id("consumer", &c.consumer_id)?;
                let consumer = room
                    .lock()
                    .peers
                    .get_mut(&peer_id)
                    .and_then(|p| p.consumers.remove(&id))
                    .ok_or_else(|| not_found("consumer", &c.consumer_id))?;
                consumer.close();
                Ok(json!({}))
            }
            Request::PauseProducer(p) => self.producer_paused(&p.producer_id, true).await,
            Request::ResumeProducer(p) => self.producer_paused(&p.producer_id, false).await,
            Request::CloseProducer(p) => {
                let (room, peer_id) = self.member()?;
                let id: ProducerId = parse_id("producer", &p.producer_id)?;
                let mut state = room.lock();
                let entry = state
                    .peers
                    .get_mut(&peer_id)
                    .and_then(|peer| peer.producers.remove(&id))
                    .ok_or_else(|| not_found("producer", &p.producer_id))?;
                entry.producer.close();
                state.producer_closed(&peer_id, id, &peer_id);
                Ok(json!({}))
            }
            Request::SetConsumerPreferredLayers(r) => self.set_consumer_preferred_layers(r).await,
            Request::SetConsumerPriority(r) => self.set_consumer_priority(r).await,
            Request::RequestConsumerKeyFrame(r) => self.request_consumer_key_frame(r).await,
            Request::GetTransportStats(r) => self.transport_stats(r).await,
            Request::GetProducerStats(r) => self.producer_stats(r).await,
            Request::GetConsumerStats(r) => self.consumer_stats(r).await,
            Request::MuteProducer(p) => self.mute_peer_producer(&p.producer_id).await,
            Request::ClosePeerProducer(p) => self.close_peer_producer(&p.producer_id),
            Request::Leave => {
                self.leave().await;
                Ok(json!({}))
            }
        }
    }

    /// One of this peer's transports, by the id a request gave.
    fn own_transport(&self, transport_id: &str) -> Result<PeerTransport> {
        let (room, peer_id) = self.member()?;
        let id: TransportId = parse_id("transport", transport_id)?;
        let state = room.lock();
        state
            .peers
            .get(&peer_id)
            .and_then(|p| p.transports.get(&id))
            .map(|(t, _)| t.clone())
            .ok_or_else(|| not_found("transport", transport_id))
    }

    fn member(&self) -> Result<(Arc<Room>, String)> {
        self.membership
            .clone()
            .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "join a room first"))
    }

    async fn join(&mut self, join: Join) -> Result<Value> {
        if self.membership.is_some() {
            return Err(RequestError::new(
                ErrorCode::AlreadyJoined,
                "this connection is already in a room",
            ));
        }
        if join.room_id.is_empty() || join.room_id.len() > 128 {
            return Err(RequestError::new(
                ErrorCode::BadRequest,
                "roomId must be 1 to 128 characters",
            ));
        }
        let (grant, token_peer_id) = match &self.auth {
            Some(auth) => auth.verify(
                join.token.as_deref(),
                &join.room_id,
                join.peer_id.as_deref(),
            )?,
            None => (Grant::OPEN, None),
        };
        let peer_id = match join.peer_id.or(token_peer_id) {
            Some(id) if id.is_empty() || id.len() > 128 => {
                return Err(RequestError::new(
                    ErrorCode::BadRequest,
                    "peerId must be 1 to 128 characters",
                ))
            }
            Some(id) => id,
            None => uuid::Uuid::new_v4().to_string(),
        };
        let display_name: String = join
            .display_name
            .unwrap_or_default()
            .chars()
            .take(128)
            .collect();
        let peer = Peer::new(
            peer_id.clone(),
            display_name,
            join.rtp_capabilities,
            self.notifier.clone(),
            grant,
        );
        let room = self.rooms.join(&join.room_id, peer).await?;
        let state = room.lock();
        let peers: Vec<Value> = state
            .peers
            .values()
            .filter(|p| p.id != peer_id)
            .map(|p| json!({"peerId": p.id, "displayName": p.display_name}))
            .collect();
        let producers: Vec<Value> = state
            .peers
            .values()
            .filter(|p| p.id != peer_id)
            .flat_map(|p| {
                p.producers.iter().map(move |(id, e)| {
                    json!({"producerId": id, "peerId": p.id, "kind": e.producer.kind(),
                           "appData": e.app_data, "paused": e.paused})
                })
            })
            .collect();
        drop(state);
        tracing::info!(room = %room.id, peer = %peer_id, "peer joined");
        self.membership = Some((room, peer_id.clone()));
        let mut data = json!({"peerId": peer_id, "peers": peers, "producers": producers});
        if let Some(role) = grant.role {
            data["role"] = json!(role);
        }
        Ok(data)
    }

    /// Leaves the room, if in one: the peer's objects close and the others are told.
    pub async fn leave(&mut self) {
        if let Some((room, peer_id)) = self.membership.take() {
            let peer = self.rooms.leave(&room, &peer_id).await;
            drop(peer);
            tracing::info!(room = %room.id, peer = %peer_id, "peer left");
        }
    }

    async fn create_webrtc_transport(&mut self, c: CreateWebRtcTransport) -> Result<Value> {
        if self.membership.is_none() {
            // The original sidecar let a client create transports with just a roomId; such a client joins as an
            // anonymous peer.
            let Some(room_id) = c.room_id.clone() else {
                return Err(RequestError::new(
                    ErrorCode::NotJoined,
                    "join a room first (or give roomId)",
                ));
            };
            self.join(Join {
                room_id,
                peer_id: None,
                display_name: None,
                rtp_capabilities: None,
                token: None,
            })
            .await?;
        }
        let (room, peer_id) = self.member()?;
        let max = self.rooms.limits().max_transports_per_peer;
        if room
            .lock()
            .peers
            .get(&peer_id)
            .is_some_and(|p| p.transports.len() >= max)
        {
            return Err(limit("transports", max));
        }
        let transport = room.router_of(&peer_id)?.create_webrtc_transport().await?;
        let info = serde_json::to_value(transport.info()).unwrap_or(Value::Null);
        let mut state = room.lock();
        let peer = state
            .peers
            .get_mut(&peer_id)
            .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "no longer in the room"))?;
        peer.transports.insert(
            transport.id(),
            (PeerTransport::WebRtc(transport), c.direction),
        );
        Ok(info)
    }

    async fn connect_webrtc_transport(&mut self, c: ConnectWebRtcTransport) -> Result<Value> {
        let transport = self.own_transport(&c.transport_id)?;
        let PeerTransport::WebRtc(transport) = transport else {
            return Err(RequestError::new(
                ErrorCode::InvalidState,
                "not a WebRTC transport",
            ));
        };
        transport.connect(c.dtls_parameters).await?;
        Ok(json!({}))
    }

    async fn produce(&mut self, p: Produce) -> Result<Value> {
        let (room, peer_id) = self.member()?;
        let id: TransportId = parse_id("transport", &p.transport_id)?;
        let limits = self.rooms.limits();
        if let Some(app_data) = &p.app_data {
            let size = Value::Object(app_data.clone()).to_string().len();
            if size > limits.max_app_data_size {
                return Err(RequestError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "appData of {size} bytes exceeds the limit of {}",
                        limits.max_app_data_size
                    ),
                ));
            }
        }
        let transport = {
            let state = room.lock();
            let peer = state
                .peers
                .get(&peer_id)
                .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "no longer in the room"))?;
            let source = p
                .app_data
                .as_ref()
                .and_then(|a| a.get("source"))
                .and_then(Value::as_str);
            peer.grant.may_produce(source)?;
            let (transport, direction) = peer
                .transports
                .get(&id)
                .ok_or_else(|| not_found("transport", &p.transport_id))?;
            if peer.producers.len() >= limits.max_producers_per_peer {
                return Err(limit("producers", limits.max_producers_per_peer));
            }
            if *direction != Direction::Send {
                return Err(RequestError::new(
                    ErrorCode::InvalidState,
                    "produce needs a send transport",
                ));
            }
            transport.clone()
        };
        // A screen share says so in appData, as the demo page (`source: "screen"`) or mediasoup-demo (`share: true`).
        let screen_share = p.app_data.as_ref().is_some_and(|a| {
            a.get("source").and_then(Value::as_str) == Some("screen")
                || a.get("share").and_then(Value::as_bool) == Some(true)
        });
        let producer = transport
            .produce(ProducerOptions {
                kind: p.kind,
                rtp_parameters: p.rtp_parameters,
                paused: p.paused,
                screen_share,
            })
            .await?;
        let producer_id = producer.id();
        let app_data = p.app_data.unwrap_or_default();
        let mut state = room.lock();
        let peer = state
            .peers
            .get_mut(&peer_id)
            .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "no longer in the room"))?;
        peer.producers.insert(
            producer_id,
            ProducerEntry {
                producer,
                app_data: app_data.clone(),
                paused: p.paused,
                transport_id: id,
                pipes: HashMap::new(),
            },
        );
        state.broadcast(
            &peer_id,
            &protocol::notification(
                "newProducer",
                json!({"producerId": producer_id, "peerId": peer_id, "kind": p.kind,
                       "appData": app_data, "paused": p.paused}),
            ),
        );
        Ok(json!({"id": producer_id}))
    }

    async fn consume(&mut self, c: Consume) -> Result<Value> {
        let (room, peer_id) = self.member()?;
        let transport_id: TransportId = parse_id("transport", &c.transport_id)?;
        let producer_id: ProducerId = parse_id("producer", &c.producer_id)?;
        let (transport, rtp_capabilities, app_data, home, here) = {
            let state = room.lock();
            let peer = state
                .peers
                .get(&peer_id)
                .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "no longer in the room"))?;
            let (transport, direction) = peer
                .transports
                .get(&transport_id)
                .ok_or_else(|| not_found("transport", &c.transport_id))?;
            if *direction != Direction::Recv {
                return Err(RequestError::new(
                    ErrorCode::InvalidState,
                    "consume needs a recv transport",
                ));
            }
            let max = self.rooms.limits().max_consumers_per_peer;
            if peer.consumers.len() >= max {
                return Err(limit("consumers", max));
            }
            let caps: RtpCapabilities = c
                .rtp_capabilities
                .or_else(|| peer.rtp_capabilities.clone())
                .ok_or_else(|| {
                    RequestError::new(
                        ErrorCode::BadRequest,
                        "rtpCapabilities missing (give them here or at join)",
                    )
                })?;
            let (app_data, home): (Map<String, Value>, usize) = state
                .peers
                .values()
                .find_map(|p| p.producers.get(&producer_id).map(|e| (e, p.router)))
                .map(|(e, home)| (e.app_data.clone(), home))
                .ok_or_else(|| not_found("producer", &c.producer_id))?;
            (transport.clone(), caps, app_data, home, peer.router)
        };
        // A producer of a peer on another worker is piped here first.
        room.ensure_piped(producer_id, home, here).await?;
        let consumer = transport
            .consume(ConsumerOptions {
                producer_id,
                rtp_capabilities,
                paused: true,
            })
            .await?;
        let data = json!({
            "id": consumer.id(),
            "producerId": producer_id,
            "kind": consumer.kind(),
            "rtpParameters": consumer.rtp_parameters(),
            "type": consumer.consumer_type(),
            "producerPaused": consumer.producer_paused(),
            "appData": app_data,
        });
        let mut state = room.lock();
        let peer = state
            .peers
            .get_mut(&peer_id)
            .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "no longer in the room"))?;
        peer.consumers.insert(consumer.id(), consumer);
        Ok(data)
    }

    async fn consumer_paused(&mut self, consumer_id: &str, paused: bool) -> Result<Value> {
        let (room, peer_id) = self.member()?;
        let id: ConsumerId = parse_id("consumer", consumer_id)?;
        let consumer = room
            .lock()
            .peers
            .get(&peer_id)
            .and_then(|p| p.consumers.get(&id))
            .cloned()
            .ok_or_else(|| not_found("consumer", consumer_id))?;
        if paused {
            consumer.pause().await?;
        } else {
            consumer.resume().await?;
        }
        Ok(json!({}))
    }

    async fn producer_paused(&mut self, producer_id: &str, paused: bool) -> Result<Value> {
        let (room, peer_id) = self.member()?;
        let id: ProducerId = parse_id("producer", producer_id)?;
        let producer = room
            .lock()
            .peers
            .get(&peer_id)
            .and_then(|p| p.producers.get(&id))
            .map(|e| e.producer.clone())
            .ok_or_else(|| not_found("producer", producer_id))?;
        if paused {
            producer.pause().await?;
        } else {
            producer.resume().await?;
        }
        let mut state = room.lock();
        if let Some(entry) = state
            .peers
            .get_mut(&peer_id)
            .and_then(|p| p.producers.get_mut(&id))
        {
            entry.paused = paused;
        }
        let event = if paused {
            "producerPaused"
        } else {
            "producerResumed"
        };
        state.broadcast(
            &peer_id,
            &protocol::notification(event, json!({"producerId": id, "peerId": peer_id})),
        );
        Ok(json!({}))
    }

    /// The room and the owner of `producer_id`, once this peer may moderate. Any producer of the room qualifies.
    fn moderated(&self, producer_id: &str) -> Result<(Arc<Room>, String, ProducerId, String)> {
        let (room, peer_id) = self.member()?;
        let id: ProducerId = parse_id("producer", producer_id)?;
        let state = room.lock();
        state
            .peers
            .get(&peer_id)
            .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "no longer in the room"))?
            .grant
            .may_moderate()?;
        let owner = state
            .peers
            .values()
            .find(|p| p.producers.contains_key(&id))
            .map(|p| p.id.clone())
            .ok_or_else(|| not_found("producer", producer_id))?;
        drop(state);
        Ok((room, peer_id, id, owner))
    }

    /// `muteProducer`: pauses any producer of the room. Everyone else, its owner included, hears `producerPaused`;
    /// the owner may resume it.
    async fn mute_peer_producer(&mut self, producer_id: &str) -> Result<Value> {
        let (room, peer_id, id, owner) = self.moderated(producer_id)?;
        let producer = room
            .lock()
            .peers
            .get(&owner)
            .and_then(|p| p.producers.get(&id))
            .map(|e| e.producer.clone())
            .ok_or_else(|| not_found("producer", producer_id))?;
        producer.pause().await?;
        let mut state = room.lock();
        if let Some(entry) = state
            .peers
            .get_mut(&owner)
            .and_then(|p| p.producers.get_mut(&id))
        {
            entry.paused = true;
        }
        tracing::info!(room = %room.id, by = %peer_id, %owner, producer = %id, "producer muted");
        state.broadcast(
            &peer_id,
            &protocol::notification(
                "producerPaused",
                json!({"producerId": id, "peerId": owner, "byPeerId": peer_id}),
            ),
        );
        Ok(json!({}))
    }

    /// `closePeerProducer`: closes any producer of the room. Everyone else, its owner included, hears
    /// `producerClosed`; consumers of it close as usual.
    fn close_peer_producer(&mut self, producer_id: &str) -> Result<Value> {
        let (room, peer_id, id, owner) = self.moderated(producer_id)?;
        let mut state = room.lock();
        let entry = state
            .peers
            .get_mut(&owner)
            .and_then(|p| p.producers.remove(&id))
            .ok_or_else(|| not_found("producer", producer_id))?;
        entry.producer.close();
        tracing::info!(room = %room.id, by = %peer_id, %owner, producer = %id, "producer closed by a moderator");
        state.producer_closed(&owner, id, &peer_id);
        Ok(json!({}))
    }
}
