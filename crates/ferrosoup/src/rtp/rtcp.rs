//! RTCP (RFC 3550, RFC 4585, RFC 5104, draft-alvestrand-rmcat-remb,
//! draft-holmer-rmcat-transport-wide-cc-extensions) parsing and building.
//!
//! * [`CompoundIter`] walks a compound packet, validating each packet's
//!   version, length and padding, and yields borrowed [`RtcpPacket`]s.
//! * [`RtcpPacket::view`] turns one into a typed, borrowed [`RtcpView`]
//!   (sender/receiver report, SDES, BYE, PLI, FIR, NACK, REMB, transport-cc).
//!   Typed views validate their structure up front; their iterators then walk
//!   the borrowed bytes without allocating.
//! * `write_*` builders (and [`CompoundWriter`]) serialise into a
//!   caller-provided buffer and return the number of bytes written.
//! * [`rewrite_feedback_media_ssrc`] / [`set_feedback_sender_ssrc`] patch
//!   SSRCs of feedback packets in place.

use super::bytes::{put_slice, put_u16, put_u24, put_u32, put_u8, u16_at, u24_at, u32_at, u8_at};

/// RTCP packet types.
pub mod packet_type {
    /// Sender report.
    pub const SR: u8 = 200;
    /// Receiver report.
    pub const RR: u8 = 201;
    /// Source description.
    pub const SDES: u8 = 202;
    /// Goodbye.
    pub const BYE: u8 = 203;
    /// Application-defined.
    pub const APP: u8 = 204;
    /// Transport-layer feedback (RFC 4585).
    pub const RTPFB: u8 = 205;
    /// Payload-specific feedback (RFC 4585).
    pub const PSFB: u8 = 206;
    /// Extended report (RFC 3611).
    pub const XR: u8 = 207;
}

/// Feedback message types (the FMT field).
pub mod fmt {
    /// RTPFB: generic NACK.
    pub const NACK: u8 = 1;
    /// RTPFB: transport-wide congestion control feedback.
    pub const TRANSPORT_CC: u8 = 15;
    /// PSFB: picture loss indication.
    pub const PLI: u8 = 1;
    /// PSFB: slice loss indication.
    pub const SLI: u8 = 2;
    /// PSFB: reference picture selection indication.
    pub const RPSI: u8 = 3;
    /// PSFB: full intra request.
    pub const FIR: u8 = 4;
    /// PSFB: application layer feedback (REMB).
    pub const AFB: u8 = 15;
}

/// Size of the RTCP common header.
pub const RTCP_HEADER_LEN: usize = 4;
/// Size of one report block.
pub const REPORT_BLOCK_LEN: usize = 24;
/// Size of the SR sender info.
pub const SENDER_INFO_LEN: usize = 20;
/// Max number of items in a 5-bit count field.
pub const MAX_COUNT: usize = 31;

/// Why an RTCP packet was rejected or could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    /// Shorter than its header or than the header says.
    #[error("RTCP packet truncated")]
    Truncated,
    /// Version field is not 2.
    #[error("RTCP version is not 2")]
    BadVersion,
    /// Padding count 0 or larger than the packet.
    #[error("invalid RTCP padding")]
    BadPadding,
    /// The body does not match what the packet type/count require.
    #[error("malformed RTCP packet body")]
    Malformed,
    /// Not the packet type the caller asked for.
    #[error("unexpected RTCP packet type")]
    WrongType,
    /// The output buffer is too small.
    #[error("buffer too small")]
    BufferTooSmall,
    /// More items than the count field (or the length field) can carry.
    #[error("too many items for one RTCP packet")]
    TooManyItems,
}

// ---------------------------------------------------------------------------
// NTP time (wire format).
// ---------------------------------------------------------------------------

/// 64-bit NTP timestamp (32.32 fixed point seconds since 1900).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// From seconds and fraction.
    pub const fn from_parts(seconds: u32, fraction: u32) -> Self {
        Self(((seconds as u64) << 32) | fraction as u64)
    }

    /// Whole seconds.
    pub const fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Fraction of a second (units of 2^-32 s).
    pub const fn fraction(self) -> u32 {
        self.0 as u32
    }

    /// The middle 32 bits (16.16), as used in LSR/DLSR.
    pub const fn compact(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

// ---------------------------------------------------------------------------
// Common header, single packet, compound walker.
// ---------------------------------------------------------------------------

/// RTCP common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpHeader {
    /// P bit.
    pub padding: bool,
    /// RC / SC / FMT (5 bits).
    pub count: u8,
    /// Packet type.
    pub packet_type: u8,
    /// Length in 32-bit words minus one.
    pub length: u16,
}

impl RtcpHeader {
    /// Parse the 4-byte header (version checked; length not checked
    /// against the buffer).
    pub fn parse(buf: &[u8]) -> Result<Self, RtcpError> {
        let (Some(b0), Some(pt), Some(length)) = (u8_at(buf, 0), u8_at(buf, 1), u16_at(buf, 2))
        else {
            return Err(RtcpError::Truncated);
        };
        if b0 >> 6 != 2 {
            return Err(RtcpError::BadVersion);
        }
        Ok(Self {
            padding: b0 & 0x20 != 0,
            count: b0 & 0x1F,
            packet_type: pt,
            length,
        })
    }

    /// Total packet length in bytes, header included.
    pub fn packet_len(&self) -> usize {
        (self.length as usize + 1) * 4
    }

    /// Write the header for a packet of `total_len` bytes (multiple of 4).
    fn write(buf: &mut [u8], count: u8, pt: u8, total_len: usize) -> Result<(), RtcpError> {
        if !total_len.is_multiple_of(4) || total_len < 4 {
            return Err(RtcpError::Malformed);
        }
        let words = u16::try_from(total_len / 4 - 1).map_err(|_| RtcpError::TooManyItems)?;
        if count as usize > MAX_COUNT {
            return Err(RtcpError::TooManyItems);
        }
        if !(put_u8(buf, 0, 0x80 | count) && put_u8(buf, 1, pt) && put_u16(buf, 2, words)) {
            return Err(RtcpError::BufferTooSmall);
        }
        Ok(())
    }
}

/// One RTCP packet inside a (compound) buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpPacket<'a> {
    header: RtcpHeader,
    bytes: &'a [u8],
    body: &'a [u8],
}

impl<'a> RtcpPacket<'a> {
    /// Parse the first RTCP packet of `buf` (trailing bytes are ignored).
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtcpError> {
        let header = RtcpHeader::parse(buf)?;
        let len = header.packet_len();
        let bytes = buf.get(..len).ok_or(RtcpError::Truncated)?;
        let mut body_end = len;
        if header.padding {
            let pad = u8_at(bytes, len - 1).unwrap_or(0) as usize;
            if pad == 0 || pad > len - RTCP_HEADER_LEN {
                return Err(RtcpError::BadPadding);
            }
            body_end -= pad;
        }
        let body = bytes
            .get(RTCP_HEADER_LEN..body_end)
            .ok_or(RtcpError::BadPadding)?;
        Ok(Self {
            header,
            bytes,
            body,
        })
    }

    /// The common header.
    pub fn header(&self) -> RtcpHeader {
        self.header
    }

    /// Packet type.
    pub fn packet_type(&self) -> u8 {
        self.header.packet_type
    }

    /// RC / SC / FMT.
    pub fn count(&self) -> u8 {
        self.header.count
    }

    /// The whole packet (header, body, padding).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The body after the 4-byte header, without padding.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// Typed view of the packet.
    pub fn view(&self) -> Result<RtcpView<'a>, RtcpError> {
        use packet_type as pt;
        Ok(match (self.header.packet_type, self.header.count) {
            (pt::SR, _) => RtcpView::SenderReport(SenderReport::from_packet(self)?),
            (pt::RR, _) => RtcpView::ReceiverReport(ReceiverReport::from_packet(self)?),
            (pt::SDES, _) => RtcpView::Sdes(Sdes::from_packet(self)?),
            (pt::BYE, _) => RtcpView::Bye(Bye::from_packet(self)?),
            (pt::PSFB, fmt::PLI) => RtcpView::Pli(Pli::from_packet(self)?),
            (pt::PSFB, fmt::FIR) => RtcpView::Fir(Fir::from_packet(self)?),
            (pt::PSFB, fmt::AFB) if Remb::is_remb(self.body) => {
                RtcpView::Remb(Remb::from_packet(self)?)
            }
            (pt::RTPFB, fmt::NACK) => RtcpView::Nack(Nack::from_packet(self)?),
            (pt::RTPFB, fmt::TRANSPORT_CC) => {
                RtcpView::TransportCc(TransportCc::from_packet(self)?)
            }
            _ => RtcpView::Other(*self),
        })
    }
}

