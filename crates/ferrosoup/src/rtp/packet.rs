//! Zero-copy RTP packet view (RFC 3550) with RFC 8285 header extensions,
//! plus RFC 7983 / RFC 5761 first-byte demultiplexing helpers.
//!
//! [`RtpPacket::parse`] validates the packet layout once (version, CSRC list,
//! extension block, padding) and remembers the offsets; afterwards every
//! getter is a couple of loads and every setter writes straight into the
//! caller's buffer. Nothing here allocates.

use super::bytes::{put_u16, put_u24, put_u32, put_u8, u16_at, u24_at, u32_at, u8_at};

/// Size of the fixed RTP header.
pub const RTP_HEADER_LEN: usize = 12;
/// "Defined by profile" value of the RFC 8285 one-byte header form.
pub const ONE_BYTE_EXTENSION_PROFILE: u16 = 0xBEDE;
/// "Defined by profile" value of the RFC 8285 two-byte header form
/// (the low 4 bits are "appbits" and may be anything).
pub const TWO_BYTE_EXTENSION_PROFILE: u16 = 0x1000;
/// Mask selecting the part of the profile that identifies the two-byte form.
pub const TWO_BYTE_EXTENSION_PROFILE_MASK: u16 = 0xFFF0;

/// Why an RTP packet was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    #[error("RTP packet shorter than the fixed header")]
    TooShort,
    /// Version field is not 2.
    #[error("RTP version is not 2")]
    BadVersion,
    /// The CSRC list runs past the end of the packet.
    #[error("RTP CSRC list runs past the end of the packet")]
    BadCsrcCount,
    /// The header extension runs past the end of the packet.
    #[error("RTP header extension runs past the end of the packet")]
    BadExtensionLength,
    /// The padding bit is set but the padding count is 0 or too large.
    #[error("invalid RTP padding")]
    BadPadding,
    /// The output buffer is too small (writers only).
    #[error("buffer too small")]
    BufferTooSmall,
}

/// Which RFC 8285 form (if any) a header-extension block uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionForm {
    /// 0xBEDE: 4-bit id (1..=14), 4-bit length-minus-one.
    OneByte,
    /// 0x100X: 8-bit id (1..=255), 8-bit length.
    TwoByte,
    /// Some other RFC 3550 profile-specific extension; its elements are opaque.
    Other(u16),
}

impl ExtensionForm {
    /// Classify a "defined by profile" value.
    pub fn from_profile(profile: u16) -> Self {
        if profile == ONE_BYTE_EXTENSION_PROFILE {
            ExtensionForm::OneByte
        } else if profile & TWO_BYTE_EXTENSION_PROFILE_MASK == TWO_BYTE_EXTENSION_PROFILE {
            ExtensionForm::TwoByte
        } else {
            ExtensionForm::Other(profile)
        }
    }
}

/// Offsets computed once by [`RtpPacket::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// Total packet length (== buffer length at parse time).
    len: usize,
    /// Header length including CSRCs and the extension block.
    header_len: usize,
    /// Offset of the extension elements (after the 4-byte extension header).
    ext_start: usize,
    /// Length of the extension elements (0 when there is no extension).
    ext_len: usize,
    /// "Defined by profile" value of the extension block.
    ext_profile: u16,
    has_ext: bool,
    /// Number of padding bytes at the end (including the count byte).
    padding_len: usize,
}

/// A zero-copy view over an RTP packet.
///
/// `B` is the storage: `&[u8]` for a read-only view, `&mut [u8]` (or any
/// owned `AsMut<[u8]>` buffer) to also get the in-place setters.
#[derive(Debug, Clone)]
pub struct RtpPacket<B> {
    buf: B,
    layout: Layout,
}

/// One RFC 8285 header-extension element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderExtension<'a> {
    /// Local identifier (1..=14 for one-byte, 1..=255 for two-byte form).
    pub id: u8,
    /// Element value.
    pub data: &'a [u8],
}

/// Position of one element inside the extension block.
#[derive(Debug, Clone, Copy)]
struct RawElement {
    id: u8,
    /// Offset of the element's first header byte.
    start: usize,
    /// Offset of the value.
    data: usize,
    /// Value length.
    len: usize,
}

/// Outcome of stepping the element walker.
enum Step {
    Element(RawElement),
    /// Clean end of the block.
    End,
    /// Malformed/terminated at this offset: everything from here is unusable.
    Stop(usize),
}

fn next_element(block: &[u8], pos: &mut usize, two_byte: bool) -> Step {
    loop {
        let start = *pos;
        let Some(b0) = u8_at(block, start) else {
            return Step::End;
        };
        if b0 == 0 {
            // Padding byte (both forms).
            *pos += 1;
            continue;
        }
        let (id, data, len) = if two_byte {
            let Some(l) = u8_at(block, start + 1) else {
                return Step::Stop(start);
            };
            (b0, start + 2, l as usize)
        } else {
            let id = b0 >> 4;
            if id == 15 {
                // RFC 8285 4.2: id 15 is reserved; stop parsing.
                return Step::Stop(start);
            }
            if id == 0 {
                // Id 0 with a non-zero length nibble: treat as one padding
                // byte like libwebrtc does.
                *pos += 1;
                continue;
            }
            (id, start + 1, (b0 & 0x0F) as usize + 1)
        };
        if data + len > block.len() {
            return Step::Stop(start);
        }
        *pos = data + len;
        return Step::Element(RawElement {
            id,
            start,
            data,
            len,
        });
    }
}

/// Iterator over the RFC 8285 elements of a packet. Stops silently at the
/// first malformed element; yields nothing for non-RFC 8285 profiles.
#[derive(Debug, Clone)]
pub struct HeaderExtensions<'a> {
    block: &'a [u8],
    pos: usize,
    two_byte: bool,
}

impl<'a> Iterator for HeaderExtensions<'a> {
    type Item = HeaderExtension<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        match next_element(self.block, &mut self.pos, self.two_byte) {
            Step::Element(e) => {
                let data = self.block.get(e.data..e.data + e.len)?;
                Some(HeaderExtension { id: e.id, data })
            }
            Step::End | Step::Stop(_) => {
                self.pos = self.block.len();
                None
            }
        }
    }
}

/// Producer-id → consumer-id table for in-place header-extension remapping.
/// An entry of 0 means "drop this extension".
#[derive(Clone, PartialEq, Eq)]
pub struct ExtensionIdMap {
    table: [u8; 256],
}

impl ExtensionIdMap {
    /// A map that drops every extension.
    pub const fn drop_all() -> Self {
        Self { table: [0; 256] }
    }

    /// A map that keeps every id unchanged.
    pub const fn identity() -> Self {
        let mut table = [0u8; 256];
        let mut i = 0;
        while i < 256 {
            table[i] = i as u8;
            i += 1;
        }
        Self { table }
    }

