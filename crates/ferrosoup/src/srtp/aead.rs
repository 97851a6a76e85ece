//! One AES-GCM key, held through aws-lc's C API (`aws-lc-sys`, the library `aws-lc-rs` wraps).
//!
//! `aws-lc-rs` keeps the expanded key and GHASH table in an `EVP_AEAD_CTX` on the heap behind a pointer it does not
//! show. In a fan-out every copy is sealed under a different key, and the kernel's sends since the previous packet
//! have evicted most of them, so the first read of each context missed the cache: `perf` put 0.5–0.9 points of a core
//! on the entry of aws-lc's seal at 1 × 1000 pps → 50. Holding the context ourselves gives its address to
//! [`AeadKey::prefetch`], which the fan-out calls for every copy before the first one is sealed (see
//! `crate::prefetch`). The calls are the same ones `aws-lc-rs` makes.

use std::ptr::NonNull;

use aws_lc_sys as ffi;

use super::SrtpError;

/// Nonce length of the SRTP AEAD profiles (RFC 7714 §8.1).
pub(crate) const NONCE_LEN: usize = 12;
/// Tag length of the SRTP AEAD profiles (the full 128 bits, RFC 7714 §14.2).
pub(crate) const TAG_LEN: usize = 16;

/// An AES-128-GCM or AES-256-GCM key with its precomputed state, freed on drop.
pub(crate) struct AeadKey {
    /// Made by `EVP_AEAD_CTX_new`, freed only in `drop`, never null. aws-lc reads it and never writes it after set-up
    /// (seal and open take it `const`).
    ctx: NonNull<ffi::EVP_AEAD_CTX>,
}

// SAFETY: the context is owned by this value alone and aws-lc ties it to no thread.
unsafe impl Send for AeadKey {}
// SAFETY: the methods that take `&self` are seal and open, which aws-lc's `aead.h` documents as safe to call at once
// from several threads on one AES-GCM context.
unsafe impl Sync for AeadKey {}

impl AeadKey {
    /// A key of 16 octets (AES-128-GCM) or 32 (AES-256-GCM).
    pub(crate) fn new(key: &[u8]) -> Result<Self, SrtpError> {
        // SAFETY: both return pointers to aws-lc's static method tables; the library's CPU detection runs once before
        // (it picks the AES-NI/VAES code the context is set up for).
        let aead = unsafe {
            ffi::CRYPTO_library_init();
            match key.len() {
                16 => ffi::EVP_aead_aes_128_gcm(),
                32 => ffi::EVP_aead_aes_256_gcm(),
                _ => return Err(SrtpError::BadKeyLength),
            }
        };
        // SAFETY: `key` is valid for `key.len()` bytes and only read; the tag length is the AEAD's full one.
        let ctx = unsafe { ffi::EVP_AEAD_CTX_new(aead, key.as_ptr(), key.len(), TAG_LEN) };
        NonNull::new(ctx)
            .map(|ctx| AeadKey { ctx })
            .ok_or(SrtpError::Crypto)
    }

    /// Encrypts `data` in place and returns the tag over `aad` and the ciphertext.
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
    ) -> Result<[u8; TAG_LEN], SrtpError> {
        let mut tag = [0u8; TAG_LEN];
        let mut tag_len = 0usize;
        let in_place = data.as_mut_ptr();
        // SAFETY: the context is live (see `ctx`). `out` and `in` are the same pointer to `data.len()` bytes, which
        // aws-lc allows ("in and out may alias exactly"); the tag buffer holds `TAG_LEN` bytes, as passed; nonce and
        // AAD are valid for the lengths given and only read; there is no extra input.
        let ok = unsafe {
            ffi::EVP_AEAD_CTX_seal_scatter(
                self.ctx.as_ptr(),
                in_place,
                tag.as_mut_ptr(),
                &mut tag_len,
                TAG_LEN,
                nonce.as_ptr(),
                NONCE_LEN,
                in_place,
                data.len(),
                std::ptr::null(),
                0,
                aad.as_ptr(),
                aad.len(),
            )
        };
        if ok == 1 && tag_len == TAG_LEN {
            Ok(tag)
        } else {
            Err(SrtpError::Crypto)
        }
    }

    /// Seals the message `buf[aad_len..]` followed by `tail` with `buf[..aad_len]` as AAD: the first part is encrypted
    /// in place, `tail` straight from where it is into the bytes appended to `buf`, then the tag. So a packet whose
    /// start is rewritten per receiver is encrypted from its source without being copied first.
    pub(crate) fn seal_append(
        &self,
        nonce: &[u8; NONCE_LEN],
        buf: &mut Vec<u8>,
        aad_len: usize,
        tail: &[u8],
    ) -> Result<(), SrtpError> {
        let len = buf.len();
        if aad_len > len {
            return Err(SrtpError::BadHeader);
        }
        let appended = tail
            .len()
            .checked_add(TAG_LEN)
            .ok_or(SrtpError::BufferTooSmall)?;
        buf.reserve(appended);
        let base = buf.as_mut_ptr();
        let mut written = 0usize;
        // SAFETY: the context is live (see `ctx`). `base` is valid for `len` initialised bytes plus at least
        // `appended` reserved ones. The message's first part (`base + aad_len`, `len - aad_len` bytes) is sealed in
        // place, which aws-lc allows for `in` and `out` that alias exactly; the AAD (`base`, `aad_len` bytes) is only
        // read and lies before it. `out_tag` is the reserved space after `len`, `appended` bytes long as passed; it
        // overlaps neither the buffer's bytes in use nor `tail`, which is a shared borrow of other memory (`buf` is
        // borrowed mutably here) and only read.
        let ok = unsafe {
            let message = base.add(aad_len);
            ffi::EVP_AEAD_CTX_seal_scatter(
                self.ctx.as_ptr(),
                message,
                base.add(len),
                &mut written,
                appended,
                nonce.as_ptr(),
                NONCE_LEN,
                message,
                len - aad_len,
                tail.as_ptr(),
                tail.len(),
                base,
                aad_len,
            )
        };
        if ok != 1 || written != appended {
            return Err(SrtpError::Crypto);
        }
        // SAFETY: aws-lc wrote all `appended` bytes after `len` (checked just above), within the reserved capacity.
        unsafe { buf.set_len(len + appended) };
        Ok(())
    }

    /// Checks `tag` over `aad` and `data`, and decrypts `data` in place. On failure aws-lc zeroes `data`, so that no
    /// unauthenticated plaintext is left in it.
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8],
    ) -> Result<(), SrtpError> {
        if tag.len() != TAG_LEN {
            return Err(SrtpError::AuthFailed);
        }
        let in_place = data.as_mut_ptr();
        // SAFETY: as in `seal_in_place`: a live context, `out` and `in` the same pointer, every other buffer valid for
        // its length and only read.
        let ok = unsafe {
            ffi::EVP_AEAD_CTX_open_gather(
                self.ctx.as_ptr(),
                in_place,
                nonce.as_ptr(),
                NONCE_LEN,
                in_place,
                data.len(),
                tag.as_ptr(),
                tag.len(),
                aad.as_ptr(),
                aad.len(),
            )
        };
        if ok == 1 {
            Ok(())
        } else {
            Err(SrtpError::AuthFailed)
        }
    }

    /// Asks for the cache lines of the context: the expanded key and the GHASH table.
    #[inline(always)]
    pub(crate) fn prefetch(&self) {
        // SAFETY: the context is live (see `ctx`) and nothing writes it, so a shared reference to it is sound for as
        // long as `self` is borrowed.
        crate::prefetch::lines(unsafe { self.ctx.as_ref() });
    }
}

