//! SRTP and SRTCP (RFC 3711, RFC 7714) keyed from DTLS-SRTP (RFC 5764).
//!
//! This sits on the SFU's hot path: every incoming packet is unprotected once
//! and every outgoing copy is protected once per consumer. So the API works in
//! place on caller-owned buffers and allocates nothing per packet: cipher key
//! schedules (AES-CTR, AES-GCM with its GHASH table, HMAC pads) are expanded
//! once when the context is built, and per-SSRC state lives in small vectors
//! that only grow when a new SSRC first appears.
//!
//! Everything arriving here comes from the network. Malformed or truncated
//! packets produce an [`SrtpError`]; nothing on the packet path can panic or
//! index out of bounds (`clippy::indexing_slicing` is denied for this module).
//!
//! Supported profiles: [`SrtpProfile::Aes128CmHmacSha1_80`],
//! [`SrtpProfile::AeadAes128Gcm`] and [`SrtpProfile::AeadAes256Gcm`].
//!
//! ```
//! use ferrosoup::srtp::{SrtpContext, SrtpProfile, SRTP_MAX_OVERHEAD};
//!
//! let key = [7u8; 16];
//! let salt = [9u8; 12];
//! let mut tx = SrtpContext::new(SrtpProfile::AeadAes128Gcm, &key, &salt).unwrap();
//! let mut rx = SrtpContext::new(SrtpProfile::AeadAes128Gcm, &key, &salt).unwrap();
//!
//! let rtp = [0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 42, 0xaa, 0xbb];
//! let mut buf = [0u8; 14 + SRTP_MAX_OVERHEAD];
//! buf[..14].copy_from_slice(&rtp);
//! let n = tx.protect_rtp(&mut buf, 14).unwrap();
//! let m = rx.unprotect_rtp(&mut buf[..n]).unwrap();
//! assert_eq!(&buf[..m], &rtp);
//! ```
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

mod aead;
mod cm_hmac;
mod gcm;
mod header;
mod kdf;
mod replay;
mod streams;

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod tests;

use std::fmt;

use header::{parse_rtcp, parse_rtp, RtpHeader, RTCP_HEADER_LEN};
use replay::{estimate_index, ReplayWindow};
use streams::{SsrcTable, MAX_SSRCS};

/// Most bytes [`SrtpContext::protect_rtp`] appends to a packet, over all
/// profiles (the 16-octet GCM tag; HMAC-SHA1-80 needs 10). Leave this much
/// room after the RTP packet in the buffer handed to `protect_rtp`.
pub const SRTP_MAX_OVERHEAD: usize = 16;

/// Most bytes [`SrtpContext::protect_rtcp`] appends: the tag plus the 4-octet
/// E-flag/SRTCP-index word (16 + 4 for GCM, 10 + 4 for HMAC-SHA1-80).
pub const SRTCP_MAX_OVERHEAD: usize = 20;

/// The E bit of the SRTCP trailer word: set when the packet body is encrypted.
const SRTCP_E_FLAG: u32 = 0x8000_0000;
/// Highest SRTCP index; after it the master key must be replaced (RFC 3711 §9.2).
const MAX_SRTCP_INDEX: u32 = 0x7fff_ffff;