    /// Build from a raw table (`table[from] = to`, 0 = drop).
    pub const fn from_table(table: [u8; 256]) -> Self {
        Self { table }
    }

    /// Map `from` to `to` (0 = drop).
    pub fn set(&mut self, from: u8, to: u8) {
        if let Some(slot) = self.table.get_mut(from as usize) {
            *slot = to;
        }
    }

    /// Where `from` is mapped to (0 = dropped).
    pub fn get(&self, from: u8) -> u8 {
        self.table.get(from as usize).copied().unwrap_or(0)
    }
}

impl Default for ExtensionIdMap {
    fn default() -> Self {
        Self::drop_all()
    }
}

impl core::fmt::Debug for ExtensionIdMap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut m = f.debug_map();
        for (from, to) in self.table.iter().enumerate() {
            if *to != 0 {
                m.entry(&from, to);
            }
        }
        m.finish()
    }
}

/// Convert milliseconds to the 24-bit 6.18 fixed-point abs-send-time value.
pub fn abs_send_time_from_ms(ms: u64) -> u32 {
    (((ms << 18).wrapping_add(500) / 1000) & 0x00FF_FFFF) as u32
}

/// Convert a [`std::time::Duration`] to the 24-bit 6.18 abs-send-time value.
pub fn abs_send_time_from_duration(d: std::time::Duration) -> u32 {
    // 2^18 ticks per second; only the low 6 bits of seconds are kept.
    let ticks = (d.as_nanos() << 18) / 1_000_000_000;
    (ticks & 0x00FF_FFFF) as u32
}

fn trim_nul(s: &[u8]) -> &[u8] {
    let mut end = s.len();
    while end > 0 && s.get(end - 1) == Some(&0) {
        end -= 1;
    }
    s.get(..end).unwrap_or(&[])
}

impl<B: AsRef<[u8]>> RtpPacket<B> {
    /// Validate and wrap an RTP packet. The whole buffer is the packet.
    pub fn parse(buf: B) -> Result<Self, RtpError> {
        let layout = Self::compute_layout(buf.as_ref())?;
        Ok(Self { buf, layout })
    }

    fn compute_layout(b: &[u8]) -> Result<Layout, RtpError> {
        let len = b.len();
        let (Some(b0), true) = (u8_at(b, 0), len >= RTP_HEADER_LEN) else {
            return Err(RtpError::TooShort);
        };
        if b0 >> 6 != 2 {
            return Err(RtpError::BadVersion);
        }
        let has_padding = b0 & 0x20 != 0;
        let has_ext = b0 & 0x10 != 0;
        let cc = (b0 & 0x0F) as usize;
        let mut header_len = RTP_HEADER_LEN + cc * 4;
        if header_len > len {
            return Err(RtpError::BadCsrcCount);
        }
        let (mut ext_start, mut ext_len, mut ext_profile) = (header_len, 0, 0);
        if has_ext {
            let (Some(profile), Some(words)) = (u16_at(b, header_len), u16_at(b, header_len + 2))
            else {
                return Err(RtpError::BadExtensionLength);
            };
            ext_profile = profile;
            ext_start = header_len + 4;
            ext_len = words as usize * 4;
            header_len = ext_start + ext_len;
            if header_len > len {
                return Err(RtpError::BadExtensionLength);
            }
        }
        let mut padding_len = 0;
        if has_padding {
            let body = len - header_len;
            if body == 0 {
                return Err(RtpError::BadPadding);
            }
            padding_len = u8_at(b, len - 1).unwrap_or(0) as usize;
            if padding_len == 0 || padding_len > body {
                return Err(RtpError::BadPadding);
            }
        }
        Ok(Layout {
            len,
            header_len,
            ext_start,
            ext_len,
            ext_profile,
            has_ext,
            padding_len,
        })
    }

    /// Give the buffer back.
    pub fn into_inner(self) -> B {
        self.buf
    }

