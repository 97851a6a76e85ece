//! Loss recovery state: what a producer stream recently sent (to answer consumers' NACKs), which outgoing sequence
//! number of a consumer came from which incoming one, and which incoming packets are missing (to NACK the sender).
//!
//! All three are fixed-size rings indexed by sequence number, so memory per stream is bounded and nothing is
//! allocated per packet once a ring's buffers exist.

use std::time::{Duration, Instant};

/// Packets kept per producer stream: about 2 s of video at 250 packets/s.
pub(crate) const PACKET_RING: usize = 512;
/// How many missing packets a stream tracks at once; a burst larger than this is given up (a key frame follows).
const MAX_MISSING: usize = 128;
/// A missing packet is asked for at most this many times.
const MAX_NACKS: u8 = 10;
/// Wait between two NACKs for the same packet when no RTT is known.
const NACK_INTERVAL: Duration = Duration::from_millis(40);
/// The shortest wait with a known RTT: the engine's follow-up tick, and room for the sender's pacer on a LAN.
const MIN_NACK_INTERVAL: Duration = Duration::from_millis(20);

/// The last [`PACKET_RING`] packets of one producer stream, in the router's form, by sequence number.
pub(crate) struct PacketRing {
    slots: Vec<Option<(u16, Vec<u8>)>>,
}

impl PacketRing {
    pub fn new() -> Self {
        PacketRing {
            slots: (0..PACKET_RING).map(|_| None).collect(),
        }
    }

    /// Stores a copy of `bytes` under `seq`, reusing the slot's buffer. Returns the buffer it displaced, if any, for
    /// the caller's pool.
    pub fn store(&mut self, seq: u16, bytes: &[u8], fresh: impl FnOnce() -> Vec<u8>) {
        let slot = &mut self.slots[seq as usize % PACKET_RING];
        match slot {
            Some((s, buf)) => {
                *s = seq;
                buf.clear();
                buf.extend_from_slice(bytes);
            }
            None => {
                let mut buf = fresh();
                buf.extend_from_slice(bytes);
                *slot = Some((seq, buf));
            }
        }
    }

    pub fn get(&self, seq: u16) -> Option<&[u8]> {
        match &self.slots[seq as usize % PACKET_RING] {
            Some((s, buf)) if *s == seq => Some(buf),
            _ => None,
        }
    }

    /// Gives the buffers back (the stream is closing).
    pub fn drain(&mut self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.slots
            .iter_mut()
            .filter_map(|s| s.take().map(|(_, b)| b))
    }
}

/// One packet a consumer sent, in its ring slot.
#[derive(Clone, Copy, Default)]
struct SentSlot {
    /// Sent at least once since the ring was created (a zeroed slot is otherwise indistinguishable from seq 0).
    filled: bool,
    out_seq: u16,
    in_seq: u16,
    out_ts: u32,
    stream: u8,
    /// The marker was set because the packet ended the forwarded picture (upper layers cut).
    end_of_picture: bool,
    /// When it was last retransmitted, in milliseconds since the ring's `epoch` + 1 (0: never).
    resent: u32,
}

const _: () = assert!(std::mem::size_of::<SentSlot>() == 16);

/// For one consumer: which incoming sequence number, outgoing timestamp, stream and marker each recently sent
/// sequence number had, and when it was last retransmitted. One allocation of 16-byte slots.
pub(crate) struct SentRing {
    slots: Box<[SentSlot; PACKET_RING]>,
    epoch: Instant,
    /// The slot after the one recorded last: where the next packet most likely goes.
    next: usize,
}

impl SentRing {
    pub fn new() -> Self {
        SentRing {
            slots: Box::new([SentSlot::default(); PACKET_RING]),
            epoch: Instant::now(),
            next: 0,
        }
    }

    /// Asks for the slot the next packet most likely goes to (see `crate::prefetch`).
    pub fn prefetch_next(&self) {
        if let Some(slot) = self.slots.get(self.next) {
            crate::prefetch::line(slot);
        }
    }

    pub fn record(
        &mut self,
        out_seq: u16,
        in_seq: u16,
        out_ts: u32,
        stream: usize,
        end_of_picture: bool,
    ) {
        self.next = (out_seq as usize + 1) % PACKET_RING;
        self.slots[out_seq as usize % PACKET_RING] = SentSlot {
            filled: true,
            out_seq,
            in_seq,
            out_ts,
            stream: stream.min(u8::MAX as usize) as u8,
            end_of_picture,
            resent: 0,
        };
    }

    /// Whether `out_seq` may be retransmitted now: not if it already was within `interval` (a receiver repeats its
    /// NACK until the retransmission arrives, one round trip later; resending each time only adds to the congestion
    /// that lost it). Records the retransmission when allowed.
    pub fn may_resend(&mut self, out_seq: u16, now: Instant, interval: Duration) -> bool {
        let i = out_seq as usize % PACKET_RING;
        let at = now
            .saturating_duration_since(self.epoch)
            .as_millis()
            .min(u32::MAX as u128 - 1) as u32
            + 1;
        let last = self.slots[i].resent;
        if last != 0 && at.saturating_sub(last) < interval.as_millis() as u32 {
            return false;
        }
        self.slots[i].resent = at;
        true
    }

