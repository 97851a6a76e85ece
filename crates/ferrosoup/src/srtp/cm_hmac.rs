//! `SRTP_AES128_CM_HMAC_SHA1_80`: AES-128 counter mode plus an 80-bit
//! HMAC-SHA1 tag (RFC 3711 §4.1.1, §4.2; profile from RFC 5764 §4.1.2).
//!
//! Packet layouts:
//!
//! ```text
//! SRTP : | RTP header (+CSRC +ext) | encrypted payload | tag(10) |
//! SRTCP: | RTCP hdr(8) | encrypted rest | E|index(4) | tag(10) |
//! ```
//!
//! The SRTP tag covers the whole packet followed by the 32-bit ROC (which is
//! not sent); the SRTCP tag covers everything up to and including E|index.

use aws_lc_rs::cipher::EncryptingKey;
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;

use super::header::{RtpHeader, RTCP_HEADER_LEN};
use super::kdf::{aes_ctr_key, ctr_xor, Kdf, Label};
use super::SrtpError;

/// Authentication tag length (80 bits) for both SRTP and SRTCP.
pub(crate) const TAG_LEN: usize = 10;
const SESSION_KEY_LEN: usize = 16;
const SESSION_AUTH_KEY_LEN: usize = 20;
const SESSION_SALT_LEN: usize = 14;

/// Session keys for one of SRTP or SRTCP, with the AES key schedule and the
/// HMAC inner/outer pads precomputed so a packet costs only the block cipher
/// and two SHA-1 compressions past the pads.
struct Keys {
    aes: EncryptingKey,
    salt: [u8; SESSION_SALT_LEN],
    auth: hmac::Key,
}

impl Keys {
    fn derive(kdf: &Kdf, enc: Label, auth: Label, salt: Label) -> Result<Self, SrtpError> {
        let mut k = [0u8; SESSION_KEY_LEN];
        let mut a = [0u8; SESSION_AUTH_KEY_LEN];
        let mut s = [0u8; SESSION_SALT_LEN];
        kdf.derive(enc, &mut k)?;
        kdf.derive(auth, &mut a)?;
        kdf.derive(salt, &mut s)?;
        let keys = Self {
            aes: aes_ctr_key(&k)?,
            salt: s,
            auth: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &a),
        };
        k.fill(0);
        a.fill(0);
        Ok(keys)
    }

    /// `IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16)` (RFC 3711 §4.1.1).
    #[inline]
    fn iv(&self, ssrc: u32, index: u64) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[..SESSION_SALT_LEN].copy_from_slice(&self.salt);
        for (d, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *d ^= s;
        }
        for (d, s) in iv[8..16].iter_mut().zip((index << 16).to_be_bytes()) {
            *d ^= s;
        }
        iv
    }

    /// HMAC-SHA1 over `data || trailer`, truncated to 80 bits.
    #[inline]
    fn tag(&self, data: &[u8], trailer: &[u8]) -> [u8; TAG_LEN] {
        let mut ctx = hmac::Context::with_key(&self.auth);
        ctx.update(data);
        ctx.update(trailer);
        let full = ctx.sign();
        let mut out = [0u8; TAG_LEN];
        for (d, s) in out.iter_mut().zip(full.as_ref()) {
            *d = *s;
        }
        out
    }

    #[inline]
    fn verify(&self, data: &[u8], trailer: &[u8], tag: &[u8]) -> Result<(), SrtpError> {
        let expected = self.tag(data, trailer);
        verify_slices_are_equal(&expected, tag).map_err(|_| SrtpError::AuthFailed)
    }
}

/// Keys for both SRTP and SRTCP of one direction.
pub(crate) struct CmHmac {
    rtp: Keys,
    rtcp: Keys,
}

impl CmHmac {
    pub(crate) fn new(master_key: &[u8], master_salt: &[u8]) -> Result<Self, SrtpError> {
        if master_key.len() != SESSION_KEY_LEN || master_salt.len() != SESSION_SALT_LEN {
            return Err(SrtpError::BadKeyLength);
        }
        let kdf = Kdf::new(master_key, master_salt)?;
        Ok(Self {
            rtp: Keys::derive(&kdf, Label::RtpEncryption, Label::RtpAuth, Label::RtpSalt)?,
            rtcp: Keys::derive(
                &kdf,
                Label::RtcpEncryption,
                Label::RtcpAuth,
                Label::RtcpSalt,
            )?,
        })
    }