    /// The whole packet.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        let b = self.buf.as_ref();
        b.get(..self.layout.len).unwrap_or(b)
    }

    /// Total packet length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.layout.len
    }

    /// Always false: a parsed packet has at least the fixed header.
    #[inline]
    pub fn is_empty(&self) -> bool {
        false
    }

    #[inline]
    fn byte(&self, off: usize) -> u8 {
        u8_at(self.buf.as_ref(), off).unwrap_or(0)
    }

    /// Padding (P) bit.
    #[inline]
    pub fn has_padding(&self) -> bool {
        self.byte(0) & 0x20 != 0
    }

    /// Extension (X) bit.
    #[inline]
    pub fn has_extension(&self) -> bool {
        self.layout.has_ext
    }

    /// Number of CSRCs.
    #[inline]
    pub fn csrc_count(&self) -> u8 {
        self.byte(0) & 0x0F
    }

    /// Marker (M) bit.
    #[inline]
    pub fn marker(&self) -> bool {
        self.byte(1) & 0x80 != 0
    }

    /// Payload type (7 bits).
    #[inline]
    pub fn payload_type(&self) -> u8 {
        self.byte(1) & 0x7F
    }

    /// Sequence number.
    #[inline]
    pub fn sequence_number(&self) -> u16 {
        u16_at(self.buf.as_ref(), 2).unwrap_or(0)
    }

    /// RTP timestamp.
    #[inline]
    pub fn timestamp(&self) -> u32 {
        u32_at(self.buf.as_ref(), 4).unwrap_or(0)
    }

    /// Synchronization source.
    #[inline]
    pub fn ssrc(&self) -> u32 {
        u32_at(self.buf.as_ref(), 8).unwrap_or(0)
    }

    /// The CSRC list.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + '_ {
        let b = self.buf.as_ref();
        (0..self.csrc_count() as usize).filter_map(move |i| u32_at(b, RTP_HEADER_LEN + i * 4))
    }

    /// Header length including CSRCs and the extension block.
    #[inline]
    pub fn header_len(&self) -> usize {
        self.layout.header_len
    }

    /// Number of padding bytes (including the trailing count byte).
    #[inline]
    pub fn padding_len(&self) -> usize {
        self.layout.padding_len
    }

    /// Payload length excluding padding.
    #[inline]
    pub fn payload_len(&self) -> usize {
        self.layout.len - self.layout.header_len - self.layout.padding_len
    }

    /// The payload, excluding padding.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let start = self.layout.header_len;
        let end = self.layout.len - self.layout.padding_len;
        self.buf.as_ref().get(start..end).unwrap_or(&[])
    }

    /// "Defined by profile" value of the extension block, if any.
    pub fn extension_profile(&self) -> Option<u16> {
        self.layout.has_ext.then_some(self.layout.ext_profile)
    }

    /// RFC 8285 form of the extension block, if any.
    pub fn extension_form(&self) -> Option<ExtensionForm> {
        self.extension_profile().map(ExtensionForm::from_profile)
    }

    /// The raw extension elements (after the 4-byte extension header).
    pub fn extension_block(&self) -> &[u8] {
        let l = &self.layout;
        self.buf
            .as_ref()
            .get(l.ext_start..l.ext_start + l.ext_len)
            .unwrap_or(&[])
    }

    fn two_byte(&self) -> Option<bool> {
        match self.extension_form()? {
            ExtensionForm::OneByte => Some(false),
            ExtensionForm::TwoByte => Some(true),
            ExtensionForm::Other(_) => None,
        }
    }

    /// Iterate the RFC 8285 header-extension elements.
    pub fn extensions(&self) -> HeaderExtensions<'_> {
        match self.two_byte() {
            Some(two_byte) => HeaderExtensions {
                block: self.extension_block(),
                pos: 0,
                two_byte,
            },
            None => HeaderExtensions {
                block: &[],
                pos: 0,
                two_byte: false,
            },
        }
    }

    /// Value of the first extension element with this id.
    pub fn extension(&self, id: u8) -> Option<&[u8]> {
        if id == 0 {
            return None;
        }
        self.extensions().find(|e| e.id == id).map(|e| e.data)
    }

    /// Offsets (within the whole packet) of the value of extension `id`.
    fn extension_range(&self, id: u8) -> Option<(usize, usize)> {
        if id == 0 {
            return None;
        }
        let two_byte = self.two_byte()?;
        let block = self.extension_block();
        let mut pos = 0;
        loop {
            match next_element(block, &mut pos, two_byte) {
                Step::Element(e) if e.id == id => {
                    let start = self.layout.ext_start + e.data;
                    return Some((start, start + e.len));
                }
                Step::Element(_) => {}
                Step::End | Step::Stop(_) => return None,
            }
        }
    }

    /// Read an RFC 8285 string extension such as `sdes:mid` or
    /// `rtp-stream-id`/`repaired-rtp-stream-id` (trailing NULs ignored).
    pub fn extension_str(&self, id: u8) -> Option<&str> {
        let v = trim_nul(self.extension(id)?);
        if v.is_empty() {
            return None;
        }
        core::str::from_utf8(v).ok()
    }

    /// `urn:ietf:params:rtp-hdrext:sdes:mid` value.
    pub fn mid(&self, id: u8) -> Option<&str> {
        self.extension_str(id)
    }

    /// `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id` (or the repaired
    /// variant, given its id) value.
    pub fn rid(&self, id: u8) -> Option<&str> {
        self.extension_str(id)
    }

    /// `http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time`
    /// 24-bit 6.18 fixed-point value.
    pub fn abs_send_time(&self, id: u8) -> Option<u32> {
        let v = self.extension(id)?;
        if v.len() != 3 {
            return None;
        }
        u24_at(v, 0)
    }

    /// transport-wide-cc-extensions-01 sequence number.
    pub fn transport_wide_cc_seq(&self, id: u8) -> Option<u16> {
        let v = self.extension(id)?;
        if v.len() != 2 {
            return None;
        }
        u16_at(v, 0)
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> RtpPacket<B> {
    /// The whole packet, mutable.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        let len = self.layout.len;
        let b = self.buf.as_mut();
        let n = len.min(b.len());
        b.get_mut(..n).unwrap_or_default()
    }

    /// Set or clear the marker bit.
    #[inline]
    pub fn set_marker(&mut self, marker: bool) {
        let b = self.buf.as_mut();
        if let Some(x) = b.get_mut(1) {
            *x = (*x & 0x7F) | if marker { 0x80 } else { 0 };
        }
    }

    /// Set the payload type (the marker bit is preserved).
    #[inline]
    pub fn set_payload_type(&mut self, pt: u8) {
        let b = self.buf.as_mut();
        if let Some(x) = b.get_mut(1) {
            *x = (*x & 0x80) | (pt & 0x7F);
        }
    }

    /// Set the sequence number.
    #[inline]
    pub fn set_sequence_number(&mut self, seq: u16) {
        put_u16(self.buf.as_mut(), 2, seq);
    }

    /// Set the RTP timestamp.
    #[inline]
    pub fn set_timestamp(&mut self, ts: u32) {
        put_u32(self.buf.as_mut(), 4, ts);
    }

    /// Set the SSRC.
    #[inline]
    pub fn set_ssrc(&mut self, ssrc: u32) {
        put_u32(self.buf.as_mut(), 8, ssrc);
    }

    /// The payload (excluding padding), mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.layout.header_len;
        let end = self.layout.len - self.layout.padding_len;
        match self.buf.as_mut().get_mut(start..end) {
            Some(p) => p,
            None => &mut [],
        }
    }

    /// Mutable value of the first extension element with this id.
    pub fn extension_mut(&mut self, id: u8) -> Option<&mut [u8]> {
        let (start, end) = self.extension_range(id)?;
        self.buf.as_mut().get_mut(start..end)
    }

    /// Write the abs-send-time value (24 bits) into an existing 3-byte
    /// element. Returns false if the element is absent or has another size.
    pub fn set_abs_send_time(&mut self, id: u8, value: u32) -> bool {
        match self.extension_mut(id) {
            Some(v) if v.len() == 3 => put_u24(v, 0, value & 0x00FF_FFFF),
            _ => false,
        }
    }

    /// Write the transport-wide-cc sequence number into an existing 2-byte
    /// element. Returns false if the element is absent or has another size.
    pub fn set_transport_wide_cc_seq(&mut self, id: u8, seq: u16) -> bool {
        match self.extension_mut(id) {
            Some(v) if v.len() == 2 => put_u16(v, 0, seq),
            _ => false,
        }
    }

    /// Rewrite header-extension ids in place through `map`.
    ///
    /// Elements mapped to 0 (and, in the one-byte form, to ids above 14,
    /// which that form cannot carry) are overwritten with zero bytes, which
    /// RFC 8285 defines as padding, so the block length stays valid. Bytes
    /// after a malformed or id-15-terminated element are zeroed too, so the
    /// result only ever carries ids that went through the map. Extension
    /// blocks with a non-RFC 8285 profile are left untouched.
    pub fn remap_extensions(&mut self, map: &ExtensionIdMap) {
        let Some(two_byte) = self.two_byte() else {
            return;
        };
        let l = self.layout;
        let Some(block) = self
            .buf
            .as_mut()
            .get_mut(l.ext_start..l.ext_start + l.ext_len)
        else {
            return;
        };
        let mut pos = 0;
        loop {
            match next_element(block, &mut pos, two_byte) {
                Step::Element(e) => {
                    let to = map.get(e.id);
                    let keep = to != 0 && (two_byte || to <= 14);
                    if !keep {
                        if let Some(s) = block.get_mut(e.start..e.data + e.len) {
                            s.fill(0);
                        }
                    } else if two_byte {
                        put_u8(block, e.start, to);
                    } else {
                        put_u8(block, e.start, (to << 4) | ((e.len - 1) as u8 & 0x0F));
                    }
                }
                Step::End => return,
                Step::Stop(at) => {
                    if let Some(s) = block.get_mut(at..) {
                        s.fill(0);
                    }
                    return;
                }
            }
        }
    }
}