/// Iterator over the packets of a compound RTCP buffer. After the first
/// error it yields that error once and then stops.
#[derive(Debug, Clone)]
pub struct CompoundIter<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> CompoundIter<'a> {
    /// Walk `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for CompoundIter<'a> {
    type Item = Result<RtcpPacket<'a>, RtcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        match RtcpPacket::parse(rest) {
            Ok(p) => {
                self.pos += p.bytes.len();
                Some(Ok(p))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Walk the packets of a compound buffer.
pub fn compound(buf: &[u8]) -> CompoundIter<'_> {
    CompoundIter::new(buf)
}

/// Validate a whole compound buffer: every packet well-formed at the common
/// header level and the lengths add up exactly. Returns the packet count.
pub fn validate_compound(buf: &[u8]) -> Result<usize, RtcpError> {
    if buf.is_empty() {
        return Err(RtcpError::Truncated);
    }
    let mut n = 0;
    for p in compound(buf) {
        p?;
        n += 1;
    }
    Ok(n)
}

/// A typed RTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpView<'a> {
    /// PT 200.
    SenderReport(SenderReport<'a>),
    /// PT 201.
    ReceiverReport(ReceiverReport<'a>),
    /// PT 202.
    Sdes(Sdes<'a>),
    /// PT 203.
    Bye(Bye<'a>),
    /// PT 206 FMT 1.
    Pli(Pli),
    /// PT 206 FMT 4.
    Fir(Fir<'a>),
    /// PT 205 FMT 1.
    Nack(Nack<'a>),
    /// PT 206 FMT 15 "REMB".
    Remb(Remb<'a>),
    /// PT 205 FMT 15.
    TransportCc(TransportCc<'a>),
    /// Anything else (APP, XR, other feedback, ...).
    Other(RtcpPacket<'a>),
}

// ---------------------------------------------------------------------------
// Report blocks, SR, RR.
// ---------------------------------------------------------------------------

/// SR sender info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// NTP timestamp.
    pub ntp: NtpTime,
    /// RTP timestamp corresponding to `ntp`.
    pub rtp_timestamp: u32,
    /// Sender's packet count.
    pub packet_count: u32,
    /// Sender's payload octet count.
    pub octet_count: u32,
}

impl SenderInfo {
    fn parse(b: &[u8]) -> Option<Self> {
        Some(Self {
            ntp: NtpTime::from_parts(u32_at(b, 0)?, u32_at(b, 4)?),
            rtp_timestamp: u32_at(b, 8)?,
            packet_count: u32_at(b, 12)?,
            octet_count: u32_at(b, 16)?,
        })
    }

    fn write(&self, b: &mut [u8]) -> bool {
        put_u32(b, 0, self.ntp.seconds())
            && put_u32(b, 4, self.ntp.fraction())
            && put_u32(b, 8, self.rtp_timestamp)
            && put_u32(b, 12, self.packet_count)
            && put_u32(b, 16, self.octet_count)
    }
}

/// RFC 3550 reception report block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// SSRC of the reported source.
    pub ssrc: u32,
    /// Fraction lost since the previous report (units of 1/256).
    pub fraction_lost: u8,
    /// Cumulative number of packets lost (signed 24 bits).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter (clock-rate units).
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP timestamp (0 if none).
    pub last_sr: u32,
    /// Delay since last SR (units of 1/65536 s).
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    /// Parse 24 bytes.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let lost = u24_at(b, 5)?;
        // Sign-extend the 24-bit value.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        Some(Self {
            ssrc: u32_at(b, 0)?,
            fraction_lost: u8_at(b, 4)?,
            cumulative_lost,
            highest_seq: u32_at(b, 8)?,
            jitter: u32_at(b, 12)?,
            last_sr: u32_at(b, 16)?,
            delay_since_last_sr: u32_at(b, 20)?,
        })
    }

    /// Serialise into 24 bytes (cumulative lost clamped to 24 bits).
    pub fn write(&self, b: &mut [u8]) -> bool {
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32 & 0x00FF_FFFF;
        b.len() >= REPORT_BLOCK_LEN
            && put_u32(b, 0, self.ssrc)
            && put_u8(b, 4, self.fraction_lost)
            && put_u24(b, 5, lost)
            && put_u32(b, 8, self.highest_seq)
            && put_u32(b, 12, self.jitter)
            && put_u32(b, 16, self.last_sr)
            && put_u32(b, 20, self.delay_since_last_sr)
    }
}

/// Iterator over report blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for ReportBlocks<'a> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        let (block, rest) = self.data.split_at_checked(REPORT_BLOCK_LEN)?;
        self.data = rest;
        ReportBlock::parse(block)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.data.len() / REPORT_BLOCK_LEN;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ReportBlocks<'_> {}

fn report_blocks(
    body: &[u8],
    at: usize,
    count: u8,
) -> Result<(ReportBlocks<'_>, &[u8]), RtcpError> {
    let end = at + count as usize * REPORT_BLOCK_LEN;
    let data = body.get(at..end).ok_or(RtcpError::Malformed)?;
    let ext = body.get(end..).unwrap_or(&[]);
    Ok((ReportBlocks { data }, ext))
}

/// PT 200 sender report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    /// Sender SSRC.
    pub ssrc: u32,
    /// Sender info.
    pub info: SenderInfo,
    /// Reception report blocks.
    pub reports: ReportBlocks<'a>,
    /// Profile-specific extension bytes after the report blocks.
    pub extension: &'a [u8],
}

impl<'a> SenderReport<'a> {
    /// Typed view of an SR packet.
    pub fn from_packet(p: &RtcpPacket<'a>) -> Result<Self, RtcpError> {
        if p.packet_type() != packet_type::SR {
            return Err(RtcpError::WrongType);
        }
        let b = p.body;
        let ssrc = u32_at(b, 0).ok_or(RtcpError::Malformed)?;
        let info = b
            .get(4..)
            .and_then(SenderInfo::parse)
            .ok_or(RtcpError::Malformed)?;
        let (reports, extension) = report_blocks(b, 4 + SENDER_INFO_LEN, p.count())?;
        Ok(Self {
            ssrc,
            info,
            reports,
            extension,
        })
    }
}

/// PT 201 receiver report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    /// Sender SSRC.
    pub ssrc: u32,
    /// Reception report blocks.
    pub reports: ReportBlocks<'a>,
    /// Profile-specific extension bytes.
    pub extension: &'a [u8],
}

impl<'a> ReceiverReport<'a> {
    /// Typed view of an RR packet.
    pub fn from_packet(p: &RtcpPacket<'a>) -> Result<Self, RtcpError> {
        if p.packet_type() != packet_type::RR {
            return Err(RtcpError::WrongType);
        }
        let ssrc = u32_at(p.body, 0).ok_or(RtcpError::Malformed)?;
        let (reports, extension) = report_blocks(p.body, 4, p.count())?;
        Ok(Self {
            ssrc,
            reports,
            extension,
        })
    }
}

// ---------------------------------------------------------------------------
// SDES.
// ---------------------------------------------------------------------------

/// SDES item types.
pub mod sdes_item {
    /// End of item list.
    pub const END: u8 = 0;
    /// Canonical name.
    pub const CNAME: u8 = 1;
}

/// PT 202 source description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sdes<'a> {
    chunks: &'a [u8],
    count: u8,
}

/// One SDES chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// SSRC/CSRC.
    pub ssrc: u32,
    items: &'a [u8],
}

/// One SDES item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// Item type (1 = CNAME, ...).
    pub kind: u8,
    /// Item value.
    pub value: &'a [u8],
}

/// Walk one chunk starting at `start`; returns (items range end, next chunk
/// start).
fn sdes_chunk_end(b: &[u8], start: usize) -> Option<(usize, usize)> {
    let mut pos = start + 4;
    if pos > b.len() {
        return None;
    }
    loop {
        let kind = u8_at(b, pos)?;
        if kind == sdes_item::END {
            let items_end = pos;
            // Null octet(s) up to the next 32-bit boundary.
            let next = (pos + 1).next_multiple_of(4);
            if next > b.len() {
                return None;
            }
            return Some((items_end, next));
        }
        let len = u8_at(b, pos + 1)? as usize;
        pos += 2 + len;
        if pos > b.len() {
            return None;
        }
    }
}

impl<'a> Sdes<'a> {
    /// Typed view of an SDES packet (all chunks validated).
    pub fn from_packet(p: &RtcpPacket<'a>) -> Result<Self, RtcpError> {
        if p.packet_type() != packet_type::SDES {
            return Err(RtcpError::WrongType);
        }
        let mut pos = 0;
        for _ in 0..p.count() {
            let (_, next) = sdes_chunk_end(p.body, pos).ok_or(RtcpError::Malformed)?;
            pos = next;
        }
        Ok(Self {
            chunks: p.body,
            count: p.count(),
        })
    }

    /// The chunks.
    pub fn chunks(&self) -> SdesChunks<'a> {
        SdesChunks {
            data: self.chunks,
            pos: 0,
            left: self.count,
        }
    }
}

