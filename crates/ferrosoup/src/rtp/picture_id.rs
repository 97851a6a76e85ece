//! Keeps VP8 picture ids and TL0PICIDX, and AV1 dependency descriptor frame numbers, continuous on a consumer's
//! outgoing stream when it switches between simulcast streams (each encoder numbers its pictures independently; a
//! receiver seeing the numbers jump would think pictures were lost and stall waiting for them, or, for AV1, take the
//! new key frame for an old one).

use super::codecs::Vp8Descriptor;

/// A counter (modulo `mask + 1`) re-based, when the stream it comes from changes, to follow the last value sent.
#[derive(Debug, Clone, Copy, Default)]
struct Rebased {
    offset: u16,
    last: Option<u16>,
}

impl Rebased {
    /// The value to send for `value`; with `sync` (the first of a new stream) it continues from the last one sent.
    fn map(&mut self, value: u16, mask: u16, sync: bool) -> u16 {
        if sync {
            self.offset = self
                .last
                .map_or(0, |last| last.wrapping_add(1).wrapping_sub(value));
        }
        let out = self.peek(value, mask);
        // Only a newer value moves `last` (a late packet keeps it).
        if self
            .last
            .is_none_or(|last| (out.wrapping_sub(last) & mask) < mask.div_ceil(2))
        {
            self.last = Some(out);
        }
        out
    }

    /// The value to send for `value` without remembering it (a retransmission).
    fn peek(&self, value: u16, mask: u16) -> u16 {
        value.wrapping_add(self.offset) & mask
    }
}

#[derive(Debug, Clone, Default)]
pub struct Vp8Continuity {
    picture_id: Rebased,
    tl0_pic_idx: Rebased,
    sync: bool,
}

impl Vp8Continuity {
    /// The most payload bytes [`Vp8Continuity::rewrite`] reads: the longest descriptor (6) and the byte after it.
    pub const HEAD: usize = 7;

    /// The next packet comes from another stream: re-base so its picture follows the last one sent.
    pub fn require_sync(&mut self) {
        self.sync = true;
    }

    /// Rewrites the descriptor at the start of `payload` in place. Payloads without a descriptor are left alone.
    pub fn rewrite(&mut self, payload: &mut [u8]) {
        let Some(d) = Vp8Descriptor::parse(payload) else {
            return;
        };
        if let Some(pic) = d.picture_id {
            let mask: u16 = if d.picture_id_15bit { 0x7FFF } else { 0x7F };
            let out = self.picture_id.map(pic, mask, self.sync);
            d.set_picture_id(payload, out);
        }
        if let Some(tl0) = d.tl0_pic_idx {
            let out = self.tl0_pic_idx.map(u16::from(tl0), 0xFF, self.sync);
            d.set_tl0_pic_idx(payload, out as u8);
        }
        self.sync = false;
    }
}

/// Re-bases dependency descriptor frame numbers (16 bits) across stream switches. Within one stream the offset stays,
/// so frame diffs (references) keep their meaning; frames the SFU drops leave gaps, which receivers accept.
#[derive(Debug, Clone, Default)]
pub struct FrameNumberContinuity {
    frame: Rebased,
    sync: bool,
}

impl FrameNumberContinuity {
    /// The next frame comes from another stream: it follows the last one sent.
    pub fn require_sync(&mut self) {
        self.sync = true;
    }

    /// The outgoing number of a frame being forwarded.
    pub fn map(&mut self, frame_number: u16) -> u16 {
        let out = self.frame.map(frame_number, u16::MAX, self.sync);
        self.sync = false;
        out
    }

    /// The outgoing number of a frame sent again (retransmission): mapped, nothing remembered.
    pub fn peek(&self, frame_number: u16) -> u16 {
        self.frame.peek(frame_number, u16::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// X=1, I/L/T present, 15-bit picture id.
    fn vp8(pic: u16, tl0: u8, tid: u8) -> Vec<u8> {
        vec![
            0x90,
            0xE0,
            0x80 | (pic >> 8) as u8,
            pic as u8,
            tl0,
            tid << 6,
            0x00,
        ]
    }

    fn read(p: &[u8]) -> (u16, u8) {
        let d = Vp8Descriptor::parse(p).unwrap();
        (d.picture_id.unwrap(), d.tl0_pic_idx.unwrap())
    }

    #[test]
    fn continues_across_a_stream_switch() {
        let mut c = Vp8Continuity::default();
        let mut a = vp8(100, 7, 0);
        c.rewrite(&mut a);
        assert_eq!(read(&a), (100, 7));
        let mut b = vp8(101, 8, 0);
        c.rewrite(&mut b);
        assert_eq!(read(&b), (101, 8));
        c.require_sync();
        let mut other = vp8(32_000, 200, 0);
        c.rewrite(&mut other);
        assert_eq!(read(&other), (102, 9));
        let mut next = vp8(32_001, 201, 0);
        c.rewrite(&mut next);
        assert_eq!(read(&next), (103, 10));
        // Wraps within 15 bits.
        c.require_sync();
        let mut wrap = vp8(0x7FFF, 0, 0);
        c.rewrite(&mut wrap);
        assert_eq!(read(&wrap).0, 104);
    }

    #[test]
    fn frame_numbers_continue_across_a_stream_switch() {
        let mut f = FrameNumberContinuity::default();
        assert_eq!(f.map(500), 500);
        assert_eq!(f.map(501), 501);
        assert_eq!(f.map(501), 501);
        f.require_sync();
        assert_eq!(f.map(65_535), 502);
        assert_eq!(f.map(0), 503);
        assert_eq!(f.peek(65_535), 502);
        // Dropped frames leave gaps; the offset stays.
        assert_eq!(f.map(5), 508);
    }
}