/// RFC 4588 RTX decapsulation in place: the packet in `buf[..len]` is an RTX
/// packet whose payload starts with the original sequence number (OSN).
/// Restores the original sequence number, payload type and SSRC, moves the
/// payload down over the OSN and drops any padding. Returns the new packet
/// length, or `None` (buffer untouched) if it is not a valid RTP packet or
/// has no OSN (e.g. a padding-only probe).
pub fn rtx_decode_in_place(
    buf: &mut [u8],
    len: usize,
    original_pt: u8,
    original_ssrc: u32,
) -> Option<usize> {
    let pkt = buf.get_mut(..len)?;
    let p = RtpPacket::parse(&mut *pkt).ok()?;
    let (hl, pl) = (p.header_len(), p.payload_len());
    if pl < 2 {
        return None;
    }
    let osn = u16_at(pkt, hl)?;
    let mut p = RtpPacket::parse(&mut *pkt).ok()?;
    p.set_sequence_number(osn);
    p.set_payload_type(original_pt);
    p.set_ssrc(original_ssrc);
    pkt.copy_within(hl + 2..hl + pl, hl);
    if let Some(b0) = pkt.get_mut(0) {
        *b0 &= !0x20;
    }
    Some(hl + pl - 2)
}

/// RFC 4588 RTX encapsulation in place: the packet in `buf[..len]` becomes an
/// RTX packet (OSN inserted before the payload, padding dropped) with the
/// given payload type, SSRC and sequence number. `buf` needs 2 spare bytes
/// after the payload. Returns the new length.
pub fn rtx_encode_in_place(
    buf: &mut [u8],
    len: usize,
    rtx_pt: u8,
    rtx_ssrc: u32,
    rtx_seq: u16,
) -> Result<usize, RtpError> {
    let pkt = buf.get_mut(..len).ok_or(RtpError::TooShort)?;
    let p = RtpPacket::parse(&mut *pkt)?;
    let (hl, pl, osn) = (p.header_len(), p.payload_len(), p.sequence_number());
    let new_len = hl + pl + 2;
    if buf.len() < new_len {
        return Err(RtpError::BufferTooSmall);
    }
    buf.copy_within(hl..hl + pl, hl + 2);
    put_u16(buf, hl, osn);
    if let Some(b0) = buf.get_mut(0) {
        *b0 &= !0x20;
    }
    let mut p = RtpPacket::parse(buf.get_mut(..new_len).ok_or(RtpError::BufferTooSmall)?)?;
    p.set_payload_type(rtx_pt);
    p.set_ssrc(rtx_ssrc);
    p.set_sequence_number(rtx_seq);
    Ok(new_len)
}

/// Write a minimal 12-byte RTP header (no CSRC, no extension, no padding)
/// into `buf`. Returns the header length.
pub fn write_rtp_header(
    buf: &mut [u8],
    marker: bool,
    payload_type: u8,
    seq: u16,
    timestamp: u32,
    ssrc: u32,
) -> Result<usize, RtpError> {
    let Some(h) = buf.get_mut(..RTP_HEADER_LEN) else {
        return Err(RtpError::BufferTooSmall);
    };
    put_u8(h, 0, 0x80);
    put_u8(h, 1, (payload_type & 0x7F) | if marker { 0x80 } else { 0 });
    put_u16(h, 2, seq);
    put_u32(h, 4, timestamp);
    put_u32(h, 8, ssrc);
    Ok(RTP_HEADER_LEN)
}

// ---------------------------------------------------------------------------
// Demultiplexing (RFC 7983, RFC 5761).
// ---------------------------------------------------------------------------

/// What a datagram received on a WebRTC transport is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketClass {
    /// First byte 0..=3 (RFC 7983) and at least a STUN header long.
    Stun,
    /// First byte 20..=63 and at least a DTLS record header long.
    Dtls,
    /// First byte 128..=191, second byte not an RTCP packet type.
    Rtp,
    /// First byte 128..=191, second byte 192..=223 (RFC 5761).
    Rtcp,
    /// Anything else (ZRTP, TURN channel, garbage, too short).
    Unknown,
}

/// Minimum STUN message length (its header).
const STUN_HEADER_LEN: usize = 20;
/// Minimum DTLS record length (its header).
const DTLS_RECORD_HEADER_LEN: usize = 13;
/// Minimum RTCP packet length (the common header).
const RTCP_MIN_LEN: usize = 4;

/// RFC 7983: first byte 0..=3 → STUN.
pub fn is_stun(buf: &[u8]) -> bool {
    buf.len() >= STUN_HEADER_LEN && matches!(buf.first(), Some(0..=3))
}

/// RFC 7983: first byte 20..=63 → DTLS.
pub fn is_dtls(buf: &[u8]) -> bool {
    buf.len() >= DTLS_RECORD_HEADER_LEN && matches!(buf.first(), Some(20..=63))
}

/// RFC 7983: first byte 128..=191 → RTP or RTCP.
pub fn is_rtp_or_rtcp(buf: &[u8]) -> bool {
    buf.len() >= RTCP_MIN_LEN && matches!(buf.first(), Some(128..=191))
}

/// RFC 5761 4: the second byte (marker bit included) in 192..=223 means
/// RTCP when RTP and RTCP share a port.
pub fn is_rtcp(buf: &[u8]) -> bool {
    is_rtp_or_rtcp(buf) && matches!(buf.get(1), Some(192..=223))
}

/// RTP when it is RTP-or-RTCP, not RTCP, and long enough for an RTP header.
pub fn is_rtp(buf: &[u8]) -> bool {
    buf.len() >= RTP_HEADER_LEN && is_rtp_or_rtcp(buf) && !is_rtcp(buf)
}

