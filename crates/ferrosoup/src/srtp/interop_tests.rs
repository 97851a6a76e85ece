//! Interop against an independent implementation: webrtc-rs's sans-I/O
//! `rtc-srtp` (dev-dependency only). Packets protected here must unprotect
//! there and vice versa, for every profile, across a sequence number wrap and
//! with CSRCs, header extensions and padding in the RTP header.

use rtc_crypto::providers::AwsLcRsCrypto;
use rtc_srtp::context::Context as TheirContext;
use rtc_srtp::protection_profile::ProtectionProfile;

use super::*;

const ALL: [SrtpProfile; 3] = [
    SrtpProfile::Aes128CmHmacSha1_80,
    SrtpProfile::AeadAes128Gcm,
    SrtpProfile::AeadAes256Gcm,
];

fn their_profile(p: SrtpProfile) -> ProtectionProfile {
    match p {
        SrtpProfile::Aes128CmHmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        SrtpProfile::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm => ProtectionProfile::AeadAes256Gcm,
    }
}

fn keys(p: SrtpProfile) -> (Vec<u8>, Vec<u8>) {
    (
        (0..p.key_len() as u8).map(|i| i ^ 0xa5).collect(),
        (0..p.salt_len() as u8).map(|i| i.wrapping_mul(3)).collect(),
    )
}

fn theirs(p: SrtpProfile) -> TheirContext {
    let (k, s) = keys(p);
    TheirContext::new(&k, &s, their_profile(p), None, None, &AwsLcRsCrypto).unwrap()
}

fn ours(p: SrtpProfile) -> SrtpContext {
    let (k, s) = keys(p);
    SrtpContext::new(p, &k, &s).unwrap()
}

/// RTP with `csrcs` CSRCs, an optional one-byte-form header extension and
/// optional padding.
fn rtp(seq: u16, ssrc: u32, csrcs: u8, ext: bool, pad: bool, payload: usize) -> Vec<u8> {
    let mut b0 = 0x80 | csrcs;
    if ext {
        b0 |= 0x10;
    }
    if pad {
        b0 |= 0x20;
    }
    let mut p = vec![b0, 111];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    for c in 0..u32::from(csrcs) {
        p.extend_from_slice(&(0x1000 + c).to_be_bytes());
    }
    if ext {
        // RFC 8285 one-byte: id 1 len 1 (2 bytes), id 3 len 3 (4 bytes), pad.
        p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x02]);
        p.extend_from_slice(&[0x11, 0xaa, 0xbb, 0x33, 0x01, 0x02, 0x03, 0x04]);
    }
    p.extend((0..payload).map(|i| (i * 7) as u8));
    if pad {
        p.extend_from_slice(&[0, 0, 0, 4]);
    }
    p
}

fn rtcp(ssrc: u32, n: u8) -> Vec<u8> {
    // Sender report, no report blocks: 28 bytes, length field 6.
    let mut p = vec![0x80, 200, 0x00, 0x06];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..20).map(|i| i ^ n));
    p
}

fn packets(ssrc: u32) -> Vec<Vec<u8>> {
    (0..40u16)
        .map(|i| {
            let seq = 65520u16.wrapping_add(i);
            rtp(
                seq,
                ssrc,
                (i % 3) as u8,
                i % 2 == 0,
                i % 5 == 0,
                usize::from(i) * 31 % 1200,
            )
        })
        .collect()
}

#[test]
fn rtp_ours_to_theirs() {
    for p in ALL {
        let mut tx = ours(p);
        let mut rx = theirs(p);
        for plain in packets(0xdead_beef) {
            let mut buf = plain.clone();
            buf.resize(plain.len() + SRTP_MAX_OVERHEAD, 0);
            let n = tx.protect_rtp(&mut buf, plain.len()).unwrap();
            let out = rx.decrypt_rtp(&buf[..n]).unwrap();
            assert_eq!(&out[..], &plain[..], "{p:?}");
        }
    }
}

#[test]
fn rtp_theirs_to_ours() {
    for p in ALL {
        let mut tx = theirs(p);
        let mut rx = ours(p);
        for plain in packets(0x0102_0304) {
            let mut buf = tx.encrypt_rtp(&plain).unwrap().to_vec();
            let n = rx.unprotect_rtp(&mut buf).unwrap();
            assert_eq!(&buf[..n], &plain[..], "{p:?}");
        }
        assert_eq!(rx.inbound_roc(0x0102_0304), Some(1));
    }
}

#[test]
fn rtcp_ours_to_theirs() {
    for p in ALL {
        let mut tx = ours(p);
        let mut rx = theirs(p);
        for i in 0..10 {
            let plain = rtcp(0x4242, i);
            let mut buf = plain.clone();
            buf.resize(plain.len() + SRTCP_MAX_OVERHEAD, 0);
            let n = tx.protect_rtcp(&mut buf, plain.len()).unwrap();
            let out = rx.decrypt_rtcp(&buf[..n]).unwrap();
            assert_eq!(&out[..], &plain[..], "{p:?}");
        }
    }
}

#[test]
fn rtcp_theirs_to_ours() {
    for p in ALL {
        let mut tx = theirs(p);
        let mut rx = ours(p);
        for i in 0..10 {
            let plain = rtcp(0x4243, i);
            let mut buf = tx.encrypt_rtcp(&plain).unwrap().to_vec();
            let n = rx.unprotect_rtcp(&mut buf).unwrap();
            assert_eq!(&buf[..n], &plain[..], "{p:?}");
        }
    }
}
