//! Synthetic VP8 video: what a publisher sends and what a subscriber reads back out of it.
//!
//! Each payload is a valid VP8 payload descriptor (RFC 7741: X, S on a frame's first packet, 15-bit picture id), the
//! start of a VP8 frame on a frame's first packet (key frames carry the start code and dimensions, so the server's
//! key-frame detection sees them as a browser's), filler, and a fixed-size trailer with the measurement fields. The
//! trailer sits at the end so it is found without parsing the descriptor.

/// Marks a trailer written by this tool.
const MAGIC: [u8; 4] = *b"FSLD";
/// Bytes the trailer takes at the end of every payload.
pub const TRAILER_LEN: usize = 32;
/// Smallest payload: descriptor (4) + key-frame header (10) + trailer, rounded up.
pub const MIN_PAYLOAD: usize = 64;

/// Which part of the run a packet was sent in; only [`Phase::Measure`] packets count in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Warmup = 0,
    Measure = 1,
    Drain = 2,
}

impl Phase {
    pub fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Warmup,
            1 => Phase::Measure,
            _ => Phase::Drain,
        }
    }
}

/// The measurement fields a subscriber reads from a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    /// Index of the publisher within its room.
    pub publisher: u32,
    /// The publisher's packet counter (0, 1, 2, … without gaps).
    pub counter: u64,
    /// Nanoseconds since the tool's epoch when the packet was handed to the publisher's session.
    pub sent_ns: u64,
    pub phase: Phase,
}

impl Trailer {
    pub fn read(payload: &[u8]) -> Option<Trailer> {
        let start = payload.len().checked_sub(TRAILER_LEN)?;
        let t = payload.get(start..)?;
        if t.get(..4)? != MAGIC {
            return None;
        }
        let u32_at = |o: usize| Some(u32::from_be_bytes(t.get(o..o + 4)?.try_into().ok()?));
        let u64_at = |o: usize| Some(u64::from_be_bytes(t.get(o..o + 8)?.try_into().ok()?));
        Some(Trailer {
            publisher: u32_at(4)?,
            counter: u64_at(8)?,
            sent_ns: u64_at(16)?,
            phase: Phase::from_u8(*t.get(24)?),
        })
    }

    fn write(&self, out: &mut [u8; TRAILER_LEN]) {
        out[..4].copy_from_slice(&MAGIC);
        out[4..8].copy_from_slice(&self.publisher.to_be_bytes());
        out[8..16].copy_from_slice(&self.counter.to_be_bytes());
        out[16..24].copy_from_slice(&self.sent_ns.to_be_bytes());
        out[24] = self.phase as u8;
    }
}

/// One packet to send: payload and the RTP fields that go with it.
pub struct VideoPacket {
    pub payload: Vec<u8>,
    pub timestamp: u32,
    /// Last packet of a frame.
    pub marker: bool,
    pub key_frame: bool,
}

/// Cuts a packet rate into frames: up to 30 frames a second, the rest as packets per frame.
pub struct VideoSource {
    payload_len: usize,
    packets_per_frame: u32,
    ticks_per_frame: u32,
    index_in_frame: u32,
    picture_id: u16,
    timestamp: u32,
    key_wanted: bool,
    current_key: bool,
}

impl VideoSource {
    pub fn new(pps: u32, payload_len: usize, first_timestamp: u32) -> VideoSource {
        let fps = pps.clamp(1, 30);
        VideoSource {
            payload_len: payload_len.max(MIN_PAYLOAD),
            packets_per_frame: (pps / fps).max(1),
            ticks_per_frame: 90_000 / fps,
            index_in_frame: 0,
            picture_id: 0,
            timestamp: first_timestamp,
            // The first frame is a key frame.
            key_wanted: true,
            current_key: false,
        }
    }

    /// Makes the next frame that starts a key frame (a PLI/FIR arrived).
    pub fn request_key_frame(&mut self) {
        self.key_wanted = true;
    }

    pub fn next(&mut self, trailer: Trailer) -> VideoPacket {
        let first = self.index_in_frame == 0;
        if first {
            self.current_key = std::mem::take(&mut self.key_wanted);
        }
        let mut p = Vec::with_capacity(self.payload_len);
        // X=1, S on the first packet, partition 0; I=1; M=1 with a 15-bit picture id.
        p.push(if first { 0x90 } else { 0x80 });
        p.push(0x80);
        p.push(0x80 | ((self.picture_id >> 8) as u8 & 0x7f));
        p.push(self.picture_id as u8);
        if first && self.current_key {
            // Frame tag P=0 (key), version 0, show_frame; start code; 640x480.
            p.extend_from_slice(&[0x10, 0x08, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
        } else if first {
            p.extend_from_slice(&[0x11, 0x08, 0x00]);
        }
        p.resize(self.payload_len - TRAILER_LEN, 0xab);
        let mut t = [0u8; TRAILER_LEN];
        trailer.write(&mut t);
        p.extend_from_slice(&t);

        let packet = VideoPacket {
            payload: p,
            timestamp: self.timestamp,
            marker: self.index_in_frame + 1 == self.packets_per_frame,
            key_frame: first && self.current_key,
        };
        self.index_in_frame += 1;
        if self.index_in_frame == self.packets_per_frame {
            self.index_in_frame = 0;
            self.picture_id = (self.picture_id + 1) & 0x7fff;
            self.timestamp = self.timestamp.wrapping_add(self.ticks_per_frame);
        }
        packet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trailer(counter: u64) -> Trailer {
        Trailer {
            publisher: 3,
            counter,
            sent_ns: 123_456_789,
            phase: Phase::Measure,
        }
    }

    #[test]
    fn trailer_round_trips_at_the_end_of_the_payload() {
        let mut source = VideoSource::new(1000, 200, 1);
        let packet = source.next(trailer(42));
        assert_eq!(packet.payload.len(), 200);
        assert_eq!(Trailer::read(&packet.payload), Some(trailer(42)));
        assert_eq!(Trailer::read(&packet.payload[..100]), None);
    }

    #[test]
    fn frames_group_packets_and_start_with_a_key_frame() {
        // 1000 pps → 30 frames/s of 33 packets, 3000 ticks apart.
        let mut source = VideoSource::new(1000, 100, 0);
        let frame: Vec<VideoPacket> = (0..33).map(|i| source.next(trailer(i))).collect();
        assert!(frame[0].key_frame);
        assert_eq!(frame[0].payload[0], 0x90);
        assert_eq!(frame[0].payload[4] & 0x01, 0, "P bit clear on a key frame");
        assert!(frame[1..]
            .iter()
            .all(|p| !p.key_frame && p.payload[0] == 0x80));
        assert!(frame[32].marker && !frame[31].marker);
        assert!(frame.iter().all(|p| p.timestamp == 0));
        let next = source.next(trailer(33));
        assert_eq!(next.timestamp, 3000);
        assert!(!next.key_frame && next.payload[4] & 0x01 == 1);
        source.request_key_frame();
        for i in 0..32 {
            assert!(!source.next(trailer(34 + i)).key_frame);
        }
        assert!(source.next(trailer(66)).key_frame);
    }
}