/// Iterator over SDES chunks.
#[derive(Debug, Clone)]
pub struct SdesChunks<'a> {
    data: &'a [u8],
    pos: usize,
    left: u8,
}

impl<'a> Iterator for SdesChunks<'a> {
    type Item = SdesChunk<'a>;

    fn next(&mut self) -> Option<SdesChunk<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (items_end, next) = sdes_chunk_end(self.data, self.pos)?;
        let ssrc = u32_at(self.data, self.pos)?;
        let items = self.data.get(self.pos + 4..items_end)?;
        self.pos = next;
        Some(SdesChunk { ssrc, items })
    }
}

impl<'a> SdesChunk<'a> {
    /// The items of the chunk.
    pub fn items(&self) -> SdesItems<'a> {
        SdesItems { data: self.items }
    }

    /// The CNAME item as a string, if present and UTF-8.
    pub fn cname(&self) -> Option<&'a str> {
        self.items()
            .find(|i| i.kind == sdes_item::CNAME)
            .and_then(|i| core::str::from_utf8(i.value).ok())
    }
}

/// Iterator over SDES items.
#[derive(Debug, Clone)]
pub struct SdesItems<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = SdesItem<'a>;

    fn next(&mut self) -> Option<SdesItem<'a>> {
        let kind = u8_at(self.data, 0)?;
        let len = u8_at(self.data, 1)? as usize;
        let value = self.data.get(2..2 + len)?;
        self.data = self.data.get(2 + len..).unwrap_or(&[]);
        Some(SdesItem { kind, value })
    }
}

// ---------------------------------------------------------------------------
// BYE.
// ---------------------------------------------------------------------------

/// PT 203 goodbye.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye<'a> {
    ssrcs: &'a [u8],
    /// Optional reason text.
    pub reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    /// Typed view of a BYE packet.
    pub fn from_packet(p: &RtcpPacket<'a>) -> Result<Self, RtcpError> {
        if p.packet_type() != packet_type::BYE {
            return Err(RtcpError::WrongType);
        }
        let n = p.count() as usize * 4;
        let ssrcs = p.body.get(..n).ok_or(RtcpError::Malformed)?;
        let reason = match u8_at(p.body, n) {
            None => None,
            Some(len) => Some(
                p.body
                    .get(n + 1..n + 1 + len as usize)
                    .ok_or(RtcpError::Malformed)?,
            ),
        };
        Ok(Self { ssrcs, reason })
    }

    /// The SSRCs leaving.
    pub fn ssrcs(&self) -> impl Iterator<Item = u32> + 'a {
        self.ssrcs.chunks_exact(4).filter_map(|c| u32_at(c, 0))
    }
}

// ---------------------------------------------------------------------------
// Feedback: PLI, FIR, NACK, REMB, transport-cc.
// ---------------------------------------------------------------------------

fn feedback_ssrcs(p: &RtcpPacket<'_>, pt: u8, f: u8) -> Result<(u32, u32), RtcpError> {
    if p.packet_type() != pt || p.count() != f {
        return Err(RtcpError::WrongType);
    }
    match (u32_at(p.body, 0), u32_at(p.body, 4)) {
        (Some(s), Some(m)) => Ok((s, m)),
        _ => Err(RtcpError::Malformed),
    }
}

/// PSFB FMT 1 picture loss indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pli {
    /// SSRC of the sender of this feedback.
    pub sender_ssrc: u32,
    /// SSRC of the media source a key frame is requested for.
    pub media_ssrc: u32,
}

impl Pli {
    /// Typed view of a PLI packet.
    pub fn from_packet(p: &RtcpPacket<'_>) -> Result<Self, RtcpError> {
        let (sender_ssrc, media_ssrc) = feedback_ssrcs(p, packet_type::PSFB, fmt::PLI)?;
        Ok(Self {
            sender_ssrc,
            media_ssrc,
        })
    }
}

/// One FIR FCI entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirEntry {
    /// Media source asked for a key frame.
    pub ssrc: u32,
    /// Command sequence number.
    pub seq_nr: u8,
}

/// PSFB FMT 4 full intra request (RFC 5104).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fir<'a> {
    /// SSRC of the sender of this feedback.
    pub sender_ssrc: u32,
    /// Header media SSRC (0 per RFC 5104).
    pub media_ssrc: u32,
    fci: &'a [u8],
}

impl<'a> Fir<'a> {
    /// Typed view of a FIR packet.
    pub fn from_packet(p: &RtcpPacket<'a>) -> Result<Self, RtcpError> {
        let (sender_ssrc, media_ssrc) = feedback_ssrcs(p, packet_type::PSFB, fmt::FIR)?;
        let fci = p.body.get(8..).unwrap_or(&[]);
        if fci.is_empty() || fci.len() % 8 != 0 {
            return Err(RtcpError::Malformed);
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            fci,
        })
    }

    /// FCI entries.
    pub fn entries(&self) -> impl Iterator<Item = FirEntry> + 'a {
        self.fci.chunks_exact(8).filter_map(|c| {
            Some(FirEntry {
                ssrc: u32_at(c, 0)?,
                seq_nr: u8_at(c, 4)?,
            })
        })
    }
}

/// One generic NACK FCI entry: packet id + bitmask of the following 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NackPair {
    /// Lost packet id.
    pub pid: u16,
    /// Bitmask of following lost packets (bit i → pid + i + 1).
    pub blp: u16,
}

impl NackPair {
    /// The sequence numbers this entry reports lost, ascending.
    pub fn lost(&self) -> impl Iterator<Item = u16> + use<> {
        let (pid, blp) = (self.pid, self.blp);
        core::iter::once(pid).chain(
            (0..16u16)
                .filter(move |i| blp & (1 << i) != 0)
                .map(move |i| pid.wrapping_add(i + 1)),
        )
    }
}

/// RTPFB FMT 1 generic NACK (RFC 4585).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nack<'a> {
    /// SSRC of the sender of this feedback.
    pub sender_ssrc: u32,
    /// SSRC of the media source whose packets are lost.
    pub media_ssrc: u32,
    fci: &'a [u8],
}

impl<'a> Nack<'a> {
    /// Typed view of a NACK packet.
    pub fn from_packet(p: &RtcpPacket<'a>) -> Result<Self, RtcpError> {
        let (sender_ssrc, media_ssrc) = feedback_ssrcs(p, packet_type::RTPFB, fmt::NACK)?;
        let fci = p.body.get(8..).unwrap_or(&[]);
        if fci.is_empty() || fci.len() % 4 != 0 {
            return Err(RtcpError::Malformed);
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            fci,
        })
    }

    /// FCI entries.
    pub fn pairs(&self) -> impl Iterator<Item = NackPair> + 'a {
        self.fci.chunks_exact(4).filter_map(|c| {
            Some(NackPair {
                pid: u16_at(c, 0)?,
                blp: u16_at(c, 2)?,
            })
        })
    }

    /// All lost sequence numbers.
    pub fn lost(&self) -> impl Iterator<Item = u16> + 'a {
        self.pairs().flat_map(|p| p.lost())
    }
}

/// PSFB FMT 15 receiver estimated max bitrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remb<'a> {
    /// SSRC of the sender of this feedback.
    pub sender_ssrc: u32,
    /// Estimated bitrate in bits per second (saturating).
    pub bitrate: u64,
    ssrcs: &'a [u8],
}

impl<'a> Remb<'a> {
    fn is_remb(body: &[u8]) -> bool {
        body.get(8..12) == Some(b"REMB")
    }

    /// Typed view of a REMB packet.
    pub fn from_packet(p: &RtcpPacket<'a>) -> Result<Self, RtcpError> {
        let (sender_ssrc, _) = feedback_ssrcs(p, packet_type::PSFB, fmt::AFB)?;
        if !Self::is_remb(p.body) {
            return Err(RtcpError::WrongType);
        }
        let (Some(num), Some(br)) = (u8_at(p.body, 12), u24_at(p.body, 13)) else {
            return Err(RtcpError::Malformed);
        };
        let exp = br >> 18;
        let mantissa = (br & 0x3_FFFF) as u64;
        let bitrate = if mantissa == 0 {
            0
        } else if exp > mantissa.leading_zeros() {
            u64::MAX
        } else {
            mantissa << exp
        };
        let ssrcs = p
            .body
            .get(16..16 + num as usize * 4)
            .ok_or(RtcpError::Malformed)?;
        Ok(Self {
            sender_ssrc,
            bitrate,
            ssrcs,
        })
    }

    /// SSRCs the estimate applies to.
    pub fn ssrcs(&self) -> impl Iterator<Item = u32> + 'a {
        self.ssrcs.chunks_exact(4).filter_map(|c| u32_at(c, 0))
    }
}

/// Reception status of one packet in transport-cc feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwccStatus {
    /// Not received.
    NotReceived,
    /// Received; delta fits one byte.
    SmallDelta,
    /// Received; delta needs two bytes (signed).
    LargeDelta,
}

