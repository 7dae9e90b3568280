//! Spike delivery: presynaptic spikes arrive after each synapse's axonal delay and the
//! postsynaptic neuron receives the synapse's efficacy; back-propagating postsynaptic spikes
//! reach the spine after the dendritic delay.
//!
//! Delivery is driven by spikes, not by synapses: a [`DeliveryIndex`] lists, for each neuron,
//! the table rows of its outgoing synapses (by axonal delay) and of its incoming ones (by
//! dendritic delay). Each step visits only the synapses a spike reaches on this step (to set
//! their arrival bits) and those it reached on the previous step (to clear them): the work
//! grows with spikes, not with synapses. The result is the same as testing two bits of
//! [`SpikeHistory`] for every synapse (the unit test below compares the two), and the input sums
//! are fixed-point, so the order of visits does not matter.
//!
//! The index is laid out for the case where memory, not arithmetic, sets the pace (a spike's
//! synapses lie anywhere in tables of hundreds of megabytes):
//! - for each delay, a bitset of the neurons with a synapse at that delay is ANDed with the
//!   spike row, so a spike costs nothing on the steps it reaches no synapse;
//! - a neuron whose synapses on one side are consecutive rows at one delay (every neuron of a
//!   one-to-one table; the outgoing side of a table built presynaptic neuron after presynaptic
//!   neuron) is found with one read of 8 bytes, with no run or row list;
//! - neurons are looked up in batches, each one's entry requested a few neurons ahead
//!   ([`prefetch`]).
//!
//! The event-driven rule uses the same index to gather its arrivals in parallel
//! ([`crate::stages::plasticity::event_arrivals`]).

use crate::core::prefetch::prefetch;
use crate::core::synapse::{POST, PRE, Synapse};
use crate::engine::spikes::{NeuronInput, SpikeHistory};
use crate::stages::groups::SynapseGroups;
use crate::stages::plasticity::SynapticWeight;
use crate::stages::plasticity::event_stdp::EventDriven;
use bevy_ecs::prelude::*;
use std::ops::Range;
use std::sync::atomic::Ordering::Relaxed;

/// One run of a neuron's rows with the same delay: `rows[start..]` up to the next run's start.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Run {
    delay: u16,
    start: u32,
}

/// Flag in [`Place::b`]: the neuron's synapses on this side are one run of consecutive rows.
const DIRECT: u32 = 1 << 31;

/// Where one neuron's synapses of one side are. With [`DIRECT`] in `b`: rows `a .. a + len`
/// (all at one delay), found without reading the run or row lists; otherwise the runs
/// `runs[a .. a + b]`. A one-to-one table, and the outgoing side of a table built
/// presynaptic neuron after presynaptic neuron, is direct throughout.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Place {
    a: u32,
    b: u32,
}

/// For one table and one side (outgoing by axonal delay, or incoming by dendritic delay): each
/// neuron's rows, in runs of equal delay, and for each delay the set of neurons with a synapse
/// at it.
#[derive(Default)]
struct NeuronRows {
    /// By neuron.
    places: Vec<Place>,
    /// The runs, neuron after neuron, then one closing run that only marks the end (empty, as
    /// are `rows`, if every place is direct).
    runs: Vec<Run>,
    rows: Vec<u32>,
    /// `filters[d]`: bit n set if neuron n has a synapse at delay d on this side (one bit per
    /// neuron, empty for a delay no synapse has).
    filters: Vec<Vec<u64>>,
    /// The delays some synapse has, ascending (those with a filter), each with the words of
    /// its filter from the first to the last that is not 0.
    delays: Vec<(usize, Range<usize>)>,
}

