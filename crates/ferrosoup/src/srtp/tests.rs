//! Known-answer vectors (RFC 3711 Appendix B, RFC 7714 §16-17, libsrtp's
//! validation packets) and behavioural tests.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const ALL: [SrtpProfile; 3] = [
    SrtpProfile::Aes128CmHmacSha1_80,
    SrtpProfile::AeadAes128Gcm,
    SrtpProfile::AeadAes256Gcm,
];

fn key_salt(profile: SrtpProfile, seed: u8) -> (Vec<u8>, Vec<u8>) {
    let key = (0..profile.key_len() as u8)
        .map(|i| i.wrapping_mul(7) ^ seed)
        .collect();
    let salt = (0..profile.salt_len() as u8)
        .map(|i| i.wrapping_mul(13) ^ seed.rotate_left(3))
        .collect();
    (key, salt)
}

fn pair(profile: SrtpProfile) -> (SrtpContext, SrtpContext) {
    let (k, s) = key_salt(profile, 0x5a);
    (
        SrtpContext::new(profile, &k, &s).unwrap(),
        SrtpContext::new(profile, &k, &s).unwrap(),
    )
}

/// An RTP packet with 2 CSRCs, a one-byte header extension and padding.
fn rtp_packet(seq: u16, ssrc: u32, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0x80 | 0x20 | 0x10 | 2, 0x60];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&0x1122_3344u32.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&0xaaaa_aaaau32.to_be_bytes());
    p.extend_from_slice(&0xbbbb_bbbbu32.to_be_bytes());
    p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01, 0x10, 0x42, 0x00, 0x00]);
    p.extend((0..payload_len).map(|i| i as u8));
    p.extend_from_slice(&[0, 0, 3]); // 3 bytes of RTP padding
    p
}

fn rtcp_packet(ssrc: u32) -> Vec<u8> {
    // Receiver report with one report block, then an SDES-ish tail.
    let mut p = vec![0x81, 201, 0x00, 0x07];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..24).map(|i| i as u8 ^ 0x5c));
    p
}

fn protect(ctx: &mut SrtpContext, plain: &[u8]) -> Vec<u8> {
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + SRTP_MAX_OVERHEAD, 0);
    let n = ctx.protect_rtp(&mut buf, plain.len()).unwrap();
    assert_eq!(n, plain.len() + ctx.profile().rtp_overhead());
    buf.truncate(n);
    buf
}