/// One packet reported by transport-cc feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwccPacket {
    /// Transport-wide sequence number.
    pub seq: u16,
    /// Status.
    pub status: TwccStatus,
    /// Receive delta from the previous received packet (or the reference
    /// time) in microseconds; `None` when not received.
    pub delta_us: Option<i64>,
}

/// RTPFB FMT 15 transport-wide congestion control feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportCc<'a> {
    /// SSRC of the sender of this feedback.
    pub sender_ssrc: u32,
    /// Media source SSRC field.
    pub media_ssrc: u32,
    /// First transport-wide sequence number reported.
    pub base_seq: u16,
    /// Number of packets reported.
    pub status_count: u16,
    /// Reference time, signed, in multiples of 64 ms.
    pub reference_time: i32,
    /// Feedback packet counter.
    pub fb_pkt_count: u8,
    /// Packet status chunks.
    chunks: &'a [u8],
    /// Receive deltas.
    deltas: &'a [u8],
}

/// Number of statuses a chunk describes.
fn twcc_chunk_len(chunk: u16) -> usize {
    if chunk & 0x8000 == 0 {
        (chunk & 0x1FFF) as usize
    } else if chunk & 0x4000 == 0 {
        14
    } else {
        7
    }
}

/// Status symbol `i` of a chunk (i < twcc_chunk_len).
fn twcc_chunk_symbol(chunk: u16, i: usize) -> u8 {
    if chunk & 0x8000 == 0 {
        ((chunk >> 13) & 0x03) as u8
    } else if chunk & 0x4000 == 0 {
        ((chunk >> (13 - i.min(13))) & 0x01) as u8
    } else {
        ((chunk >> (12 - 2 * i.min(6))) & 0x03) as u8
    }
}

impl<'a> TransportCc<'a> {
    /// Typed view of a transport-cc packet. The chunk list is validated
    /// (enough chunks for `status_count`); receive deltas are checked
    /// lazily by [`packets`](Self::packets).
    pub fn from_packet(p: &RtcpPacket<'a>) -> Result<Self, RtcpError> {
        let (sender_ssrc, media_ssrc) = feedback_ssrcs(p, packet_type::RTPFB, fmt::TRANSPORT_CC)?;
        let b = p.body;
        let (Some(base_seq), Some(status_count), Some(rt), Some(fb_pkt_count)) =
            (u16_at(b, 8), u16_at(b, 10), u24_at(b, 12), u8_at(b, 15))
        else {
            return Err(RtcpError::Malformed);
        };
        let reference_time = ((rt << 8) as i32) >> 8;
        let mut pos = 16;
        let mut covered = 0usize;
        while covered < status_count as usize {
            let chunk = u16_at(b, pos).ok_or(RtcpError::Malformed)?;
            covered += twcc_chunk_len(chunk);
            pos += 2;
        }
        Ok(Self {
            sender_ssrc,
            media_ssrc,
            base_seq,
            status_count,
            reference_time,
            fb_pkt_count,
            chunks: b.get(16..pos).unwrap_or(&[]),
            deltas: b.get(pos..).unwrap_or(&[]),
        })
    }

    /// Reference time in microseconds.
    pub fn reference_time_us(&self) -> i64 {
        self.reference_time as i64 * 64_000
    }

    /// Per-packet statuses and deltas. Stops early if the delta list is
    /// truncated or a reserved status symbol appears.
    pub fn packets(&self) -> TwccPackets<'a> {
        TwccPackets {
            chunks: self.chunks,
            deltas: self.deltas,
            chunk_pos: 0,
            in_chunk: 0,
            delta_pos: 0,
            emitted: 0,
            total: self.status_count,
            seq: self.base_seq,
        }
    }
}

/// Iterator over transport-cc packet results.
#[derive(Debug, Clone)]
pub struct TwccPackets<'a> {
    chunks: &'a [u8],
    deltas: &'a [u8],
    chunk_pos: usize,
    in_chunk: usize,
    delta_pos: usize,
    emitted: u16,
    total: u16,
    seq: u16,
}

impl Iterator for TwccPackets<'_> {
    type Item = TwccPacket;

    fn next(&mut self) -> Option<TwccPacket> {
        if self.emitted >= self.total {
            return None;
        }
        let mut chunk = u16_at(self.chunks, self.chunk_pos)?;
        while self.in_chunk >= twcc_chunk_len(chunk) {
            self.chunk_pos += 2;
            self.in_chunk = 0;
            chunk = u16_at(self.chunks, self.chunk_pos)?;
        }
        let symbol = twcc_chunk_symbol(chunk, self.in_chunk);
        self.in_chunk += 1;
        let (status, delta_us) = match symbol {
            0 => (TwccStatus::NotReceived, None),
            1 => {
                let d = u8_at(self.deltas, self.delta_pos)?;
                self.delta_pos += 1;
                (TwccStatus::SmallDelta, Some(d as i64 * 250))
            }
            2 => {
                let d = u16_at(self.deltas, self.delta_pos)? as i16;
                self.delta_pos += 2;
                (TwccStatus::LargeDelta, Some(d as i64 * 250))
            }
            _ => {
                self.emitted = self.total;
                return None;
            }
        };
        let seq = self.seq;
        self.seq = self.seq.wrapping_add(1);
        self.emitted += 1;
        Some(TwccPacket {
            seq,
            status,
            delta_us,
        })
    }
}

// ---------------------------------------------------------------------------
// In-place SSRC rewriting.
// ---------------------------------------------------------------------------

/// Check that every packet of a compound buffer parses (empty is fine).
fn check_all(buf: &[u8]) -> Result<(), RtcpError> {
    compound(buf).try_for_each(|p| p.map(|_| ()))
}

/// Map the media SSRC of feedback packets in place (e.g. consumer SSRC →
/// producer SSRC before relaying): PLI, SLI, RPSI and NACK media SSRC
/// fields, and the SSRC of every FIR entry. Entries for which `map`
/// returns `None` are left alone. Returns how many fields were rewritten.
/// The buffer is validated first; on error nothing is modified.
pub fn rewrite_feedback_media_ssrc(
    buf: &mut [u8],
    mut map: impl FnMut(u32) -> Option<u32>,
) -> Result<usize, RtcpError> {
    // Validate the whole buffer first so that nothing is modified on error.
    check_all(buf)?;
    let mut rewritten = 0;
    let mut pos = 0;
    while pos < buf.len() {
        let Ok(p) = RtcpPacket::parse(buf.get(pos..).unwrap_or(&[])) else {
            break;
        };
        let (h, len) = (p.header, p.bytes.len());
        let body_end = pos + RTCP_HEADER_LEN + p.body.len();
        let is_fir = h.packet_type == packet_type::PSFB && h.count == fmt::FIR;
        let relevant = match h.packet_type {
            packet_type::PSFB => matches!(h.count, fmt::PLI | fmt::SLI | fmt::RPSI),
            packet_type::RTPFB => h.count == fmt::NACK,
            _ => false,
        };
        let mut patch = |off: usize| {
            if off + 4 <= body_end {
                if let Some(new) = u32_at(buf, off).and_then(&mut map) {
                    put_u32(buf, off, new);
                    rewritten += 1;
                }
            }
        };
        if is_fir {
            let mut off = pos + RTCP_HEADER_LEN + 8;
            while off + 8 <= body_end {
                patch(off);
                off += 8;
            }
        } else if relevant {
            patch(pos + RTCP_HEADER_LEN + 4);
        }
        pos += len;
    }
    Ok(rewritten)
}

/// Set the packet-sender SSRC of every RTPFB/PSFB packet in a compound
/// buffer. Returns how many were set. The buffer is validated first; on
/// error nothing is modified.
pub fn set_feedback_sender_ssrc(buf: &mut [u8], ssrc: u32) -> Result<usize, RtcpError> {
    check_all(buf)?;
    let mut pos = 0;
    let mut n = 0;
    while pos < buf.len() {
        let Ok(p) = RtcpPacket::parse(buf.get(pos..).unwrap_or(&[])) else {
            break;
        };
        let (pt, len, body_len) = (p.packet_type(), p.bytes.len(), p.body.len());
        if matches!(pt, packet_type::RTPFB | packet_type::PSFB) && body_len >= 4 {
            put_u32(buf, pos + RTCP_HEADER_LEN, ssrc);
            n += 1;
        }
        pos += len;
    }
    Ok(n)
}

// ---------------------------------------------------------------------------
// Builders.
// ---------------------------------------------------------------------------

fn check_len(buf: &[u8], need: usize) -> Result<(), RtcpError> {
    if buf.len() < need {
        Err(RtcpError::BufferTooSmall)
    } else {
        Ok(())
    }
}

fn write_reports(buf: &mut [u8], at: usize, reports: &[ReportBlock]) -> Result<(), RtcpError> {
    for (i, r) in reports.iter().enumerate() {
        let off = at + i * REPORT_BLOCK_LEN;
        let dst = buf.get_mut(off..).ok_or(RtcpError::BufferTooSmall)?;
        if !r.write(dst) {
            return Err(RtcpError::BufferTooSmall);
        }
    }
    Ok(())
}

