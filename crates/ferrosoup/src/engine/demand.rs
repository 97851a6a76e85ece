//! Which layers of each video producer anyone needs — so the sender can stop encoding the rest.
//!
//! mediasoup forwards what consumers need but lets senders encode and upload every layer. A classroom uploads over
//! one Wi-Fi access point: a student's 1.5 Mbit/s top layer nobody watches is airtime taken from everyone. So the
//! engine tells the application, per producer, the highest spatial layer any active consumer prefers (its
//! `setConsumerPreferredLayers`, by default the top), or that none is needed at all (no active consumer);
//! the application can then switch encodings off at the source (mediasoup-client: `producer.setMaxSpatialLayer()`,
//! or `active: false` on the sender's encodings).
//!
//! More is asked for at once (a new viewer must not wait); less only after it has held for `DOWNGRADE_HOLD`, so a
//! viewer toggling a tile does not make the sender restart encoders back and forth. A receiver's short link does not
//! count: it lowers what is forwarded to that receiver, never what the sender encodes (a layer switched off at the
//! sender could not be measured again, so bandwidth could never bring it back).

use std::time::{Duration, Instant};

use super::Engine;
use crate::router::RouterEvent;
use crate::rtp_parameters::MediaKind;

const DOWNGRADE_HOLD: Duration = Duration::from_secs(3);

/// What a producer's consumers need: `None` nothing, else up to this spatial layer.
pub(crate) type Needed = Option<u8>;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Demand {
    /// What the application was last told; at first, everything (senders start with every layer on), so the first
    /// report is a reduction and waits out the hold like any other.
    reported: Needed,
    /// A smaller need, and since when it has held.
    pending_lower: Option<(Needed, Instant)>,
}

impl Default for Demand {
    fn default() -> Self {
        Demand {
            reported: Some(u8::MAX),
            pending_lower: None,
        }
    }
}

pub(super) fn update(engine: &mut Engine, now: Instant) {
    for (key, p) in engine.producers.iter_mut() {
        if p.kind != MediaKind::Video {
            continue;
        }
        let mut needed: Needed = None;
        for c in p.consumers.iter().filter_map(|k| engine.consumers.get(*k)) {
            if let Some(s) = c.needed_spatial.filter(|_| c.is_active()) {
                needed = Some(needed.map_or(s, |n: u8| n.max(s)));
            }
        }
        // Consumers in other workers count as well (`None` < `Some`, so `max` keeps the larger need).
        for sink in &p.pipe_sinks {
            needed = needed.max(sink.needed);
        }
        let demand = &mut p.demand;
        let report = match demand.reported {
            reported if reported == needed => {
                demand.pending_lower = None;
                false
            }
            reported if needed > reported => true,
            _ => match demand.pending_lower {
                Some((pending, since)) if pending == needed => {
                    now.saturating_duration_since(since) >= DOWNGRADE_HOLD
                }
                _ => {
                    demand.pending_lower = Some((needed, now));
                    false
                }
            },
        };
        if !report {
            continue;
        }
        demand.reported = needed;
        demand.pending_lower = None;
        if let Some(source) = &p.pipe_source {
            // The sending application hears about its producer from the source's worker, which adds this need.
            if !super::pipe::send_demand(source, key, needed) {
                demand.reported = Some(u8::MAX);
            }
            continue;
        }
        if let Some(router) = engine.routers.get(&p.router) {
            router.emit(RouterEvent::ProducerLayersNeeded {
                producer_id: p.id,
                spatial_layer: needed,
            });
        }
    }
}
