//! One incoming SRTP packet fanned out to N consumers through the worker's real packet path: SRTP unprotect once,
//! stream lookup, router-form rewrite, packet ring, then per consumer copy + rewrite + extension block + SRTP protect,
//! queued in the outbox and recycled as the driver would after sending. Sockets are not involved (see
//! docs/performance.md for the end-to-end figures from `ferrosoup-load`).
//!
//! Throughput is in packets *out* (elements = N per incoming packet). The publisher's own encryption of each incoming
//! packet happens in the untimed set-up.
//!
//! Before measuring, it counts heap allocations on the path (a counting global allocator) and prints them per incoming
//! packet: the packet path is meant to allocate nothing in the steady state.
//!
//! Run: `cargo bench -p ferrosoup --bench fanout -- --quick`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, BatchSize, BenchmarkId, Criterion, Throughput};
use ferrosoup::bench_support::Fanout;
use ferrosoup::srtp::SrtpProfile;

const PAYLOAD_LEN: usize = 1000;

/// Counts allocations (and reallocations) so the packet path's can be checked.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: defers every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations per incoming packet once warm (the first 2000 packets fill pools and rings).
fn allocations_per_packet(n: usize) -> Option<f64> {
    let (mut fanout, mut publisher) =
        Fanout::new(n, SrtpProfile::AeadAes128Gcm, PAYLOAD_LEN).ok()?;
    let mut packets: Vec<Vec<u8>> = (0..12_000).map(|_| publisher.next_packet(false)).collect();
    let (warm, measured) = packets.split_at_mut(2000);
    for p in warm {
        fanout.push(p);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for p in measured.iter_mut() {
        fanout.push(p);
    }
    Some((ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / measured.len() as f64)
}

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

fn main() {
    for n in [1, 50] {
        match allocations_per_packet(n) {
            Some(a) => println!("fanout to {n}: {a:.3} heap allocations per incoming packet"),
            None => println!("fanout to {n}: set-up failed"),
        }
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
