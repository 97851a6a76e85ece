//! Media events the worker reports about one peer's objects (scores, layer changes, layer demand, a plain transport's
//! learnt tuple), sent to that peer only.

use ferrosoup::{ConsumerId, ProducerId, RouterEvent, TransportId};
use serde_json::json;

use super::peer::Peer;
use super::protocol;
use super::room::RoomState;

/// Whose object an event is about.
enum Owner {
    Consumer(ConsumerId),
    Producer(ProducerId),
    Transport(TransportId),
}

impl Owner {
    fn of<'a>(&self, state: &'a RoomState) -> Option<&'a Peer> {
        state.peers.values().find(|p| match self {
            Owner::Consumer(id) => p.consumers.contains_key(id),
            Owner::Producer(id) => p.producers.contains_key(id),
            Owner::Transport(id) => p.transports.contains_key(id),
        })
    }
}

/// Sends the event to the peer owning the consumer or producer it is about; events about objects that are gone are
/// dropped.
pub(super) fn notify_owner(state: &RoomState, event: RouterEvent) {
    let (owner, event, data) = match event {
        RouterEvent::ConsumerLayersChanged {
            consumer_id,
            layers,
        } => (
            Owner::Consumer(consumer_id),
            "consumerLayersChanged",
            json!({
                "consumerId": consumer_id,
                "spatialLayer": layers.map(|l| l.spatial_layer),
                "temporalLayer": layers.map(|l| l.temporal_layer),
            }),
        ),
        RouterEvent::ConsumerScore { consumer_id, score } => (
            Owner::Consumer(consumer_id),
            "consumerScore",
            json!({"consumerId": consumer_id, "score": score}),
        ),
        RouterEvent::ProducerScore {
            producer_id,
            scores,
        } => (
            Owner::Producer(producer_id),
            "producerScore",
            json!({"producerId": producer_id, "score": scores}),
        ),
        RouterEvent::ProducerLayersNeeded {
            producer_id,
            spatial_layer,
        } => (
            Owner::Producer(producer_id),
            "producerLayersNeeded",
            json!({"producerId": producer_id, "spatialLayer": spatial_layer}),
        ),
        RouterEvent::PlainTransportTuple {
            transport_id,
            tuple,
            rtcp_tuple,
        } => (
            Owner::Transport(transport_id),
            "plainTransportTuple",
            json!({"transportId": transport_id, "tuple": tuple, "rtcpTuple": rtcp_tuple}),
        ),
        _ => return,
    };
    if let Some(peer) = owner.of(state) {
        peer.notifier.send(protocol::notification(event, data));
    }
}
