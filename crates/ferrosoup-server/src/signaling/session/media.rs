//! Requests about one peer's media objects beyond their life cycle: layer preferences, priorities, key frames and
//! stats. Like every request, they reach only the peer's own objects.

use ferrosoup::{Consumer, ConsumerId, ConsumerLayers, ProducerId, TransportId};
use serde_json::{json, Value};

use super::{not_found, parse_id, Result, Session};
use crate::signaling::protocol::{
    ConsumerRef, ProducerRef, RequestError, SetConsumerPreferredLayers, SetConsumerPriority,
    TransportRef,
};

fn to_value<T: serde::Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| {
        RequestError::new(
            crate::signaling::protocol::ErrorCode::Internal,
            e.to_string(),
        )
    })
}

impl Session {
    /// A clone of this peer's consumer handle (taken out of the room lock before awaiting).
    fn own_consumer(&self, consumer_id: &str) -> Result<Consumer> {
        let (room, peer_id) = self.member()?;
        let id: ConsumerId = parse_id("consumer", consumer_id)?;
        let state = room.lock();
        state
            .peers
            .get(&peer_id)
            .and_then(|p| p.consumers.get(&id).cloned())
            .ok_or_else(|| not_found("consumer", consumer_id))
    }

    pub(super) async fn set_consumer_preferred_layers(
        &self,
        r: SetConsumerPreferredLayers,
    ) -> Result<Value> {
        let consumer = self.own_consumer(&r.consumer_id)?;
        let layers = ConsumerLayers::new(r.spatial_layer, r.temporal_layer.unwrap_or(u8::MAX));
        consumer.set_preferred_layers(layers).await?;
        Ok(json!({}))
    }

    pub(super) async fn set_consumer_priority(&self, r: SetConsumerPriority) -> Result<Value> {
        if r.priority == 0 {
            return Err(RequestError::new(
                crate::signaling::protocol::ErrorCode::BadRequest,
                "priority must be 1 to 255",
            ));
        }
        let consumer = self.own_consumer(&r.consumer_id)?;
        consumer.set_priority(r.priority).await?;
        Ok(json!({}))
    }

    pub(super) async fn request_consumer_key_frame(&self, r: ConsumerRef) -> Result<Value> {
        let consumer = self.own_consumer(&r.consumer_id)?;
        consumer.request_key_frame().await?;
        Ok(json!({}))
    }

    pub(super) async fn consumer_stats(&self, r: ConsumerRef) -> Result<Value> {
        let consumer = self.own_consumer(&r.consumer_id)?;
        to_value(consumer.get_stats().await?)
    }

    pub(super) async fn producer_stats(&self, r: ProducerRef) -> Result<Value> {
        let (room, peer_id) = self.member()?;
        let id: ProducerId = parse_id("producer", &r.producer_id)?;
        let producer = room
            .lock()
            .peers
            .get(&peer_id)
            .and_then(|p| p.producers.get(&id).map(|e| e.producer.clone()))
            .ok_or_else(|| not_found("producer", &r.producer_id))?;
        to_value(producer.get_stats().await?)
    }

    pub(super) async fn transport_stats(&self, r: TransportRef) -> Result<Value> {
        let (room, peer_id) = self.member()?;
        let id: TransportId = parse_id("transport", &r.transport_id)?;
        let transport = room
            .lock()
            .peers
            .get(&peer_id)
            .and_then(|p| p.transports.get(&id).map(|(t, _)| t.clone()))
            .ok_or_else(|| not_found("transport", &r.transport_id))?;
        to_value([transport.get_stats().await?])
    }
}