/// Write an SR. Returns the packet length.
pub fn write_sender_report(
    buf: &mut [u8],
    ssrc: u32,
    info: &SenderInfo,
    reports: &[ReportBlock],
) -> Result<usize, RtcpError> {
    if reports.len() > MAX_COUNT {
        return Err(RtcpError::TooManyItems);
    }
    let len = RTCP_HEADER_LEN + 4 + SENDER_INFO_LEN + reports.len() * REPORT_BLOCK_LEN;
    check_len(buf, len)?;
    RtcpHeader::write(buf, reports.len() as u8, packet_type::SR, len)?;
    put_u32(buf, 4, ssrc);
    let ok = buf.get_mut(8..).is_some_and(|b| info.write(b));
    if !ok {
        return Err(RtcpError::BufferTooSmall);
    }
    write_reports(buf, 28, reports)?;
    Ok(len)
}

/// Write an RR. Returns the packet length.
pub fn write_receiver_report(
    buf: &mut [u8],
    ssrc: u32,
    reports: &[ReportBlock],
) -> Result<usize, RtcpError> {
    if reports.len() > MAX_COUNT {
        return Err(RtcpError::TooManyItems);
    }
    let len = RTCP_HEADER_LEN + 4 + reports.len() * REPORT_BLOCK_LEN;
    check_len(buf, len)?;
    RtcpHeader::write(buf, reports.len() as u8, packet_type::RR, len)?;
    put_u32(buf, 4, ssrc);
    write_reports(buf, 8, reports)?;
    Ok(len)
}

/// Write an SDES packet with one chunk holding one CNAME item.
pub fn write_sdes_cname(buf: &mut [u8], ssrc: u32, cname: &str) -> Result<usize, RtcpError> {
    let c = cname.as_bytes();
    if c.len() > 255 {
        return Err(RtcpError::TooManyItems);
    }
    // ssrc + type + len + text + at least one END octet, padded to 4.
    let chunk = (4 + 2 + c.len() + 1).next_multiple_of(4);
    let len = RTCP_HEADER_LEN + chunk;
    check_len(buf, len)?;
    RtcpHeader::write(buf, 1, packet_type::SDES, len)?;
    put_u32(buf, 4, ssrc);
    put_u8(buf, 8, sdes_item::CNAME);
    put_u8(buf, 9, c.len() as u8);
    put_slice(buf, 10, c);
    if let Some(tail) = buf.get_mut(10 + c.len()..len) {
        tail.fill(0);
    }
    Ok(len)
}

/// Write a BYE packet.
pub fn write_bye(buf: &mut [u8], ssrcs: &[u32], reason: Option<&str>) -> Result<usize, RtcpError> {
    if ssrcs.len() > MAX_COUNT {
        return Err(RtcpError::TooManyItems);
    }
    let r = reason.map(str::as_bytes).unwrap_or(&[]);
    if r.len() > 255 {
        return Err(RtcpError::TooManyItems);
    }
    let reason_len = if reason.is_some() { 1 + r.len() } else { 0 };
    let len = (RTCP_HEADER_LEN + ssrcs.len() * 4 + reason_len).next_multiple_of(4);
    check_len(buf, len)?;
    RtcpHeader::write(buf, ssrcs.len() as u8, packet_type::BYE, len)?;
    for (i, s) in ssrcs.iter().enumerate() {
        put_u32(buf, 4 + i * 4, *s);
    }
    let at = 4 + ssrcs.len() * 4;
    if let Some(tail) = buf.get_mut(at..len) {
        tail.fill(0);
    }
    if reason.is_some() {
        put_u8(buf, at, r.len() as u8);
        put_slice(buf, at + 1, r);
    }
    Ok(len)
}

fn write_feedback_header(
    buf: &mut [u8],
    pt: u8,
    f: u8,
    len: usize,
    sender: u32,
    media: u32,
) -> Result<(), RtcpError> {
    check_len(buf, len)?;
    RtcpHeader::write(buf, f, pt, len)?;
    put_u32(buf, 4, sender);
    put_u32(buf, 8, media);
    Ok(())
}

/// Write a PLI. Returns 12.
pub fn write_pli(buf: &mut [u8], sender_ssrc: u32, media_ssrc: u32) -> Result<usize, RtcpError> {
    write_feedback_header(
        buf,
        packet_type::PSFB,
        fmt::PLI,
        12,
        sender_ssrc,
        media_ssrc,
    )?;
    Ok(12)
}

/// Write a FIR (header media SSRC 0).
pub fn write_fir(
    buf: &mut [u8],
    sender_ssrc: u32,
    entries: &[FirEntry],
) -> Result<usize, RtcpError> {
    if entries.is_empty() {
        return Err(RtcpError::Malformed);
    }
    let len = 12 + entries.len() * 8;
    write_feedback_header(buf, packet_type::PSFB, fmt::FIR, len, sender_ssrc, 0)?;
    for (i, e) in entries.iter().enumerate() {
        let off = 12 + i * 8;
        put_u32(buf, off, e.ssrc);
        put_u32(buf, off + 4, (e.seq_nr as u32) << 24);
    }
    Ok(len)
}

/// Write a generic NACK from ready-made pairs.
pub fn write_nack(
    buf: &mut [u8],
    sender_ssrc: u32,
    media_ssrc: u32,
    pairs: &[NackPair],
) -> Result<usize, RtcpError> {
    if pairs.is_empty() {
        return Err(RtcpError::Malformed);
    }
    let len = 12 + pairs.len() * 4;
    write_feedback_header(
        buf,
        packet_type::RTPFB,
        fmt::NACK,
        len,
        sender_ssrc,
        media_ssrc,
    )?;
    for (i, p) in pairs.iter().enumerate() {
        put_u16(buf, 12 + i * 4, p.pid);
        put_u16(buf, 14 + i * 4, p.blp);
    }
    Ok(len)
}

/// Write a generic NACK packing lost sequence numbers (ascending, wrap-aware)
/// into PID/BLP pairs. Returns an error if `lost` is empty.
pub fn write_nack_from_seqs(
    buf: &mut [u8],
    sender_ssrc: u32,
    media_ssrc: u32,
    lost: impl IntoIterator<Item = u16>,
) -> Result<usize, RtcpError> {
    let mut n = 0usize;
    let mut cur: Option<NackPair> = None;
    let flush = |buf: &mut [u8], p: NackPair, n: &mut usize| -> Result<(), RtcpError> {
        let off = 12 + *n * 4;
        if !(put_u16(buf, off, p.pid) && put_u16(buf, off + 2, p.blp)) {
            return Err(RtcpError::BufferTooSmall);
        }
        *n += 1;
        Ok(())
    };
    for seq in lost {
        match cur.as_mut() {
            Some(p) => {
                let d = seq.wrapping_sub(p.pid);
                if d == 0 {
                    continue;
                }
                if (1..=16).contains(&d) {
                    p.blp |= 1 << (d - 1);
                } else {
                    flush(buf, *p, &mut n)?;
                    cur = Some(NackPair { pid: seq, blp: 0 });
                }
            }
            None => cur = Some(NackPair { pid: seq, blp: 0 }),
        }
    }
    let Some(last) = cur else {
        return Err(RtcpError::Malformed);
    };
    flush(buf, last, &mut n)?;
    let len = 12 + n * 4;
    write_feedback_header(
        buf,
        packet_type::RTPFB,
        fmt::NACK,
        len,
        sender_ssrc,
        media_ssrc,
    )?;
    Ok(len)
}

/// Write a REMB (bitrate in bits per second).
pub fn write_remb(
    buf: &mut [u8],
    sender_ssrc: u32,
    bitrate: u64,
    ssrcs: &[u32],
) -> Result<usize, RtcpError> {
    if ssrcs.len() > 255 {
        return Err(RtcpError::TooManyItems);
    }
    let len = 20 + ssrcs.len() * 4;
    write_feedback_header(buf, packet_type::PSFB, fmt::AFB, len, sender_ssrc, 0)?;
    let mut exp = 0u32;
    while exp < 63 && (bitrate >> exp) > 0x3_FFFF {
        exp += 1;
    }
    let mantissa = ((bitrate >> exp) & 0x3_FFFF) as u32;
    put_slice(buf, 12, b"REMB");
    put_u8(buf, 16, ssrcs.len() as u8);
    put_u24(buf, 17, (exp << 18) | mantissa);
    for (i, s) in ssrcs.iter().enumerate() {
        put_u32(buf, 20 + i * 4, *s);
    }
    Ok(len)
}