fn unprotect(ctx: &mut SrtpContext, srtp: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut buf = srtp.to_vec();
    let n = ctx.unprotect_rtp(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

fn protect_c(ctx: &mut SrtpContext, plain: &[u8]) -> Vec<u8> {
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + SRTCP_MAX_OVERHEAD, 0);
    let n = ctx.protect_rtcp(&mut buf, plain.len()).unwrap();
    assert_eq!(n, plain.len() + ctx.profile().rtcp_overhead());
    buf.truncate(n);
    buf
}

fn unprotect_c(ctx: &mut SrtpContext, srtcp: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut buf = srtcp.to_vec();
    let n = ctx.unprotect_rtcp(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

// ---------------------------------------------------------------- vectors

/// RFC 3711 Appendix B.2: AES-CM keystream.
#[test]
fn rfc3711_b2_aes_cm_keystream() {
    let key = kdf::aes_ctr_key(&hex("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap();
    let iv: [u8; 16] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000").try_into().unwrap();
    // The whole keystream up to block 0xFF01.
    let mut ks = vec![0u8; 0xff02 * 16];
    kdf::ctr_xor(&key, iv, &mut ks).unwrap();
    let block = |i: usize| &ks[i * 16..i * 16 + 16];
    assert_eq!(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
    assert_eq!(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
    assert_eq!(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
    assert_eq!(block(0xfeff), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
    assert_eq!(block(0xff00), hex("362B7C3C6773516318A077D7FC5073AE"));
    assert_eq!(block(0xff01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
}

/// RFC 3711 Appendix B.3: key derivation.
#[test]
fn rfc3711_b3_key_derivation() {
    let (k, a, s) = cm_hmac::session_keys_for_test(
        &hex("E1F97A0D3E018BE0D64FA32C06DE4139"),
        &hex("0EC675AD498AFEEBB6960B3AABE6"),
    );
    assert_eq!(k.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
    assert_eq!(s.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
    assert_eq!(a.to_vec(), hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
}

const LIBSRTP_RTP: &str = "800f1234decafbadcafebabe abababababababababababababababab";
const LIBSRTP_RTCP: &str = "81c8000bcafebabe abababababababababababababababab";

/// libsrtp's `srtp_validate` packets (AES_CM_128_HMAC_SHA1_80, master key and
/// salt of RFC 3711 B.3): exercises KDF, AES-CM, HMAC and the ROC in the tag.
#[test]
fn libsrtp_aes_cm_hmac_sha1_80_vectors() {
    let key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
    let salt = hex("0EC675AD498AFEEBB6960B3AABE6");
    let srtp = hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb");
    let srtcp = hex("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798");
    let p = SrtpProfile::Aes128CmHmacSha1_80;
    let mut tx = SrtpContext::new(p, &key, &salt).unwrap();
    let mut rx = SrtpContext::new(p, &key, &salt).unwrap();
    assert_eq!(protect(&mut tx, &hex(LIBSRTP_RTP)), srtp);
    assert_eq!(unprotect(&mut rx, &srtp).unwrap(), hex(LIBSRTP_RTP));
    assert_eq!(protect_c(&mut tx, &hex(LIBSRTP_RTCP)), srtcp);
    assert_eq!(unprotect_c(&mut rx, &srtcp).unwrap(), hex(LIBSRTP_RTCP));
}

/// libsrtp's `srtp_validate_gcm` packets (AEAD_AES_128_GCM from a master key
/// and a 96-bit master salt): pins the KDF's handling of the short salt.
#[test]
fn libsrtp_aead_aes_128_gcm_vectors() {
    let key = hex("000102030405060708090a0b0c0d0e0f");
    let salt = hex("a0a1a2a3a4a5a6a7a8a9aaab");
    let srtp = hex(
        "800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392",
    );
    let srtcp = hex(
        "81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001",
    );
    let p = SrtpProfile::AeadAes128Gcm;
    let mut tx = SrtpContext::new(p, &key, &salt).unwrap();
    let mut rx = SrtpContext::new(p, &key, &salt).unwrap();
    assert_eq!(protect(&mut tx, &hex(LIBSRTP_RTP)), srtp);
    assert_eq!(unprotect(&mut rx, &srtp).unwrap(), hex(LIBSRTP_RTP));
    assert_eq!(protect_c(&mut tx, &hex(LIBSRTP_RTCP)), srtcp);
    assert_eq!(unprotect_c(&mut rx, &srtcp).unwrap(), hex(LIBSRTP_RTCP));
}

// RFC 7714 §16-17 state their vectors with session key/salt (no KDF).
const RFC7714_KEY_128: &str = "000102030405060708090a0b0c0d0e0f";
const RFC7714_KEY_256: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const RFC7714_SALT: &str = "517569642070726f2071756f";
/// "Gallia est omnis divisa in partes tres", SSRC 0x5501a0b2, SEQ 0xf17b.
const RFC7714_RTP: &str = "8040f17b8041f8d35501a0b2
    47616c6c696120657374206f6d6e697320646976
    69736120696e207061727465732074726573";
/// The RTCP packet the §17.1-17.4 computations actually use (SSRC "Mars").
const RFC7714_RTCP: &str = "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61
    deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

fn rfc7714_ctx(profile: SrtpProfile, key: &str) -> SrtpContext {
    let gcm = gcm::Gcm::from_session_keys(&hex(key), &hex(RFC7714_SALT)).unwrap();
    SrtpContext::with_cipher(profile, Cipher::Gcm(gcm))
}

fn check_rfc7714_srtp(profile: SrtpProfile, key: &str, expected: &str) {
    let plain = hex(RFC7714_RTP);
    let expected = hex(expected);
    assert_eq!(protect(&mut rfc7714_ctx(profile, key), &plain), expected);
    assert_eq!(
        unprotect(&mut rfc7714_ctx(profile, key), &expected).unwrap(),
        plain
    );
}

/// RFC 7714 §16.1.1.
#[test]
fn rfc7714_srtp_aead_aes_128_gcm() {
    check_rfc7714_srtp(
        SrtpProfile::AeadAes128Gcm,
        RFC7714_KEY_128,
        "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce",
    );
}

/// RFC 7714 §16.2.1.
#[test]
fn rfc7714_srtp_aead_aes_256_gcm() {
    check_rfc7714_srtp(
        SrtpProfile::AeadAes256Gcm,
        RFC7714_KEY_256,
        "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13",
    );
}

fn check_rfc7714_srtcp(profile: SrtpProfile, key: &str, expected: &str) {
    let plain = hex(RFC7714_RTCP);
    let expected = hex(expected);
    let mut tx = rfc7714_ctx(profile, key);
    // The vectors use SRTCP index 0x5d4: make it the next one.
    tx.rtcp_tx.insert(0x4d61_7273, 0x5d3).unwrap();
    assert_eq!(protect_c(&mut tx, &plain), expected);
    assert_eq!(
        unprotect_c(&mut rfc7714_ctx(profile, key), &expected).unwrap(),
        plain
    );
}

/// RFC 7714 §17.1.
#[test]
fn rfc7714_srtcp_aead_aes_128_gcm() {
    check_rfc7714_srtcp(
        SrtpProfile::AeadAes128Gcm,
        RFC7714_KEY_128,
        "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4",
    );
}

/// RFC 7714 §17.2.
#[test]
fn rfc7714_srtcp_aead_aes_256_gcm() {
    check_rfc7714_srtcp(
        SrtpProfile::AeadAes256Gcm,
        RFC7714_KEY_256,
        "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4",
    );
}

/// RFC 7714 §17.3: authenticated-only SRTCP (E=0), whole packet is AAD.
#[test]
fn rfc7714_srtcp_unencrypted() {
    let plain = hex(RFC7714_RTCP);
    let tagged = hex(
        "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61
         deadbeefdeadbeefdeadbeefdeadbeefdeadbeef841dd9683dd78ec92ae58790125f62b3000005d4",
    );
    let mut rx = rfc7714_ctx(SrtpProfile::AeadAes128Gcm, RFC7714_KEY_128);
    assert_eq!(unprotect_c(&mut rx, &tagged).unwrap(), plain);
    // Flipping E without re-tagging must fail.
    let mut flipped = tagged.clone();
    let n = flipped.len();
    flipped[n - 4] |= 0x80;
    let mut rx = rfc7714_ctx(SrtpProfile::AeadAes128Gcm, RFC7714_KEY_128);
    assert_eq!(unprotect_c(&mut rx, &flipped), Err(SrtpError::AuthFailed));
}

// ------------------------------------------------------------ behaviour

#[test]
fn round_trip_all_profiles() {
    for p in ALL {
        let (mut tx, mut rx) = pair(p);
        for (i, seq) in (1000u16..1010).enumerate() {
            let plain = rtp_packet(seq, 0x1234_5678, i * 37);
            let srtp = protect(&mut tx, &plain);
            // Payload is encrypted, header is not.
            assert_eq!(srtp[..28], plain[..28], "{p:?}");
            if plain.len() > 28 {
                assert_ne!(srtp[28..plain.len()], plain[28..], "{p:?}");
            }
            assert_eq!(unprotect(&mut rx, &srtp).unwrap(), plain, "{p:?}");
        }
        for _ in 0..5 {
            let plain = rtcp_packet(0x1234_5678);
            let srtcp = protect_c(&mut tx, &plain);
            assert_eq!(unprotect_c(&mut rx, &srtcp).unwrap(), plain, "{p:?}");
        }
        // Empty payload, header only.
        let plain = hex("80600001000000000000abcd");
        let srtp = protect(&mut tx, &plain);
        assert_eq!(unprotect(&mut rx, &srtp).unwrap(), plain);
        // Header-only RTCP.
        let plain = hex("80c80001 00000009");
        let srtcp = protect_c(&mut tx, &plain);
        assert_eq!(unprotect_c(&mut rx, &srtcp).unwrap(), plain);
    }
}

#[test]
fn independent_ssrcs() {
    for p in ALL {
        let (mut tx, mut rx) = pair(p);
        let a = protect(&mut tx, &rtp_packet(5, 1, 10));
        let b = protect(&mut tx, &rtp_packet(5, 2, 10));
        assert_eq!(unprotect(&mut rx, &b).unwrap(), rtp_packet(5, 2, 10));
        assert_eq!(unprotect(&mut rx, &a).unwrap(), rtp_packet(5, 1, 10));
        rx.remove_ssrc(1);
        // Forgotten state: the packet is accepted again as a fresh stream.
        assert!(unprotect(&mut rx, &a).is_ok());
        assert_eq!(unprotect(&mut rx, &b), Err(SrtpError::Replayed));
    }
}

#[test]
fn roc_rollover_and_reordering() {
    for p in ALL {
        let (mut tx, mut rx) = pair(p);
        let seqs = [65533u16, 65534, 65535, 0, 1, 2, 3];
        let pkts: Vec<_> = seqs
            .iter()
            .map(|&s| {
                (
                    rtp_packet(s, 77, 50),
                    protect(&mut tx, &rtp_packet(s, 77, 50)),
                )
            })
            .collect();
        assert_eq!(tx.outbound_roc(77), Some(1));
        // Receive out of order across the wrap.
        for &i in &[0usize, 3, 1, 5, 2, 4, 6] {
            assert_eq!(
                unprotect(&mut rx, &pkts[i].1).unwrap(),
                pkts[i].0,
                "{p:?} {i}"
            );
        }
        assert_eq!(rx.inbound_roc(77), Some(1));
        // A late resend of 65535 reuses ROC 0 (same bytes) and is a replay.
        assert_eq!(protect(&mut tx, &rtp_packet(65535, 77, 50)), pkts[2].1);
        assert_eq!(tx.outbound_roc(77), Some(1));
        assert_eq!(unprotect(&mut rx, &pkts[2].1), Err(SrtpError::Replayed));
    }
}

#[test]
fn many_wraps() {
    let (mut tx, mut rx) = pair(SrtpProfile::AeadAes128Gcm);
    let mut seq = 0u16;
    // 200 packets 1000 apart: last index 199000 = ROC 3.
    for _ in 0..200 {
        let plain = rtp_packet(seq, 9, 4);
        let srtp = protect(&mut tx, &plain);
        assert_eq!(unprotect(&mut rx, &srtp).unwrap(), plain);
        seq = seq.wrapping_add(1000);
    }
    assert_eq!(tx.outbound_roc(9), Some(3));
    assert_eq!(rx.inbound_roc(9), Some(3));
}

#[test]
fn replay_rejection() {
    for p in ALL {
        let (mut tx, mut rx) = pair(p);
        let first = protect(&mut tx, &rtp_packet(100, 1, 20));
        assert!(unprotect(&mut rx, &first).is_ok());
        assert_eq!(unprotect(&mut rx, &first), Err(SrtpError::Replayed));
        let mut last = Vec::new();
        for seq in 101..=300u16 {
            last = protect(&mut tx, &rtp_packet(seq, 1, 20));
        }
        assert!(unprotect(&mut rx, &last).is_ok());
        // 100 is now 200 behind the highest: outside the 128 window.
        assert_eq!(unprotect(&mut rx, &first), Err(SrtpError::TooOld));

        let c1 = protect_c(&mut tx, &rtcp_packet(1));
        let c2 = protect_c(&mut tx, &rtcp_packet(1));
        assert!(unprotect_c(&mut rx, &c2).is_ok());
        assert!(unprotect_c(&mut rx, &c1).is_ok());
        assert_eq!(unprotect_c(&mut rx, &c1), Err(SrtpError::Replayed));
        assert_eq!(unprotect_c(&mut rx, &c2), Err(SrtpError::Replayed));
    }
}

/// A forged packet must not move the replay window or ROC.
#[test]
fn failed_auth_does_not_advance_state() {
    for p in ALL {
        let (mut tx, mut rx) = pair(p);
        let good = protect(&mut tx, &rtp_packet(10, 1, 20));
        assert!(unprotect(&mut rx, &good).is_ok());
        // A jump 30000 ahead is a plausible index; only the tag is wrong.
        let mut forged = protect(&mut tx, &rtp_packet(30000, 1, 20));
        let n = forged.len();
        forged[n - 1] ^= 1;
        assert_eq!(unprotect(&mut rx, &forged), Err(SrtpError::AuthFailed));
        assert_eq!(rx.inbound_roc(1), Some(0));
        let next = protect(&mut tx, &rtp_packet(11, 1, 20));
        assert!(unprotect(&mut rx, &next).is_ok());
    }
}

#[test]
fn tampering_is_detected() {
    for p in ALL {
        let (mut tx, _) = pair(p);
        let srtp = protect(&mut tx, &rtp_packet(7, 3, 40));
        for i in 0..srtp.len() {
            let mut bad = srtp.clone();
            bad[i] ^= 0x04;
            let (_, mut rx) = pair(p);
            let r = unprotect(&mut rx, &bad);
            assert!(r.is_err(), "{p:?}: flipping byte {i} went unnoticed");
        }
        let srtcp = protect_c(&mut tx, &rtcp_packet(3));
        for i in 0..srtcp.len() {
            let mut bad = srtcp.clone();
            bad[i] ^= 0x04;
            let (_, mut rx) = pair(p);
            assert!(unprotect_c(&mut rx, &bad).is_err(), "{p:?}: rtcp byte {i}");
        }
        // Wrong key.
        let (k, s) = key_salt(p, 0x11);
        let mut other = SrtpContext::new(p, &k, &s).unwrap();
        assert_eq!(unprotect(&mut other, &srtp), Err(SrtpError::AuthFailed));
        assert_eq!(unprotect_c(&mut other, &srtcp), Err(SrtpError::AuthFailed));
    }
}

#[test]
fn truncated_packets_are_errors() {
    for p in ALL {
        let (mut tx, _) = pair(p);
        let srtp = protect(&mut tx, &rtp_packet(7, 3, 40));
        let srtcp = protect_c(&mut tx, &rtcp_packet(3));
        for n in 0..srtp.len() {
            let (_, mut rx) = pair(p);
            assert!(unprotect(&mut rx, &srtp[..n]).is_err(), "{p:?} rtp {n}");
        }
        for n in 0..srtcp.len() {
            let (_, mut rx) = pair(p);
            assert!(unprotect_c(&mut rx, &srtcp[..n]).is_err(), "{p:?} rtcp {n}");
        }
        let (_, mut rx) = pair(p);
        assert_eq!(unprotect(&mut rx, &[]), Err(SrtpError::TooShort));
        assert_eq!(unprotect_c(&mut rx, &[0x80; 3]), Err(SrtpError::TooShort));
    }
}

#[test]
fn malformed_input_never_panics() {
    // Deterministic xorshift garbage, with valid-looking first bytes half the time.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for p in ALL {
        let (mut tx, mut rx) = pair(p);
        for _ in 0..3000 {
            let len = (next() % 120) as usize;
            let mut pkt: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if next() & 1 == 0 {
                if let Some(b) = pkt.first_mut() {
                    *b = 0x80 | (*b & 0x3f);
                }
            }
            let _ = rx.unprotect_rtp(&mut pkt.clone());
            let _ = rx.unprotect_rtcp(&mut pkt.clone());
            let mut room = pkt.clone();
            room.resize(len + SRTCP_MAX_OVERHEAD, 0);
            let _ = tx.protect_rtp(&mut room.clone(), len);
            let _ = tx.protect_rtcp(&mut room, len);
            // `len` beyond the buffer.
            let _ = tx.protect_rtp(&mut pkt.clone(), len + 5);
        }
    }
}

#[test]
fn buffer_without_room_is_an_error() {
    for p in ALL {
        let (mut tx, _) = pair(p);
        let plain = rtp_packet(1, 1, 10);
        let mut buf = plain.clone();
        buf.resize(plain.len() + p.rtp_overhead() - 1, 0);
        assert_eq!(
            tx.protect_rtp(&mut buf, plain.len()),
            Err(SrtpError::BufferTooSmall)
        );
        // Nothing was modified.
        assert_eq!(buf[..plain.len()], plain[..]);
        let mut buf = rtcp_packet(1);
        let n = buf.len();
        buf.resize(n + p.rtcp_overhead() - 1, 0);
        assert_eq!(tx.protect_rtcp(&mut buf, n), Err(SrtpError::BufferTooSmall));
        assert_eq!(
            tx.protect_rtp(&mut [0u8; 4], 10),
            Err(SrtpError::BufferTooSmall)
        );
    }
}

#[test]
fn srtcp_index_exhaustion() {
    let (mut tx, _) = pair(SrtpProfile::AeadAes128Gcm);
    tx.rtcp_tx.insert(1, MAX_SRTCP_INDEX - 1).unwrap();
    let mut buf = rtcp_packet(1);
    let n = buf.len();
    buf.resize(n + SRTCP_MAX_OVERHEAD, 0);
    assert!(tx.protect_rtcp(&mut buf.clone(), n).is_ok());
    assert_eq!(tx.protect_rtcp(&mut buf, n), Err(SrtpError::IndexExhausted));
}

#[test]
fn bad_key_lengths() {
    for p in ALL {
        let (k, s) = key_salt(p, 1);
        assert!(SrtpContext::new(p, &k[1..], &s).is_err());
        assert!(SrtpContext::new(p, &k, &s[1..]).is_err());
        assert!(SrtpSession::from_dtls(p.into(), &[0u8; 7], DtlsRole::Client).is_err());
    }
}

#[test]
fn dtls_keying_material_split() {
    for p in ALL {
        let km: Vec<u8> = (0..p.keying_material_len() as u8).collect();
        assert_eq!(
            p.keying_material_len(),
            dimpl::SrtpProfile::from(p).keying_material_len()
        );
        let mut client = SrtpSession::from_dtls(p.into(), &km, DtlsRole::Client).unwrap();
        let mut server = SrtpSession::from_dtls(p.into(), &km, DtlsRole::Server).unwrap();
        assert_eq!(client.profile(), p);

        // Client -> server.
        let plain = rtp_packet(1, 1, 30);
        let mut buf = plain.clone();
        buf.resize(plain.len() + SRTP_MAX_OVERHEAD, 0);
        let n = client.protect_rtp(&mut buf, plain.len()).unwrap();
        assert_eq!(server.unprotect_rtp(&mut buf[..n]).unwrap(), plain.len());
        assert_eq!(buf[..plain.len()], plain[..]);

        // Server -> client, RTCP.
        let plain = rtcp_packet(2);
        let mut buf = plain.clone();
        buf.resize(plain.len() + SRTCP_MAX_OVERHEAD, 0);
        let n = server.protect_rtcp(&mut buf, plain.len()).unwrap();
        assert_eq!(client.unprotect_rtcp(&mut buf[..n]).unwrap(), plain.len());
        assert_eq!(buf[..plain.len()], plain[..]);

        // Each side's outbound key is its own write key: a client cannot
        // decrypt its own packets.
        let mut buf = rtp_packet(2, 1, 30);
        let len = buf.len();
        buf.resize(len + SRTP_MAX_OVERHEAD, 0);
        let n = client.protect_rtp(&mut buf, len).unwrap();
        assert_eq!(
            client.unprotect_rtp(&mut buf[..n]),
            Err(SrtpError::AuthFailed)
        );

        // The client half really is the first key/salt.
        let key = &km[..p.key_len()];
        let salt = &km[2 * p.key_len()..2 * p.key_len() + p.salt_len()];
        let mut manual = SrtpContext::new(p, key, salt).unwrap();
        let mut buf = rtp_packet(3, 1, 30);
        let len = buf.len();
        buf.resize(len + SRTP_MAX_OVERHEAD, 0);
        let n = client.protect_rtp(&mut buf, len).unwrap();
        assert!(manual.unprotect_rtp(&mut buf[..n]).is_ok());
    }
}

#[test]
fn ssrc_limit() {
    let (mut tx, _) = pair(SrtpProfile::AeadAes128Gcm);
    for ssrc in 0..streams::MAX_SSRCS as u32 {
        protect(&mut tx, &rtp_packet(1, ssrc, 1));
    }
    let plain = rtp_packet(1, u32::MAX, 1);
    let mut buf = plain.clone();
    buf.resize(plain.len() + SRTP_MAX_OVERHEAD, 0);
    assert_eq!(
        tx.protect_rtp(&mut buf, plain.len()),
        Err(SrtpError::TooManySsrcs)
    );
    tx.remove_ssrc(0);
    assert!(tx.protect_rtp(&mut buf, plain.len()).is_ok());
}