/// Classify a datagram.
pub fn classify_packet(buf: &[u8]) -> PacketClass {
    if is_rtcp(buf) {
        PacketClass::Rtcp
    } else if is_rtp(buf) {
        PacketClass::Rtp
    } else if is_stun(buf) {
        PacketClass::Stun
    } else if is_dtls(buf) {
        PacketClass::Dtls
    } else {
        PacketClass::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8-ish packet: V=2, X=1, M=1, PT=96, seq=0x1234, ts=0xdeadbeef,
    /// ssrc=0x11223344, one-byte extensions:
    ///   id 1 (mid "a0"), id 3 (abs-send-time), id 5 (twcc seq), padding
    fn one_byte_packet() -> Vec<u8> {
        let mut p = vec![
            0x90, 0xE0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33, 0x44,
            // extension header: 0xBEDE, 3 words
            0xBE, 0xDE, 0x00, 0x03, // id 1 len 2: "a0"
            0x11, b'a', b'0', // id 3 len 3: abs-send-time
            0x32, 0x01, 0x02, 0x03, // id 5 len 2: twcc
            0x51, 0xAB, 0xCD, // padding to 12 bytes
            0x00, 0x00,
        ];
        p.extend_from_slice(&[0x10, 0x02, 0x03, 0x04]); // payload
        p
    }

    fn two_byte_packet() -> Vec<u8> {
        let mut p = vec![
            0x90, 0x60, 0x00, 0x01, 0, 0, 0, 100, 0, 0, 0, 7,
            // 0x1000 profile, 3 words (12 bytes)
            0x10, 0x00, 0x00, 0x03, // id 1 len 2 "m1"
            0x01, 0x02, b'm', b'1', // padding byte
            0x00, // id 200 len 0
            200, 0x00, // id 16 len 3
            16, 0x03, 9, 9, 9,
        ];
        p.extend_from_slice(&[0xAA, 0xBB]);
        p
    }

    #[test]
    fn parses_fixed_header() {
        let mut buf = one_byte_packet();
        let p = RtpPacket::parse(&mut buf[..]).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 96);
        assert_eq!(p.sequence_number(), 0x1234);
        assert_eq!(p.timestamp(), 0xdeadbeef);
        assert_eq!(p.ssrc(), 0x11223344);
        assert_eq!(p.csrc_count(), 0);
        assert!(p.has_extension());
        assert_eq!(p.extension_profile(), Some(0xBEDE));
        assert_eq!(p.extension_form(), Some(ExtensionForm::OneByte));
        assert_eq!(p.header_len(), 28);
        assert_eq!(p.payload(), &[0x10, 0x02, 0x03, 0x04]);
        assert_eq!(p.padding_len(), 0);
        assert_eq!(p.len(), 32);
        assert!(!p.is_empty());
    }

    #[test]
    fn setters_write_in_place() {
        let mut buf = one_byte_packet();
        let mut p = RtpPacket::parse(&mut buf[..]).unwrap();
        p.set_marker(false);
        p.set_payload_type(101);
        assert!(!p.marker());
        assert_eq!(p.payload_type(), 101);
        p.set_marker(true);
        p.set_payload_type(0xFF); // masked to 7 bits
        assert!(p.marker());
        assert_eq!(p.payload_type(), 0x7F);
        p.set_sequence_number(0xFFFF);
        p.set_timestamp(1);
        p.set_ssrc(0xCAFEBABE);
        p.payload_mut()[0] = 0x99;
        assert_eq!(p.sequence_number(), 0xFFFF);
        assert_eq!(p.timestamp(), 1);
        assert_eq!(p.ssrc(), 0xCAFEBABE);
        assert_eq!(
            &buf[..12],
            &[0x90, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 0xCA, 0xFE, 0xBA, 0xBE]
        );
        assert_eq!(buf[28], 0x99);
    }

    #[test]
    fn read_only_view_works() {
        let buf = one_byte_packet();
        let p = RtpPacket::parse(&buf[..]).unwrap();
        assert_eq!(p.mid(1), Some("a0"));
        assert_eq!(p.as_bytes(), &buf[..]);
    }

    #[test]
    fn one_byte_extensions() {
        let mut buf = one_byte_packet();
        let mut p = RtpPacket::parse(&mut buf[..]).unwrap();
        let ids: Vec<_> = p.extensions().map(|e| (e.id, e.data.len())).collect();
        assert_eq!(ids, vec![(1, 2), (3, 3), (5, 2)]);
        assert_eq!(p.extension(1), Some(&b"a0"[..]));
        assert_eq!(p.extension(2), None);
        assert_eq!(p.extension(0), None);
        assert_eq!(p.mid(1), Some("a0"));
        assert_eq!(p.abs_send_time(3), Some(0x010203));
        assert_eq!(p.abs_send_time(5), None, "wrong size");
        assert_eq!(p.transport_wide_cc_seq(5), Some(0xABCD));
        assert_eq!(p.transport_wide_cc_seq(1), Some(u16::from_be_bytes(*b"a0")));
        assert!(p.set_abs_send_time(3, 0xFF_AABBCC));
        assert_eq!(p.abs_send_time(3), Some(0xAABBCC));
        assert!(p.set_transport_wide_cc_seq(5, 7));
        assert_eq!(p.transport_wide_cc_seq(5), Some(7));
        assert!(!p.set_transport_wide_cc_seq(3, 7));
        assert!(!p.set_abs_send_time(9, 7));
        // Everything else is intact.
        assert_eq!(p.payload(), &[0x10, 0x02, 0x03, 0x04]);
        assert_eq!(p.mid(1), Some("a0"));
    }

    #[test]
    fn two_byte_extensions() {
        let mut buf = two_byte_packet();
        let p = RtpPacket::parse(&mut buf[..]).unwrap();
        assert_eq!(p.extension_form(), Some(ExtensionForm::TwoByte));
        let ids: Vec<_> = p.extensions().map(|e| (e.id, e.data.to_vec())).collect();
        assert_eq!(
            ids,
            vec![(1, b"m1".to_vec()), (200, vec![]), (16, vec![9, 9, 9])]
        );
        assert_eq!(p.rid(1), Some("m1"));
        assert_eq!(p.rid(200), None, "empty string");
        assert_eq!(p.extension(200), Some(&[][..]));
        assert_eq!(p.payload(), &[0xAA, 0xBB]);
    }

    #[test]
    fn two_byte_appbits_accepted() {
        let mut buf = two_byte_packet();
        buf[13] = 0x0F; // 0x100F
        let p = RtpPacket::parse(&buf[..]).unwrap();
        assert_eq!(p.extension_form(), Some(ExtensionForm::TwoByte));
        assert_eq!(p.rid(1), Some("m1"));
    }

    #[test]
    fn unknown_profile_is_opaque() {
        let mut buf = one_byte_packet();
        buf[12] = 0x12;
        buf[13] = 0x34;
        let mut p = RtpPacket::parse(&mut buf[..]).unwrap();
        assert_eq!(p.extension_form(), Some(ExtensionForm::Other(0x1234)));
        assert_eq!(p.extensions().count(), 0);
        assert_eq!(p.extension(1), None);
        let before = p.as_bytes().to_vec();
        p.remap_extensions(&ExtensionIdMap::drop_all());
        assert_eq!(p.as_bytes(), &before[..]);
    }

    #[test]
    fn remap_one_byte() {
        let mut buf = one_byte_packet();
        let mut map = ExtensionIdMap::drop_all();
        map.set(1, 9); // mid 1 -> 9
        map.set(3, 15); // not representable in one-byte form -> dropped
        map.set(5, 2); // twcc 5 -> 2
        let mut p = RtpPacket::parse(&mut buf[..]).unwrap();
        p.remap_extensions(&map);
        let ids: Vec<_> = p.extensions().map(|e| (e.id, e.data.to_vec())).collect();
        assert_eq!(ids, vec![(9, b"a0".to_vec()), (2, vec![0xAB, 0xCD])]);
        assert_eq!(p.abs_send_time(3), None);
        assert_eq!(p.transport_wide_cc_seq(2), Some(0xABCD));
        assert_eq!(p.payload(), &[0x10, 0x02, 0x03, 0x04]);
        // The dropped element became padding bytes.
        assert_eq!(&buf[19..23], &[0, 0, 0, 0]);
        assert_eq!(buf[16], 0x91);
        assert_eq!(buf[23], 0x21);
        // Re-parse from scratch: lengths remained valid.
        assert!(RtpPacket::parse(&buf[..]).is_ok());
    }

    #[test]
    fn remap_two_byte() {
        let mut buf = two_byte_packet();
        let mut map = ExtensionIdMap::identity();
        map.set(1, 250);
        map.set(200, 0);
        let mut p = RtpPacket::parse(&mut buf[..]).unwrap();
        p.remap_extensions(&map);
        let ids: Vec<_> = p.extensions().map(|e| (e.id, e.data.to_vec())).collect();
        assert_eq!(ids, vec![(250, b"m1".to_vec()), (16, vec![9, 9, 9])]);
        assert_eq!(&buf[21..23], &[0, 0]);
    }

    #[test]
    fn remap_zeroes_after_malformed_element() {
        // One-byte block: id 1 len 1, then id 2 claiming 4 bytes (truncated).
        let buf = vec![
            0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0x00, 0x01, 0x10, 0x55, 0x23,
            0x01, 0x77,
        ];
        let mut buf2 = buf.clone();
        let mut p = RtpPacket::parse(&mut buf2[..]).unwrap();
        assert_eq!(p.extensions().count(), 1);
        p.remap_extensions(&ExtensionIdMap::identity());
        assert_eq!(&buf2[16..20], &[0x10, 0x55, 0, 0]);
        // id 15 terminates the block.
        let mut buf3 = buf.clone();
        buf3[18] = 0xF0;
        let mut p = RtpPacket::parse(&mut buf3[..]).unwrap();
        assert_eq!(p.extensions().count(), 1);
        p.remap_extensions(&ExtensionIdMap::identity());
        assert_eq!(&buf3[16..20], &[0x10, 0x55, 0, 0]);
        // Two-byte element missing its length byte.
        let mut buf4 = vec![
            0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x07,
        ];
        let mut p = RtpPacket::parse(&mut buf4[..]).unwrap();
        assert_eq!(p.extensions().count(), 0);
        p.remap_extensions(&ExtensionIdMap::identity());
        assert_eq!(&buf4[16..20], &[0, 0, 0, 0]);
    }

    #[test]
    fn id_zero_with_length_is_skipped_as_padding() {
        let buf = vec![
            0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0x00, 0x01, 0x03, 0x10, 0x42,
            0x00,
        ];
        let p = RtpPacket::parse(&buf[..]).unwrap();
        let v: Vec<_> = p.extensions().map(|e| (e.id, e.data.to_vec())).collect();
        assert_eq!(v, vec![(1, vec![0x42])]);
    }

    #[test]
    fn csrcs_and_padding() {
        let buf = vec![
            0xA2, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, // P=1, CC=2
            0, 0, 0, 10, 0, 0, 0, 11, // CSRCs
            0xAA, 0xBB, 0xCC, // payload
            0, 0, 3, // 3 padding bytes
        ];
        let p = RtpPacket::parse(&buf[..]).unwrap();
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![10, 11]);
        assert!(p.has_padding());
        assert_eq!(p.padding_len(), 3);
        assert_eq!(p.payload(), &[0xAA, 0xBB, 0xCC]);
        assert_eq!(p.payload_len(), 3);
        assert_eq!(p.header_len(), 20);
        // Padding-only packet (all payload is padding) is valid.
        let buf = vec![0xA0, 0x00, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4];
        let p = RtpPacket::parse(&buf[..]).unwrap();
        assert_eq!(p.payload(), &[] as &[u8]);
        assert_eq!(p.padding_len(), 4);
    }

    #[test]
    fn rejects_malformed() {
        let good = one_byte_packet();
        assert_eq!(
            RtpPacket::parse(&good[..11]).unwrap_err(),
            RtpError::TooShort
        );
        assert_eq!(RtpPacket::parse(&[][..]).unwrap_err(), RtpError::TooShort);
        let mut v = good.clone();
        v[0] = 0x50; // version 1
        assert_eq!(RtpPacket::parse(&v[..]).unwrap_err(), RtpError::BadVersion);
        let mut v = good.clone();
        v[0] = 0x8F; // 15 CSRCs
        assert_eq!(
            RtpPacket::parse(&v[..]).unwrap_err(),
            RtpError::BadCsrcCount
        );
        // Extension header truncated.
        assert_eq!(
            RtpPacket::parse(&good[..14]).unwrap_err(),
            RtpError::BadExtensionLength
        );
        // Extension length beyond the end.
        let mut v = good.clone();
        v[15] = 0x20;
        assert_eq!(
            RtpPacket::parse(&v[..]).unwrap_err(),
            RtpError::BadExtensionLength
        );
        // Header-only packet with extension exactly filling it is fine.
        assert!(RtpPacket::parse(&good[..28]).is_ok());
        // Padding: count 0, count too big, nothing after header.
        let mut v = good.clone();
        v[0] |= 0x20;
        let n = v.len();
        v[n - 1] = 0;
        assert_eq!(RtpPacket::parse(&v[..]).unwrap_err(), RtpError::BadPadding);
        v[n - 1] = 5;
        assert_eq!(RtpPacket::parse(&v[..]).unwrap_err(), RtpError::BadPadding);
        v[n - 1] = 4;
        assert!(RtpPacket::parse(&v[..]).is_ok());
        assert_eq!(
            RtpPacket::parse(&v[..28]).unwrap_err(),
            RtpError::BadPadding
        );
    }

    #[test]
    fn abs_send_time_conversion() {
        assert_eq!(abs_send_time_from_ms(0), 0);
        assert_eq!(abs_send_time_from_ms(1000), 1 << 18);
        assert_eq!(abs_send_time_from_ms(64_000), 0); // wraps every 64 s
        assert_eq!(
            abs_send_time_from_duration(std::time::Duration::from_millis(1500)),
            3 << 17
        );
        assert_eq!(
            abs_send_time_from_duration(std::time::Duration::from_secs(65)),
            1 << 18
        );
    }

    #[test]
    fn rtx_round_trip() {
        // Original: extension + 4-byte payload + 4 bytes padding.
        let mut orig = one_byte_packet();
        orig[0] |= 0x20;
        orig.extend_from_slice(&[0, 0, 0, 4]);
        let len = orig.len();
        let mut buf = orig.clone();
        buf.extend_from_slice(&[0xEE, 0xEE]);
        let n = rtx_encode_in_place(&mut buf, len, 97, 0xABCD, 500).unwrap();
        assert_eq!(n, len - 4 + 2);
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        assert_eq!(
            (p.payload_type(), p.ssrc(), p.sequence_number()),
            (97, 0xABCD, 500)
        );
        assert!(p.marker());
        assert!(!p.has_padding());
        assert_eq!(p.payload(), &[0x12, 0x34, 0x10, 0x02, 0x03, 0x04]);
        assert_eq!(p.mid(1), Some("a0"));
        let m = rtx_decode_in_place(&mut buf, n, 96, 0x11223344).unwrap();
        assert_eq!(m, len - 4);
        let mut expect = orig[..len - 4].to_vec();
        expect[0] &= !0x20;
        assert_eq!(&buf[..m], &expect[..]);
        // Not enough room / not RTP / padding-only RTX probe.
        let mut plain = one_byte_packet();
        let plain_len = plain.len();
        assert_eq!(
            rtx_encode_in_place(&mut plain, plain_len, 97, 1, 1),
            Err(RtpError::BufferTooSmall)
        );
        // Padding makes room for the OSN.
        assert_eq!(
            rtx_encode_in_place(&mut orig.clone(), len, 97, 1, 1),
            Ok(len - 2)
        );
        assert_eq!(
            rtx_encode_in_place(&mut [0u8; 40], 20, 97, 1, 1),
            Err(RtpError::BadVersion)
        );
        assert_eq!(
            rtx_encode_in_place(&mut [0u8; 4], 20, 97, 1, 1),
            Err(RtpError::TooShort)
        );
        let mut probe = [0xA0, 97, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4];
        assert_eq!(rtx_decode_in_place(&mut probe, 16, 96, 1), None);
        assert_eq!(rtx_decode_in_place(&mut probe, 17, 96, 1), None);
    }

    #[test]
    fn writes_minimal_header() {
        let mut buf = [0u8; 16];
        assert_eq!(write_rtp_header(&mut buf, true, 111, 5, 6, 7), Ok(12));
        let p = RtpPacket::parse(&buf[..]).unwrap();
        assert!(p.marker());
        assert_eq!(
            (
                p.payload_type(),
                p.sequence_number(),
                p.timestamp(),
                p.ssrc()
            ),
            (111, 5, 6, 7)
        );
        assert_eq!(p.payload().len(), 4);
        assert_eq!(
            write_rtp_header(&mut buf[..11], true, 1, 1, 1, 1),
            Err(RtpError::BufferTooSmall)
        );
    }

    #[test]
    fn demux() {
        let rtp = one_byte_packet();
        assert_eq!(classify_packet(&rtp), PacketClass::Rtp);
        assert!(is_rtp(&rtp) && is_rtp_or_rtcp(&rtp) && !is_rtcp(&rtp));
        // RTCP RR: 0x81 0xC9 (201).
        let rr = [0x81, 0xC9, 0x00, 0x07, 0, 0, 0, 1];
        assert_eq!(classify_packet(&rr), PacketClass::Rtcp);
        assert!(is_rtcp(&rr) && !is_rtp(&rr));
        // PT 200 (SR) and 223 are RTCP, 224 and 191 are RTP (RFC 5761).
        let mut p = rtp.clone();
        p[1] = 200;
        assert!(is_rtcp(&p));
        p[1] = 223;
        assert!(is_rtcp(&p));
        p[1] = 224;
        assert!(is_rtp(&p));
        p[1] = 191;
        assert!(is_rtp(&p));
        // Marker bit set + PT 72 = 200 on the wire: this is RTCP by RFC 5761.
        p[1] = 0x80 | 72;
        assert!(is_rtcp(&p));
        // STUN binding request.
        let mut stun = [0u8; 20];
        stun[1] = 0x01;
        assert_eq!(classify_packet(&stun), PacketClass::Stun);
        assert_eq!(classify_packet(&stun[..19]), PacketClass::Unknown);
        stun[0] = 3;
        assert_eq!(classify_packet(&stun), PacketClass::Stun);
        stun[0] = 4;
        assert_eq!(classify_packet(&stun), PacketClass::Unknown);
        // DTLS handshake record.
        let mut dtls = [0u8; 13];
        dtls[0] = 22;
        assert_eq!(classify_packet(&dtls), PacketClass::Dtls);
        dtls[0] = 63;
        assert!(is_dtls(&dtls));
        dtls[0] = 64; // TURN channel
        assert_eq!(classify_packet(&dtls), PacketClass::Unknown);
        assert_eq!(classify_packet(&[]), PacketClass::Unknown);
        assert_eq!(classify_packet(&[0x80]), PacketClass::Unknown);
        assert!(!is_rtp(&rr[..4]));
        assert!(is_rtcp(&rr[..4]));
        assert_eq!(classify_packet(&[192; 20]), PacketClass::Unknown);
    }

    #[test]
    fn extension_id_map_debug_and_default() {
        let mut m = ExtensionIdMap::default();
        assert_eq!(m.get(3), 0);
        m.set(3, 4);
        assert_eq!(format!("{m:?}"), "{3: 4}");
        assert_eq!(ExtensionIdMap::identity().get(200), 200);
        let mut t = [0u8; 256];
        t[7] = 1;
        assert_eq!(ExtensionIdMap::from_table(t).get(7), 1);
    }
}

