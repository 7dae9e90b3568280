//! A hint to the CPU to start loading memory that a loop will read a few iterations later.
//!
//! Loops that follow indices to rows scattered over tens of megabytes (a spike's synapses, the
//! synapses a spike reached) wait on memory, not arithmetic; asking for the row of the item a
//! few items ahead lets several loads be in flight at once. A hint changes no result.

/// Requests `slice[i]` into the cache (nothing if `i` is out of range, or off x86_64).
#[inline(always)]
pub fn prefetch<T>(slice: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(x) = slice.get(i) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of every x86_64 CPU, and a prefetch reads nothing the program
        // sees: it cannot fault, even for an address that is not mapped.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slice, i);
}
