//! Producers piped from one worker to another (mediasoup's `pipeToRouter`), in memory.
//!
//! A room whose peers are spread over several workers (one per core) needs every producer in every router its
//! consumers live in. mediasoup links the routers with a pair of PipeTransports over loopback UDP; ferrosoup's
//! workers share a process, so a pipe is a bounded in-memory queue between the two engines instead: no sockets, no
//! kernel round trip, and no encryption. Both ends stay sans-IO: an engine only pushes messages into the other
//! worker's queue, and its driver feeds what arrives to [`Engine::handle_pipe`].
//!
//! - The **source** producer (where the sender's transport is) copies each packet, in the router's form and after
//!   loss repair, to each of its pipe sinks. Pause, resume and close follow.
//! - The **pipe producer** in the target router has the same id and the source's consumable RTP parameters, and no
//!   transport. Its consumers work as any others (layer selection, NACKs answered from its own ring); the key frames
//!   they need and the layers they want go back to the source.
//!
//! A full queue drops the packet, as a full socket buffer would (the consumers' NACKs repair it from the target
//! producer's ring only if it got there, so a drop shows as loss to them). Packet buffers travel through a
//! process-wide pool so that the steady state allocates nothing.

use std::sync::LazyLock;
use std::time::Instant;

use crossbeam_queue::ArrayQueue;
use tokio::sync::mpsc;

use super::demand::Needed;
use super::producer::ProducerState;
use super::transport::TransportKey;
use super::{Engine, ProducerKey};
use crate::ids::{ProducerId, RouterId};
use crate::ortc;
use crate::producer::ProducerInfo;
use crate::rtp_parameters::{MediaKind, RtpParameters};
use crate::Error;
use slotmap::Key;

/// Messages queued per worker before pipe traffic into it is dropped (a few hundred ms of a busy worker's input).
pub(crate) const PIPE_QUEUE: usize = 16 * 1024;
/// Packet buffers kept for reuse across all pipes of the process.
const POOL_LIMIT: usize = 8 * 1024;
/// Enough for a full-MTU RTP packet.
const BUFFER_CAPACITY: usize = 1600;

static POOL: LazyLock<ArrayQueue<Vec<u8>>> = LazyLock::new(|| ArrayQueue::new(POOL_LIMIT));

/// What one worker tells another about a piped producer. `producer` is always the receiver's own key.
pub(crate) enum PipeMessage {
    /// A packet of the source producer, in the router's form.
    Rtp {
        producer: ProducerKey,
        data: Vec<u8>,
        /// When the packet reached the source worker (wall-clock ns; 0 if unknown), for the target's latency figures.
        arrival: u64,
    },
    /// The source producer was paused or resumed.
    Paused { producer: ProducerKey, paused: bool },
    /// The source producer closed: so does the pipe producer.
    SourceClosed { producer: ProducerKey },
    /// The pipe producer's consumers need a key frame (of one stream, or all).
    KeyFrame {
        producer: ProducerKey,
        stream: Option<usize>,
    },
    /// The highest spatial layer the pipe producer's consumers need.
    Demand {
        producer: ProducerKey,
        sink: ProducerKey,
        needed: Needed,
    },
    /// The pipe producer closed: the source stops sending to it.
    SinkClosed {
        producer: ProducerKey,
        sink: ProducerKey,
    },
}

impl PipeMessage {
    /// When the packet a message carries reached the source worker (wall-clock ns); 0 for other messages.
    pub fn arrival(&self) -> u64 {
        match self {
            PipeMessage::Rtp { arrival, .. } => *arrival,
            _ => 0,
        }
    }
}

/// The sending side of a worker's pipe queue.
#[derive(Clone)]
pub(crate) struct PipeInbox(pub(crate) mpsc::Sender<PipeMessage>);

impl PipeInbox {
    /// Queues a message without waiting; false when the worker is gone or its queue is full.
    fn send(&self, message: PipeMessage) -> bool {
        match self.0.try_send(message) {
            Ok(()) => true,
            Err(e) => {
                if let PipeMessage::Rtp { data, .. } = e.into_inner() {
                    recycle(data);
                }
                false
            }
        }
    }

