//! One incoming SRTP packet fanned out to N consumers through the worker's real packet path: SRTP unprotect once,
//! stream lookup, router-form rewrite, packet ring, then per consumer copy + rewrite + extension block + SRTP protect,
//! queued in the outbox and recycled as the driver would after sending. Sockets are not involved (see
//! docs/performance.md for the end-to-end figures from `ferrosoup-load`).
//!
//! Throughput is in packets *out* (elements = N per incoming packet). The publisher's own encryption of each incoming
//! packet happens in the untimed set-up.
//!
//! Run: `cargo bench -p ferrosoup --bench fanout -- --quick`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ferrosoup::bench_support::Fanout;
use ferrosoup::srtp::SrtpProfile;

const PAYLOAD_LEN: usize = 1000;

fn bench_fanout(c: &mut Criterion) {
    for (profile, name) in [
        (SrtpProfile::AeadAes128Gcm, "AEAD_AES_128_GCM"),
        (SrtpProfile::Aes128CmHmacSha1_80, "AES_CM_128_HMAC_SHA1_80"),
    ] {
        let mut group = c.benchmark_group(format!("fanout/{name}"));
        for n in [1usize, 10, 50] {
            let (mut fanout, mut publisher) = match Fanout::new(n, profile, PAYLOAD_LEN) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("fanout set-up failed for {n} consumers: {e}");
                    continue;
                }
            };
            group.throughput(Throughput::Elements(fanout.consumers() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
                b.iter_batched_ref(
                    || publisher.next_packet(false),
                    |packet| {
                        let sent = fanout.push(black_box(packet));
                        debug_assert_eq!(sent, n);
                        black_box(sent)
                    },
                    BatchSize::SmallInput,
                );
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_fanout);
criterion_main!(benches);