/// Errors from SRTP/SRTCP processing. Packet errors are expected on a real
/// network (loss, reordering beyond the window, garbage): callers should drop
/// the packet and count the error, not tear down the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// The packet is shorter than its header plus the SRTP trailer.
    #[error("packet too short")]
    TooShort,
    /// The RTP/RTCP version field is not 2.
    #[error("not a version 2 RTP/RTCP packet")]
    BadVersion,
    /// The CSRC list or header extension runs past the end of the packet.
    #[error("RTP header (CSRC list or extension) runs past the packet end")]
    BadHeader,
    /// The output buffer lacks room for the tag (see [`SRTP_MAX_OVERHEAD`]),
    /// or `len` exceeds the buffer.
    #[error("buffer too small for the SRTP/SRTCP trailer")]
    BufferTooSmall,
    /// The authentication tag did not verify (tampered, wrong key, or the
    /// rollover counter guess was wrong after a loss of more than 2^15 packets).
    #[error("authentication failed")]
    AuthFailed,
    /// The packet index was already received.
    #[error("replayed packet")]
    Replayed,
    /// The packet index is older than the replay window (or before the first
    /// packet of the stream).
    #[error("packet index too old")]
    TooOld,
    /// The packet index space (2^48 SRTP, 2^31 SRTCP) is used up; the session
    /// must be rekeyed.
    #[error("packet index exhausted, rekey required")]
    IndexExhausted,
    /// Too many SSRCs on one context (see `remove_ssrc`).
    #[error("too many SSRCs on this SRTP context")]
    TooManySsrcs,
    /// Master key, salt or keying material length does not fit the profile.
    #[error("bad key, salt or keying material length")]
    BadKeyLength,
    /// A DTLS-SRTP profile this module does not implement.
    #[error("unsupported SRTP protection profile")]
    UnsupportedProfile,
    /// The crypto backend reported a failure that is not an authentication
    /// failure (should not happen).
    #[error("crypto backend error")]
    Crypto,
}

/// SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// `SRTP_AES128_CM_HMAC_SHA1_80`: the profile every WebRTC stack offers.
    Aes128CmHmacSha1_80,
    /// `SRTP_AEAD_AES_128_GCM`.
    AeadAes128Gcm,
    /// `SRTP_AEAD_AES_256_GCM`.
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// Master key length in octets.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 | Self::AeadAes128Gcm => 16,
            Self::AeadAes256Gcm => 32,
        }
    }

    /// Master salt length in octets.
    pub const fn salt_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 => 14,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => gcm::SALT_LEN,
        }
    }

    /// Octets of DTLS keying material to export for this profile
    /// (two keys and two salts, RFC 5764 §4.2).
    pub const fn keying_material_len(self) -> usize {
        2 * (self.key_len() + self.salt_len())
    }

    /// Octets `protect_rtp` appends (the tag).
    pub const fn rtp_overhead(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 => cm_hmac::TAG_LEN,
            Self::AeadAes128Gcm | Self::AeadAes256Gcm => gcm::TAG_LEN,
        }
    }

    /// Octets `protect_rtcp` appends (the tag and the E/index word).
    pub const fn rtcp_overhead(self) -> usize {
        self.rtp_overhead() + 4
    }
}

impl TryFrom<dimpl::SrtpProfile> for SrtpProfile {
    type Error = SrtpError;

    fn try_from(p: dimpl::SrtpProfile) -> Result<Self, SrtpError> {
        match p {
            dimpl::SrtpProfile::AES128_CM_SHA1_80 => Ok(Self::Aes128CmHmacSha1_80),
            dimpl::SrtpProfile::AEAD_AES_128_GCM => Ok(Self::AeadAes128Gcm),
            dimpl::SrtpProfile::AEAD_AES_256_GCM => Ok(Self::AeadAes256Gcm),
            // dimpl's enum is non-exhaustive.
            _ => Err(SrtpError::UnsupportedProfile),
        }
    }
}

impl From<SrtpProfile> for dimpl::SrtpProfile {
    fn from(p: SrtpProfile) -> Self {
        match p {
            SrtpProfile::Aes128CmHmacSha1_80 => Self::AES128_CM_SHA1_80,
            SrtpProfile::AeadAes128Gcm => Self::AEAD_AES_128_GCM,
            SrtpProfile::AeadAes256Gcm => Self::AEAD_AES_256_GCM,
        }
    }
}

/// Our side of the DTLS handshake, which decides which half of the exported
/// keying material encrypts and which decrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRole {
    /// We sent the ClientHello: we encrypt with the client write key.
    Client,
    /// We answered it: we encrypt with the server write key.
    Server,
}

