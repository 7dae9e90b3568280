//! The synapses of one table that spikes reach on a step, gathered for the event-driven rule so
//! that both the gathering and the updates can run on several threads.
//!
//! Gathering: each task takes a share of the neurons, looks up the synapses their spikes reach
//! (`TableIndex::for_each_reached`) and files each arrival in one bucket per chunk of rows.
//! Updating: each task takes a chunk of rows, so no two tasks write one row; in it, a row
//! reached by both a presynaptic and a postsynaptic spike is updated once, with both, and each
//! row's columns are requested a few rows ahead ([`crate::core::prefetch`]).
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
    /// One bit per row of whether a presynaptic (postsynaptic) spike reached it.
    pre: Vec<u64>,
    post: Vec<u64>,
    /// Each chunk's distinct rows reached, in the order found.
    rows: Vec<Vec<u32>>,
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
    pre: &'a mut [u64],
    post: &'a mut [u64],
    rows: &'a mut Vec<u32>,
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
        let words_per_chunk = 1 << (shift - 6);
        let words_used = chunks * words_per_chunk;
        let mut parts = self.pre[..words_used]
            .chunks_mut(words_per_chunk)
            .zip(self.post[..words_used].chunks_mut(words_per_chunk))
            .zip(self.rows[..chunks].iter_mut())
            .enumerate()
            .map(|(c, ((pre, post), rows))| ChunkArrivals {
                base: c << shift,
                buckets,
                chunk: c,
                chunks,
                pre,
                post,
                rows,
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
    /// sure there are buckets and marks for them. The lists only grow, so steps that alternate
    /// between one task and several, or tables of different sizes, allocate nothing.
    fn shape(&mut self, len: usize, tasks: usize) {
        let per_chunk = match tasks {
            1 => len,
            _ => len.div_ceil(4 * tasks),
        };
        self.shift = per_chunk.next_power_of_two().trailing_zeros().max(6);
        self.chunks = len.div_ceil(1 << self.shift).max(1);
        let words = self.chunks << (self.shift - 6);
        if self.pre.len() < words {
            self.pre.resize(words, 0);
            self.post.resize(words, 0);
        }
        let capacity = (len / 16 / self.chunks).max(64);
        if self.buckets.len() < tasks * self.chunks {
            self.buckets
                .resize_with(tasks * self.chunks, || Vec::with_capacity(capacity));
        }
        if self.rows.len() < self.chunks {
            self.rows
                .resize_with(self.chunks, || Vec::with_capacity(capacity));
        }
    }
}

impl ChunkArrivals<'_> {
    /// Calls `f(k, pre, post, ahead)` for each distinct row of the chunk reached on this step
    /// (`k` counted from the chunk's first row), with `ahead` the row to be updated `AHEAD`
    /// rows later (to [`crate::core::prefetch`]), and clears the marks.
    pub fn for_each(&mut self, mut f: impl FnMut(usize, bool, bool, Option<usize>)) {
        let base = self.base as u32;
        self.rows.clear();
        let mine = self.buckets[self.chunk..].iter().step_by(self.chunks);
        for &a in mine.flat_map(|b| b.iter()) {
            let k = (a >> 1) - base;
            let (w, bit) = ((k >> 6) as usize, 1u64 << (k & 63));
            if (self.pre[w] | self.post[w]) & bit == 0 {
                self.rows.push(k);
            }
            match a & 1 {
                0 => self.pre[w] |= bit,
                _ => self.post[w] |= bit,
            }
        }
        for (i, &k) in self.rows.iter().enumerate() {
            let ahead = self.rows.get(i + AHEAD).map(|&a| a as usize);
            let (w, bit) = ((k >> 6) as usize, 1u64 << (k & 63));
            let (pre, post) = (self.pre[w] & bit != 0, self.post[w] & bit != 0);
            self.pre[w] &= !bit;
            self.post[w] &= !bit;
            f(k as usize, pre, post, ahead);
        }
    }
}
