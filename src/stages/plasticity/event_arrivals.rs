//! The synapses of one table that spikes reach on a step, gathered for the event-driven rule so
//! that both the gathering and the updates can run on several threads.
//!
//! Gathering: each task takes a share of the neurons, looks up the synapses their spikes reach
//! (`TableIndex::for_each_reached`) and files each arrival in one bucket per chunk of rows.
//! Updating: each task takes a chunk of rows, so no two tasks write one row; in it, the
//! arrivals are sorted by row (a radix sort, [`sort_arrivals`]), so that a row reached by both
//! a presynaptic and a postsynaptic spike is updated once, with both, the rows are visited in
//! the order they lie in memory, and each row's columns are requested a few rows ahead
//! ([`crate::core::prefetch`]).
//!
//! Sorting replaced one bit per row for each kind of spike, set as arrivals were filed and
//! read back as rows were updated: at 6.4·10^6 rows those two bitsets (1.6 MB) are read at
//! random on every arrival, and on W4 their loads took about a third of the update's time.
//!
//! Rows are independent and neuron input sums are fixed-point, so the results do not depend on
//! how the work is split: the number of tasks only sets the speed.

use crate::core::synapse::{POST, SERIAL_BELOW_ROWS};
use crate::engine::spikes::SpikeHistory;
use crate::stages::delivery::TableIndex;
use bevy_tasks::ComputeTaskPool;

/// Rows whose columns are requested ahead of the one being updated.
const AHEAD: usize = 8;

/// Arrivals on the previous step above which a step is split between threads. Waking the
/// pool's threads costs tens of µs per parallel pass on the test machine (W1 at 10^5
/// synapses, about 1000 arrivals a step, ran at 930 M synapse-steps/s on one thread and 590 M
/// split in two), so only steps with a few thousand updates gain from it.
pub const PARALLEL_ABOVE_ARRIVALS: usize = 4096;

/// An arrival: `row << 1`, plus 1 for a postsynaptic spike.
type Arrival = u32;

/// Buckets and marks of the arrivals of one step (reused from step to step and table to
/// table; empty between steps).
#[derive(Default)]
pub struct Arrivals {
    /// A chunk is `1 << shift` rows (at least 64).
    shift: u32,
    chunks: usize,
    /// `buckets[g * chunks + c]`: what gathering task g found in chunk c.
    buckets: Vec<Vec<Arrival>>,
    /// Each chunk's arrivals (counted from its first row), sorted, and the space the sort
    /// moves them through.
    keys: Vec<Vec<Arrival>>,
    spare: Vec<Vec<Arrival>>,
    /// Arrivals gathered on the previous step (all tables): whether this one is split.
    last_count: usize,
    count: usize,
}

/// The rows of one chunk reached on this step, each with what reached it.
pub struct ChunkArrivals<'a> {
    /// First row of the chunk.
    pub base: usize,
    /// Every task's buckets, `chunks` each; this chunk's are at `chunk`, `chunk + chunks`, ….
    buckets: &'a [Vec<Arrival>],
    chunk: usize,
    chunks: usize,
    /// Bits of an arrival counted from the chunk's first row.
    bits: u32,
    keys: &'a mut Vec<Arrival>,
    spare: &'a mut Vec<Arrival>,
}

impl Arrivals {
    /// Gathers the arrivals of this step on a table of `len` rows, then calls `update` once per
    /// chunk of rows (in parallel when the table is large, the previous step was busy and there
    /// are threads), and leaves the marks clear again. `update(chunk, columns)` gets the columns
    /// of the chunk's rows, `chunk.base ..` up to the next chunk, cut from `columns` by `split`.
    pub fn run<C: Send>(
        &mut self,
        index: &TableIndex,
        spikes: &SpikeHistory,
        len: usize,
        columns: C,
        split: impl Fn(C, usize) -> (C, C) + Sync,
        update: impl Fn(&mut ChunkArrivals, C) + Sync,
    ) {
        let busy = self.last_count >= PARALLEL_ABOVE_ARRIVALS;
        let pool = ComputeTaskPool::try_get().filter(|_| busy && len >= SERIAL_BELOW_ROWS);
        let tasks = pool.map_or(1, |p| p.thread_num().max(1));
        self.shape(len, tasks);
        let (shift, chunks) = (self.shift, self.chunks);
        let words = spikes.words();
        let per_task = words.div_ceil(tasks);
        let gather = |g: usize, buckets: &mut [Vec<Arrival>]| {
            buckets.iter_mut().for_each(Vec::clear);
            let share = (g * per_task).min(words)..((g + 1) * per_task).min(words);
            index.for_each_reached(spikes, 0, share, |r, bit| {
                buckets[(r >> shift) as usize].push(r << 1 | (bit == POST) as u32);
            });
        };
        match pool {
            Some(p) if tasks > 1 => {
                p.scope(|s| {
                    let buckets = &mut self.buckets[..tasks * chunks];
                    for (g, b) in buckets.chunks_mut(chunks).enumerate() {
                        s.spawn(async move { gather(g, b) });
                    }
                });
            }
            _ => gather(0, &mut self.buckets[..1]),
        };
        let buckets = &self.buckets[..tasks * chunks];
        self.count += buckets.iter().map(Vec::len).sum::<usize>();
        let mut parts = self.keys[..chunks]
            .iter_mut()
            .zip(self.spare[..chunks].iter_mut())
            .enumerate()
            .map(|(c, (keys, spare))| ChunkArrivals {
                base: c << shift,
                buckets,
                chunk: c,
                chunks,
                bits: shift + 1,
                keys,
                spare,
            });
        let update = &update;
        let mut rest = columns;
        match pool {
            Some(p) if tasks > 1 => {
                p.scope(|s| {
                    for mut part in parts {
                        let size = (1usize << shift).min(len - part.base);
                        let (mine, others) = split(rest, size);
                        rest = others;
                        s.spawn(async move { update(&mut part, mine) });
                    }
                });
            }
            _ => {
                let mut part = parts.next().expect("one chunk");
                update(&mut part, rest);
            }
        }
    }

