//! The few RTP/RTCP header fields SRTP needs, parsed defensively.
//!
//! Input comes straight off the network, so every read is bounds-checked and a
//! malformed header is an error, never a panic.

use super::SrtpError;
use crate::rtp::bytes::{u16_at, u32_at};

/// Fixed RTP header length (RFC 3550 §5.1).
pub(crate) const RTP_HEADER_LEN: usize = 12;
/// The part of an RTCP compound packet SRTCP leaves in clear: the first
/// header word and the sender SSRC (RFC 3711 §3.4).
pub(crate) const RTCP_HEADER_LEN: usize = 8;

/// What SRTP needs from an RTP header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RtpHeader {
    /// Length of the header including CSRCs and the header extension: the
    /// encrypted payload (SRTP) and the AEAD plaintext (RFC 7714 §8) both start
    /// here, and everything before it is authenticated/AAD only.
    pub(crate) len: usize,
    pub(crate) seq: u16,
    pub(crate) ssrc: u32,
}

/// Parses the RTP header at the start of `pkt` (which must not include any
/// SRTP trailer). The payload may be empty.
#[inline]
pub(crate) fn parse_rtp(pkt: &[u8]) -> Result<RtpHeader, SrtpError> {
    let b0 = *pkt.first().ok_or(SrtpError::TooShort)?;
    if pkt.len() < RTP_HEADER_LEN {
        return Err(SrtpError::TooShort);
    }
    if b0 >> 6 != 2 {
        return Err(SrtpError::BadVersion);
    }
    let csrc_count = usize::from(b0 & 0x0f);
    let mut len = RTP_HEADER_LEN + 4 * csrc_count;
    if b0 & 0x10 != 0 {
        // Header extension: 16-bit profile, 16-bit length in 32-bit words,
        // then the words (RFC 3550 §5.3.1; RFC 8285 one/two-byte forms are
        // both carried this way).
        let words = u16_at(pkt, len + 2).ok_or(SrtpError::BadHeader)?;
        len += 4 + 4 * usize::from(words);
    }
    if len > pkt.len() {
        return Err(SrtpError::BadHeader);
    }
    Ok(RtpHeader {
        len,
        seq: u16_at(pkt, 2).ok_or(SrtpError::TooShort)?,
        ssrc: u32_at(pkt, 8).ok_or(SrtpError::TooShort)?,
    })
}

/// Checks the RTCP fixed header at the start of `pkt` and returns the sender
/// SSRC, which keys the SRTCP state and the IV.
#[inline]
pub(crate) fn parse_rtcp(pkt: &[u8]) -> Result<u32, SrtpError> {
    let b0 = *pkt.first().ok_or(SrtpError::TooShort)?;
    if pkt.len() < RTCP_HEADER_LEN {
        return Err(SrtpError::TooShort);
    }
    if b0 >> 6 != 2 {
        return Err(SrtpError::BadVersion);
    }
    u32_at(pkt, 4).ok_or(SrtpError::TooShort)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_header() {
        let mut p = [0u8; 20];
        p[0] = 0x80;
        p[2] = 0x12;
        p[3] = 0x34;
        p[8..12].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        let h = parse_rtp(&p).unwrap();
        assert_eq!((h.len, h.seq, h.ssrc), (12, 0x1234, 0xdead_beef));
    }

    #[test]
    fn csrcs_and_extension() {
        // 2 CSRCs, extension of 1 word.
        let mut p = vec![0u8; 12 + 8 + 4 + 4 + 3];
        p[0] = 0x80 | 0x10 | 2;
        p[20] = 0xbe;
        p[21] = 0xde;
        p[23] = 1;
        let h = parse_rtp(&p).unwrap();
        assert_eq!(h.len, 28);
        // Header exactly filling the packet is fine (empty payload).
        assert_eq!(parse_rtp(&p[..28]).unwrap().len, 28);
        // Extension running past the end is not.
        assert_eq!(parse_rtp(&p[..27]).unwrap_err(), SrtpError::BadHeader);
        // Extension header itself cut off.
        assert_eq!(parse_rtp(&p[..22]).unwrap_err(), SrtpError::BadHeader);
        // CSRC list past the end.
        let mut q = [0u8; 16];
        q[0] = 0x80 | 15;
        assert_eq!(parse_rtp(&q).unwrap_err(), SrtpError::BadHeader);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_rtp(&[]).unwrap_err(), SrtpError::TooShort);
        assert_eq!(parse_rtp(&[0x80; 11]).unwrap_err(), SrtpError::TooShort);
        assert_eq!(parse_rtp(&[0x40; 12]).unwrap_err(), SrtpError::BadVersion);
        assert_eq!(parse_rtcp(&[0x80; 7]).unwrap_err(), SrtpError::TooShort);
        assert_eq!(parse_rtcp(&[0xc0; 8]).unwrap_err(), SrtpError::BadVersion);
    }
}
