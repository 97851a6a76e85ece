//! What the peers count: run-wide counters the reporter reads every second, and each subscriber's per-stream loss,
//! duplicate and latency accounting.
//!
//! Peers count locally and publish once per wake-up (a batch of datagrams), so the counters cost the packet path
//! almost nothing even with several runtime threads.

use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::media::{Phase, Trailer};

/// Latencies are recorded in microseconds, 1 µs … 60 s, 3 significant digits.
const LATENCY_MAX_US: u64 = 60_000_000;
/// How far behind the highest counter seen a packet is still checked for being a duplicate.
const DEDUP_WINDOW: u64 = 1024;

pub fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).unwrap_or_else(|_| unreachable!())
}

/// State every peer task shares with the reporter.
pub struct RunStats {
    pub epoch: Instant,
    phase: AtomicU8,
    pub sent: AtomicU64,
    pub sent_measured: AtomicU64,
    pub received: AtomicU64,
    pub received_measured: AtomicU64,
    pub duplicates: AtomicU64,
    pub too_late: AtomicU64,
    pub foreign: AtomicU64,
    pub send_errors: AtomicU64,
    /// Packets a publisher did not send because it fell behind its rate.
    pub send_skipped: AtomicU64,
    pub key_frames_sent: AtomicU64,
    pub key_frame_requests: AtomicU64,
    /// (subscriber, publisher) streams that delivered at least one packet.
    pub streams_started: AtomicUsize,
    /// Expected packets of the measurement phase: Σ over publishers of measured sends × its subscribers.
    pub expected_measured: AtomicU64,
    /// Latencies of the last progress interval (all phases) and of the measurement phase.
    pub interval_latency: Mutex<Histogram<u64>>,
    pub measured_latency: Mutex<Histogram<u64>>,
}

impl RunStats {
    pub fn new() -> RunStats {
        RunStats {
            epoch: Instant::now(),
            phase: AtomicU8::new(Phase::Warmup as u8),
            sent: AtomicU64::new(0),
            sent_measured: AtomicU64::new(0),
            received: AtomicU64::new(0),
            received_measured: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            too_late: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            send_errors: AtomicU64::new(0),
            send_skipped: AtomicU64::new(0),
            key_frames_sent: AtomicU64::new(0),
            key_frame_requests: AtomicU64::new(0),
            streams_started: AtomicUsize::new(0),
            expected_measured: AtomicU64::new(0),
            interval_latency: Mutex::new(new_histogram()),
            measured_latency: Mutex::new(new_histogram()),
        }
    }

    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    pub fn take_interval_latency(&self) -> Histogram<u64> {
        std::mem::replace(&mut *lock(&self.interval_latency), new_histogram())
    }
}

/// One subscriber's view of one publisher's stream.
#[derive(Default)]
struct StreamRx {
    started: bool,
    highest: u64,
    /// Bit i set: counter `highest - i` arrived.
    seen: [u64; (DEDUP_WINDOW / 64) as usize],
}

impl StreamRx {
    /// Records `counter`; `Some(true)` for a first arrival, `Some(false)` for a duplicate, `None` when it is too old to
    /// tell.
    fn record(&mut self, counter: u64) -> Option<bool> {
        if !self.started {
            self.started = true;
            self.highest = counter;
            self.seen = [0; (DEDUP_WINDOW / 64) as usize];
            self.seen[0] = 1;
            return Some(true);
        }
        if counter > self.highest {
            self.shift(counter - self.highest);
            self.highest = counter;
            self.seen[0] |= 1;
            return Some(true);
        }
        let back = self.highest - counter;
        if back >= DEDUP_WINDOW {
            return None;
        }
        let (word, bit) = ((back / 64) as usize, back % 64);
        let new = self.seen[word] & (1 << bit) == 0;
        self.seen[word] |= 1 << bit;
        Some(new)
    }

    /// Moves the window forward by `n` counters.
    fn shift(&mut self, n: u64) {
        let words = self.seen.len();
        if n >= DEDUP_WINDOW {
            self.seen = [0; (DEDUP_WINDOW / 64) as usize];
            return;
        }
        let (w, b) = ((n / 64) as usize, (n % 64) as u32);
        for i in (0..words).rev() {
            let lo = i.checked_sub(w).map_or(0, |j| self.seen[j]);
            let carry = match (b, i.checked_sub(w + 1)) {
                (0, _) | (_, None) => 0,
                (_, Some(j)) => self.seen[j] >> (64 - b),
            };
            self.seen[i] = (lo << b) | carry;
        }
    }
}

