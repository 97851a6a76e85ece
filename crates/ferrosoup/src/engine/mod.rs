//! The sans-IO core of a worker: every router, transport, producer and consumer, and the packet path between them.
//!
//! The engine never touches a socket or a clock: the driver (`worker::driver`) feeds it commands, datagrams and the
//! current time, and sends the datagrams it queues. That keeps the whole media path testable without a network and free
//! of locks: one task owns all of it, as a mediasoup worker does.
//!
//! Objects live in slot-map arenas and refer to each other by key, so the per-packet path indexes arrays instead of
//! hashing ids; the id → key maps are used only by commands.

mod allocation;
mod bwe;
mod cipher;
mod congestion;
mod consumer;
mod control;
mod counters;
mod demand;
mod dtls;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod harness;
mod ice;
mod layers;
mod meter;
mod outbox;
mod packet;
mod pipe;
mod plain;
mod producer;
mod retransmit;
mod rtcp;
mod score;
mod stats;
mod timers;
mod transport;

pub use counters::DropCounters;
pub(crate) use outbox::Datagram;
pub(crate) use pipe::{PipeEnd, PipeInbox, PipeMessage, PipeSource, PIPE_QUEUE};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use slotmap::SlotMap;
use tokio::sync::mpsc;

use crate::ids::{ConsumerId, ProducerId, RouterId, TransportId};
use crate::router::RouterEvent;
use crate::rtp_parameters::RtpCapabilities;
use crate::worker::{Command, LatencyHistogram, WorkerDump};

pub(crate) use consumer::ConsumerKey;
use consumer::ConsumerState;
use outbox::Outbox;
pub(crate) use producer::ProducerKey;
use producer::ProducerState;
use transport::{TransportKey, TransportState, Tuple};

/// How often receiver and sender reports go out.
const REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// How often transport-cc feedback goes out while packets arrive (what browsers use too).
const FEEDBACK_INTERVAL: Duration = Duration::from_millis(100);
/// How often the layers producers' consumers need are re-checked (`demand`).
const DEMAND_INTERVAL: Duration = Duration::from_millis(250);
/// Follow-up interval while packets are missing (NACK retries) or feedback is pending.
const NACK_INTERVAL: Duration = Duration::from_millis(20);

/// One local address the worker answers on, and how it is advertised.
#[derive(Debug, Clone)]
pub(crate) struct LocalCandidate {
    /// The bound socket address (what ICE sees as the destination of checks).
    pub local: SocketAddr,
    /// What clients are told to send to: the announced address, or the bound IP.
    pub address: String,
    pub priority: u32,
}

struct RouterState {
    capabilities: RtpCapabilities,
    events: Option<mpsc::UnboundedSender<RouterEvent>>,
    transports: Vec<TransportKey>,
    producers: HashMap<ProducerId, ProducerKey>,
}

impl RouterState {
    fn emit(&self, event: RouterEvent) {
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }
}

pub(crate) struct Engine {
    candidates: Vec<LocalCandidate>,
    routers: HashMap<RouterId, RouterState>,
    transports: SlotMap<TransportKey, TransportState>,
    producers: SlotMap<ProducerKey, ProducerState>,
    consumers: SlotMap<ConsumerKey, ConsumerState>,
    transport_ids: HashMap<TransportId, TransportKey>,
    producer_ids: HashMap<ProducerId, ProducerKey>,
    consumer_ids: HashMap<ConsumerId, ConsumerKey>,
    /// Our ICE ufrag → transport: how the first STUN request of a client finds its transport.
    by_ufrag: HashMap<String, TransportKey>,
    /// (socket, client address) → transport: how every later packet finds it.
    by_remote: HashMap<Tuple, TransportKey>,
    outbox: Outbox,
    next_report: Option<Instant>,
    /// When transport-cc feedback is next due; `None` while nothing arrived to report.
    next_feedback: Option<Instant>,
    /// Wall clock for NTP timestamps in reports, anchored once so reports stay monotonic.
    ntp: crate::rtp::NtpClock,
    /// When the engine started (a base for generated RTP timestamps).
    epoch: Instant,
    /// When the producers' layer demand is next checked.
    next_demand: Option<Instant>,
    /// Datagrams dropped, by reason.
    dropped: DropCounters,
    /// When the datagram being handled arrived (wall-clock ns, 0 if unknown; set by the driver): piped copies carry
    /// it to the other worker, whose latency figures then start at the first arrival.
    arrival: u64,
    /// Arrival-to-send times the driver measured (it owns the clock; the engine keeps the figures for `dump`).
    latency: LatencyHistogram,
    /// The plain transports' socket slots, numbered after the shared sockets (`plain.rs`).
    plain_sockets: Vec<plain::PlainSlot>,
    /// Slots the driver puts newly bound plain sockets into, in the order it adopts them.
    adopted_sockets: std::collections::VecDeque<usize>,
    /// Transports whose timers are due, gathered by each `handle_timeout` (kept to reuse its allocation).
    due: Vec<TransportKey>,
    /// The transports' own timers (ICE, DTLS, estimator, probes, allocation), earliest first (`timers.rs`). Forwarding
    /// RTP moves none of them; STUN, DTLS and RTCP input re-arm their transport's, commands every transport's.
    timers: timers::TimerQueue,
}

