//! Spikes as events: who fired on each of the last few steps, and the input they deliver.
//!
//! A spike is one bit. [`SpikeHistory`] is a ring of bitsets, one row per step over the longest
//! delay in the scene, so a synapse with delay `d` reads its presynaptic neuron's bit `d` steps
//! back in O(1) with no per-spike allocation. Bits are set with atomic `fetch_or`, which commutes,
//! so the rows do not depend on which thread set which bit.
//!
//! [`NeuronInput`] accumulates the efficacy of arriving spikes per postsynaptic neuron in 32.32
//! fixed point with atomic adds: integer addition is associative, so the sum is bit-identical
//! whatever the order in which threads add to it (floating-point addition would not be).

use bevy_ecs::prelude::*;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// Which neurons spiked on each of the last `rows` steps.
///
/// After [`clear`](Self::clear) opens a step, [`lookback`](Self::lookback) reads a bit `back`
/// steps before it through a table of row offsets made once per step, so a loop over synapses
/// does no division. Reads before the start of the run land on a row that is never written.
#[derive(Resource)]
pub struct SpikeHistory {
    words: usize,
    rows: usize,
    /// `rows` rows of `words` words, then one row of zeros.
    bits: Vec<AtomicU64>,
    /// For the open step and each `back` in `0..rows`: the first word of the row of
    /// `step - back` (the zero row if that is before step 0). Made step by step over the first
    /// `rows` steps only; after them the look-back is a window of `ring`.
    back_offsets: Vec<usize>,
    /// The first word of row `(2·rows − 1 − j) mod rows`, for `j` in `0..2·rows`: from step
    /// `rows` on, the offsets of step s are `ring[rows − 1 − s % rows ..][..rows]`.
    ring: Vec<usize>,
    /// Where the open step's offsets start in `ring` (`None`: in `back_offsets`).
    window: Option<usize>,
}

impl SpikeHistory {
    /// A history for `neurons` neurons long enough for delays up to `max_delay_steps`.
    pub fn new(neurons: usize, max_delay_steps: usize) -> Self {
        let words = neurons.div_ceil(64).max(1);
        let rows = max_delay_steps + 2;
        let bits = (0..words * (rows + 1)).map(|_| AtomicU64::new(0)).collect();
        SpikeHistory {
            words,
            rows,
            bits,
            back_offsets: vec![rows * words; rows],
            ring: (0..2 * rows)
                .map(|j| (2 * rows - 1 - j) % rows * words)
                .collect(),
            window: None,
        }
    }

    /// Number of steps held.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Words in a row (64 neurons each).
    pub fn words(&self) -> usize {
        self.words
    }

    fn row(&self, step: u64) -> usize {
        (step % self.rows as u64) as usize * self.words
    }

    /// Opens `step`: clears its row before neurons write into it and makes the table
    /// [`lookback`](Self::lookback) reads.
    pub fn clear(&mut self, step: u64) {
        self.forget(step);
        let r = self.row(step);
        if step >= self.rows as u64 {
            // Every look-back is within the run: a window of the ring, no table to make.
            self.window = Some(self.rows - 1 - r / self.words);
            return;
        }
        self.window = None;
        let zero_row = self.rows * self.words;
        for (back, off) in self.back_offsets.iter_mut().enumerate() {
            *off = match step.checked_sub(back as u64) {
                Some(s) => (s % self.rows as u64) as usize * self.words,
                None => zero_row,
            };
        }
    }

