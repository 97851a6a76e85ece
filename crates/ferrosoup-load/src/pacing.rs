//! When a publisher's packets fall due: `pps` packets a second, in groups of `burst` sent back to back.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::media::{Phase, Trailer, VideoPacket};
use crate::stats::RunStats;
use crate::webrtc::Publisher;

/// Most packets a publisher writes in one wake-up, and the largest `--burst`: a publisher that fell behind its rate
/// skips packets rather than sending a burst the size of the delay.
pub(crate) const MAX_BURST: u32 = 256;

/// A sending publisher's place in its schedule.
pub(crate) struct Sending {
    started: Instant,
    /// Packets written or skipped since `started`.
    counter: u64,
    /// The next RTP sequence number (extended).
    seq: u64,
}

impl Sending {
    pub fn new(now: Instant, first_seq: u64) -> Sending {
        Sending {
            started: now,
            counter: 0,
            seq: first_seq,
        }
    }

    /// Packets due by `now` since sending started: whole bursts only.
    fn due_by(&self, p: &Publisher, now: Instant) -> u64 {
        let burst = u64::from(p.burst.max(1));
        let due = (now.duration_since(self.started).as_secs_f64() * f64::from(p.pps)) as u64;
        due / burst * burst
    }

    /// When the next burst falls due. A publisher sleeps until then (on a precise [`crate::timer::Timer`]) rather than
    /// for a fixed tick, so that its packets leave on schedule and not bunched at the ticks of a coarse timer.
    pub fn next_due(&self, p: &Publisher) -> Instant {
        let burst = u64::from(p.burst.max(1));
        let next = (self.counter / burst + 1) * burst;
        self.started + Duration::from_secs_f64(next as f64 / f64::from(p.pps.max(1)))
    }
}

/// Hands `write` the packets (with their sequence numbers) that came due since sending started, and counts them.
pub(crate) fn pace(
    p: &mut Publisher,
    s: &mut Sending,
    run: &RunStats,
    now: Instant,
    mut write: impl FnMut(u64, VideoPacket),
) {
    let due_total = s.due_by(p, now);
    let due = due_total
        .saturating_sub(s.counter)
        .min(u64::from(MAX_BURST));
    if due == 0 {
        return;
    }
    let phase = run.phase();
    let mut key_frames = 0;
    for _ in 0..due {
        let trailer = Trailer {
            publisher: p.index,
            counter: s.counter,
            sent_ns: run.now_ns(),
            phase,
        };
        let packet = p.source.next(trailer);
        key_frames += u64::from(packet.key_frame);
        write(s.seq, packet);
        s.counter += 1;
        s.seq += 1;
    }
    // Skip what could not be sent in time: the rate falls and the summary shows it, rather than a burst later.
    if due_total > s.counter {
        run.send_skipped
            .fetch_add(due_total - s.counter, Ordering::Relaxed);
        s.counter = due_total;
    }
    run.sent.fetch_add(due, Ordering::Relaxed);
    run.key_frames_sent.fetch_add(key_frames, Ordering::Relaxed);
    if phase == Phase::Measure {
        run.sent_measured.fetch_add(due, Ordering::Relaxed);
        run.expected_measured
            .fetch_add(due * p.subscribers, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::VideoSource;

    /// A publisher at 1000 pps in bursts of `burst`, started at `start`.
    struct Fixture {
        run: RunStats,
        p: Publisher,
        s: Sending,
        start: Instant,
    }

    impl Fixture {
        fn new(burst: u32) -> Fixture {
            let start = Instant::now();
            Fixture {
                run: RunStats::new(),
                p: Publisher {
                    index: 0,
                    mid: "0".into(),
                    pt: 96,
                    pps: 1000,
                    burst,
                    subscribers: 1,
                    source: VideoSource::new(1000, 100, 1),
                    first_seq: 1000,
                },
                s: Sending::new(start, 1000),
                start,
            }
        }

        /// Sends what is due `after` the start; returns the sequence numbers written.
        fn send_at(&mut self, after: Duration) -> Vec<u64> {
            let mut written = Vec::new();
            let now = self.start + after;
            pace(&mut self.p, &mut self.s, &self.run, now, |seq, _| {
                written.push(seq)
            });
            written
        }

        /// How long after the start the next packet is due.
        fn next_due(&self) -> Duration {
            self.s.next_due(&self.p) - self.start
        }
    }

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn one_packet_per_interval_when_paced_evenly() {
        let mut f = Fixture::new(1);
        assert_eq!(f.next_due(), ms(1));
        assert!(f.send_at(Duration::from_micros(999)).is_empty());
        assert_eq!(f.send_at(ms(1)), vec![1000]);
        assert_eq!(f.next_due(), ms(2));
        assert_eq!(f.send_at(ms(3)), vec![1001, 1002]);
        assert_eq!(f.next_due(), ms(4));
    }

    #[test]
    fn bursts_leave_whole_and_on_their_own_schedule() {
        let mut f = Fixture::new(4);
        assert_eq!(f.next_due(), ms(4));
        assert!(f.send_at(ms(3)).is_empty());
        assert_eq!(f.send_at(ms(4)), vec![1000, 1001, 1002, 1003]);
        assert_eq!(f.next_due(), ms(8));
        assert!(f.send_at(ms(7)).is_empty());
    }

    #[test]
    fn a_late_publisher_skips_rather_than_bursts() {
        let mut f = Fixture::new(1);
        assert_eq!(f.send_at(ms(1000)).len(), MAX_BURST as usize);
        assert_eq!(
            f.run.send_skipped.load(Ordering::Relaxed),
            1000 - u64::from(MAX_BURST)
        );
        assert_eq!(f.next_due(), ms(1001));
    }
}