    pub fn same_worker(&self, other: &PipeInbox) -> bool {
        self.0.same_channel(&other.0)
    }
}

/// The other end of a pipe: a producer in another worker.
#[derive(Clone)]
pub(crate) struct PipeEnd {
    pub inbox: PipeInbox,
    pub producer: ProducerKey,
}

impl PipeEnd {
    fn send(&self, make: impl FnOnce(ProducerKey) -> PipeMessage) -> bool {
        self.inbox.send(make(self.producer))
    }
}

/// A pipe producer fed by a source producer, and what its consumers need.
pub(crate) struct PipeSink {
    pub end: PipeEnd,
    pub needed: Needed,
}

/// Hands a packet (router form) to each pipe producer fed by the source; returns how many queues were full.
pub(super) fn send_rtp(sinks: &[PipeSink], bytes: &[u8], arrival: u64) -> usize {
    let mut dropped = 0;
    for sink in sinks {
        let mut data = POOL
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BUFFER_CAPACITY));
        data.extend_from_slice(bytes);
        if !sink.end.send(|producer| PipeMessage::Rtp {
            producer,
            data,
            arrival,
        }) {
            dropped += 1;
        }
    }
    dropped
}

pub(super) fn send_paused(sinks: &[PipeSink], paused: bool) {
    for sink in sinks {
        sink.end
            .send(|producer| PipeMessage::Paused { producer, paused });
    }
}

pub(super) fn send_source_closed(sinks: &[PipeSink]) {
    for sink in sinks {
        sink.end
            .send(|producer| PipeMessage::SourceClosed { producer });
    }
}

pub(super) fn send_key_frame_request(source: &PipeEnd, stream: Option<usize>) -> bool {
    source.send(|producer| PipeMessage::KeyFrame { producer, stream })
}

pub(super) fn send_demand(source: &PipeEnd, sink: ProducerKey, needed: Needed) -> bool {
    source.send(|producer| PipeMessage::Demand {
        producer,
        sink,
        needed,
    })
}

pub(super) fn send_sink_closed(source: &PipeEnd, sink: ProducerKey) {
    source.send(|producer| PipeMessage::SinkClosed { producer, sink });
}

fn recycle(mut data: Vec<u8>) {
    if data.capacity() >= BUFFER_CAPACITY {
        data.clear();
        let _ = POOL.push(data);
    }
}

impl Engine {
    /// Handles a message from another worker's end of a pipe. Messages for producers that have closed meanwhile are
    /// dropped (keys are versioned, so a stale one never reaches a newer producer).
    pub fn handle_pipe(&mut self, now: Instant, message: PipeMessage) {
        let control = !matches!(message, PipeMessage::Rtp { .. });
        match message {
            PipeMessage::Rtp {
                producer, mut data, ..
            } => {
                if let Some(stream) = self.producers.get(producer).and_then(|p| {
                    let ssrc = crate::rtp::RtpPacket::parse(&data).ok()?.ssrc();
                    p.streams.iter().position(|s| s.ssrc == Some(ssrc))
                }) {
                    self.forward_rtp(now, producer, stream, &mut data);
                }
                recycle(data);
            }
            PipeMessage::Paused { producer, paused } => {
                if self.producers.contains_key(producer) {
                    super::control::set_producer_paused_key(self, now, producer, paused);
                }
            }
            PipeMessage::SourceClosed { producer } => {
                super::control::close_producer(self, producer);
            }
            PipeMessage::KeyFrame { producer, stream } => {
                super::rtcp::request_key_frame(self, now, producer, stream);
            }
            PipeMessage::Demand {
                producer,
                sink,
                needed,
            } => {
                if let Some(s) = self
                    .producers
                    .get_mut(producer)
                    .and_then(|p| p.pipe_sinks.iter_mut().find(|s| s.end.producer == sink))
                {
                    s.needed = needed;
                }
            }
            PipeMessage::SinkClosed { producer, sink } => {
                if let Some(p) = self.producers.get_mut(producer) {
                    p.pipe_sinks.retain(|s| s.end.producer != sink);
                }
            }
        }
        // Control messages reach producers and so their consumers' transports, anywhere in the worker.
        if control {
            self.schedule_all(now);
        }
        #[cfg(any(test, debug_assertions))]
        self.check_timers_armed(now);
    }
}