// ---------------------------------------------------------------------------
// Re-writing a packet with a new extension block.
// ---------------------------------------------------------------------------

/// Collects the elements of a new RFC 8285 extension block; see [`write_with_extensions`]. The block is in the
/// one-byte form until an element needs the two-byte one (id above 14 or value longer than 16 bytes: an AV1
/// dependency descriptor carrying its structure), then the elements written so far are converted.
pub struct ExtensionWriter<'a> {
    out: &'a mut Vec<u8>,
    body_start: usize,
    two_byte: bool,
}

impl ExtensionWriter<'_> {
    /// Appends one element (id 1..=255, value 1..=255 bytes); returns whether it was written.
    pub fn push(&mut self, id: u8, data: &[u8]) -> bool {
        if id == 0 || data.is_empty() || data.len() > 255 {
            return false;
        }
        if !self.two_byte && (id > 14 || data.len() > 16) && !self.convert_to_two_byte() {
            return false;
        }
        if self.two_byte {
            self.out.extend_from_slice(&[id, data.len() as u8]);
        } else {
            self.out.push((id << 4) | (data.len() as u8 - 1));
        }
        self.out.extend_from_slice(data);
        true
    }

    /// Re-encodes the one-byte elements written so far in the two-byte form (each header grows by one byte).
    fn convert_to_two_byte(&mut self) -> bool {
        let mut old = [0u8; 512];
        let body = self.out.get(self.body_start..).unwrap_or(&[]);
        let Some(copy) = old.get_mut(..body.len()) else {
            return false;
        };
        copy.copy_from_slice(body);
        let n = body.len();
        self.out.truncate(self.body_start);
        let mut at = 0;
        while let Some(&h) = old.get(at).filter(|_| at < n) {
            let len = (h & 0x0F) as usize + 1;
            let Some(data) = old.get(at + 1..at + 1 + len) else {
                break;
            };
            self.out.extend_from_slice(&[h >> 4, len as u8]);
            self.out.extend_from_slice(data);
            at += 1 + len;
        }
        self.two_byte = true;
        true
    }
}