/// Appends RTCP packets one after the other into a buffer.
#[derive(Debug)]
pub struct CompoundWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> CompoundWriter<'a> {
    /// Start writing at the beginning of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing written yet?
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The written bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Append with any `write_*` function.
    pub fn push(
        &mut self,
        f: impl FnOnce(&mut [u8]) -> Result<usize, RtcpError>,
    ) -> Result<&mut Self, RtcpError> {
        let rest = self
            .buf
            .get_mut(self.len..)
            .ok_or(RtcpError::BufferTooSmall)?;
        let n = f(rest)?;
        self.len += n;
        Ok(self)
    }

    /// Append an SR.
    pub fn sender_report(
        &mut self,
        ssrc: u32,
        info: &SenderInfo,
        reports: &[ReportBlock],
    ) -> Result<&mut Self, RtcpError> {
        self.push(|b| write_sender_report(b, ssrc, info, reports))
    }

    /// Append an RR.
    pub fn receiver_report(
        &mut self,
        ssrc: u32,
        reports: &[ReportBlock],
    ) -> Result<&mut Self, RtcpError> {
        self.push(|b| write_receiver_report(b, ssrc, reports))
    }

    /// Append an SDES CNAME.
    pub fn sdes_cname(&mut self, ssrc: u32, cname: &str) -> Result<&mut Self, RtcpError> {
        self.push(|b| write_sdes_cname(b, ssrc, cname))
    }

    /// Append a BYE.
    pub fn bye(&mut self, ssrcs: &[u32], reason: Option<&str>) -> Result<&mut Self, RtcpError> {
        self.push(|b| write_bye(b, ssrcs, reason))
    }

    /// Append a PLI.
    pub fn pli(&mut self, sender_ssrc: u32, media_ssrc: u32) -> Result<&mut Self, RtcpError> {
        self.push(|b| write_pli(b, sender_ssrc, media_ssrc))
    }

    /// Append a FIR.
    pub fn fir(&mut self, sender_ssrc: u32, entries: &[FirEntry]) -> Result<&mut Self, RtcpError> {
        self.push(|b| write_fir(b, sender_ssrc, entries))
    }

    /// Append a NACK.
    pub fn nack(
        &mut self,
        sender_ssrc: u32,
        media_ssrc: u32,
        pairs: &[NackPair],
    ) -> Result<&mut Self, RtcpError> {
        self.push(|b| write_nack(b, sender_ssrc, media_ssrc, pairs))
    }

    /// Append a REMB.
    pub fn remb(
        &mut self,
        sender_ssrc: u32,
        bitrate: u64,
        ssrcs: &[u32],
    ) -> Result<&mut Self, RtcpError> {
        self.push(|b| write_remb(b, sender_ssrc, bitrate, ssrcs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: -3,
            highest_seq: 0x0001_0005,
            jitter: 77,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 65536,
        }
    }

    fn views(buf: &[u8]) -> Vec<RtcpView<'_>> {
        compound(buf).map(|p| p.unwrap().view().unwrap()).collect()
    }

    #[test]
    fn ntp_time_parts() {
        let t = NtpTime::from_parts(0xAABB_CCDD, 0x1122_3344);
        assert_eq!(t.seconds(), 0xAABB_CCDD);
        assert_eq!(t.fraction(), 0x1122_3344);
        assert_eq!(t.compact(), 0xCCDD_1122);
    }

    #[test]
    fn sr_round_trip() {
        let info = SenderInfo {
            ntp: NtpTime::from_parts(3_900_000_000, 0x8000_0000),
            rtp_timestamp: 123_456,
            packet_count: 10,
            octet_count: 1000,
        };
        let mut buf = [0u8; 128];
        let n = write_sender_report(&mut buf, 0x0102_0304, &info, &[block(7), block(8)]).unwrap();
        assert_eq!(n, 28 + 48);
        assert_eq!(&buf[..4], &[0x82, 200, 0x00, 18]);
        let v = views(&buf[..n]);
        let RtcpView::SenderReport(sr) = v[0] else {
            panic!("not SR: {v:?}");
        };
        assert_eq!(sr.ssrc, 0x0102_0304);
        assert_eq!(sr.info, info);
        assert_eq!(sr.reports.len(), 2);
        assert_eq!(sr.reports.collect::<Vec<_>>(), vec![block(7), block(8)]);
        assert!(sr.extension.is_empty());
        // Buffer too small.
        assert_eq!(
            write_sender_report(&mut buf[..50], 1, &info, &[block(1)]),
            Err(RtcpError::BufferTooSmall)
        );
        let many = [block(1); 32];
        assert_eq!(
            write_sender_report(&mut buf, 1, &info, &many),
            Err(RtcpError::TooManyItems)
        );
    }

    #[test]
    fn rr_round_trip_and_lost_clamping() {
        let mut buf = [0u8; 64];
        let mut b = block(9);
        b.cumulative_lost = 10_000_000; // clamps to 0x7FFFFF
        let n = write_receiver_report(&mut buf, 5, &[b]).unwrap();
        assert_eq!(n, 32);
        let v = views(&buf[..n]);
        let RtcpView::ReceiverReport(rr) = v[0] else {
            panic!()
        };
        assert_eq!(rr.ssrc, 5);
        let got: Vec<_> = rr.reports.collect();
        assert_eq!(got[0].cumulative_lost, 0x7F_FFFF);
        b.cumulative_lost = -10_000_000;
        write_receiver_report(&mut buf, 5, &[b]).unwrap();
        let rr = ReceiverReport::from_packet(&RtcpPacket::parse(&buf).unwrap()).unwrap();
        assert_eq!(
            rr.reports.clone().next().unwrap().cumulative_lost,
            -0x80_0000
        );
        // Empty RR.
        let n = write_receiver_report(&mut buf, 5, &[]).unwrap();
        assert_eq!(n, 8);
        assert_eq!(&buf[..2], &[0x80, 201]);
    }

    #[test]
    fn chrome_like_compound() {
        // RR + SDES(CNAME) + REMB, as browsers send them.
        let mut buf = [0u8; 256];
        let mut w = CompoundWriter::new(&mut buf);
        assert!(w.is_empty());
        w.receiver_report(1, &[block(0xAAAA)])
            .unwrap()
            .sdes_cname(1, "vX2/abcd")
            .unwrap()
            .remb(1, 1_500_000, &[0xAAAA, 0xBBBB])
            .unwrap()
            .pli(1, 0xAAAA)
            .unwrap()
            .fir(
                1,
                &[FirEntry {
                    ssrc: 0xAAAA,
                    seq_nr: 3,
                }],
            )
            .unwrap()
            .nack(
                1,
                0xAAAA,
                &[NackPair {
                    pid: 100,
                    blp: 0b101,
                }],
            )
            .unwrap()
            .bye(&[1], Some("bye"))
            .unwrap();
        let n = w.len();
        let bytes = w.as_bytes().to_vec();
        assert_eq!(bytes.len(), n);
        assert_eq!(validate_compound(&bytes), Ok(7));
        let v = views(&bytes);
        assert!(matches!(v[0], RtcpView::ReceiverReport(_)));
        let RtcpView::Sdes(s) = v[1] else { panic!() };
        let chunks: Vec<_> = s.chunks().collect();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].ssrc, 1);
        assert_eq!(chunks[0].cname(), Some("vX2/abcd"));
        let RtcpView::Remb(r) = v[2] else { panic!() };
        assert_eq!(r.sender_ssrc, 1);
        assert_eq!(r.ssrcs().collect::<Vec<_>>(), vec![0xAAAA, 0xBBBB]);
        // 1_500_000 needs exponent 3: mantissa 187500 → exact.
        assert_eq!(r.bitrate, 1_500_000);
        assert_eq!(
            v[3],
            RtcpView::Pli(Pli {
                sender_ssrc: 1,
                media_ssrc: 0xAAAA
            })
        );
        let RtcpView::Fir(f) = v[4] else { panic!() };
        assert_eq!(
            f.entries().collect::<Vec<_>>(),
            vec![FirEntry {
                ssrc: 0xAAAA,
                seq_nr: 3
            }]
        );
        let RtcpView::Nack(nk) = v[5] else { panic!() };
        assert_eq!(nk.media_ssrc, 0xAAAA);
        assert_eq!(nk.lost().collect::<Vec<_>>(), vec![100, 101, 103]);
        let RtcpView::Bye(b) = v[6] else { panic!() };
        assert_eq!(b.ssrcs().collect::<Vec<_>>(), vec![1]);
        assert_eq!(b.reason, Some(&b"bye"[..]));
    }

    #[test]
    fn remb_rounding_and_large_values() {
        let mut buf = [0u8; 32];
        write_remb(&mut buf, 1, 1_000_003, &[]).unwrap();
        let p = RtcpPacket::parse(&buf[..20]).unwrap();
        let r = Remb::from_packet(&p).unwrap();
        // Truncated to the 18-bit mantissa precision.
        assert!(r.bitrate <= 1_000_003 && r.bitrate > 999_990);
        write_remb(&mut buf, 1, u64::MAX, &[]).unwrap();
        let r = Remb::from_packet(&RtcpPacket::parse(&buf[..20]).unwrap()).unwrap();
        assert!(r.bitrate > u64::MAX / 2);
        // Crafted exp=63, mantissa max → saturates.
        buf[17] = 0xFF;
        buf[18] = 0xFF;
        buf[19] = 0xFF;
        let r = Remb::from_packet(&RtcpPacket::parse(&buf[..20]).unwrap()).unwrap();
        assert_eq!(r.bitrate, u64::MAX);
        // Num SSRC says 2 but none present.
        buf[16] = 2;
        assert_eq!(
            Remb::from_packet(&RtcpPacket::parse(&buf[..20]).unwrap()),
            Err(RtcpError::Malformed)
        );
        // Non-REMB AFB → Other.
        buf[12] = b'X';
        let p = RtcpPacket::parse(&buf[..20]).unwrap();
        assert!(matches!(p.view(), Ok(RtcpView::Other(_))));
        assert_eq!(Remb::from_packet(&p), Err(RtcpError::WrongType));
    }

    #[test]
    fn nack_packing() {
        let mut buf = [0u8; 64];
        let seqs = [65534u16, 65535, 0, 15, 16, 40, 40, 41];
        let n = write_nack_from_seqs(&mut buf, 1, 2, seqs).unwrap();
        let p = RtcpPacket::parse(&buf[..n]).unwrap();
        let nack = Nack::from_packet(&p).unwrap();
        let pairs: Vec<_> = nack.pairs().collect();
        assert_eq!(
            pairs,
            vec![
                // 15 is 17 after 65534: too far for the bitmask.
                NackPair {
                    pid: 65534,
                    blp: 0b11
                },
                NackPair { pid: 15, blp: 0b1 },
                NackPair { pid: 40, blp: 1 },
            ]
        );
        assert_eq!(
            nack.lost().collect::<Vec<_>>(),
            vec![65534, 65535, 0, 15, 16, 40, 41]
        );
        assert_eq!(
            write_nack_from_seqs(&mut buf, 1, 2, []),
            Err(RtcpError::Malformed)
        );
        assert_eq!(
            write_nack_from_seqs(&mut buf[..15], 1, 2, [1u16]),
            Err(RtcpError::BufferTooSmall)
        );
        assert_eq!(write_nack(&mut buf, 1, 2, &[]), Err(RtcpError::Malformed));
    }

    #[test]
    fn sdes_multiple_chunks_and_items() {
        // Two chunks: first CNAME "ab" + NAME "x", second CNAME "c".
        let body: &[u8] = &[
            0, 0, 0, 1, 1, 2, b'a', b'b', 2, 1, b'x', 0, // chunk 1 (12 bytes)
            0, 0, 0, 2, 1, 1, b'c', 0, // chunk 2 (8 bytes)
        ];
        let mut buf = vec![0x82, 202, 0, 5];
        buf.extend_from_slice(body);
        let v = views(&buf);
        let RtcpView::Sdes(s) = v[0] else { panic!() };
        let chunks: Vec<_> = s.chunks().collect();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].cname(), Some("ab"));
        let items: Vec<_> = chunks[0].items().collect();
        assert_eq!(
            items[1],
            SdesItem {
                kind: 2,
                value: b"x"
            }
        );
        assert_eq!(chunks[1].ssrc, 2);
        assert_eq!(chunks[1].cname(), Some("c"));
        // Chunk without END octet → malformed.
        let mut bad = vec![0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, b'a', b'b'];
        assert_eq!(
            RtcpPacket::parse(&bad).unwrap().view(),
            Err(RtcpError::Malformed)
        );
        // Count says 2 chunks, only 1 present.
        bad = vec![0x82, 202, 0, 2, 0, 0, 0, 1, 1, 1, b'a', 0];
        assert_eq!(
            RtcpPacket::parse(&bad).unwrap().view(),
            Err(RtcpError::Malformed)
        );
        // Item length past the end.
        bad = vec![0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, b'a', 0];
        assert_eq!(
            RtcpPacket::parse(&bad).unwrap().view(),
            Err(RtcpError::Malformed)
        );
    }

    #[test]
    fn sdes_cname_lengths() {
        let mut buf = [0u8; 300];
        for len in 0..10 {
            let name = "x".repeat(len);
            let n = write_sdes_cname(&mut buf, 3, &name).unwrap();
            assert_eq!(n % 4, 0);
            let v = views(&buf[..n]);
            let RtcpView::Sdes(s) = v[0] else { panic!() };
            let c = s.chunks().next().unwrap();
            if len == 0 {
                assert_eq!(c.cname(), Some(""));
            } else {
                assert_eq!(c.cname(), Some(name.as_str()));
            }
        }
        assert_eq!(
            write_sdes_cname(&mut buf, 3, &"x".repeat(256)),
            Err(RtcpError::TooManyItems)
        );
    }

    #[test]
    fn bye_variants() {
        let mut buf = [0u8; 64];
        let n = write_bye(&mut buf, &[1, 2], None).unwrap();
        assert_eq!(n, 12);
        let RtcpView::Bye(b) = views(&buf[..n])[0] else {
            panic!()
        };
        assert_eq!(b.ssrcs().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(b.reason, None);
        let n = write_bye(&mut buf, &[], Some("")).unwrap();
        assert_eq!(n, 8);
        let RtcpView::Bye(b) = views(&buf[..n])[0] else {
            panic!()
        };
        assert_eq!(b.reason, Some(&b""[..]));
        // Reason longer than the packet.
        let bad = [0x81, 203, 0, 2, 0, 0, 0, 1, 9, b'a', 0, 0];
        assert_eq!(
            RtcpPacket::parse(&bad).unwrap().view(),
            Err(RtcpError::Malformed)
        );
        // SC beyond body.
        let bad = [0x83, 203, 0, 1, 0, 0, 0, 1];
        assert_eq!(
            RtcpPacket::parse(&bad).unwrap().view(),
            Err(RtcpError::Malformed)
        );
    }

    #[test]
    fn malformed_headers_and_compounds() {
        let mut buf = [0u8; 64];
        let n = write_pli(&mut buf, 1, 2).unwrap();
        let pli = buf[..n].to_vec();
        // Truncated.
        assert_eq!(RtcpPacket::parse(&pli[..11]), Err(RtcpError::Truncated));
        assert_eq!(RtcpPacket::parse(&pli[..3]), Err(RtcpError::Truncated));
        assert_eq!(validate_compound(&[]), Err(RtcpError::Truncated));
        // Bad version.
        let mut bad = pli.clone();
        bad[0] = 0x41;
        assert_eq!(RtcpPacket::parse(&bad), Err(RtcpError::BadVersion));
        // Trailing garbage after a valid packet.
        let mut two = pli.clone();
        two.extend_from_slice(&[0x81, 206]);
        let items: Vec<_> = compound(&two).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1], Err(RtcpError::Truncated));
        assert_eq!(validate_compound(&two), Err(RtcpError::Truncated));
        // Padding: valid, zero, too large.
        let mut padded = vec![0xA1, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4];
        let p = RtcpPacket::parse(&padded).unwrap();
        assert_eq!(p.body().len(), 8);
        assert_eq!(p.bytes().len(), 16);
        assert!(matches!(p.view(), Ok(RtcpView::Pli(_))));
        padded[15] = 0;
        assert_eq!(RtcpPacket::parse(&padded), Err(RtcpError::BadPadding));
        padded[15] = 13;
        assert_eq!(RtcpPacket::parse(&padded), Err(RtcpError::BadPadding));
        padded[15] = 12;
        let p = RtcpPacket::parse(&padded).unwrap();
        assert!(p.body().is_empty());
        assert_eq!(p.view(), Err(RtcpError::Malformed));
        // SR with RC larger than the body.
        let bad = [
            0x81, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            RtcpPacket::parse(&bad).unwrap().view(),
            Err(RtcpError::Malformed)
        );
        // FIR / NACK with bad FCI size.
        let bad = [0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5];
        assert_eq!(
            RtcpPacket::parse(&bad).unwrap().view(),
            Err(RtcpError::Malformed)
        );
        let bad = [0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(
            RtcpPacket::parse(&bad).unwrap().view(),
            Err(RtcpError::Malformed)
        );
        // Wrong-type typed constructors.
        let p = RtcpPacket::parse(&pli).unwrap();
        assert_eq!(Nack::from_packet(&p), Err(RtcpError::WrongType));
        assert_eq!(SenderReport::from_packet(&p), Err(RtcpError::WrongType));
        assert_eq!(ReceiverReport::from_packet(&p), Err(RtcpError::WrongType));
        assert_eq!(Sdes::from_packet(&p), Err(RtcpError::WrongType));
        assert_eq!(Bye::from_packet(&p), Err(RtcpError::WrongType));
        assert_eq!(Fir::from_packet(&p), Err(RtcpError::WrongType));
        assert_eq!(TransportCc::from_packet(&p), Err(RtcpError::WrongType));
        // Unknown type (APP, XR) → Other.
        let app = [0x80, 204, 0, 2, 0, 0, 0, 1, b'n', b'a', b'm', b'e'];
        assert!(matches!(
            RtcpPacket::parse(&app).unwrap().view(),
            Ok(RtcpView::Other(_))
        ));
    }

    /// transport-cc feedback from libwebrtc's test vectors style:
    /// base seq 65534, 5 packets: run-length chunk of 2 small deltas, then
    /// a 2-bit status vector: not received, large delta, small delta.
    fn twcc_packet() -> Vec<u8> {
        let mut v = vec![
            0x8F, 205, 0, 0, // header, length fixed below
            0, 0, 0, 1, // sender
            0, 0, 0, 2, // media
            0xFF, 0xFE, // base seq
            0, 5, // status count
            0xFF, 0xFF, 0xFE, // reference time -2 (×64 ms)
            7,    // fb pkt count
            0x20, 0x02, // run length: symbol 1 (small), len 2
            0, 0, // status vector chunk, set below
        ];
        // 2-bit status vector: 1 1 | s0=0 s1=2 s2=1 s3..s6=0
        // bits: 11 00 10 01 00 00 00 00
        v[22] = 0b1100_1001;
        v[23] = 0b0000_0000;
        // Deltas: 4 (1 ms), 8 (2 ms), large -4 (-1 ms), small 250 → 62.5 ms
        v.extend_from_slice(&[4, 8, 0xFF, 0xFC, 250]);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        let words = (v.len() / 4 - 1) as u16;
        v[2..4].copy_from_slice(&words.to_be_bytes());
        v
    }

    #[test]
    fn transport_cc_parse() {
        let v = twcc_packet();
        let p = RtcpPacket::parse(&v).unwrap();
        let RtcpView::TransportCc(t) = p.view().unwrap() else {
            panic!()
        };
        assert_eq!((t.sender_ssrc, t.media_ssrc), (1, 2));
        assert_eq!(t.base_seq, 65534);
        assert_eq!(t.status_count, 5);
        assert_eq!(t.reference_time, -2);
        assert_eq!(t.reference_time_us(), -128_000);
        assert_eq!(t.fb_pkt_count, 7);
        let pk: Vec<_> = t.packets().collect();
        assert_eq!(
            pk,
            vec![
                TwccPacket {
                    seq: 65534,
                    status: TwccStatus::SmallDelta,
                    delta_us: Some(1000)
                },
                TwccPacket {
                    seq: 65535,
                    status: TwccStatus::SmallDelta,
                    delta_us: Some(2000)
                },
                TwccPacket {
                    seq: 0,
                    status: TwccStatus::NotReceived,
                    delta_us: None
                },
                TwccPacket {
                    seq: 1,
                    status: TwccStatus::LargeDelta,
                    delta_us: Some(-1000)
                },
                TwccPacket {
                    seq: 2,
                    status: TwccStatus::SmallDelta,
                    delta_us: Some(62_500)
                },
            ]
        );
        // One-bit status vector with 14 symbols, status count 3.
        let mut w = v.clone();
        w[14..16].copy_from_slice(&[0, 3]);
        w[20] = 0b1010_0000; // T=1 S=0 symbols: 1 0 0 ...
        w[21] = 0;
        let t = TransportCc::from_packet(&RtcpPacket::parse(&w).unwrap()).unwrap();
        let st: Vec<_> = t.packets().map(|p| p.status).collect();
        assert_eq!(
            st,
            vec![
                TwccStatus::SmallDelta,
                TwccStatus::NotReceived,
                TwccStatus::NotReceived
            ]
        );
        // Status count needing more chunks than present → malformed.
        let mut w = v.clone();
        w[14..16].copy_from_slice(&[0x7F, 0xFF]);
        assert_eq!(
            RtcpPacket::parse(&w).unwrap().view(),
            Err(RtcpError::Malformed)
        );
        // Truncated deltas: iteration stops early, no panic.
        let mut w = v[..24].to_vec();
        w[2..4].copy_from_slice(&5u16.to_be_bytes());
        let t = TransportCc::from_packet(&RtcpPacket::parse(&w).unwrap()).unwrap();
        assert_eq!(t.packets().count(), 0);
        // Reserved symbol 3 stops iteration.
        let mut w = v.clone();
        w[20] = 0x60; // run length symbol 3
        let t = TransportCc::from_packet(&RtcpPacket::parse(&w).unwrap()).unwrap();
        assert_eq!(t.packets().count(), 0);
        // Zero-length run chunks are skipped.
        let mut w = v.clone();
        w[14..16].copy_from_slice(&[0, 1]);
        w[20] = 0x20;
        w[21] = 0x00; // run of 0
        w[22] = 0x20;
        w[23] = 0x01; // run of 1 small
        let t = TransportCc::from_packet(&RtcpPacket::parse(&w).unwrap()).unwrap();
        assert_eq!(t.packets().count(), 1);
    }

    #[test]
    fn feedback_ssrc_rewrite_in_place() {
        let mut buf = [0u8; 256];
        let mut w = CompoundWriter::new(&mut buf);
        w.receiver_report(9, &[block(0xC0)])
            .unwrap()
            .pli(9, 0xC0)
            .unwrap()
            .nack(9, 0xC0, &[NackPair { pid: 1, blp: 0 }])
            .unwrap()
            .fir(
                9,
                &[
                    FirEntry {
                        ssrc: 0xC0,
                        seq_nr: 1,
                    },
                    FirEntry {
                        ssrc: 0xC1,
                        seq_nr: 2,
                    },
                ],
            )
            .unwrap()
            .pli(9, 0xDEAD)
            .unwrap();
        let n = w.len();
        let map = |s: u32| match s {
            0xC0 => Some(0x50),
            0xC1 => Some(0x51),
            _ => None,
        };
        assert_eq!(rewrite_feedback_media_ssrc(&mut buf[..n], map), Ok(4));
        let v = views(&buf[..n]);
        // RR untouched.
        let RtcpView::ReceiverReport(rr) = v[0] else {
            panic!()
        };
        assert_eq!(rr.reports.clone().next().unwrap().ssrc, 0xC0);
        assert_eq!(
            v[1],
            RtcpView::Pli(Pli {
                sender_ssrc: 9,
                media_ssrc: 0x50
            })
        );
        let RtcpView::Nack(nk) = v[2] else { panic!() };
        assert_eq!(nk.media_ssrc, 0x50);
        let RtcpView::Fir(f) = v[3] else { panic!() };
        assert_eq!(
            f.entries().map(|e| e.ssrc).collect::<Vec<_>>(),
            vec![0x50, 0x51]
        );
        assert_eq!(
            v[4],
            RtcpView::Pli(Pli {
                sender_ssrc: 9,
                media_ssrc: 0xDEAD
            })
        );
        assert_eq!(set_feedback_sender_ssrc(&mut buf[..n], 0x77), Ok(4));
        let v = views(&buf[..n]);
        assert_eq!(
            v[1],
            RtcpView::Pli(Pli {
                sender_ssrc: 0x77,
                media_ssrc: 0x50
            })
        );
        // Invalid compound: nothing modified.
        let mut bad = buf[..n].to_vec();
        bad.push(0x80);
        let before = bad.clone();
        assert!(rewrite_feedback_media_ssrc(&mut bad, |_| Some(1)).is_err());
        assert!(set_feedback_sender_ssrc(&mut bad, 1).is_err());
        assert_eq!(bad, before);
    }

    #[test]
    fn feedback_rewrite_many_packets() {
        let mut buf = [0u8; 12 * 20];
        let mut w = CompoundWriter::new(&mut buf);
        for _ in 0..20 {
            w.pli(1, 2).unwrap();
        }
        assert_eq!(
            rewrite_feedback_media_ssrc(&mut buf, |s| Some(s + 1)),
            Ok(20)
        );
        assert!(compound(&buf).all(|p| matches!(
            p.unwrap().view(),
            Ok(RtcpView::Pli(Pli { media_ssrc: 3, .. }))
        )));
    }

    #[test]
    fn compound_writer_overflow() {
        let mut buf = [0u8; 20];
        let mut w = CompoundWriter::new(&mut buf);
        w.pli(1, 2).unwrap();
        assert_eq!(w.pli(1, 2).err(), Some(RtcpError::BufferTooSmall));
        assert_eq!(w.len(), 12);
        assert_eq!(write_fir(&mut [0u8; 64], 1, &[]), Err(RtcpError::Malformed));
        assert_eq!(
            write_bye(&mut [0u8; 64], &[0; 32], None),
            Err(RtcpError::TooManyItems)
        );
        assert_eq!(
            write_remb(&mut [0u8; 64], 1, 5, &[0; 256]),
            Err(RtcpError::TooManyItems)
        );
        assert_eq!(
            write_receiver_report(&mut [0u8; 64], 1, &[block(1); 32]),
            Err(RtcpError::TooManyItems)
        );
    }
}
