//! RTP stream statistics for RTCP reports (RFC 3550 appendix A).
//!
//! * [`ReceiveStats`]: one incoming stream. Extended highest sequence number
//!   (A.1, without probation: the first packet initialises the state),
//!   cumulative and fraction lost (A.3), interarrival jitter (A.8, arrival
//!   time converted to clock-rate units), and the LSR/DLSR bookkeeping of
//!   received sender reports; produces a [`ReportBlock`].
//! * [`SendStats`]: one outgoing stream. Packet/octet counters and the
//!   newest RTP timestamp ↔ wall-clock pair; produces [`SenderInfo`] with the
//!   RTP timestamp extrapolated to the report time, and computes the round
//!   trip time from report blocks about this stream.
//! * NTP helpers: [`ntp_from_system_time`] and [`NtpClock`], which anchors a
//!   monotonic [`Instant`] to wall-clock NTP time once so that NTP values
//!   derived from `Instant`s never jump.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::rtcp::{NtpTime, ReportBlock, SenderInfo};
use super::seq::ts_is_newer;

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// Convert a duration since the NTP epoch to NTP format.
fn ntp_from_duration_since_1900(d: Duration) -> NtpTime {
    let frac = ((d.subsec_nanos() as u64) << 32) / 1_000_000_000;
    NtpTime((d.as_secs() << 32) | frac)
}

/// NTP timestamp of a wall-clock time (times before 1970 map to the epoch).
pub fn ntp_from_system_time(t: SystemTime) -> NtpTime {
    let since_unix = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    ntp_from_duration_since_1900(
        since_unix.saturating_add(Duration::from_secs(NTP_UNIX_OFFSET_SECS)),
    )
}

/// Convert a 16.16 compact NTP value (LSR, DLSR, RTT) to a duration.
pub fn compact_ntp_to_duration(v: u32) -> Duration {
    let secs = (v >> 16) as u64;
    let nanos = ((v & 0xFFFF) as u64 * 1_000_000_000) >> 16;
    Duration::from_secs(secs) + Duration::from_nanos(nanos)
}

/// Convert a duration to 16.16 compact NTP (saturating).
pub fn duration_to_compact_ntp(d: Duration) -> u32 {
    let v = (d.as_nanos() << 16) / 1_000_000_000;
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Maps monotonic [`Instant`]s to NTP time, anchored once to the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct NtpClock {
    anchor: Instant,
    anchor_ntp: Duration,
}

impl NtpClock {
    /// Anchor `Instant::now()` to `SystemTime::now()`.
    pub fn new() -> Self {
        Self::from_parts(Instant::now(), SystemTime::now())
    }

    /// Anchor an explicit pair (for tests or a shared anchor).
    pub fn from_parts(instant: Instant, wall: SystemTime) -> Self {
        let since_unix = wall.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        Self {
            anchor: instant,
            anchor_ntp: since_unix.saturating_add(Duration::from_secs(NTP_UNIX_OFFSET_SECS)),
        }
    }

    /// NTP time at `at` (instants before the anchor are handled too).
    pub fn ntp_at(&self, at: Instant) -> NtpTime {
        let d = if at >= self.anchor {
            self.anchor_ntp.saturating_add(at - self.anchor)
        } else {
            self.anchor_ntp.saturating_sub(self.anchor - at)
        };
        ntp_from_duration_since_1900(d)
    }

    /// NTP time now.
    pub fn now(&self) -> NtpTime {
        self.ntp_at(Instant::now())
    }
}

impl Default for NtpClock {
    fn default() -> Self {
        Self::new()
    }
}

/// Round-trip time from a report block about one of our streams, received
/// at `arrival` (RFC 3550 6.4.1: A - LSR - DLSR). `None` when the block does
/// not refer to an SR (LSR = 0). Negative results (clock jitter) give zero.
pub fn rtt_from_report_block(block: &ReportBlock, arrival: NtpTime) -> Option<Duration> {
    if block.last_sr == 0 {
        return None;
    }
    let rtt = arrival
        .compact()
        .wrapping_sub(block.last_sr)
        .wrapping_sub(block.delay_since_last_sr);
    if (rtt as i32) < 0 {
        return Some(Duration::ZERO);
    }
    Some(compact_ntp_to_duration(rtt))
}

const RTP_SEQ_MOD: u32 = 1 << 16;
const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;

/// Receive statistics of one incoming RTP stream.
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    ssrc: u32,
    clock_rate: u32,
    started: bool,
    max_seq: u16,
    /// Shifted count of seq number cycles.
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Epoch for arrival times.
    epoch: Option<Instant>,
    /// Previous relative transit time (clock units), A.8.
    transit: Option<u32>,
    last_ts: u32,
    /// Jitter scaled by 16 (A.8 integer form; u64 so that absurd timestamp
    /// jumps from the network cannot overflow it).
    jitter_q4: u64,
    last_sr: u32,
    last_sr_at: Option<Instant>,
    last_sr_info: Option<SenderInfo>,
}

