//! Plain transports (RTP to and from tools such as ffmpeg), and closing any transport. A plain transport counts
//! against the peer's transport limit, and producing on it needs the same permission as any produce.

use ferrosoup::{PlainTransportOptions, ProducerId, TransportId};
use serde_json::{json, Value};

use super::{limit, not_found, parse_id, Result, Session};
use crate::signaling::protocol::{
    ConnectPlainTransport, CreatePlainTransport, Direction, ErrorCode, RequestError,
};
use crate::signaling::transport::PeerTransport;

fn to_value<T: serde::Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| RequestError::new(ErrorCode::Internal, e.to_string()))
}

impl Session {
    pub(super) async fn create_plain_transport(
        &mut self,
        c: CreatePlainTransport,
    ) -> Result<Value> {
        let (room, peer_id) = self.member()?;
        // A plain transport sends wherever `connectPlainTransport` says, with no consent check as ICE makes: the
        // operator opts in, and with authentication only a teacher may.
        let listen_info = self.rooms.plain_listen().ok_or_else(|| {
            RequestError::new(
                ErrorCode::Forbidden,
                "plain transports are off (start the server with --plain-transports)",
            )
        })?;
        let max = self.rooms.limits().max_transports_per_peer;
        {
            let state = room.lock();
            let peer = state
                .peers
                .get(&peer_id)
                .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "no longer in the room"))?;
            if peer.grant.role.is_some() {
                peer.grant.may_moderate()?;
            }
            if peer.transports.len() >= max {
                return Err(limit("transports", max));
            }
            if c.direction == Direction::Send {
                // Refused up front: a send transport is only good for producing.
                peer.grant.may_produce(None)?;
            }
        }
        let transport = room
            .router_of(&peer_id)?
            .create_plain_transport(PlainTransportOptions {
                listen_info,
                rtcp_listen_info: None,
                rtcp_mux: c.rtcp_mux,
                comedia: c.comedia,
                enable_srtp: c.enable_srtp,
                srtp_crypto_suite: c.srtp_crypto_suite,
            })
            .await?;
        let info = to_value(transport.info())?;
        let mut state = room.lock();
        let peer = state
            .peers
            .get_mut(&peer_id)
            .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "no longer in the room"))?;
        peer.transports.insert(
            transport.id(),
            (PeerTransport::Plain(transport), c.direction),
        );
        Ok(info)
    }

    pub(super) async fn connect_plain_transport(
        &mut self,
        c: ConnectPlainTransport,
    ) -> Result<Value> {
        let transport = self.own_transport(&c.transport_id)?;
        let PeerTransport::Plain(transport) = transport else {
            return Err(RequestError::new(
                ErrorCode::InvalidState,
                "not a plain transport",
            ));
        };
        to_value(transport.connect(c.parameters).await?)
    }

    /// Closes one of the peer's transports with what it carries: the others hear `producerClosed` for each producer
    /// on it, as when the peer closes them one by one.
    pub(super) fn close_transport(&mut self, transport_id: &str) -> Result<Value> {
        let (room, peer_id) = self.member()?;
        let id: TransportId = parse_id("transport", transport_id)?;
        let mut state = room.lock();
        let peer = state
            .peers
            .get_mut(&peer_id)
            .ok_or_else(|| RequestError::new(ErrorCode::NotJoined, "no longer in the room"))?;
        let (transport, _) = peer
            .transports
            .remove(&id)
            .ok_or_else(|| not_found("transport", transport_id))?;
        peer.ice_disconnected.remove(&id);
        let closed: Vec<ProducerId> = peer
            .producers
            .iter()
            .filter(|(_, e)| e.transport_id == id)
            .map(|(producer_id, _)| *producer_id)
            .collect();
        for producer_id in &closed {
            peer.producers.remove(producer_id);
        }
        // Its consumers close with it in the worker; their handles go too, so they stop counting against the limit.
        peer.consumers.retain(|_, c| c.transport_id() != id);
        transport.close();
        for producer_id in closed {
            state.producer_closed(&peer_id, producer_id, &peer_id);
        }
        Ok(json!({}))
    }
}
