//! AES counter mode and the SRTP key derivation function (RFC 3711 §4.3).
//!
//! Both the AES-CM encryption transform (§4.1.1) and the key derivation PRF
//! (§4.3.3) are "AES in counter mode with a 128-bit IV whose low 16 bits count
//! blocks", so they share [`ctr_xor`]. aws-lc's CTR increments the whole 128-bit
//! counter; since SRTP IVs always have their low 16 bits zero and no packet is
//! anywhere near 2^16 blocks long, no carry ever leaves those 16 bits and the two
//! definitions agree.

use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128, AES_256};
use aws_lc_rs::iv::FixedLength;

use super::SrtpError;

/// Builds a CTR-mode AES key (128 or 256 bits, chosen by the key length).
///
/// The key schedule is expanded once here and kept for the life of the session,
/// so the per-packet path only runs the block cipher.
pub(crate) fn aes_ctr_key(key: &[u8]) -> Result<EncryptingKey, SrtpError> {
    let alg = match key.len() {
        16 => &AES_128,
        32 => &AES_256,
        _ => return Err(SrtpError::BadKeyLength),
    };
    let unbound = UnboundCipherKey::new(alg, key).map_err(|_| SrtpError::Crypto)?;
    EncryptingKey::ctr(unbound).map_err(|_| SrtpError::Crypto)
}

/// XORs `data` in place with the AES-CTR keystream starting at counter block `iv`.
///
/// Encryption and decryption are the same operation. Nothing is allocated: the
/// IV lives in a fixed-size array inside the context.
#[inline]
pub(crate) fn ctr_xor(key: &EncryptingKey, iv: [u8; 16], data: &mut [u8]) -> Result<(), SrtpError> {
    if data.is_empty() {
        return Ok(());
    }
    let ctx = EncryptionContext::Iv128(FixedLength::from(iv));
    key.less_safe_encrypt(data, ctx)
        .map(|_| ())
        .map_err(|_| SrtpError::Crypto)
}

/// SRTP key derivation labels (RFC 3711 §4.3.1 and §4.3.2).
#[derive(Clone, Copy, Debug)]
#[repr(u8)]
pub(crate) enum Label {
    RtpEncryption = 0,
    RtpAuth = 1,
    RtpSalt = 2,
    RtcpEncryption = 3,
    RtcpAuth = 4,
    RtcpSalt = 5,
}

/// The RFC 3711 §4.3.3 AES-CM pseudo-random function keyed by a master key.
///
/// Only the key derivation rate 0 is supported: DTLS-SRTP (RFC 5764) never
/// negotiates another, so `r = index DIV kdr` is always 0 and session keys are
/// derived exactly once per master key.
pub(crate) struct Kdf {
    key: EncryptingKey,
    /// The master salt left-aligned in 112 bits. The AEAD profiles' 96-bit
    /// salts are zero-padded on the right, which is what RFC 7714 §11 and
    /// libsrtp do (the two trailing octets only ever meet the key id's low
    /// octets, i.e. the always-zero `r`).
    salt: [u8; 14],
}

impl Kdf {
    pub(crate) fn new(master_key: &[u8], master_salt: &[u8]) -> Result<Self, SrtpError> {
        let mut salt = [0u8; 14];
        salt.get_mut(..master_salt.len())
            .ok_or(SrtpError::BadKeyLength)?
            .copy_from_slice(master_salt);
        Ok(Self {
            key: aes_ctr_key(master_key)?,
            salt,
        })
    }

    /// Fills `out` with the session key/salt for `label`.
    ///
    /// `x = key_id XOR master_salt` with `key_id = label || r` (r = 0) right
    /// aligned in 112 bits, i.e. the label lands in octet 7; the PRF output is
    /// the AES-CM keystream for IV `x * 2^16`.
    pub(crate) fn derive(&self, label: Label, out: &mut [u8]) -> Result<(), SrtpError> {
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&self.salt);
        iv[7] ^= label as u8;
        out.fill(0);
        ctr_xor(&self.key, iv, out)
    }
}
