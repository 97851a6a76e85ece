//! RTP header rewriting, per packet, as the packet path does it (no SRTP):
//!
//! - `ingress`: parse, payload type, SSRC and header-extension ids into the router's form, in place (once per incoming
//!   packet);
//! - `consumer`: one consumer's copy — `RtpRewriter` sequence/timestamp, a fresh extension block (negotiated
//!   extensions, the consumer's mid, its transport-wide seq) written into a reused buffer, SSRC/seq/ts set (once per
//!   consumer).
//!
//! Run: `cargo bench -p ferrosoup --bench rtp_rewrite -- --quick`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrosoup::rtp::{write_with_extensions, ExtensionIdMap, RtpPacket, RtpRewriter};

const PAYLOAD_LEN: usize = 1000;

/// A browser's packet: PT 96, one-byte extensions mid (id 9), abs-send-time (3), transport-wide seq (12).
fn packet(seq: u16) -> Vec<u8> {
    let mut p = vec![0x90, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    p.extend_from_slice(&0x1111_0001u32.to_be_bytes());
    p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x03]);
    p.extend_from_slice(&[0x90, b'0', 0x32, 0x01, 0x02, 0x03, 0xc1]);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0]);
    p.resize(p.len() + PAYLOAD_LEN, 0xab);
    p
}

/// The router's ids: mid 1, abs-send-time 4, transport-wide seq 5.
fn ingress_map() -> ExtensionIdMap {
    let mut m = ExtensionIdMap::default();
    m.set(9, 1);
    m.set(3, 4);
    m.set(12, 5);
    m
}

fn bench_rewrite(c: &mut Criterion) {
    let mut group = c.benchmark_group("rtp_rewrite");
    group.throughput(Throughput::Elements(1));

    group.bench_function("ingress", |b| {
        let map = ingress_map();
        let template = packet(1);
        let mut buf = template.clone();
        b.iter(|| {
            buf.copy_from_slice(&template);
            let Ok(mut p) = RtpPacket::parse(black_box(&mut buf[..])) else {
                return;
            };
            p.set_payload_type(101);
            p.set_ssrc(0x2222_0001);
            p.remap_extensions(&map);
            black_box(p.sequence_number());
        });
    });

    group.bench_function("consumer", |b| {
        // The packet in router form, as the consumers see it.
        let mut router_form = packet(1);
        if let Ok(mut p) = RtpPacket::parse(&mut router_form[..]) {
            p.remap_extensions(&ingress_map());
        }
        let mut rewriter = RtpRewriter::new(0x3333_0001, 90_000, 100, 5000);
        let mut out: Vec<u8> = Vec::with_capacity(1600);
        let mut seq = 1u16;
        let mut twcc = 0u16;
        let negotiated = [false, true, false, false, true, false, false, false];
        b.iter(|| {
            seq = seq.wrapping_add(1);
            router_form[2..4].copy_from_slice(&seq.to_be_bytes());
            let Ok(src) = RtpPacket::parse(&router_form[..]) else {
                return;
            };
            if !rewriter.is_synced() {
                rewriter.sync(src.sequence_number(), src.timestamp(), Duration::ZERO);
            }
            let Some(r) = rewriter.rewrite(src.sequence_number(), src.timestamp()) else {
                return;
            };
            write_with_extensions(&mut out, &src, |w| {
                for e in src.extensions() {
                    if negotiated.get(e.id as usize) == Some(&true) && e.id != 1 && e.id != 5 {
                        w.push(e.id, e.data);
                    }
                }
                w.push(1, b"0");
                w.push(5, &twcc.to_be_bytes());
            });
            twcc = twcc.wrapping_add(1);
            if let Ok(mut view) = RtpPacket::parse(&mut out[..]) {
                view.set_ssrc(0x3333_0001);
                view.set_sequence_number(r.seq);
                view.set_timestamp(r.timestamp);
            }
            black_box(out.len());
        });
    });
    group.finish();
}

criterion_group!(benches, bench_rewrite);
criterion_main!(benches);