impl ReceiveStats {
    /// Statistics for the stream `ssrc` at `clock_rate` Hz.
    pub fn new(ssrc: u32, clock_rate: u32) -> Self {
        Self {
            ssrc,
            clock_rate,
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: RTP_SEQ_MOD + 1,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            epoch: None,
            transit: None,
            last_ts: 0,
            jitter_q4: 0,
            last_sr: 0,
            last_sr_at: None,
            last_sr_info: None,
        }
    }

    /// Stream SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = seq as u32;
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Account one received packet. Returns false when the packet was
    /// judged invalid by A.1 (a large sequence jump not yet confirmed by its
    /// successor); such packets are not counted.
    pub fn on_packet(&mut self, seq: u16, rtp_ts: u32, arrival: Instant) -> bool {
        let mut in_order = false;
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            in_order = true;
        } else {
            let udelta = seq.wrapping_sub(self.max_seq);
            if udelta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles = self.cycles.wrapping_add(RTP_SEQ_MOD);
                }
                self.max_seq = seq;
                in_order = udelta != 0;
            } else if udelta as u32 <= RTP_SEQ_MOD - MAX_MISORDER as u32 {
                // Very large jump: accept only if the next packet follows it.
                if seq as u32 == self.bad_seq {
                    self.init_seq(seq);
                    self.transit = None;
                    in_order = true;
                } else {
                    self.bad_seq = (seq as u32 + 1) & (RTP_SEQ_MOD - 1);
                    return false;
                }
            }
            // else: duplicate or reordered packet.
        }
        self.received = self.received.wrapping_add(1);
        if in_order {
            self.update_jitter(rtp_ts, arrival);
        }
        true
    }

    fn update_jitter(&mut self, rtp_ts: u32, arrival: Instant) {
        let epoch = *self.epoch.get_or_insert(arrival);
        let elapsed = arrival.saturating_duration_since(epoch);
        let units =
            (elapsed.as_nanos().saturating_mul(self.clock_rate as u128) / 1_000_000_000) as u32;
        let transit = units.wrapping_sub(rtp_ts);
        if let Some(prev) = self.transit {
            // Packets of the same frame share a timestamp; only frame
            // boundaries carry timing information (as libwebrtc does).
            if rtp_ts != self.last_ts {
                let d = (transit.wrapping_sub(prev) as i32).unsigned_abs() as u64;
                // J += (|D| - J) / 16, with J kept scaled by 16. |D| < 2^31
                // keeps J below 2^35: no overflow, no underflow.
                self.jitter_q4 = (self.jitter_q4 + d).saturating_sub((self.jitter_q4 + 8) >> 4);
            }
        }
        self.transit = Some(transit);
        self.last_ts = rtp_ts;
    }

    /// Record a sender report from this stream's sender received at `arrival`.
    pub fn on_sender_report(&mut self, info: &SenderInfo, arrival: Instant) {
        self.last_sr = info.ntp.compact();
        self.last_sr_at = Some(arrival);
        self.last_sr_info = Some(*info);
    }

    /// The last sender report received (for NTP↔RTP mapping).
    pub fn last_sender_report(&self) -> Option<&SenderInfo> {
        self.last_sr_info.as_ref()
    }

    /// Extended highest sequence number received.
    pub fn extended_highest_seq(&self) -> u32 {
        self.cycles.wrapping_add(self.max_seq as u32)
    }

    /// Packets received (duplicates included, as in RFC 3550).
    pub fn packets_received(&self) -> u32 {
        self.received
    }

    /// Packets expected from the first to the highest sequence number.
    pub fn packets_expected(&self) -> u32 {
        if !self.started {
            return 0;
        }
        self.extended_highest_seq()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Cumulative number lost (may be negative with duplicates), clamped to
    /// the 24-bit range of the report block.
    pub fn cumulative_lost(&self) -> i32 {
        let lost = self.packets_expected() as i64 - self.received as i64;
        lost.clamp(-0x80_0000, 0x7F_FFFF) as i32
    }

    /// Interarrival jitter in clock-rate units.
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }

    /// Build a report block for this stream at time `now` and start a new
    /// fraction-lost interval. `None` until a packet was received.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        if !self.started {
            return None;
        }
        let expected = self.packets_expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let delay_since_last_sr = match self.last_sr_at {
            Some(at) => duration_to_compact_ntp(now.saturating_duration_since(at)),
            None => 0,
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost(),
            highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            last_sr: self.last_sr,
            delay_since_last_sr,
        })
    }
}