impl Drop for AeadKey {
    fn drop(&mut self) {
        // SAFETY: made by `EVP_AEAD_CTX_new`, freed once, here (it also wipes the key).
        unsafe { ffi::EVP_AEAD_CTX_free(self.ctx.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};

    fn reference(key: &[u8]) -> LessSafeKey {
        let alg = if key.len() == 16 {
            &AES_128_GCM
        } else {
            &AES_256_GCM
        };
        LessSafeKey::new(UnboundKey::new(alg, key).unwrap())
    }

    #[test]
    fn seals_and_opens_as_aws_lc_rs_does() {
        for key in [[7u8; 16].as_slice(), [9u8; 32].as_slice()] {
            let ours = AeadKey::new(key).unwrap();
            let theirs = reference(key);
            let nonce = [3u8; NONCE_LEN];
            for len in [0usize, 1, 15, 16, 17, 1200] {
                let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let aad = b"rtp header";
                let mut a = plain.clone();
                let tag = ours.seal_in_place(&nonce, aad, &mut a).unwrap();
                let mut b = plain.clone();
                let expected = theirs
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(aad),
                        &mut b,
                    )
                    .unwrap();
                assert_eq!(a, b);
                assert_eq!(tag.as_slice(), expected.as_ref());
                ours.open_in_place(&nonce, aad, &mut a, &tag).unwrap();
                assert_eq!(a, plain);
            }
        }
    }

    #[test]
    fn sealing_with_an_appended_tail_matches_sealing_the_whole_in_place() {
        for key in [[7u8; 16].as_slice(), [9u8; 32].as_slice()] {
            let key = AeadKey::new(key).unwrap();
            let nonce = [5u8; NONCE_LEN];
            let aad = b"twelve bytes";
            let message: Vec<u8> = (0..1100).map(|i| (i * 7) as u8).collect();
            // Split points: empty head, a VP8 descriptor's worth, a block boundary, empty tail.
            for head in [0usize, 7, 16, 33, 1100] {
                let mut whole = message.clone();
                let tag = key.seal_in_place(&nonce, aad, &mut whole).unwrap();
                whole.extend_from_slice(&tag);

                let mut buf = aad.to_vec();
                buf.extend_from_slice(&message[..head]);
                key.seal_append(&nonce, &mut buf, aad.len(), &message[head..])
                    .unwrap();
                assert_eq!(&buf[..aad.len()], aad, "head {head}");
                assert_eq!(&buf[aad.len()..], &whole[..], "head {head}");
            }
            let mut short = vec![0u8; 4];
            assert_eq!(
                key.seal_append(&nonce, &mut short, 5, &[1, 2, 3]),
                Err(SrtpError::BadHeader)
            );
        }
    }

    #[test]
    fn refuses_a_wrong_tag_key_length_or_aad() {
        assert!(matches!(
            AeadKey::new(&[0u8; 24]),
            Err(SrtpError::BadKeyLength)
        ));
        let key = AeadKey::new(&[1u8; 16]).unwrap();
        let nonce = [0u8; NONCE_LEN];
        let mut data = *b"some payload";
        let mut tag = key.seal_in_place(&nonce, b"aad", &mut data).unwrap();
        let sealed = data;
        assert!(key.open_in_place(&nonce, b"aaD", &mut data, &tag).is_err());
        data = sealed;
        assert!(key
            .open_in_place(&nonce, b"aad", &mut data, &tag[..15])
            .is_err());
        tag[0] ^= 1;
        data = sealed;
        assert!(key.open_in_place(&nonce, b"aad", &mut data, &tag).is_err());
        key.prefetch();
    }
}