impl Engine {
    pub fn new(candidates: Vec<LocalCandidate>) -> Self {
        Engine {
            candidates,
            routers: HashMap::new(),
            transports: SlotMap::with_key(),
            producers: SlotMap::with_key(),
            consumers: SlotMap::with_key(),
            transport_ids: HashMap::new(),
            producer_ids: HashMap::new(),
            consumer_ids: HashMap::new(),
            by_ufrag: HashMap::new(),
            by_remote: HashMap::new(),
            outbox: Outbox::default(),
            next_report: None,
            next_feedback: None,
            ntp: crate::rtp::NtpClock::new(),
            epoch: Instant::now(),
            next_demand: None,
            dropped: DropCounters::default(),
            arrival: 0,
            latency: LatencyHistogram::default(),
            plain_sockets: Vec::new(),
            adopted_sockets: std::collections::VecDeque::new(),
            due: Vec::new(),
            timers: timers::TimerQueue::default(),
        }
    }

    pub fn handle_command(&mut self, now: Instant, command: Command) {
        control::handle(self, now, command);
        self.schedule_all(now);
        #[cfg(any(test, debug_assertions))]
        self.check_timers_armed(now);
    }

    pub fn poll_transmit(&mut self) -> Option<Datagram> {
        self.outbox.pop()
    }

    pub fn recycle(&mut self, datagram: Datagram) {
        self.outbox.recycle(datagram.data);
    }

    /// Datagrams queued and not yet taken by [`Engine::poll_transmit`]: the driver counts what each input caused.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    /// When the datagram about to be handled arrived (wall-clock ns).
    pub fn set_arrival(&mut self, nanos: u64) {
        self.arrival = nanos;
    }

    /// Where the driver records how long it held each datagram.
    pub fn latency_mut(&mut self) -> &mut LatencyHistogram {
        &mut self.latency
    }

