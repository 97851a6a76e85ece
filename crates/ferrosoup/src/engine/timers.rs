//! The transports' own timers (ICE, DTLS, estimator, probes, layer allocation) in one queue, earliest first.
//!
//! Each receiving transport's estimator wants the time every 25 ms, and its client's transport-cc feedback (20 a
//! second from a browser) can move its probes and allocation. Finding the earliest deadline by visiting every
//! transport cost a pass over all of them after each feedback packet and each timer: with n subscribers that is work
//! in n² (at 50 subscribers some 60 k visits a second to cold transport state, more than the copies forwarded). The
//! queue is a binary heap of (deadline, transport) entries, and a transport's `timer` names its live entry; so an
//! input touches only its own transport, and a timer only the transports that are due.
//!
//! Entries are never removed in place. A transport whose deadline moves earlier gets a new entry, and the one it
//! replaces becomes stale (its time no longer matches the transport's `timer`) and is skipped when it reaches the
//! top. A deadline that moves later keeps the earlier entry: when it comes due, the transport finds nothing to do and
//! is armed again. So the queue may wake the worker early, never late.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use slotmap::SlotMap;

use super::congestion;
use super::transport::{TransportKey, TransportState};
use super::Engine;

#[derive(Default)]
pub(super) struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, TransportKey)>>,
}

impl TimerQueue {
    /// The earliest live deadline; drops the stale entries above it.
    fn next(&mut self, transports: &SlotMap<TransportKey, TransportState>) -> Option<Instant> {
        while let Some(&Reverse((at, key))) = self.heap.peek() {
            if is_live(transports, at, key) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Takes the transports due at `now` into `due`, disarmed.
    fn take_due(
        &mut self,
        now: Instant,
        transports: &mut SlotMap<TransportKey, TransportState>,
        due: &mut Vec<TransportKey>,
    ) {
        while let Some(&Reverse((at, key))) = self.heap.peek() {
            if at > now {
                break;
            }
            self.heap.pop();
            if let Some(t) = transports.get_mut(key).filter(|t| t.timer == Some(at)) {
                t.timer = None;
                due.push(key);
            }
        }
    }

    /// Gives `t` an entry for its earliest deadline if that is earlier than the entry it has.
    fn arm(&mut self, now: Instant, key: TransportKey, t: &mut TransportState) {
        if let Some(at) = deadline(t, now).filter(|&at| t.timer.is_none_or(|armed| at < armed)) {
            t.timer = Some(at);
            self.heap.push(Reverse((at, key)));
        }
    }

    /// Stale entries leave only when they reach the top, so inputs that keep moving deadlines earlier could pile them
    /// up meanwhile: past a few entries per transport, the heap keeps only the live ones.
    fn compact(&mut self, transports: &SlotMap<TransportKey, TransportState>) {
        if self.heap.len() > 4 * transports.len() + 64 {
            let heap = std::mem::take(&mut self.heap);
            self.heap = heap
                .into_iter()
                .filter(|&Reverse((at, key))| is_live(transports, at, key))
                .collect();
        }
    }
}

fn is_live(
    transports: &SlotMap<TransportKey, TransportState>,
    at: Instant,
    key: TransportKey,
) -> bool {
    transports.get(key).is_some_and(|t| t.timer == Some(at))
}

/// When the transport next needs `handle_timeout`.
fn deadline(t: &mut TransportState, now: Instant) -> Option<Instant> {
    [t.dtls.poll_timeout(), congestion::deadline(t, now)]
        .into_iter()
        .flatten()
        .fold(ice_deadline(t, now), Instant::min)
        .into()
}

/// When the transport's ICE agent next needs the time. One that has never been given it has no deadline yet: it gets
/// its first timeout at once.
pub(super) fn ice_deadline(t: &mut TransportState, now: Instant) -> Instant {
    t.ice.poll_timeout().unwrap_or(now)
}

impl Engine {
    /// Arms the transport's timer for its earliest deadline, if that is earlier than the one it has. Call it after
    /// any input that may have moved one of its timers earlier.
    pub(super) fn schedule(&mut self, now: Instant, key: TransportKey) {
        if let Some(t) = self.transports.get_mut(key) {
            self.timers.arm(now, key, t);
            self.timers.compact(&self.transports);
        }
    }

    /// [`Engine::schedule`] for every transport: after inputs that may reach any of them (commands, pipe control).
    pub(super) fn schedule_all(&mut self, now: Instant) {
        for (key, t) in self.transports.iter_mut() {
            self.timers.arm(now, key, t);
        }
        self.timers.compact(&self.transports);
    }

    /// The earliest transport deadline.
    pub(super) fn next_transport_timer(&mut self) -> Option<Instant> {
        self.timers.next(&self.transports)
    }

    /// Tests and debug builds, after each input: every transport's timer is armed no later than its earliest
    /// deadline, i.e. no input moved a deadline earlier without [`Engine::schedule`].
    #[cfg(any(test, debug_assertions))]
    pub(super) fn check_timers_armed(&mut self, now: Instant) {
        for (key, t) in self.transports.iter_mut() {
            if let Some(at) = deadline(t, now) {
                assert!(
                    t.timer.is_some_and(|armed| armed <= at),
                    "transport {key:?}: due at {at:?} but armed at {:?}: an input moved its timer without `schedule`",
                    t.timer
                );
            }
        }
    }

    /// Takes the transports whose timers are due at `now` into `due`.
    pub(super) fn take_due_transports(&mut self, now: Instant, due: &mut Vec<TransportKey>) {
        self.timers.take_due(now, &mut self.transports, due);
    }
}
