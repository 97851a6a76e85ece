//! `AEAD_AES_128_GCM` / `AEAD_AES_256_GCM` (RFC 7714).
//!
//! Packet layouts:
//!
//! ```text
//! SRTP : | RTP header (+CSRC +ext) = AAD | ciphertext | tag(16) |
//! SRTCP: | RTCP hdr(8) | ciphertext | tag(16) | E|index(4) |
//!        AAD = RTCP hdr(8) || E|index(4)
//! ```
//!
//! The SRTCP index trails the tag here (RFC 7714 §9.1), unlike the HMAC
//! profile where it precedes it.

use super::aead::{AeadKey, NONCE_LEN};
use super::header::{RtpHeader, RTCP_HEADER_LEN};
use super::kdf::{Kdf, Label};
use super::SrtpError;

pub(crate) use super::aead::TAG_LEN;
/// Session/master salt length for the AEAD profiles (96 bits).
pub(crate) const SALT_LEN: usize = 12;

/// One AEAD key with its salt. The key keeps the expanded AES key and the
/// GHASH table, so per packet there is no key setup and no allocation.
struct Keys {
    aead: AeadKey,
    salt: [u8; SALT_LEN],
}

impl Keys {
    fn from_session(key: &[u8], salt: &[u8]) -> Result<Self, SrtpError> {
        let salt: [u8; SALT_LEN] = salt.try_into().map_err(|_| SrtpError::BadKeyLength)?;
        Ok(Self {
            aead: AeadKey::new(key)?,
            salt,
        })
    }

    fn derive(kdf: &Kdf, key_len: usize, enc: Label, salt: Label) -> Result<Self, SrtpError> {
        let mut k = [0u8; 32];
        let k = k.get_mut(..key_len).ok_or(SrtpError::BadKeyLength)?;
        let mut s = [0u8; SALT_LEN];
        kdf.derive(enc, k)?;
        kdf.derive(salt, &mut s)?;
        let keys = Self::from_session(k, &s);
        k.fill(0);
        keys
    }

    /// `salt XOR (00 00 || SSRC || ROC || SEQ)` (RFC 7714 §8.1).
    #[inline]
    fn rtp_nonce(&self, ssrc: u32, index: u64) -> [u8; NONCE_LEN] {
        let mut iv = self.salt;
        for (d, s) in iv[2..6].iter_mut().zip(ssrc.to_be_bytes()) {
            *d ^= s;
        }
        // ROC || SEQ is the 48-bit index, big-endian.
        for (d, s) in iv[6..12].iter_mut().zip(index.to_be_bytes()[2..8].iter()) {
            *d ^= s;
        }
        iv
    }

    /// `salt XOR (00 00 || SSRC || 00 00 || 0 || SRTCP index)` (RFC 7714 §9.1).
    #[inline]
    fn rtcp_nonce(&self, ssrc: u32, index: u32) -> [u8; NONCE_LEN] {
        let mut iv = self.salt;
        for (d, s) in iv[2..6].iter_mut().zip(ssrc.to_be_bytes()) {
            *d ^= s;
        }
        for (d, s) in iv[8..12]
            .iter_mut()
            .zip((index & !super::SRTCP_E_FLAG).to_be_bytes())
        {
            *d ^= s;
        }
        iv
    }
}

/// Keys for both SRTP and SRTCP of one direction.
pub(crate) struct Gcm {
    rtp: Keys,
    rtcp: Keys,
}

impl Gcm {
    /// Derives session keys from a master key (16 or 32 octets) and a 12-octet
    /// master salt with the RFC 3711 KDF, as RFC 7714 §11 prescribes.
    pub(crate) fn new(master_key: &[u8], master_salt: &[u8]) -> Result<Self, SrtpError> {
        if master_salt.len() != SALT_LEN {
            return Err(SrtpError::BadKeyLength);
        }
        let kdf = Kdf::new(master_key, master_salt)?;
        let key_len = master_key.len();
        Ok(Self {
            rtp: Keys::derive(&kdf, key_len, Label::RtpEncryption, Label::RtpSalt)?,
            rtcp: Keys::derive(&kdf, key_len, Label::RtcpEncryption, Label::RtcpSalt)?,
        })
    }

    /// Uses session keys directly (no KDF), as the RFC 7714 test vectors are
    /// stated.
    #[cfg(test)]
    pub(crate) fn from_session_keys(key: &[u8], salt: &[u8]) -> Result<Self, SrtpError> {
        Ok(Self {
            rtp: Keys::from_session(key, salt)?,
            rtcp: Keys::from_session(key, salt)?,
        })
    }

    /// Asks for the SRTP key's state (see `crate::prefetch`).
    #[inline(always)]
    pub(crate) fn prefetch_rtp(&self) {
        self.rtp.aead.prefetch();
    }

    /// Encrypts `buf[hdr.len..len]` with the header as AAD and writes the tag
    /// at `buf[len..]`. Returns the SRTP length.
    pub(crate) fn protect_rtp(
        &self,
        buf: &mut [u8],
        len: usize,
        hdr: &RtpHeader,
        index: u64,
    ) -> Result<usize, SrtpError> {
        let (aad, rest) = buf
            .split_at_mut_checked(hdr.len)
            .ok_or(SrtpError::BadHeader)?;
        let (plain, tail) = rest
            .split_at_mut_checked(len - hdr.len)
            .ok_or(SrtpError::BufferTooSmall)?;
        let tag = self
            .rtp
            .aead
            .seal_in_place(&self.rtp.rtp_nonce(hdr.ssrc, index), aad, plain)?;
        tail.get_mut(..TAG_LEN)
            .ok_or(SrtpError::BufferTooSmall)?
            .copy_from_slice(&tag);
        Ok(len + TAG_LEN)
    }