    /// The open step's look-back as two plain slices, for loops over many synapses (the slices
    /// stay in registers instead of being reloaded from the resource on every read).
    #[inline(always)]
    pub fn lookback(&self) -> Lookback<'_> {
        let offsets = match self.window {
            Some(start) => &self.ring[start..start + self.rows],
            None => &self.back_offsets[..],
        };
        Lookback {
            offsets,
            bits: &self.bits,
            words: self.words,
        }
    }

    /// Marks `neuron` as having fired on `step`.
    #[inline]
    pub fn fire(&self, step: u64, neuron: u32) {
        let i = self.row(step) + (neuron as usize >> 6);
        self.bits[i].fetch_or(1 << (neuron & 63), Relaxed);
    }

    /// Marks `neuron` as having fired on `step`, from the one system writing the row (no
    /// atomic operation).
    #[inline]
    pub fn fire_alone(&mut self, step: u64, neuron: u32) {
        let i = self.row(step) + (neuron as usize >> 6);
        *self.bits[i].get_mut() |= 1 << (neuron & 63);
    }

    /// Whether `neuron` fired on `step - back` (false before the start of the run). `back` is
    /// less than [`rows`](Self::rows). The row is found from `step % rows`, which a loop over
    /// synapses computes once, instead of dividing per synapse.
    #[inline(always)]
    pub fn fired(&self, step: u64, back: u64, neuron: u32) -> bool {
        if back > step {
            return false;
        }
        debug_assert!(back < self.rows as u64);
        let (now, back) = ((step % self.rows as u64) as usize, back as usize);
        let row = if back <= now {
            now - back
        } else {
            now + self.rows - back
        };
        let i = row * self.words + (neuron as usize >> 6);
        self.bits[i].load(Relaxed) >> (neuron & 63) & 1 == 1
    }

    /// Number of neurons in `first..first + n` that fired on `step` (a popcount per word).
    pub fn count_range(&self, step: u64, first: u32, n: u32) -> u32 {
        let (lo, hi) = (first as usize, first as usize + n as usize);
        if hi <= lo {
            return 0;
        }
        let r = self.row(step);
        let mut count = 0;
        for w in lo >> 6..=(hi - 1) >> 6 {
            let mut bits = self.bits[r + w].load(Relaxed);
            let base = w << 6;
            if base < lo {
                bits &= !0u64 << (lo - base);
            }
            if base + 64 > hi {
                bits &= !0u64 >> (base + 64 - hi);
            }
            count += bits.count_ones();
        }
        count
    }

    /// Whether any neuron fired on `step` (within the last [`rows`](Self::rows) steps).
    pub fn any_on(&self, step: u64) -> bool {
        let r = self.row(step);
        self.bits[r..r + self.words]
            .iter()
            .any(|w| w.load(Relaxed) != 0)
    }

    /// Forgets the spikes of `step`: zeroes its row, which stands for `step + rows` next. A run
    /// that skips step `step + rows` (nothing happens on it) does this instead of opening it.
    pub fn forget(&mut self, step: u64) {
        let r = self.row(step);
        for w in &mut self.bits[r..r + self.words] {
            *w.get_mut() = 0;
        }
    }

    /// The ids of the neurons that fired on `step`, in ascending order.
    pub fn fired_on(&self, step: u64) -> impl Iterator<Item = u32> + '_ {
        let r = self.row(step);
        set_bits(&self.bits[r..r + self.words])
    }

    /// The rows as plain words, oldest step first, ending with `step` (for checkpoints).
    pub fn export(&self, step: u64) -> Vec<u64> {
        let mut out = Vec::with_capacity(self.rows * self.words);
        for k in (0..self.rows as u64).rev() {
            let s = step.wrapping_sub(k);
            let r = self.row(s);
            out.extend(self.bits[r..r + self.words].iter().map(|w| w.load(Relaxed)));
        }
        out
    }

    /// Restores rows written by [`export`](Self::export) at the same `step`.
    pub fn import(&mut self, step: u64, words: &[u64]) -> bool {
        if words.len() != self.rows * self.words {
            return false;
        }
        let mut chunks = words.chunks(self.words);
        for k in (0..self.rows as u64).rev() {
            let r = self.row(step.wrapping_sub(k));
            let chunk = chunks.next().expect("length checked above");
            for (dst, src) in self.bits[r..r + self.words].iter_mut().zip(chunk) {
                *dst.get_mut() = *src;
            }
        }
        true
    }
}

/// A view of [`SpikeHistory`] from the open step: see [`SpikeHistory::lookback`].
#[derive(Clone, Copy)]
pub struct Lookback<'a> {
    offsets: &'a [usize],
    bits: &'a [AtomicU64],
    words: usize,
}

impl<'a> Lookback<'a> {
    /// Whether `neuron` fired `back` steps before the open step.
    #[inline(always)]
    pub fn fired(&self, back: usize, neuron: u32) -> bool {
        let i = self.offsets[back] + (neuron as usize >> 6);
        self.bits[i].load(Relaxed) >> (neuron & 63) & 1 == 1
    }

    /// The row of the step `back` steps before the open step: bit n of word w is neuron
    /// 64·w + n.
    #[inline]
    pub fn row(&self, back: usize) -> &'a [AtomicU64] {
        let r = self.offsets[back];
        &self.bits[r..r + self.words]
    }
}

/// The indices of the set bits of `words`, ascending (word `w` bit `b` is index 64·w + b).
fn set_bits(words: &[AtomicU64]) -> impl Iterator<Item = u32> + '_ {
    words.iter().enumerate().flat_map(|(w, word)| {
        let mut b = word.load(Relaxed);
        std::iter::from_fn(move || {
            if b == 0 {
                return None;
            }
            let t = b.trailing_zeros();
            b &= b - 1;
            Some(w as u32 * 64 + t)
        })
    })
}

/// Fixed-point scale of [`NeuronInput`]: 2^32 units per mV.
const FIXED_ONE: f64 = 4_294_967_296.0;