/// A subscriber's counters, published to [`RunStats`] by [`SubscriberStats::flush`].
pub struct SubscriberStats {
    streams: Vec<StreamRx>,
    received: u64,
    received_measured: u64,
    duplicates: u64,
    too_late: u64,
    foreign: u64,
    started: usize,
    interval: Histogram<u64>,
    measured: Histogram<u64>,
    last_merge: Instant,
}

impl SubscriberStats {
    pub fn new(publishers: usize) -> SubscriberStats {
        SubscriberStats {
            streams: (0..publishers).map(|_| StreamRx::default()).collect(),
            received: 0,
            received_measured: 0,
            duplicates: 0,
            too_late: 0,
            foreign: 0,
            started: 0,
            interval: new_histogram(),
            measured: new_histogram(),
            last_merge: Instant::now(),
        }
    }

    pub fn on_payload(&mut self, payload: &[u8], now_ns: u64) {
        let Some(t) = Trailer::read(payload) else {
            self.foreign += 1;
            return;
        };
        let Some(stream) = self.streams.get_mut(t.publisher as usize) else {
            self.foreign += 1;
            return;
        };
        if !stream.started {
            self.started += 1;
        }
        match stream.record(t.counter) {
            Some(true) => {}
            Some(false) => {
                self.duplicates += 1;
                return;
            }
            None => {
                self.too_late += 1;
                return;
            }
        }
        self.received += 1;
        let us = (now_ns.saturating_sub(t.sent_ns) / 1000).clamp(1, LATENCY_MAX_US);
        let _ = self.interval.record(us);
        if t.phase == Phase::Measure {
            self.received_measured += 1;
            let _ = self.measured.record(us);
        }
    }

    /// Adds the counts to `run`; merges latencies at most once a second (or when `force`), which is often enough for the
    /// progress line and keeps the shared histograms' locks rare.
    pub fn flush(&mut self, run: &RunStats, now: Instant, force: bool) {
        let add = |a: &AtomicU64, v: &mut u64| {
            if *v != 0 {
                a.fetch_add(std::mem::take(v), Ordering::Relaxed);
            }
        };
        add(&run.received, &mut self.received);
        add(&run.received_measured, &mut self.received_measured);
        add(&run.duplicates, &mut self.duplicates);
        add(&run.too_late, &mut self.too_late);
        add(&run.foreign, &mut self.foreign);
        if self.started != 0 {
            run.streams_started
                .fetch_add(std::mem::take(&mut self.started), Ordering::Relaxed);
        }
        if force || now.duration_since(self.last_merge).as_millis() >= 250 {
            self.last_merge = now;
            if !self.interval.is_empty() {
                let _ = lock(&run.interval_latency).add(&self.interval);
                self.interval.reset();
            }
            if !self.measured.is_empty() {
                let _ = lock(&run.measured_latency).add(&self.measured);
                self.measured.reset();
            }
        }
    }
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_arrivals_duplicates_and_old_packets() {
        let mut s = StreamRx::default();
        assert_eq!(s.record(10), Some(true));
        assert_eq!(s.record(12), Some(true));
        assert_eq!(s.record(11), Some(true));
        assert_eq!(s.record(11), Some(false));
        assert_eq!(s.record(10), Some(false));
        assert_eq!(s.record(200), Some(true));
        assert_eq!(s.record(12), Some(false), "still inside the window");
        assert_eq!(s.record(13), Some(true), "never seen");
        assert_eq!(s.record(5000), Some(true));
        assert_eq!(s.record(200), None, "older than the window");
        assert_eq!(s.record(4999), Some(true));
        assert_eq!(s.record(4999), Some(false));
    }

    #[test]
    fn shifting_by_every_amount_keeps_the_bits() {
        for step in [1u64, 7, 63, 64, 65, 127, 128, 300, 1023] {
            let mut s = StreamRx::default();
            s.record(0);
            s.record(step);
            assert_eq!(s.record(0), Some(false), "step {step}");
            assert_eq!(s.record(step), Some(false), "step {step}");
            if step > 1 {
                assert_eq!(s.record(step - 1), Some(true), "step {step}");
            }
        }
    }
}