    /// Encrypts `buf[hdr.len..]` followed by `tail` with the header as AAD, appending `tail`'s ciphertext and the tag
    /// to `buf` (see [`super::aead::AeadKey::seal_append`]).
    pub(crate) fn protect_rtp_append(
        &self,
        buf: &mut Vec<u8>,
        hdr: &RtpHeader,
        index: u64,
        tail: &[u8],
    ) -> Result<(), SrtpError> {
        self.rtp
            .aead
            .seal_append(&self.rtp.rtp_nonce(hdr.ssrc, index), buf, hdr.len, tail)
    }

    /// Authenticates and decrypts `buf[hdr.len..len]` (tag at `buf[len..]`).
    pub(crate) fn unprotect_rtp(
        &self,
        buf: &mut [u8],
        len: usize,
        hdr: &RtpHeader,
        index: u64,
    ) -> Result<(), SrtpError> {
        let (aad, rest) = buf
            .split_at_mut_checked(hdr.len)
            .ok_or(SrtpError::BadHeader)?;
        let (cipher, tail) = rest
            .split_at_mut_checked(len - hdr.len)
            .ok_or(SrtpError::TooShort)?;
        let tag = tail.get(..TAG_LEN).ok_or(SrtpError::TooShort)?;
        self.rtp
            .aead
            .open_in_place(&self.rtp.rtp_nonce(hdr.ssrc, index), aad, cipher, tag)
    }

    /// Encrypts `buf[8..len]`, appends the tag then `E=1 | index`.
    pub(crate) fn protect_rtcp(
        &self,
        buf: &mut [u8],
        len: usize,
        ssrc: u32,
        index: u32,
    ) -> Result<usize, SrtpError> {
        let word = (super::SRTCP_E_FLAG | index).to_be_bytes();
        let aad = rtcp_aad(buf, word)?;
        let (plain, tail) = buf
            .get_mut(RTCP_HEADER_LEN..)
            .and_then(|b| b.split_at_mut_checked(len - RTCP_HEADER_LEN))
            .ok_or(SrtpError::TooShort)?;
        let tag = self
            .rtcp
            .aead
            .seal_in_place(&self.rtcp.rtcp_nonce(ssrc, index), &aad, plain)?;
        let trailer = tail
            .get_mut(..TAG_LEN + 4)
            .ok_or(SrtpError::BufferTooSmall)?;
        let (tag_out, word_out) = trailer.split_at_mut(TAG_LEN);
        tag_out.copy_from_slice(&tag);
        word_out.copy_from_slice(&word);
        Ok(len + TAG_LEN + 4)
    }

    /// `buf[..body_end]` is the RTCP packet (encrypted or not per E), then the
    /// tag, then `E|index` (`word`). Verifies and decrypts in place.
    pub(crate) fn unprotect_rtcp(
        &self,
        buf: &mut [u8],
        body_end: usize,
        ssrc: u32,
        word: u32,
    ) -> Result<(), SrtpError> {
        let nonce = self.rtcp.rtcp_nonce(ssrc, word);
        if word & super::SRTCP_E_FLAG != 0 {
            let aad = rtcp_aad(buf, word.to_be_bytes())?;
            let (cipher, tail) = buf
                .get_mut(RTCP_HEADER_LEN..)
                .and_then(|b| b.split_at_mut_checked(body_end - RTCP_HEADER_LEN))
                .ok_or(SrtpError::TooShort)?;
            let tag = tail.get(..TAG_LEN).ok_or(SrtpError::TooShort)?;
            self.rtcp.aead.open_in_place(&nonce, &aad, cipher, tag)
        } else {
            // Unencrypted SRTCP (RFC 7714 §9.3): the whole packet plus E|index
            // is AAD and the plaintext is empty. Rotate `tag || word` into
            // `word || tag` so the AAD is contiguous; no copy of the packet is
            // needed and on success `buf[..body_end]` is untouched.
            let trailer = buf
                .get_mut(body_end..body_end + TAG_LEN + 4)
                .ok_or(SrtpError::TooShort)?;
            trailer.rotate_right(4);
            let (aad, tag) = buf
                .split_at_mut_checked(body_end + 4)
                .ok_or(SrtpError::TooShort)?;
            let tag = tag.get(..TAG_LEN).ok_or(SrtpError::TooShort)?;
            self.rtcp.aead.open_in_place(&nonce, aad, &mut [], tag)
        }
    }
}

/// SRTCP AAD: the first 8 octets of the RTCP packet then E|index.
#[inline]
fn rtcp_aad(buf: &[u8], word: [u8; 4]) -> Result<[u8; RTCP_HEADER_LEN + 4], SrtpError> {
    let mut aad = [0u8; RTCP_HEADER_LEN + 4];
    aad[..RTCP_HEADER_LEN].copy_from_slice(buf.get(..RTCP_HEADER_LEN).ok_or(SrtpError::TooShort)?);
    aad[RTCP_HEADER_LEN..].copy_from_slice(&word);
    Ok(aad)
}