impl NeuronRows {
    /// Indexes `syn` by `key(s) = (neuron, delay)`. Build time only.
    fn build(syn: &[Synapse], neurons: usize, key: impl Fn(&Synapse) -> (u32, u16)) -> Self {
        assert!(
            syn.len() < DIRECT as usize,
            "a table holds fewer than 2^31 synapses"
        );
        let mut start = vec![0u32; neurons + 1];
        for s in syn {
            start[key(s).0 as usize + 1] += 1;
        }
        for n in 0..neurons {
            start[n + 1] += start[n];
        }
        let mut fill = start.clone();
        let mut rows = vec![0u32; syn.len()];
        for (r, s) in syn.iter().enumerate() {
            let n = key(s).0 as usize;
            rows[fill[n] as usize] = r as u32;
            fill[n] += 1;
        }
        drop(fill);
        let words = neurons.div_ceil(64);
        let mut ix = NeuronRows {
            places: vec![Place::default(); neurons],
            ..Default::default()
        };
        let mut all_direct = true;
        for n in 0..neurons {
            let mine = &mut rows[start[n] as usize..start[n + 1] as usize];
            mine.sort_unstable_by_key(|&r| (key(&syn[r as usize]).1, r));
            let first_run = ix.runs.len() as u32;
            let mut prev = None;
            for (k, &r) in mine.iter().enumerate() {
                let d = key(&syn[r as usize]).1;
                if prev != Some(d) {
                    ix.runs.push(Run {
                        delay: d,
                        start: start[n] + k as u32,
                    });
                    prev = Some(d);
                    let d = d as usize;
                    if ix.filters.len() <= d {
                        ix.filters.resize(d + 1, Vec::new());
                    }
                    if ix.filters[d].is_empty() {
                        ix.filters[d] = vec![0; words];
                    }
                    ix.filters[d][n >> 6] |= 1 << (n & 63);
                }
            }
            let count = ix.runs.len() as u32 - first_run;
            let consecutive = mine
                .first()
                .zip(mine.last())
                // Wrapping: a last entry below the first (not consecutive) must not overflow.
                .is_some_and(|(a, z)| z.wrapping_sub(*a) as usize == mine.len() - 1);
            ix.places[n] = if count == 1 && consecutive {
                Place {
                    a: mine[0],
                    b: mine.len() as u32 | DIRECT,
                }
            } else {
                all_direct &= count == 0;
                Place {
                    a: first_run,
                    b: count,
                }
            };
        }
        ix.delays = (0..ix.filters.len())
            .filter(|&d| !ix.filters[d].is_empty())
            .map(|d| {
                let f = &ix.filters[d];
                let first = f.iter().position(|&w| w != 0).unwrap_or(0);
                let end = f.iter().rposition(|&w| w != 0).map_or(first, |l| l + 1);
                (d, first..end)
            })
            .collect();
        if all_direct {
            ix.runs = Vec::new();
            ix.rows = Vec::new();
        } else {
            ix.runs.push(Run {
                delay: u16::MAX,
                start: syn.len() as u32,
            });
            ix.rows = rows;
        }
        ix
    }

    /// Calls `f(row)` for each row of `neuron`'s synapses with delay `delay` (the neuron is
    /// known to have some: it is in the delay's filter).
    #[inline]
    fn for_rows(&self, neuron: u32, delay: usize, mut f: impl FnMut(u32)) {
        let p = self.places[neuron as usize];
        if p.b & DIRECT != 0 {
            (p.a..p.a + (p.b & !DIRECT)).for_each(f);
            return;
        }
        // The neuron's runs are sorted by delay.
        let k0 = p.a as usize;
        let mine = &self.runs[k0..k0 + p.b as usize];
        let k = k0 + mine.partition_point(|r| (r.delay as usize) < delay);
        if k < k0 + mine.len() && self.runs[k].delay as usize == delay {
            let (a, b) = (self.runs[k].start, self.runs[k + 1].start);
            self.rows[a as usize..b as usize].iter().for_each(|&r| f(r));
        }
    }

    /// Calls `f(row)` for the rows of each neuron of `neurons` at `delay`, requesting each
    /// neuron's place [`AHEAD`] neurons early.
    #[inline]
    fn look_up(&self, neurons: &[u32], delay: usize, mut f: impl FnMut(u32)) {
        for (k, &n) in neurons.iter().enumerate() {
            if let Some(&ahead) = neurons.get(k + AHEAD) {
                prefetch(&self.places, ahead as usize);
            }
            self.for_rows(n, delay, &mut f);
        }
    }

    /// The rows of `neuron`'s synapses with delay `delay`.
    #[cfg(test)]
    fn rows_of(&self, neuron: u32, delay: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let filter = self
            .filters
            .get(delay)
            .and_then(|f| f.get(neuron as usize >> 6));
        if filter.is_some_and(|w| w >> (neuron & 63) & 1 == 1) {
            self.for_rows(neuron, delay, |r| out.push(r));
        }
        out
    }
}

/// Candidate neurons looked up together, so that each lookup's memory is requested a few
/// lookups ahead ([`prefetch`]).
const BATCH: usize = 256;
/// How many lookups ahead a neuron's place is requested.
const AHEAD: usize = 8;

