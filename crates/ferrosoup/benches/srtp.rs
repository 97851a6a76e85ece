//! SRTP hot-path benchmark: protect/unprotect of a 1200-byte RTP packet per
//! profile, for ferrosoup's in-place implementation and for webrtc-rs's
//! `rtc-srtp` (which returns a freshly allocated `BytesMut` per packet).
//!
//! Throughput is reported in packets (elements) per second on one core.
//! Run: `cargo bench -p ferrosoup --bench srtp -- --quick`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrosoup::srtp::{SrtpContext, SrtpProfile, SRTP_MAX_OVERHEAD};
use rtc_crypto::providers::AwsLcRsCrypto;
use rtc_srtp::context::Context as TheirContext;
use rtc_srtp::protection_profile::ProtectionProfile;

const PACKET_LEN: usize = 1200;
const SSRC: u32 = 0x1234_5678;

const PROFILES: [(SrtpProfile, ProtectionProfile, &str); 3] = [
    (
        SrtpProfile::Aes128CmHmacSha1_80,
        ProtectionProfile::Aes128CmHmacSha1_80,
        "AES_CM_128_HMAC_SHA1_80",
    ),
    (
        SrtpProfile::AeadAes128Gcm,
        ProtectionProfile::AeadAes128Gcm,
        "AEAD_AES_128_GCM",
    ),
    (
        SrtpProfile::AeadAes256Gcm,
        ProtectionProfile::AeadAes256Gcm,
        "AEAD_AES_256_GCM",
    ),
];

/// A 1200-byte RTP packet (12-byte header + one-byte-form header extension
/// carrying e.g. abs-send-time, the usual WebRTC shape).
fn rtp_packet(seq: u16) -> Vec<u8> {
    let mut p = vec![0x90, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&0x0102_0304u32.to_be_bytes());
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01, 0x32, 0x01, 0x02, 0x03]);
    p.resize(PACKET_LEN, 0x5a);
    p
}

fn keys(p: SrtpProfile) -> (Vec<u8>, Vec<u8>) {
    (
        (0..p.key_len() as u8).collect(),
        (0..p.salt_len() as u8).map(|i| i ^ 0xc3).collect(),
    )
}

fn bench_srtp(c: &mut Criterion) {
    for (ours_p, theirs_p, name) in PROFILES {
        let (key, salt) = keys(ours_p);
        let mut group = c.benchmark_group(format!("srtp/{name}"));
        group.throughput(Throughput::Elements(1));

        // --- ferrosoup ---------------------------------------------------
        group.bench_function("protect/ferrosoup", |b| {
            let mut tx = SrtpContext::new(ours_p, &key, &salt).unwrap();
            let mut buf = rtp_packet(0);
            buf.resize(PACKET_LEN + SRTP_MAX_OVERHEAD, 0);
            let mut seq = 0u16;
            b.iter(|| {
                // The header is never encrypted, so re-protecting the same
                // buffer with a new sequence number is a valid packet each time.
                seq = seq.wrapping_add(1);
                buf[2..4].copy_from_slice(&seq.to_be_bytes());
                black_box(tx.protect_rtp(black_box(&mut buf), PACKET_LEN).unwrap())
            });
        });

        group.bench_function("unprotect/ferrosoup", |b| {
            let mut tx = SrtpContext::new(ours_p, &key, &salt).unwrap();
            let mut rx = SrtpContext::new(ours_p, &key, &salt).unwrap();
            let mut srtp = rtp_packet(1);
            srtp.resize(PACKET_LEN + SRTP_MAX_OVERHEAD, 0);
            let n = tx.protect_rtp(&mut srtp, PACKET_LEN).unwrap();
            srtp.truncate(n);
            let mut buf = srtp.clone();
            b.iter(|| {
                // Copy in the packet as a socket read would, unprotect, then
                // forget the SSRC so the same packet is not a replay next
                // time (no allocation: the table keeps its capacity).
                buf.copy_from_slice(&srtp);
                let m = rx.unprotect_rtp(black_box(&mut buf)).unwrap();
                rx.remove_ssrc(SSRC);
                black_box(m)
            });
        });

        // --- rtc-srtp (reference) ----------------------------------------
        group.bench_function("protect/rtc-srtp", |b| {
            let mut tx =
                TheirContext::new(&key, &salt, theirs_p, None, None, &AwsLcRsCrypto).unwrap();
            let mut plain = rtp_packet(0);
            let mut seq = 0u16;
            b.iter(|| {
                seq = seq.wrapping_add(1);
                plain[2..4].copy_from_slice(&seq.to_be_bytes());
                black_box(tx.encrypt_rtp(black_box(&plain)).unwrap())
            });
        });

        group.bench_function("unprotect/rtc-srtp", |b| {
            let mut tx =
                TheirContext::new(&key, &salt, theirs_p, None, None, &AwsLcRsCrypto).unwrap();
            // No replay protection configured, so the same packet can be
            // decrypted repeatedly; the output is a new `BytesMut` each time.
            let mut rx =
                TheirContext::new(&key, &salt, theirs_p, None, None, &AwsLcRsCrypto).unwrap();
            let srtp = tx.encrypt_rtp(&rtp_packet(1)).unwrap();
            b.iter(|| black_box(rx.decrypt_rtp(black_box(&srtp)).unwrap()));
        });

        group.finish();
    }
}

criterion_group!(benches, bench_srtp);
criterion_main!(benches);