    /// Encrypts `buf[hdr.len..len]` and appends the tag at `buf[len..]`.
    /// Returns the SRTP length.
    pub(crate) fn protect_rtp(
        &self,
        buf: &mut [u8],
        len: usize,
        hdr: &RtpHeader,
        index: u64,
    ) -> Result<usize, SrtpError> {
        let payload = buf.get_mut(hdr.len..len).ok_or(SrtpError::BadHeader)?;
        ctr_xor(&self.rtp.aes, self.rtp.iv(hdr.ssrc, index), payload)?;
        let roc = roc_bytes(index);
        let (authed, rest) = buf
            .split_at_mut_checked(len)
            .ok_or(SrtpError::BufferTooSmall)?;
        let tag = self.rtp.tag(authed, &roc);
        rest.get_mut(..TAG_LEN)
            .ok_or(SrtpError::BufferTooSmall)?
            .copy_from_slice(&tag);
        Ok(len + TAG_LEN)
    }

    /// Verifies the tag at `buf[len..len + TAG_LEN]` for the packet
    /// `buf[..len]` under the guessed `index`, then decrypts in place.
    pub(crate) fn unprotect_rtp(
        &self,
        buf: &mut [u8],
        len: usize,
        hdr: &RtpHeader,
        index: u64,
    ) -> Result<(), SrtpError> {
        let (authed, rest) = buf.split_at_mut_checked(len).ok_or(SrtpError::TooShort)?;
        let tag = rest.get(..TAG_LEN).ok_or(SrtpError::TooShort)?;
        self.rtp.verify(authed, &roc_bytes(index), tag)?;
        let payload = authed.get_mut(hdr.len..).ok_or(SrtpError::BadHeader)?;
        ctr_xor(&self.rtp.aes, self.rtp.iv(hdr.ssrc, index), payload)
    }

    /// Encrypts `buf[8..len]`, appends `E=1 | index` and the tag.
    pub(crate) fn protect_rtcp(
        &self,
        buf: &mut [u8],
        len: usize,
        ssrc: u32,
        index: u32,
    ) -> Result<usize, SrtpError> {
        let body = buf
            .get_mut(RTCP_HEADER_LEN..len)
            .ok_or(SrtpError::TooShort)?;
        ctr_xor(&self.rtcp.aes, self.rtcp.iv(ssrc, u64::from(index)), body)?;
        let word = (super::SRTCP_E_FLAG | index).to_be_bytes();
        buf.get_mut(len..len + 4)
            .ok_or(SrtpError::BufferTooSmall)?
            .copy_from_slice(&word);
        let (authed, rest) = buf
            .split_at_mut_checked(len + 4)
            .ok_or(SrtpError::BufferTooSmall)?;
        let tag = self.rtcp.tag(authed, &[]);
        rest.get_mut(..TAG_LEN)
            .ok_or(SrtpError::BufferTooSmall)?
            .copy_from_slice(&tag);
        Ok(len + 4 + TAG_LEN)
    }

    /// `buf[..body_end]` is the RTCP packet, `E|index` follows at `body_end`
    /// and the tag after it. Verifies and, if E is set, decrypts in place.
    pub(crate) fn unprotect_rtcp(
        &self,
        buf: &mut [u8],
        body_end: usize,
        ssrc: u32,
        word: u32,
    ) -> Result<(), SrtpError> {
        let (authed, rest) = buf
            .split_at_mut_checked(body_end + 4)
            .ok_or(SrtpError::TooShort)?;
        let tag = rest.get(..TAG_LEN).ok_or(SrtpError::TooShort)?;
        self.rtcp.verify(authed, &[], tag)?;
        if word & super::SRTCP_E_FLAG != 0 {
            let body = authed
                .get_mut(RTCP_HEADER_LEN..body_end)
                .ok_or(SrtpError::TooShort)?;
            let index = word & !super::SRTCP_E_FLAG;
            ctr_xor(&self.rtcp.aes, self.rtcp.iv(ssrc, u64::from(index)), body)?;
        }
        Ok(())
    }
}

/// The ROC (upper 32 bits of the 48-bit index) as authenticated after the
/// packet (RFC 3711 §4.2).
#[inline]
fn roc_bytes(index: u64) -> [u8; 4] {
    // Index is < 2^48 so the ROC fits 32 bits.
    ((index >> 16) as u32).to_be_bytes()
}

#[cfg(test)]
pub(crate) fn session_keys_for_test(
    master_key: &[u8],
    master_salt: &[u8],
) -> ([u8; 16], [u8; 20], [u8; 14]) {
    let kdf = Kdf::new(master_key, master_salt).unwrap();
    let mut k = [0u8; 16];
    let mut a = [0u8; 20];
    let mut s = [0u8; 14];
    kdf.derive(Label::RtpEncryption, &mut k).unwrap();
    kdf.derive(Label::RtpAuth, &mut a).unwrap();
    kdf.derive(Label::RtpSalt, &mut s).unwrap();
    (k, a, s)
}