/// Copies `src` into `out` (cleared first) with a freshly built extension block whose elements `elements` supplies,
/// keeping the fixed header, CSRCs, payload and padding. Needed where an element's length changes per receiver (a
/// consumer's own mid), which in-place remapping cannot do. Without elements the packet has no extension block.
pub fn write_with_extensions<B: AsRef<[u8]>>(
    out: &mut Vec<u8>,
    src: &RtpPacket<B>,
    elements: impl FnOnce(&mut ExtensionWriter<'_>),
) {
    write_head_with_extensions(out, src, usize::MAX, elements);
}

/// As [`write_with_extensions`], but copies only the first `head` bytes after the header (payload, then padding) and
/// returns where the rest starts in `src.as_bytes()`: the caller appends it, or has it encrypted straight from `src`
/// (`SrtpContext::protect_rtp_append`), which saves copying the payload once per receiver.
pub fn write_head_with_extensions<B: AsRef<[u8]>>(
    out: &mut Vec<u8>,
    src: &RtpPacket<B>,
    head: usize,
    elements: impl FnOnce(&mut ExtensionWriter<'_>),
) -> usize {
    let bytes = src.as_bytes();
    let fixed = RTP_HEADER_LEN + 4 * src.csrc_count() as usize;
    out.clear();
    out.extend_from_slice(bytes.get(..fixed).unwrap_or(&[]));
    let block_start = out.len();
    out.extend_from_slice(&[0xBE, 0xDE, 0, 0]);
    let mut writer = ExtensionWriter {
        out,
        body_start: block_start + 4,
        two_byte: false,
    };
    elements(&mut writer);
    let two_byte = writer.two_byte;
    if two_byte {
        if let Some(profile) = out.get_mut(block_start..block_start + 2) {
            profile.copy_from_slice(&TWO_BYTE_EXTENSION_PROFILE.to_be_bytes());
        }
    }
    let body = out.len() - block_start - 4;
    if body == 0 {
        out.truncate(block_start);
        if let Some(b) = out.first_mut() {
            *b &= !0x10;
        }
    } else {
        while !(out.len() - block_start).is_multiple_of(4) {
            out.push(0);
        }
        let words = ((out.len() - block_start - 4) / 4) as u16;
        if let Some(len) = out.get_mut(block_start + 2..block_start + 4) {
            len.copy_from_slice(&words.to_be_bytes());
        }
        if let Some(b) = out.first_mut() {
            *b |= 0x10;
        }
    }
    let start = src.header_len().min(bytes.len());
    let rest = start.saturating_add(head).min(bytes.len());
    out.extend_from_slice(bytes.get(start..rest).unwrap_or(&[]));
    rest
}

#[cfg(test)]
mod write_with_extensions_tests {
    use super::*;

    #[test]
    fn rebuilds_extension_block_with_new_lengths() {
        // One-byte block: mid (id 1) = "10", id 3 = [7].
        let mut src = vec![
            0x90, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0, 2, 0x11, b'1', b'0', 0x30, 7, 0,
            0, 0,
        ];
        src.extend_from_slice(&[0xAA, 0xBB]);
        let packet = RtpPacket::parse(&src[..]).unwrap();
        let mut out = Vec::new();
        write_with_extensions(&mut out, &packet, |w| {
            for e in packet.extensions() {
                if e.id != 1 {
                    assert!(w.push(e.id, e.data));
                }
            }
            assert!(w.push(1, b"3"));
        });
        let rebuilt = RtpPacket::parse(&out[..]).unwrap();
        assert_eq!(rebuilt.mid(1), Some("3"));
        assert_eq!(rebuilt.extension(3), Some(&[7u8][..]));
        assert_eq!(rebuilt.payload(), &[0xAA, 0xBB]);
        assert_eq!(rebuilt.ssrc(), 3);

        write_with_extensions(&mut out, &packet, |_| {});
        let bare = RtpPacket::parse(&out[..]).unwrap();
        assert!(!bare.has_extension());
        assert_eq!(bare.payload(), &[0xAA, 0xBB]);
    }

    #[test]
    fn a_head_copies_only_the_start_of_what_follows_the_header() {
        // Payload of 4 bytes, then 2 bytes of padding.
        let src = [
            0xA0, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xAA, 0xBB, 0xCC, 0xDD, 0, 2,
        ];
        let packet = RtpPacket::parse(&src[..]).unwrap();
        let mut out = Vec::new();
        for (head, rest) in [(0, 12), (3, 15), (6, 18), (usize::MAX, 18)] {
            assert_eq!(
                write_head_with_extensions(&mut out, &packet, head, |_| {}),
                rest
            );
            out.extend_from_slice(&src[rest..]);
            assert_eq!(out, src, "head {head}");
        }
    }

    #[test]
    fn switches_to_the_two_byte_form_for_long_elements() {
        let mut src = vec![0x80, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        src.extend_from_slice(&[0xAA]);
        let packet = RtpPacket::parse(&src[..]).unwrap();
        let mut out = Vec::new();
        let long = [7u8; 40];
        write_with_extensions(&mut out, &packet, |w| {
            assert!(w.push(1, b"10"));
            assert!(w.push(3, &[5]));
            assert!(w.push(7, &long));
            assert!(w.push(20, b"x"));
        });
        let rebuilt = RtpPacket::parse(&out[..]).unwrap();
        assert_eq!(rebuilt.extension_form(), Some(ExtensionForm::TwoByte));
        assert_eq!(rebuilt.mid(1), Some("10"));
        assert_eq!(rebuilt.extension(3), Some(&[5u8][..]));
        assert_eq!(rebuilt.extension(7), Some(&long[..]));
        assert_eq!(rebuilt.extension(20), Some(&b"x"[..]));
        assert_eq!(rebuilt.payload(), &[0xAA]);
    }
}