/// The index of one table: where it lay when built (to notice a table that moved or grew) and
/// its two sides.
pub struct TableIndex {
    at: (usize, usize),
    outgoing: NeuronRows,
    incoming: NeuronRows,
}

impl TableIndex {
    /// Calls `f(row, bit)` for every spike reaching a synapse of the table on this step: [`PRE`]
    /// for a presynaptic spike `back` steps old on a synapse with that axonal delay, [`POST`] for
    /// a postsynaptic one on a synapse with that dendritic delay.
    pub(crate) fn for_each_arrival(&self, spikes: &SpikeHistory, f: impl FnMut(u32, u8)) {
        self.for_each_reached(spikes, 0, 0..spikes.words(), f);
    }

    /// Like [`for_each_arrival`](Self::for_each_arrival), for the spikes that arrived `lag`
    /// steps ago, from the neurons of spike-history words `words` (64 neurons each) only.
    ///
    /// For each delay, the neurons that fired that many steps back are intersected word by
    /// word with the neurons that have a synapse at that delay, so a spike that reaches
    /// nothing on this step costs nothing; the others are looked up in batches.
    pub(crate) fn for_each_reached(
        &self,
        spikes: &SpikeHistory,
        lag: usize,
        words: Range<usize>,
        f: impl FnMut(u32, u8),
    ) {
        let sides = [(&self.outgoing, PRE), (&self.incoming, POST)];
        self.reach(spikes, lag, words, &sides, f);
    }

    /// Calls `f(row)` for every synapse of one side ([`PRE`]: by axonal delay, [`POST`]: by
    /// dendritic delay) reached by a spike `lag` steps older than its delay: with `lag` the
    /// linear Ca model's delay, the presynaptic spikes whose Ca transient is due now.
    pub(crate) fn for_each_on(
        &self,
        bit: u8,
        spikes: &SpikeHistory,
        lag: usize,
        mut f: impl FnMut(u32),
    ) {
        let side = match bit {
            PRE => &self.outgoing,
            _ => &self.incoming,
        };
        self.reach(spikes, lag, 0..spikes.words(), &[(side, bit)], |r, _| f(r));
    }

    /// [`for_each_reached`](Self::for_each_reached) over the given sides. Spikes older than the
    /// history are gone: with a `lag`, only delays the history still covers are looked at (the
    /// history is sized for the longest delay plus the linear Ca model's).
    fn reach(
        &self,
        spikes: &SpikeHistory,
        lag: usize,
        words: Range<usize>,
        sides: &[(&NeuronRows, u8)],
        mut f: impl FnMut(u32, u8),
    ) {
        let lookback = spikes.lookback();
        let mut batch = [0u32; BATCH];
        // Only the delays some synapse has: a side's calls come in order of delay, and the
        // order of the calls does not matter to any caller.
        for &(side, bit) in sides {
            for (delay, used) in &side.delays {
                let (delay, back) = (*delay, delay + lag);
                let words = words.start.max(used.start)..words.end.min(used.end);
                if delay + 1 >= spikes.rows() || back >= spikes.rows() || words.is_empty() {
                    continue;
                }
                let fired = &lookback.row(back)[words.clone()];
                let filter = &side.filters[delay][words.clone()];
                let mut len = 0;
                for (k, (w, m)) in fired.iter().zip(filter).enumerate() {
                    let mut b = w.load(Relaxed) & m;
                    while b != 0 {
                        batch[len] = ((words.start + k) * 64) as u32 + b.trailing_zeros();
                        b &= b - 1;
                        len += 1;
                        if len == BATCH {
                            side.look_up(&batch, delay, |r| f(r, bit));
                            len = 0;
                        }
                    }
                }
                side.look_up(&batch[..len], delay, |r| f(r, bit));
            }
        }
    }
}

/// Per-neuron lists of synapse rows, one entry per synapse table. Made on the first step and
/// again only if the tables change (entities spawned or moved between archetypes).
#[derive(Default)]
pub struct DeliveryIndex {
    tables: Vec<TableIndex>,
}

impl DeliveryIndex {
    /// The index of table `i`, lying at `at`, rebuilt if it is not the one indexed.
    pub(crate) fn table(&mut self, i: usize, syn: &[Synapse], neurons: usize) -> &TableIndex {
        let at = (syn.as_ptr() as usize, syn.len());
        if self.tables.get(i).is_none_or(|t| t.at != at) {
            let t = TableIndex {
                at,
                outgoing: NeuronRows::build(syn, neurons, |s| (s.pre, s.axonal_delay_steps)),
                incoming: NeuronRows::build(syn, neurons, |s| (s.post, s.dendritic_delay_steps)),
            };
            self.tables.truncate(i);
            self.tables.push(t);
        }
        &self.tables[i]
    }
}

