//! Asking the CPU for memory before it is read.
//!
//! A fan-out touches, for every consumer, its state, its transport's, the transport's SRTP context and a slot in two
//! rings: a few dozen cache lines spread over the heap, which the kernel's sends since the previous packet have
//! mostly evicted. Read as each copy needs them, the misses come one after the other and each stalls its copy
//! (`perf annotate` put most of `protect_rtp`'s own time on its first read of the context). Asked for all at once
//! before the copies start, they overlap (see `Engine::warm_fanout`).
//!
//! A prefetch is only a hint: it never faults and changes nothing the program can observe but time. On targets
//! without one it compiles to nothing.

/// Asks for the cache line holding the start of `value`.
#[inline(always)]
pub(crate) fn line<T: ?Sized>(value: &T) {
    touch((value as *const T).cast::<u8>());
}

/// Asks for every cache line `value` spans.
#[inline(always)]
pub(crate) fn lines<T: ?Sized>(value: &T) {
    first_bytes(value, usize::MAX);
}

/// Asks for the cache lines of the first `bytes` bytes of `value` (at most all of it): the hot part of a struct
/// whose fields are laid out hot first.
#[inline(always)]
pub(crate) fn first_bytes<T: ?Sized>(value: &T, bytes: usize) {
    const LINE: usize = 64;
    let start = (value as *const T).cast::<u8>();
    let size = std::mem::size_of_val(value).min(bytes);
    let mut offset = 0;
    while offset < size {
        touch(start.wrapping_add(offset));
        offset += LINE;
    }
}

#[inline(always)]
fn touch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it never faults, whatever the address, and reads nothing into the program.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch(address.cast::<i8>(), _MM_HINT_T0);
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: PRFM is a hint: it never faults, whatever the address, and changes no register or memory.
    unsafe {
        std::arch::asm!("prfm pldl1keep, [{0}]", in(reg) address, options(nostack, preserves_flags, readonly));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = address;
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefetching_changes_nothing() {
        let values = vec![7u64; 1000];
        super::lines(values.as_slice());
        super::line(&values[999]);
        super::lines(&[0u8; 0]);
        super::first_bytes(values.as_slice(), 100);
        super::first_bytes(values.as_slice(), usize::MAX);
        assert!(values.iter().all(|&v| v == 7));
    }
}