    /// The incoming sequence number, outgoing timestamp, producer stream and end-of-picture marker of outgoing
    /// `out_seq`, if still remembered.
    pub fn lookup(&self, out_seq: u16) -> Option<(u16, u32, usize, bool)> {
        let i = out_seq as usize % PACKET_RING;
        let s = self.slots[i];
        (s.filled && s.out_seq == out_seq).then_some((
            s.in_seq,
            s.out_ts,
            s.stream as usize,
            s.end_of_picture,
        ))
    }
}

#[derive(Clone, Copy)]
struct Missing {
    seq: u16,
    nacks: u8,
    last: Option<Instant>,
}

/// Gaps in one incoming stream, and when each was last asked for.
pub(crate) struct NackTracker {
    highest: Option<u16>,
    missing: Vec<Missing>,
}

impl NackTracker {
    pub fn new() -> Self {
        NackTracker {
            highest: None,
            missing: Vec::with_capacity(MAX_MISSING),
        }
    }

    /// Notes an arrival: a jump forward adds the skipped numbers as missing; an old number fills its gap.
    pub fn on_packet(&mut self, seq: u16) {
        let Some(highest) = self.highest else {
            self.highest = Some(seq);
            return;
        };
        let ahead = seq.wrapping_sub(highest);
        if ahead == 0 {
            return;
        }
        if ahead < 0x8000 {
            if ahead as usize > MAX_MISSING {
                // Too much lost to repair packet by packet: forget it (the receivers will ask for a key frame).
                self.missing.clear();
            } else {
                for s in 1..ahead {
                    if self.missing.len() == MAX_MISSING {
                        self.missing.remove(0);
                    }
                    self.missing.push(Missing {
                        seq: highest.wrapping_add(s),
                        nacks: 0,
                        last: None,
                    });
                }
            }
            self.highest = Some(seq);
        } else {
            self.missing.retain(|m| m.seq != seq);
        }
    }

    /// The numbers to ask for now (each at most every `interval`, [`MAX_NACKS`] times), marking them asked.
    pub fn due(&mut self, now: Instant, rtt: Option<Duration>, out: &mut Vec<u16>) {
        let interval = rtt.map_or(NACK_INTERVAL, |r| r.max(MIN_NACK_INTERVAL));
        self.missing.retain(|m| m.nacks < MAX_NACKS);
        for m in self.missing.iter_mut() {
            if m.last
                .is_none_or(|t| now.saturating_duration_since(t) >= interval)
            {
                m.nacks += 1;
                m.last = Some(now);
                out.push(m.seq);
            }
        }
    }

    pub fn has_missing(&self) -> bool {
        !self.missing.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_finds_gaps_fills_them_and_gives_up() {
        let now = Instant::now();
        let mut t = NackTracker::new();
        for s in [65534u16, 65535, 2, 3] {
            t.on_packet(s);
        }
        let mut due = Vec::new();
        t.due(now, None, &mut due);
        assert_eq!(due, vec![0, 1]);
        due.clear();
        t.due(now + Duration::from_millis(1), None, &mut due);
        assert!(due.is_empty(), "not again before the interval");
        t.on_packet(0);
        t.due(now + Duration::from_millis(100), None, &mut due);
        assert_eq!(due, vec![1]);
        for i in 0..20 {
            due.clear();
            t.due(now + Duration::from_secs(1 + i), None, &mut due);
        }
        assert!(!t.has_missing(), "given up after MAX_NACKS");
        t.on_packet(3 + 1000);
        assert!(
            !t.has_missing(),
            "a huge jump is not tracked packet by packet"
        );
    }

    #[test]
    fn a_known_rtt_paces_the_retries() {
        let now = Instant::now();
        let mut t = NackTracker::new();
        for s in [1u16, 3] {
            t.on_packet(s);
        }
        let rtt = Some(Duration::from_millis(120));
        let mut due = Vec::new();
        t.due(now, rtt, &mut due);
        assert_eq!(due, vec![2]);
        due.clear();
        t.due(now + Duration::from_millis(100), rtt, &mut due);
        assert!(
            due.is_empty(),
            "a far client is not asked again within its RTT"
        );
        t.due(now + Duration::from_millis(121), rtt, &mut due);
        assert_eq!(due, vec![2]);
        // A LAN client's 2 ms RTT still leaves the sender 20 ms to answer.
        due.clear();
        let lan = Some(Duration::from_millis(2));
        t.due(now + Duration::from_millis(130), lan, &mut due);
        assert!(due.is_empty());
        t.due(now + Duration::from_millis(142), lan, &mut due);
        assert_eq!(due, vec![2]);
    }

    #[test]
    fn rings_remember_recent_entries_only() {
        let mut ring = PacketRing::new();
        ring.store(10, &[1, 2, 3], Vec::new);
        assert_eq!(ring.get(10), Some(&[1u8, 2, 3][..]));
        ring.store(10 + PACKET_RING as u16, &[4], Vec::new);
        assert_eq!(ring.get(10), None);
        let mut sent = SentRing::new();
        assert_eq!(sent.lookup(0), None);
        sent.record(0, 500, 9000, 2, true);
        assert_eq!(sent.lookup(0), Some((500, 9000, 2, true)));
        let now = Instant::now();
        assert!(sent.may_resend(0, now, Duration::from_millis(100)));
        assert!(!sent.may_resend(
            0,
            now + Duration::from_millis(50),
            Duration::from_millis(100)
        ));
        assert!(sent.may_resend(
            0,
            now + Duration::from_millis(150),
            Duration::from_millis(100)
        ));
        assert_eq!(sent.lookup(PACKET_RING as u16), None);
    }
}
