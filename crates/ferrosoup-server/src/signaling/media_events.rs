//! Media events the worker reports about one peer's objects (scores, layer changes), sent to that peer only.

use ferrosoup::RouterEvent;
use serde_json::json;

use super::protocol;
use super::room::RoomState;

/// Sends the event to the peer owning the consumer or producer it is about; events about objects that are gone are
/// dropped.
pub(super) fn notify_owner(state: &RoomState, event: RouterEvent) {
    let (owner, text) = match event {
        RouterEvent::ConsumerLayersChanged {
            consumer_id,
            layers,
        } => (
            state
                .peers
                .values()
                .find(|p| p.consumers.contains_key(&consumer_id)),
            protocol::notification(
                "consumerLayersChanged",
                json!({
                    "consumerId": consumer_id,
                    "spatialLayer": layers.map(|l| l.spatial_layer),
                    "temporalLayer": layers.map(|l| l.temporal_layer),
                }),
            ),
        ),
        RouterEvent::ConsumerScore { consumer_id, score } => (
            state
                .peers
                .values()
                .find(|p| p.consumers.contains_key(&consumer_id)),
            protocol::notification(
                "consumerScore",
                json!({"consumerId": consumer_id, "score": score}),
            ),
        ),
        RouterEvent::ProducerScore {
            producer_id,
            scores,
        } => (
            state
                .peers
                .values()
                .find(|p| p.producers.contains_key(&producer_id)),
            protocol::notification(
                "producerScore",
                json!({"producerId": producer_id, "score": scores}),
            ),
        ),
        RouterEvent::ProducerLayersNeeded {
            producer_id,
            spatial_layer,
        } => (
            state
                .peers
                .values()
                .find(|p| p.producers.contains_key(&producer_id)),
            protocol::notification(
                "producerLayersNeeded",
                json!({"producerId": producer_id, "spatialLayer": spatial_layer}),
            ),
        ),
        _ => return,
    };
    if let Some(peer) = owner {
        peer.notifier.send(text);
    }
}