/// Sets the arrival bits of each synapse and adds the efficacy of arriving presynaptic spikes to
/// the postsynaptic neuron's input for the next step.
pub fn deliver_spikes(
    mut q: Query<(&mut Synapse, &SynapticWeight), Without<EventDriven>>,
    spikes: Res<SpikeHistory>,
    input: Res<NeuronInput>,
    groups: Res<SynapseGroups>,
    mut index: Local<DeliveryIndex>,
) {
    let neurons = input.len();
    let tables = q.contiguous_iter_mut().expect("stage queries are dense");
    for (i, (mut syn, w)) in tables.enumerate() {
        let syn = syn.bypass_change_detection();
        let t = index.table(i, syn, neurons);
        // Clear what arrived on the previous step: a spike `back` steps ago reached the
        // synapses with delay `back - 1` then.
        t.for_each_reached(&spikes, 1, 0..spikes.words(), |r, _| {
            syn[r as usize].arrivals = 0
        });
        t.for_each_arrival(&spikes, |r, bit| {
            let s = &mut syn[r as usize];
            s.arrivals |= bit;
            if bit == PRE && groups.0[s.group as usize].delivers_input {
                input.add(s.post, w[r as usize].efficacy_mv);
            }
        });
    }
}

/// Registers delivery in [`Stage::Delivery`](crate::engine::schedule::Stage::Delivery).
pub fn plugin(s: &mut Schedule) {
    s.add_systems(deliver_spikes.in_set(crate::engine::schedule::Stage::Delivery));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::rng::{self, Purpose};
    use crate::engine::spikes::Lookback;

    /// The reference delivery: every synapse tests its two bits of the spike history.
    fn deliver_by_scan(
        syn: &mut [Synapse],
        w: &[SynapticWeight],
        spikes: Lookback,
        input: &NeuronInput,
    ) {
        for (s, w) in syn.iter_mut().zip(w) {
            let pre = spikes.fired(s.axonal_delay_steps as usize, s.pre);
            let post = spikes.fired(s.dendritic_delay_steps as usize, s.post);
            s.arrivals = if pre { PRE } else { 0 } | if post { POST } else { 0 };
            if pre {
                input.add(s.post, w.efficacy_mv);
            }
        }
    }

    /// Spike-driven delivery sets the same arrival bits and the same input as testing every
    /// synapse, step after step, with mixed delays (0..=5), two tables, direct and searched
    /// places, and neurons without synapses.
    #[test]
    fn spike_driven_delivery_equals_the_scan() {
        let (neurons, max_delay, n_syn) = (120u32, 5u16, 400u32);
        // The first 200 synapses come four by four from neurons 60..110 at one axonal delay
        // each (consecutive rows: direct places); the rest connect at random.
        let synapse = |i: u32| Synapse {
            id: i,
            pre: match i < 200 {
                true => 60 + i / 4,
                false => (rng::bits(1, i as u64, 0, Purpose::Init) % 60) as u32,
            },
            post: (rng::bits(1, i as u64, 1, Purpose::Init) % 60) as u32,
            axonal_delay_steps: match i < 200 {
                true => (i / 4 % 6) as u16,
                false => (rng::bits(1, i as u64, 2, Purpose::Init) % 6) as u16,
            },
            dendritic_delay_steps: (rng::bits(1, i as u64, 3, Purpose::Init) % 3) as u16,
            ..Default::default()
        };
        let weight = |i: u32| SynapticWeight {
            efficacy_mv: 0.25 + i as f32 * 1e-3,
            ..Default::default()
        };
        let mut world = World::new();
        world.insert_resource(SpikeHistory::new(neurons as usize, max_delay as usize));
        world.insert_resource(NeuronInput::new(neurons as usize));
        let spec: crate::scene::SynapseGroup =
            ron::from_str(r#"(name: "g", pre: "a", post: "b", connectivity: OneToOne)"#).unwrap();
        world.insert_resource(SynapseGroups(vec![crate::stages::groups::SynapseGroupRt {
            spec,
            replica: 0,
            region: None,
            sign: 1.0,
            delivers_input: true,
            first_id: 0,
            count: n_syn,
        }]));
        for i in 0..n_syn {
            let mut e = world.spawn((synapse(i), weight(i)));
            if i % 3 == 0 {
                e.insert(crate::core::synapse::Recorded);
            }
        }
        let mut reference: Vec<(Synapse, SynapticWeight)> =
            (0..n_syn).map(|i| (synapse(i), weight(i))).collect();
        let reference_input = NeuronInput::new(neurons as usize);
        let mut schedule = Schedule::default();
        schedule.add_systems(deliver_spikes);
        for step in 0..40u64 {
            let mut h = world.resource_mut::<SpikeHistory>();
            h.clear(step);
            for n in 0..neurons {
                if rng::bits(2, n as u64, step, Purpose::Poisson).is_multiple_of(7) {
                    h.fire(step, n);
                }
            }
            schedule.run(&mut world);
            let h = world.resource::<SpikeHistory>();
            let (mut syn, w): (Vec<_>, Vec<_>) = reference.iter().copied().unzip();
            deliver_by_scan(&mut syn, &w, h.lookback(), &reference_input);
            reference = syn.into_iter().zip(w).collect();
            let mut got: Vec<Synapse> = world.query::<&Synapse>().iter(&world).copied().collect();
            got.sort_by_key(|s| s.id);
            for (g, (r, _)) in got.iter().zip(&reference) {
                assert_eq!(g.arrivals, r.arrivals, "step {step} synapse {}", g.id);
            }
            let input = world.resource::<NeuronInput>();
            for n in 0..neurons {
                assert_eq!(input.take(n).to_bits(), reference_input.take(n).to_bits());
            }
        }
    }

    /// Synapses with the given (presynaptic neuron, axonal delay), rows in that order.
    fn outgoing(pre_and_delay: &[(u32, u16)]) -> Vec<Synapse> {
        pre_and_delay
            .iter()
            .map(|&(pre, d)| Synapse {
                pre,
                axonal_delay_steps: d,
                ..Default::default()
            })
            .collect()
    }

    /// Long delays (63 steps and more) are found exactly, a neuron with runs at several
    /// delays is searched among them, and a delay a neuron lacks finds nothing.
    #[test]
    fn long_delays_are_found_exactly() {
        let syn = outgoing(&[(0, 2), (0, 63), (0, 70), (1, 64)]);
        let rows = NeuronRows::build(&syn, 2, |s| (s.pre, s.axonal_delay_steps));
        assert_eq!(rows.rows_of(0, 70), &[2]);
        assert_eq!(rows.rows_of(0, 63), &[1]);
        assert!(rows.rows_of(0, 64).is_empty());
        assert_eq!(rows.rows_of(1, 64), &[3]);
        assert!(rows.rows_of(1, 2).is_empty());
    }

    /// Consecutive rows at one delay are a direct place; several delays, or rows with others
    /// between them, are searched in the runs, including when direct neurons lie between.
    #[test]
    fn direct_and_searched_places() {
        let syn = outgoing(&[
            (0, 1),
            (0, 1),
            (1, 3),
            (2, 1),
            (2, 2),
            (3, 1),
            (4, 1),
            (5, 1),
            (4, 1),
        ]);
        let ix = NeuronRows::build(&syn, 7, |s| (s.pre, s.axonal_delay_steps));
        let direct: Vec<bool> = ix.places.iter().map(|p| p.b & DIRECT != 0).collect();
        assert_eq!(direct, [true, true, false, true, false, true, false]);
        assert_eq!(ix.rows_of(0, 1), [0, 1]);
        assert!(ix.rows_of(0, 3).is_empty());
        assert_eq!(ix.rows_of(1, 3), [2]);
        assert_eq!(ix.rows_of(2, 1), [3]);
        assert_eq!(ix.rows_of(2, 2), [4]);
        assert_eq!(ix.rows_of(3, 1), [5]);
        assert_eq!(ix.rows_of(4, 1), [6, 8]);
        assert_eq!(ix.rows_of(5, 1), [7]);
        assert!(ix.rows_of(6, 1).is_empty());
        // A one-to-one table needs neither runs nor rows.
        let one_to_one = NeuronRows::build(&syn[..3], 7, |s| (s.axonal_delay_steps as u32, 0));
        assert!(one_to_one.runs.is_empty() && one_to_one.rows.is_empty());
        assert_eq!(one_to_one.rows_of(1, 0), [0, 1]);
    }
}