    /// Ends a step: its arrival count decides whether the next one is split.
    pub fn end_step(&mut self) {
        self.last_count = std::mem::take(&mut self.count);
    }

    /// Shapes the chunks for `len` rows and `tasks` tasks (about four chunks per task) and makes
    /// sure there are buckets and sort space for them. The lists only grow, so steps that alternate
    /// between one task and several, or tables of different sizes, allocate nothing.
    fn shape(&mut self, len: usize, tasks: usize) {
        let per_chunk = match tasks {
            1 => len,
            _ => len.div_ceil(4 * tasks),
        };
        self.shift = per_chunk.next_power_of_two().trailing_zeros().max(6);
        self.chunks = len.div_ceil(1 << self.shift).max(1);
        let capacity = (len / 16 / self.chunks).max(64);
        if self.buckets.len() < tasks * self.chunks {
            self.buckets
                .resize_with(tasks * self.chunks, || Vec::with_capacity(capacity));
        }
        if self.keys.len() < self.chunks {
            self.keys
                .resize_with(self.chunks, || Vec::with_capacity(capacity));
            self.spare
                .resize_with(self.chunks, || Vec::with_capacity(capacity));
        }
    }
}

impl ChunkArrivals<'_> {
    /// Calls `f(k, pre, post, ahead)` for each distinct row of the chunk reached on this step,
    /// in ascending order (`k` counted from the chunk's first row), with `ahead` the row to be
    /// updated `AHEAD` rows later (to [`crate::core::prefetch`]).
    pub fn for_each(&mut self, mut f: impl FnMut(usize, bool, bool, Option<usize>)) {
        let base = (self.base as Arrival) << 1;
        self.keys.clear();
        let mine = self.buckets[self.chunk..].iter().step_by(self.chunks);
        self.keys
            .extend(mine.flat_map(|b| b.iter()).map(|&a| a - base));
        sort_arrivals(self.keys, self.spare, self.bits);
        let keys = &self.keys[..];
        let mut i = 0;
        while i < keys.len() {
            let k = keys[i] >> 1;
            // At most one arrival of each kind reaches a row on a step (one presynaptic neuron
            // and one delay each way), so a row is one key or two, presynaptic first.
            let (mut pre, mut post) = (false, false);
            while keys.get(i).is_some_and(|&a| a >> 1 == k) {
                match keys[i] & 1 {
                    0 => pre = true,
                    _ => post = true,
                }
                i += 1;
            }
            let ahead = keys.get(i + AHEAD).map(|&a| (a >> 1) as usize);
            f(k as usize, pre, post, ahead);
        }
    }
}

/// Arrivals below which [`sort_arrivals`] uses a comparison sort.
const RADIX_FROM: usize = 512;

/// Sorts `keys` (each below 2^`bits`) ascending: a least-significant-digit radix sort, a byte
/// per pass through `spare`, skipping a byte all keys share (small lists: a comparison sort).
/// Both lists only grow, so steps allocate nothing once the largest has been seen.
fn sort_arrivals(keys: &mut Vec<Arrival>, spare: &mut Vec<Arrival>, bits: u32) {
    let n = keys.len();
    if n < RADIX_FROM {
        keys.sort_unstable();
        return;
    }
    spare.truncate(n);
    spare.resize(n, 0);
    for shift in (0..bits).step_by(8) {
        let digit = |a: Arrival| (a >> shift & 0xff) as usize;
        let mut start = [0usize; 257];
        for &a in keys.iter() {
            start[digit(a) + 1] += 1;
        }
        if start.contains(&n) {
            continue;
        }
        for d in 0..256 {
            start[d + 1] += start[d];
        }
        for &a in keys.iter() {
            let d = digit(a);
            spare[start[d]] = a;
            start[d] += 1;
        }
        std::mem::swap(keys, spare);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The radix sort orders as a comparison sort does, on lists above and below the size
    /// where it takes over, with repeats, and with a byte every key shares (the third byte of
    /// keys below 2^16 sorted as 24-bit keys: that pass is skipped).
    #[test]
    fn radix_sort_orders_arrivals() {
        let cases = [
            (100, 9, 1, !0),
            (5000, 24, 2, !0),
            (70_000, 17, 3, !0),
            (3000, 30, 4, !0),
            (5000, 24, 5, 0xffff),
        ];
        for (n, bits, salt, mask) in cases {
            let mut keys: Vec<Arrival> = (0..n as u64)
                .map(|i| {
                    let r = crate::core::rng::bits(salt, i, 0, crate::core::rng::Purpose::Init);
                    r as u32 & ((1 << bits) - 1) & mask
                })
                .collect();
            let mut want = keys.clone();
            want.sort_unstable();
            let mut spare = vec![7; 3];
            sort_arrivals(&mut keys, &mut spare, bits);
            assert_eq!(keys, want, "n {n} bits {bits}");
        }
    }
}