/// Synaptic input arriving at each neuron during the current step, in mV.
#[derive(Resource)]
pub struct NeuronInput {
    acc: Vec<AtomicI64>,
}

impl NeuronInput {
    pub fn new(neurons: usize) -> Self {
        NeuronInput {
            acc: (0..neurons).map(|_| AtomicI64::new(0)).collect(),
        }
    }

    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.acc.len()
    }

    pub fn is_empty(&self) -> bool {
        self.acc.is_empty()
    }

    /// Adds `mv` to the input of `neuron` (order-independent).
    #[inline]
    pub fn add(&self, neuron: u32, mv: f32) {
        let q = (mv as f64 * FIXED_ONE).round() as i64;
        self.acc[neuron as usize].fetch_add(q, Relaxed);
    }

    /// Takes and clears the input of `neuron` (the store only when there is input). A load and
    /// a store rather than a locked swap: neurons take their input in the Neurons stage, and
    /// nothing adds to it until the stages after it (Delivery, event-driven plasticity).
    #[inline]
    pub fn take(&self, neuron: u32) -> f32 {
        let a = &self.acc[neuron as usize];
        let q = a.load(Relaxed);
        if q != 0 {
            a.store(0, Relaxed);
        }
        (q as f64 / FIXED_ONE) as f32
    }

    /// The raw accumulators (for checkpoints).
    pub fn export(&self) -> Vec<i64> {
        self.acc.iter().map(|a| a.load(Relaxed)).collect()
    }

    /// Restores accumulators written by [`export`](Self::export).
    pub fn import(&mut self, raw: &[i64]) -> bool {
        if raw.len() != self.acc.len() {
            return false;
        }
        for (a, r) in self.acc.iter_mut().zip(raw) {
            *a.get_mut() = *r;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `any_on` sees a step's spikes; `forget` clears that step's row and no other.
    #[test]
    fn forgetting_a_step_clears_its_row_only() {
        let mut h = SpikeHistory::new(130, 3);
        h.clear(5);
        h.fire(5, 129);
        h.clear(6);
        h.fire(6, 0);
        assert!(h.any_on(5) && h.any_on(6));
        h.forget(5);
        assert!(!h.any_on(5) && h.any_on(6));
        assert_eq!(h.fired_on(6).collect::<Vec<_>>(), vec![0]);
    }

    /// Over the first steps (offsets made step by step) and after them (a window of the ring),
    /// every look-back the history holds reads the right step.
    #[test]
    fn delayed_reads_see_the_right_step() {
        let mut h = SpikeHistory::new(130, 5);
        for step in 0..20u64 {
            h.clear(step);
            if step % 3 == 0 {
                h.fire(step, 129);
            }
            for back in 0..h.rows() as u64 {
                let expected = back <= step && (step - back) % 3 == 0;
                assert_eq!(
                    h.fired(step, back, 129),
                    expected,
                    "step {step} back {back}"
                );
                assert_eq!(
                    h.lookback().fired(back as usize, 129),
                    expected,
                    "table, {step} {back}"
                );
                assert!(!h.fired(step, back, 128) && !h.lookback().fired(back as usize, 128));
            }
        }
        assert_eq!(h.fired_on(18).collect::<Vec<_>>(), vec![129]);
    }

    #[test]
    fn count_range_counts_the_bits_in_range() {
        let mut h = SpikeHistory::new(200, 1);
        h.clear(3);
        for id in [0, 5, 63, 64, 65, 127, 128, 199] {
            h.fire(3, id);
        }
        for (first, n) in [
            (0, 200),
            (5, 1),
            (6, 57),
            (60, 10),
            (63, 66),
            (100, 100),
            (0, 0),
        ] {
            let slow = (first..first + n).filter(|&id| h.fired(3, 0, id)).count() as u32;
            assert_eq!(h.count_range(3, first, n), slow, "{first}+{n}");
        }
    }

    #[test]
    fn export_import_round_trips() {
        let mut h = SpikeHistory::new(70, 3);
        for step in 0..7u64 {
            h.clear(step);
            h.fire(step, (step * 11 % 70) as u32);
        }
        let saved = h.export(6);
        let mut g = SpikeHistory::new(70, 3);
        assert!(g.import(6, &saved));
        for back in 0..4 {
            for n in 0..70 {
                assert_eq!(g.fired(6, back, n), h.fired(6, back, n));
            }
        }
    }

    #[test]
    fn input_sum_is_exact_in_any_order() {
        let a = NeuronInput::new(1);
        let b = NeuronInput::new(1);
        let xs = [0.1f32, 1e-3, 3.7, -2.2, 0.33];
        for x in xs {
            a.add(0, x);
        }
        for x in xs.iter().rev() {
            b.add(0, *x);
        }
        assert_eq!(a.take(0).to_bits(), b.take(0).to_bits());
    }
}