/// Static dispatch over the two transform families (no vtable on the hot
/// path). The HMAC variant is boxed because aws-lc's precomputed HMAC state is
/// ~1.7 KiB per key; that is one allocation per context, none per packet.
enum Cipher {
    CmHmac(Box<cm_hmac::CmHmac>),
    Gcm(gcm::Gcm),
}

/// SRTP/SRTCP state for one set of master keys.
///
/// A context can both protect and unprotect (with separate per-SSRC state
/// for each direction), but with DTLS-SRTP each direction has its own keys,
/// so a transport holds an [`SrtpSession`]: one context for inbound and one
/// for outbound.
///
/// Laid out in declaration order (`repr(C)`): what protecting RTP reads comes first, up to `rtp_rx`, and a fan-out
/// asks for only those lines ([`SrtpContext::prefetch`]).
#[repr(C)]
pub struct SrtpContext {
    profile: SrtpProfile,
    cipher: Cipher,
    /// Outbound SRTP: highest packet index sent per SSRC (ROC = index >> 16).
    rtp_tx: SsrcTable<u64>,
    /// Inbound SRTP: replay window whose top is the highest authenticated index.
    rtp_rx: SsrcTable<ReplayWindow>,
    /// Outbound SRTCP: last SRTCP index sent per sender SSRC.
    rtcp_tx: SsrcTable<u32>,
    /// Inbound SRTCP: replay window over the 31-bit SRTCP index.
    rtcp_rx: SsrcTable<ReplayWindow>,
}

impl fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("rtp_tx_ssrcs", &self.rtp_tx.len())
            .field("rtp_rx_ssrcs", &self.rtp_rx.len())
            .field("rtcp_tx_ssrcs", &self.rtcp_tx.len())
            .field("rtcp_rx_ssrcs", &self.rtcp_rx.len())
            .finish_non_exhaustive()
    }
}

impl SrtpContext {
    /// Builds a context from a master key and master salt, deriving the six
    /// session keys (RFC 3711 §4.3, key derivation rate 0) up front.
    pub fn new(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
    ) -> Result<Self, SrtpError> {
        if master_key.len() != profile.key_len() || master_salt.len() != profile.salt_len() {
            return Err(SrtpError::BadKeyLength);
        }
        let cipher = match profile {
            SrtpProfile::Aes128CmHmacSha1_80 => {
                Cipher::CmHmac(Box::new(cm_hmac::CmHmac::new(master_key, master_salt)?))
            }
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => {
                Cipher::Gcm(gcm::Gcm::new(master_key, master_salt)?)
            }
        };
        Ok(Self::with_cipher(profile, cipher))
    }

    fn with_cipher(profile: SrtpProfile, cipher: Cipher) -> Self {
        Self {
            profile,
            cipher,
            rtp_tx: SsrcTable::default(),
            rtp_rx: SsrcTable::default(),
            rtcp_tx: SsrcTable::default(),
            rtcp_rx: SsrcTable::default(),
        }
    }

    /// The profile this context was built for.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// Asks for what [`SrtpContext::protect_rtp`] reads of the context itself (see `crate::prefetch`).
    #[inline(always)]
    pub(crate) fn prefetch(&self) {
        crate::prefetch::first_bytes(self, std::mem::offset_of!(SrtpContext, rtp_rx));
    }

    /// Asks for the RTP key's expanded key and GHASH table (AEAD profiles), whose address is in the context: call it
    /// once the context's lines have been asked for.
    #[inline(always)]
    pub(crate) fn prefetch_key(&self) {
        if let Cipher::Gcm(gcm) = &self.cipher {
            gcm.prefetch_rtp();
        }
    }