    /// The earliest instant at which [`Engine::handle_timeout`] has work to do.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let mut earliest = match (self.next_report, self.next_feedback) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let transports = self.next_transport_timer();
        if let Some(at) = transports {
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
        if !self.producers.is_empty() {
            let at = self.next_demand.unwrap_or_else(Instant::now);
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
        earliest
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        self.take_due_transports(now, &mut due);
        for &key in &due {
            let Some(t) = self.transports.get_mut(key) else {
                continue;
            };
            if timers::ice_deadline(t, now) <= now || t.dtls.timer_due(now) {
                t.ice.handle_timeout(now);
                let selected = t.selected;
                let outbox = &mut self.outbox;
                let event = t.dtls.handle_timeout(now, &mut |p| {
                    if let Some((socket, to)) = selected {
                        outbox.push_copy(socket, to, p);
                    }
                });
                self.after_ice(key);
                if let Some(event) = event {
                    self.on_dtls_event(now, key, event);
                }
            }
            congestion::handle_timeout(self, now, key);
        }
        if self.next_feedback.is_some_and(|t| t <= now) {
            self.next_feedback =
                rtcp::send_transport_feedback(self, now).then_some(now + NACK_INTERVAL);
        }
        if self.next_report.is_some_and(|t| t <= now) {
            self.request_pending_key_frames(now, None);
            rtcp::send_reports(self, now);
            score::update(self, now);
            self.next_report = Some(now + REPORT_INTERVAL);
        }
        if self.next_demand.is_none_or(|t| t <= now) {
            demand::update(self, now);
            self.next_demand = Some(now + DEMAND_INTERVAL);
        }
        for &key in &due {
            self.schedule(now, key);
        }
        self.due = due;
        #[cfg(any(test, debug_assertions))]
        self.check_timers_armed(now);
    }

    pub fn dump(&self) -> WorkerDump {
        WorkerDump {
            routers: self.routers.len(),
            transports: self.transports.len(),
            producers: self.producers.len(),
            consumers: self.consumers.len(),
            client_addresses: self.by_remote.len(),
            dropped: self.dropped,
            latency: self.latency.clone(),
        }
    }

    /// Closes everything (the worker is stopping).
    pub fn close(&mut self, now: Instant) {
        let ids: Vec<RouterId> = self.routers.keys().copied().collect();
        for id in ids {
            control::close_router(self, now, id);
        }
    }

    /// Benchmarks only: gives a transport the SRTP contexts and the client address a DTLS handshake and ICE would have,
    /// so the packet path can be driven without a network peer.
    #[cfg(feature = "bench-internals")]
    pub(crate) fn bench_connect(
        &mut self,
        id: TransportId,
        remote: SocketAddr,
        srtp_in: crate::srtp::SrtpContext,
        srtp_out: crate::srtp::SrtpContext,
    ) -> bool {
        let Some(&key) = self.transport_ids.get(&id) else {
            return false;
        };
        let Some(t) = self.transports.get_mut(key) else {
            return false;
        };
        t.srtp_in = Some(srtp_in.into());
        t.srtp_out = Some(srtp_out.into());
        t.selected = Some((0, remote));
        t.remotes.push((0, remote));
        self.by_remote.insert((0, remote), key);
        true
    }

    /// Sends what the ICE agent of `key` queued and applies what it concluded.
    fn after_ice(&mut self, key: TransportKey) {
        use ice::IceOutput;
        let Some(t) = self.transports.get_mut(key) else {
            return;
        };
        while let Some((local, remote, bytes)) = t.ice.poll_transmit() {
            if let Some(socket) = self.candidates.iter().position(|c| c.local == local) {
                self.outbox.push_copy(socket, remote, &bytes);
            }
        }
        while let Some(out) = t.ice.poll_output() {
            match out {
                IceOutput::Nominated { local, remote } => {
                    if let Some(socket) = self.candidates.iter().position(|c| c.local == local) {
                        t.selected = Some((socket, remote));
                    }
                }
                IceOutput::State(state) => {
                    if state == crate::transport::IceState::Disconnected {
                        // No consent for 30 s: stop sending into the void. The client's next valid check selects
                        // its path again.
                        t.selected = None;
                    }
                    if t.ice_state != state {
                        t.ice_state = state;
                        if let Some(router) = self.routers.get(&t.router) {
                            router.emit(RouterEvent::TransportIceState {
                                transport_id: t.id,
                                state,
                            });
                        }
                    }
                }
            }
        }
    }

    fn on_dtls_event(&mut self, now: Instant, key: TransportKey, event: dtls::DtlsEvent) {
        let Some(t) = self.transports.get_mut(key) else {
            return;
        };
        let state = match event {
            dtls::DtlsEvent::Connected {
                keying_material,
                profile,
                we_are_client,
            } => {
                let role = if we_are_client {
                    crate::srtp::DtlsRole::Client
                } else {
                    crate::srtp::DtlsRole::Server
                };
                match crate::srtp::SrtpSession::from_dtls(profile, &keying_material, role) {
                    Ok(session) => {
                        t.srtp_in = Some(session.inbound.into());
                        t.srtp_out = Some(session.outbound.into());
                        if self.next_report.is_none() {
                            self.next_report = Some(now + REPORT_INTERVAL);
                        }
                        crate::transport::DtlsState::Connected
                    }
                    Err(e) => {
                        tracing::warn!("SRTP setup failed: {e}");
                        crate::transport::DtlsState::Failed
                    }
                }
            }
            dtls::DtlsEvent::Ended(state) => {
                t.srtp_in = None;
                t.srtp_out = None;
                state
            }
        };
        if let Some(router) = self.routers.get(&t.router) {
            router.emit(RouterEvent::TransportDtlsState {
                transport_id: t.id,
                state,
            });
        }
        if state == crate::transport::DtlsState::Connected {
            // Consumers resumed before the client finished DTLS missed the key frame asked for at resume.
            self.request_pending_key_frames(now, Some(key));
        }
    }

    /// Starts the DTLS handshake with the parameters `connect` gave, if any are waiting.
    fn start_pending_dtls(&mut self, now: Instant, key: TransportKey) {
        let Some(t) = self.transports.get_mut(key) else {
            return;
        };
        let Some(remote) = t.pending_dtls.take() else {
            return;
        };
        let identity = match crate::certificate::identity() {
            Ok(identity) => identity,
            Err(e) => {
                tracing::error!("no DTLS identity: {e}");
                return;
            }
        };
        let selected = t.selected;
        let outbox = &mut self.outbox;
        let event = t.dtls.connect(remote, &identity, now, &mut |p| {
            if let Some((socket, to)) = selected {
                outbox.push_copy(socket, to, p);
            }
        });
        if let Some(event) = event {
            self.on_dtls_event(now, key, event);
        }
    }

    /// Asks for a key frame for every consumer (of one transport, or all) that is active but still waiting for one
    /// (to start, or to switch to another simulcast stream). The per-stream throttle keeps this to one request a
    /// second per producer stream.
    fn request_pending_key_frames(&mut self, now: Instant, transport: Option<TransportKey>) {
        let mut wanted: Vec<(ProducerKey, usize)> = Vec::new();
        for c in self.consumers.values() {
            if c.wants_key_frame()
                && c.is_active()
                // A consumer whose client never connects must not make its producer send key frames forever.
                && self
                    .transports
                    .get(c.transport)
                    .is_some_and(|t| t.selected.is_some() && t.srtp_out.is_some())
                && transport.is_none_or(|t| t == c.transport)
            {
                let want = (c.producer, c.wanted_stream());
                if !wanted.contains(&want) {
                    wanted.push(want);
                }
            }
        }
        for (producer, stream) in wanted {
            rtcp::request_key_frame(self, now, producer, Some(stream));
        }
    }
}