/// What the target worker needs to mirror a source producer.
pub(crate) struct PipeSource {
    pub key: ProducerKey,
    pub id: ProducerId,
    pub kind: MediaKind,
    /// The source's consumable parameters: the router form its packets arrive in.
    pub rtp_parameters: RtpParameters,
    pub paused: bool,
    pub screen_share: bool,
}

/// Source side, first step: describes a producer of `router_id` to pipe.
pub(super) fn describe_source(
    engine: &Engine,
    router_id: RouterId,
    id: ProducerId,
) -> Result<PipeSource, Error> {
    let key = *engine
        .producer_ids
        .get(&id)
        .ok_or_else(|| Error::not_found("producer", id))?;
    let p = &engine.producers[key];
    if p.router != router_id {
        return Err(Error::not_found("producer", id));
    }
    Ok(PipeSource {
        key,
        id,
        kind: p.kind,
        rtp_parameters: p.consumable.clone(),
        paused: p.paused,
        screen_share: p.screen_share,
    })
}

/// Target side: a producer with the source's id in `router_id`, fed by the pipe.
pub(super) fn create_pipe_producer(
    engine: &mut Engine,
    router_id: RouterId,
    source: PipeSource,
    end: PipeEnd,
) -> Result<(ProducerInfo, ProducerKey), Error> {
    let router = engine
        .routers
        .get(&router_id)
        .ok_or_else(|| Error::not_found("router", router_id))?;
    if engine.producer_ids.contains_key(&source.id) {
        return Err(Error::InvalidState(format!(
            "producer {} is already in this worker",
            source.id
        )));
    }
    let mut rtp_parameters = source.rtp_parameters;
    ortc::validate_rtp_parameters(&mut rtp_parameters)?;
    let mapping = ortc::get_producer_rtp_parameters_mapping(&rtp_parameters, &router.capabilities)?;
    let consumable = ortc::get_consumable_rtp_parameters(
        source.kind,
        &rtp_parameters,
        &router.capabilities,
        &mapping,
    )?;
    let mut state = ProducerState::new(
        source.id,
        router_id,
        TransportKey::null(),
        source.kind,
        rtp_parameters,
        consumable,
        &mapping,
        &router.capabilities,
        source.paused,
    )?;
    state.screen_share = source.screen_share;
    // Nothing is lost in memory: repairs would have nobody to ask.
    state.nack = false;
    state.pipe_source = Some(end);
    let info = state.info();
    let key = engine.producers.insert(state);
    engine.producer_ids.insert(source.id, key);
    if let Some(router) = engine.routers.get_mut(&router_id) {
        router.producers.insert(source.id, key);
    }
    Ok((info, key))
}

/// Source side, last step: starts feeding the pipe producer `sink`.
pub(super) fn add_sink(
    engine: &mut Engine,
    now: Instant,
    id: ProducerId,
    sink: PipeEnd,
) -> Result<(), Error> {
    let key = *engine
        .producer_ids
        .get(&id)
        .ok_or_else(|| Error::not_found("producer", id))?;
    let p = &mut engine.producers[key];
    // The pause state may have changed since the target was made.
    sink.send(|producer| PipeMessage::Paused {
        producer,
        paused: p.paused,
    });
    p.pipe_sinks.push(PipeSink {
        end: sink,
        needed: Some(u8::MAX),
    });
    if p.kind == MediaKind::Video && !p.paused {
        super::rtcp::request_key_frame(engine, now, key, None);
    }
    Ok(())
}