    /// Protects the RTP packet `buf[..len]` in place and returns the SRTP
    /// length (`len + profile.rtp_overhead()`).
    ///
    /// `buf` must extend at least [`SrtpProfile::rtp_overhead`] (at most
    /// [`SRTP_MAX_OVERHEAD`]) bytes past `len`. The ROC for the SSRC is
    /// tracked by index estimation against the highest index sent so far, so
    /// it increments when the sequence number wraps and retransmissions of
    /// older sequence numbers reuse their original index (what mediasoup
    /// needs for NACK-driven resends without RTX).
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let end = len
            .checked_add(self.profile.rtp_overhead())
            .ok_or(SrtpError::BufferTooSmall)?;
        if end > buf.len() {
            return Err(SrtpError::BufferTooSmall);
        }
        let hdr = parse_rtp(buf.get(..len).ok_or(SrtpError::BufferTooSmall)?)?;
        let index = self.next_rtp_index(&hdr)?;
        let out = match &self.cipher {
            Cipher::CmHmac(c) => c.protect_rtp(buf, len, &hdr, index)?,
            Cipher::Gcm(c) => c.protect_rtp(buf, len, &hdr, index)?,
        };
        self.note_rtp_sent(&hdr, index)?;
        Ok(out)
    }

    /// Protects the RTP packet made of `buf` (its header and the start of its payload) followed by `tail` (the rest),
    /// leaving the SRTP packet in `buf`. The AEAD profiles encrypt `tail` straight into `buf`; so a fan-out writes
    /// each receiver's header and reads the payload once per copy instead of copying it first and encrypting the copy.
    pub fn protect_rtp_append(&mut self, buf: &mut Vec<u8>, tail: &[u8]) -> Result<(), SrtpError> {
        let hdr = parse_rtp(buf)?;
        let index = self.next_rtp_index(&hdr)?;
        match &self.cipher {
            Cipher::CmHmac(c) => {
                buf.extend_from_slice(tail);
                let len = buf.len();
                buf.resize(len + self.profile.rtp_overhead(), 0);
                let n = c.protect_rtp(buf, len, &hdr, index)?;
                buf.truncate(n);
            }
            Cipher::Gcm(c) => c.protect_rtp_append(buf, &hdr, index, tail)?,
        }
        self.note_rtp_sent(&hdr, index)
    }

    /// The packet index of an outgoing packet: its ROC estimated against the highest index sent on its SSRC.
    fn next_rtp_index(&self, hdr: &RtpHeader) -> Result<u64, SrtpError> {
        match self.rtp_tx.get(hdr.ssrc).copied() {
            Some(h) => estimate_index(h, hdr.seq).ok_or_else(|| exhausted_or_old(h)),
            None if self.rtp_tx.len() >= MAX_SSRCS => Err(SrtpError::TooManySsrcs),
            None => Ok(u64::from(hdr.seq)),
        }
    }

    fn note_rtp_sent(&mut self, hdr: &RtpHeader, index: u64) -> Result<(), SrtpError> {
        self.rtp_tx.upsert(
            hdr.ssrc,
            |h| {
                if index > *h {
                    *h = index;
                }
            },
            || index,
        )
    }

    /// Unprotects the SRTP packet filling `buf` in place and returns the RTP
    /// length; the plaintext packet is `buf[..n]` (RTP padding, if any, is
    /// left for the RTP layer to strip).
    ///
    /// The packet index is estimated from the sequence number (RFC 3711
    /// Appendix A), checked against the 128-packet replay window before any
    /// crypto, then authenticated; state only advances for packets that
    /// authenticate. On error the contents of `buf` are unspecified.
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let len = buf
            .len()
            .checked_sub(self.profile.rtp_overhead())
            .ok_or(SrtpError::TooShort)?;
        let hdr = parse_rtp(buf.get(..len).ok_or(SrtpError::TooShort)?)?;
        let index = match self.rtp_rx.get(hdr.ssrc) {
            Some(w) => {
                let i = estimate_index(w.highest(), hdr.seq)
                    .ok_or_else(|| exhausted_or_old(w.highest()))?;
                w.check(i)?;
                i
            }
            None if self.rtp_rx.len() >= MAX_SSRCS => return Err(SrtpError::TooManySsrcs),
            // First packet of a stream: ROC 0, as libsrtp/mediasoup assume.
            None => u64::from(hdr.seq),
        };
        match &self.cipher {
            Cipher::CmHmac(c) => c.unprotect_rtp(buf, len, &hdr, index)?,
            Cipher::Gcm(c) => c.unprotect_rtp(buf, len, &hdr, index)?,
        }
        self.rtp_rx.upsert(
            hdr.ssrc,
            |w| w.accept(index),
            || ReplayWindow::starting_at(index),
        )?;
        Ok(len)
    }

    /// Protects the RTCP compound packet `buf[..len]` in place (always
    /// encrypted, E=1) and returns the SRTCP length
    /// (`len + profile.rtcp_overhead()`). `buf` must have that much room.
    ///
    /// The SRTCP index is per sender SSRC and starts at 1 (as libsrtp).
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        let end = len
            .checked_add(self.profile.rtcp_overhead())
            .ok_or(SrtpError::BufferTooSmall)?;
        if end > buf.len() {
            return Err(SrtpError::BufferTooSmall);
        }
        let ssrc = parse_rtcp(buf.get(..len).ok_or(SrtpError::BufferTooSmall)?)?;
        let index = match self.rtcp_tx.get(ssrc) {
            Some(&last) if last >= MAX_SRTCP_INDEX => return Err(SrtpError::IndexExhausted),
            Some(&last) => last + 1,
            None if self.rtcp_tx.len() >= MAX_SSRCS => return Err(SrtpError::TooManySsrcs),
            None => 1,
        };
        let out = match &self.cipher {
            Cipher::CmHmac(c) => c.protect_rtcp(buf, len, ssrc, index)?,
            Cipher::Gcm(c) => c.protect_rtcp(buf, len, ssrc, index)?,
        };
        self.rtcp_tx.upsert(ssrc, |i| *i = index, || index)?;
        Ok(out)
    }

    /// Unprotects the SRTCP packet filling `buf` in place and returns the
    /// RTCP length (`buf[..n]`). Accepts both encrypted (E=1) and
    /// authenticated-only (E=0) packets; replays and indices older than the
    /// 128-entry window are rejected. On error the contents of `buf` are
    /// unspecified.
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        let body_end = buf
            .len()
            .checked_sub(self.profile.rtcp_overhead())
            .ok_or(SrtpError::TooShort)?;
        if body_end < RTCP_HEADER_LEN {
            return Err(SrtpError::TooShort);
        }
        let ssrc = parse_rtcp(buf)?;
        let word_at = match self.cipher {
            Cipher::CmHmac(_) => body_end,
            Cipher::Gcm(_) => body_end + gcm::TAG_LEN,
        };
        let word = crate::rtp::bytes::u32_at(buf, word_at).ok_or(SrtpError::TooShort)?;
        let index = u64::from(word & MAX_SRTCP_INDEX);
        match self.rtcp_rx.get(ssrc) {
            Some(w) => w.check(index)?,
            None if self.rtcp_rx.len() >= MAX_SSRCS => return Err(SrtpError::TooManySsrcs),
            None => {}
        }
        match &self.cipher {
            Cipher::CmHmac(c) => c.unprotect_rtcp(buf, body_end, ssrc, word)?,
            Cipher::Gcm(c) => c.unprotect_rtcp(buf, body_end, ssrc, word)?,
        }
        self.rtcp_rx.upsert(
            ssrc,
            |w| w.accept(index),
            || ReplayWindow::starting_at(index),
        )?;
        Ok(body_end)
    }

    /// Forgets all state (ROC, replay window, SRTCP index) for `ssrc`, in both
    /// directions. Call when a producer/consumer using it closes so the
    /// per-SSRC tables stay small.
    pub fn remove_ssrc(&mut self, ssrc: u32) {
        self.rtp_tx.remove(ssrc);
        self.rtp_rx.remove(ssrc);
        self.rtcp_tx.remove(ssrc);
        self.rtcp_rx.remove(ssrc);
    }

    /// Current rollover counter of an outbound SRTP stream (diagnostics).
    pub fn outbound_roc(&self, ssrc: u32) -> Option<u32> {
        self.rtp_tx.get(ssrc).map(|&i| roc_of(i))
    }

    /// Current rollover counter of an inbound SRTP stream (diagnostics).
    pub fn inbound_roc(&self, ssrc: u32) -> Option<u32> {
        self.rtp_rx.get(ssrc).map(|w| roc_of(w.highest()))
    }
}