/// Send statistics of one outgoing RTP stream.
#[derive(Debug, Clone)]
pub struct SendStats {
    ssrc: u32,
    clock_rate: u32,
    packets: u32,
    octets: u32,
    /// Newest RTP timestamp sent and when.
    last: Option<(u32, Instant)>,
    rtt: Option<Duration>,
    remote_fraction_lost: u8,
    remote_cumulative_lost: i32,
    remote_jitter: u32,
}

impl SendStats {
    /// Statistics for the stream `ssrc` at `clock_rate` Hz.
    pub fn new(ssrc: u32, clock_rate: u32) -> Self {
        Self {
            ssrc,
            clock_rate,
            packets: 0,
            octets: 0,
            last: None,
            rtt: None,
            remote_fraction_lost: 0,
            remote_cumulative_lost: 0,
            remote_jitter: 0,
        }
    }

    /// Stream SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Account one sent packet (`payload_len` excludes header and padding,
    /// as the SR octet count requires).
    pub fn on_packet_sent(&mut self, rtp_ts: u32, payload_len: usize, now: Instant) {
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload_len as u32);
        match self.last {
            // Keep the first send time of a timestamp (closest to capture)
            // and never move the mapping backwards.
            Some((ts, _)) if !ts_is_newer(rtp_ts, ts) => {}
            _ => self.last = Some((rtp_ts, now)),
        }
    }

    /// Packets sent (wrapping, as in the SR).
    pub fn packets_sent(&self) -> u32 {
        self.packets
    }

    /// Payload octets sent (wrapping, as in the SR).
    pub fn octets_sent(&self) -> u32 {
        self.octets
    }

    /// Sender info for an SR at time `now` whose NTP time is `ntp`; the RTP
    /// timestamp is the newest sent one advanced by the time since it was
    /// sent. `None` until a packet was sent (RFC 3550: send RR instead).
    pub fn sender_info(&self, now: Instant, ntp: NtpTime) -> Option<SenderInfo> {
        let (ts, at) = self.last?;
        let elapsed = now.saturating_duration_since(at);
        let ticks = super::seq::duration_to_ticks(elapsed, self.clock_rate);
        Some(SenderInfo {
            ntp,
            rtp_timestamp: ts.wrapping_add(ticks),
            packet_count: self.packets,
            octet_count: self.octets,
        })
    }

    /// Process a report block about this stream received at NTP time
    /// `arrival`; updates and returns the RTT when computable.
    pub fn on_report_block(&mut self, block: &ReportBlock, arrival: NtpTime) -> Option<Duration> {
        self.remote_fraction_lost = block.fraction_lost;
        self.remote_cumulative_lost = block.cumulative_lost;
        self.remote_jitter = block.jitter;
        let rtt = rtt_from_report_block(block, arrival)?;
        self.rtt = Some(rtt);
        Some(rtt)
    }

    /// Last computed RTT.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// Fraction lost (1/256 units) reported by the remote end.
    pub fn remote_fraction_lost(&self) -> u8 {
        self.remote_fraction_lost
    }

    /// Cumulative loss reported by the remote end.
    pub fn remote_cumulative_lost(&self) -> i32 {
        self.remote_cumulative_lost
    }

    /// Jitter reported by the remote end (clock-rate units).
    pub fn remote_jitter(&self) -> u32 {
        self.remote_jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn ntp_conversions() {
        let t = UNIX_EPOCH + Duration::from_secs(1) + ms(500);
        let n = ntp_from_system_time(t);
        assert_eq!(n.seconds() as u64, NTP_UNIX_OFFSET_SECS + 1);
        assert_eq!(n.fraction(), 0x8000_0000);
        assert_eq!(
            ntp_from_system_time(UNIX_EPOCH - ms(1)).seconds() as u64,
            NTP_UNIX_OFFSET_SECS
        );
        assert_eq!(compact_ntp_to_duration(0x0001_8000), ms(1500));
        assert_eq!(duration_to_compact_ntp(ms(1500)), 0x0001_8000);
        assert_eq!(
            duration_to_compact_ntp(Duration::from_secs(1 << 20)),
            u32::MAX
        );
    }

    #[test]
    fn ntp_clock_is_anchored() {
        let i0 = Instant::now();
        let w0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let c = NtpClock::from_parts(i0, w0);
        let a = c.ntp_at(i0);
        assert_eq!(a, ntp_from_system_time(w0));
        let b = c.ntp_at(i0 + ms(250));
        assert_eq!(b.0 - a.0, 1 << 30);
        // Earlier instants work when representable.
        if let Some(before) = i0.checked_sub(ms(250)) {
            assert_eq!(a.0 - c.ntp_at(before).0, 1 << 30);
        }
        assert!(NtpClock::new().now().seconds() as u64 > NTP_UNIX_OFFSET_SECS);
        let _ = NtpClock::default();
    }

    #[test]
    fn rtt_computation() {
        // SR sent at NTP compact 0x1000_0000; receiver held it 0.5 s;
        // RR arrives at 0x1000_0000 + 0.75 s → RTT 250 ms.
        let block = ReportBlock {
            last_sr: 0x1000_0000,
            delay_since_last_sr: 0x8000,
            ..Default::default()
        };
        let arrival = NtpTime(((0x1000_0000u64 + 0xC000) << 16) | 0x1234);
        assert_eq!(rtt_from_report_block(&block, arrival), Some(ms(250)));
        // Negative → zero.
        let early = NtpTime((0x1000_0000u64 + 0x4000) << 16);
        assert_eq!(rtt_from_report_block(&block, early), Some(Duration::ZERO));
        // No LSR → none.
        let none = ReportBlock::default();
        assert_eq!(rtt_from_report_block(&none, arrival), None);
        // Wrap of the compact clock.
        let block = ReportBlock {
            last_sr: 0xFFFF_F000,
            delay_since_last_sr: 0,
            ..Default::default()
        };
        let arrival = NtpTime(0x0000_1000u64 << 16);
        assert_eq!(
            rtt_from_report_block(&block, arrival),
            Some(compact_ntp_to_duration(0x2000))
        );
    }

    #[test]
    fn receive_in_order_and_loss() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(0x55, 90_000);
        assert_eq!(s.report_block(t0), None);
        assert_eq!(s.ssrc(), 0x55);
        // 10 packets, 3 and 7 lost.
        for i in 0..10u16 {
            if i != 3 && i != 7 {
                assert!(s.on_packet(1000 + i, i as u32 * 3000, t0 + ms(i as u64 * 33)));
            }
        }
        assert_eq!(s.packets_expected(), 10);
        assert_eq!(s.packets_received(), 8);
        assert_eq!(s.cumulative_lost(), 2);
        let rb = s.report_block(t0 + ms(400)).unwrap();
        assert_eq!(rb.ssrc, 0x55);
        assert_eq!(rb.highest_seq, 1009);
        assert_eq!(rb.cumulative_lost, 2);
        assert_eq!(rb.fraction_lost, (2 * 256 / 10) as u8);
        assert_eq!(rb.last_sr, 0);
        assert_eq!(rb.delay_since_last_sr, 0);
        // Next interval: no loss.
        for i in 10..20u16 {
            s.on_packet(1000 + i, i as u32 * 3000, t0 + ms(i as u64 * 33));
        }
        let rb = s.report_block(t0 + ms(800)).unwrap();
        assert_eq!(rb.fraction_lost, 0);
        assert_eq!(rb.cumulative_lost, 2);
        // Late arrival of 3 makes the interval negative loss → 0.
        s.on_packet(1003, 9000, t0 + ms(900));
        let rb = s.report_block(t0 + ms(1000)).unwrap();
        assert_eq!(rb.fraction_lost, 0);
        assert_eq!(rb.cumulative_lost, 1);
    }

    #[test]
    fn receive_seq_wrap() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(1, 48_000);
        for (i, seq) in [65534u16, 65535, 0, 1].into_iter().enumerate() {
            s.on_packet(seq, i as u32 * 960, t0 + ms(i as u64 * 20));
        }
        assert_eq!(s.extended_highest_seq(), 65536 + 1);
        assert_eq!(s.packets_expected(), 4);
        assert_eq!(s.cumulative_lost(), 0);
        // Reordered old packet from before the wrap doesn't bump cycles.
        s.on_packet(65535, 960, t0 + ms(100));
        assert_eq!(s.extended_highest_seq(), 65537);
        assert_eq!(s.cumulative_lost(), -1); // duplicate counted
    }

    #[test]
    fn receive_large_jump_needs_confirmation() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(1, 90_000);
        s.on_packet(10, 0, t0);
        s.on_packet(11, 0, t0);
        assert!(!s.on_packet(30_000, 0, t0));
        assert_eq!(s.extended_highest_seq(), 11);
        // Successor confirms: re-initialise at the new place.
        assert!(s.on_packet(30_001, 0, t0));
        assert_eq!(s.extended_highest_seq(), 30_001);
        assert_eq!(s.packets_expected(), 1);
        assert_eq!(s.packets_received(), 1);
        // A lone jump followed by in-sequence packets of the old stream
        // is discarded.
        assert!(!s.on_packet(5, 0, t0));
        assert!(s.on_packet(30_002, 0, t0));
        assert_eq!(s.packets_received(), 2);
    }

    #[test]
    fn jitter_constant_and_variable() {
        let t0 = Instant::now();
        // Perfect pacing: zero jitter.
        let mut s = ReceiveStats::new(1, 90_000);
        for i in 0..50u32 {
            s.on_packet(
                i as u16,
                i * 3000,
                t0 + Duration::from_nanos(i as u64 * 100_000_000 / 3),
            );
        }
        assert!(s.jitter() <= 1, "jitter {}", s.jitter());
        // Alternating 10 ms early/late: |D| = 20 ms = 1800 units; jitter
        // converges towards 1800.
        let mut s = ReceiveStats::new(1, 90_000);
        for i in 0..400u32 {
            let wobble = if i % 2 == 0 { 0 } else { 20 };
            s.on_packet(i as u16, i * 9000, t0 + ms(i as u64 * 100 + wobble));
        }
        assert!((1700..=1800).contains(&s.jitter()), "jitter {}", s.jitter());
        // Same-timestamp packets (one frame) don't feed jitter.
        let mut s = ReceiveStats::new(1, 90_000);
        for i in 0..20u32 {
            s.on_packet(i as u16, 0, t0 + ms(i as u64 * 7));
        }
        assert_eq!(s.jitter(), 0);
        // Huge timestamp jumps saturate instead of overflowing.
        let mut s = ReceiveStats::new(1, 90_000);
        for i in 0..200u32 {
            let ts = if i % 2 == 0 { 0 } else { 0x8000_0000 };
            s.on_packet(i as u16, ts, t0 + ms(i as u64));
        }
        assert!(s.jitter() >= 0x7000_0000, "jitter {}", s.jitter());
        // Arrival before the epoch doesn't panic.
        let mut s = ReceiveStats::new(1, 90_000);
        s.on_packet(0, 0, t0 + ms(50));
        s.on_packet(1, 3000, t0);
    }

    #[test]
    fn lsr_and_dlsr() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(1, 90_000);
        s.on_packet(1, 0, t0);
        let info = SenderInfo {
            ntp: NtpTime::from_parts(0xAAAA_BBBB, 0xCCCC_DDDD),
            rtp_timestamp: 1,
            packet_count: 2,
            octet_count: 3,
        };
        s.on_sender_report(&info, t0 + ms(100));
        assert_eq!(s.last_sender_report(), Some(&info));
        let rb = s.report_block(t0 + ms(1100)).unwrap();
        assert_eq!(rb.last_sr, 0xBBBB_CCCC);
        assert_eq!(rb.delay_since_last_sr, 0x0001_0000);
    }

    #[test]
    fn send_stats_and_round_trip() {
        let t0 = Instant::now();
        let mut s = SendStats::new(0x77, 90_000);
        assert_eq!(s.ssrc(), 0x77);
        assert_eq!(s.sender_info(t0, NtpTime(0)), None);
        s.on_packet_sent(1000, 500, t0);
        s.on_packet_sent(1000, 500, t0 + ms(1));
        s.on_packet_sent(4000, 300, t0 + ms(33));
        // An older (reordered / retransmitted) timestamp doesn't move the
        // mapping backwards.
        s.on_packet_sent(1000, 100, t0 + ms(40));
        assert_eq!(s.packets_sent(), 4);
        assert_eq!(s.octets_sent(), 1400);
        let ntp = NtpTime::from_parts(100, 0);
        let si = s.sender_info(t0 + ms(133), ntp).unwrap();
        assert_eq!(si.rtp_timestamp, 4000 + 9000);
        assert_eq!(si.packet_count, 4);
        assert_eq!(si.octet_count, 1400);
        assert_eq!(si.ntp, ntp);
        // The remote answers with LSR = compact(ntp), DLSR = 0.5 s, and it
        // arrives 0.6 s after the SR → RTT 100 ms (within compact precision).
        let block = ReportBlock {
            ssrc: 0x77,
            fraction_lost: 12,
            cumulative_lost: 3,
            jitter: 40,
            last_sr: ntp.compact(),
            delay_since_last_sr: duration_to_compact_ntp(ms(500)),
            highest_seq: 0,
        };
        let arrival = NtpTime(ntp.0 + ((6u64 << 32) / 10));
        let rtt = s.on_report_block(&block, arrival).unwrap();
        assert!(rtt.abs_diff(ms(100)) < Duration::from_micros(50), "{rtt:?}");
        assert_eq!(s.rtt(), Some(rtt));
        assert_eq!(s.remote_fraction_lost(), 12);
        assert_eq!(s.remote_cumulative_lost(), 3);
        assert_eq!(s.remote_jitter(), 40);
        // Timestamp wrap is "newer"; a repeated timestamp keeps its first
        // send time.
        let mut s = SendStats::new(1, 90_000);
        s.on_packet_sent(u32::MAX - 100, 1, t0);
        s.on_packet_sent(5, 1, t0 + ms(10));
        s.on_packet_sent(5, 1, t0 + ms(20));
        s.on_packet_sent(u32::MAX, 1, t0 + ms(30));
        let si = s.sender_info(t0 + ms(10), ntp).unwrap();
        assert_eq!(si.rtp_timestamp, 5);
    }
}