/// The ROC part of a 48-bit packet index.
fn roc_of(index: u64) -> u32 {
    u32::try_from(index >> 16).unwrap_or(u32::MAX)
}

/// Why [`estimate_index`] found no index: before index 0 (only possible
/// while the ROC is 0), or past 2^48.
fn exhausted_or_old(highest: u64) -> SrtpError {
    if highest >> 16 == 0 {
        SrtpError::TooOld
    } else {
        SrtpError::IndexExhausted
    }
}

/// The two SRTP contexts of a DTLS-SRTP transport: one keyed with the peer's
/// write key (to unprotect what it sends) and one with ours.
#[derive(Debug)]
pub struct SrtpSession {
    /// Unprotects packets from the peer.
    pub inbound: SrtpContext,
    /// Protects packets to the peer.
    pub outbound: SrtpContext,
}

impl SrtpSession {
    /// Builds both contexts from the keying material exported by DTLS
    /// (`EXTRACTOR-dtls_srtp`, `profile.keying_material_len()` octets).
    ///
    /// The material is `client_write_key | server_write_key |
    /// client_write_salt | server_write_salt` (RFC 5764 §4.2); the client
    /// encrypts with the client half, so as [`DtlsRole::Client`] the client
    /// half is outbound and the server half inbound, and vice versa.
    pub fn from_dtls(
        profile: dimpl::SrtpProfile,
        keying_material: &[u8],
        role: DtlsRole,
    ) -> Result<Self, SrtpError> {
        let profile = SrtpProfile::try_from(profile)?;
        if keying_material.len() != profile.keying_material_len() {
            return Err(SrtpError::BadKeyLength);
        }
        let (keys, salts) = keying_material.split_at(2 * profile.key_len());
        let (client_key, server_key) = keys.split_at(profile.key_len());
        let (client_salt, server_salt) = salts.split_at(profile.salt_len());
        let client = SrtpContext::new(profile, client_key, client_salt)?;
        let server = SrtpContext::new(profile, server_key, server_salt)?;
        Ok(match role {
            DtlsRole::Client => Self {
                inbound: server,
                outbound: client,
            },
            DtlsRole::Server => Self {
                inbound: client,
                outbound: server,
            },
        })
    }

    /// The negotiated profile.
    pub fn profile(&self) -> SrtpProfile {
        self.outbound.profile()
    }

    /// See [`SrtpContext::protect_rtp`] (outbound context).
    #[inline]
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        self.outbound.protect_rtp(buf, len)
    }

    /// See [`SrtpContext::unprotect_rtp`] (inbound context).
    #[inline]
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        self.inbound.unprotect_rtp(buf)
    }

    /// See [`SrtpContext::protect_rtcp`] (outbound context).
    #[inline]
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        self.outbound.protect_rtcp(buf, len)
    }

    /// See [`SrtpContext::unprotect_rtcp`] (inbound context).
    #[inline]
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, SrtpError> {
        self.inbound.unprotect_rtcp(buf)
    }

    /// See [`SrtpContext::remove_ssrc`]; applies to both contexts.
    pub fn remove_ssrc(&mut self, ssrc: u32) {
        self.inbound.remove_ssrc(ssrc);
        self.outbound.remove_ssrc(ssrc);
    }
}
