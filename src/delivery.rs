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

use crate::spikes::{NeuronInput, SpikeHistory};
use crate::stages::plasticity::SynapticWeight;
use crate::stages::plasticity::event_stdp::EventDriven;
use crate::synapse::{POST, PRE, Synapse};
use crate::world::SynapseGroups;
use bevy_ecs::prelude::*;

/// One run of a neuron's rows with the same delay: `rows[start..]` up to the next run's start.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Run {
    delay: u16,
    start: u32,
}

/// For one table of synapses and one side (outgoing by axonal delay, or incoming by dendritic
/// delay): each neuron's rows, in runs of equal delay.
#[derive(Default)]
struct NeuronRows {
    /// Runs of neuron `n`: `neuron_runs[n]..neuron_runs[n + 1]` (build time; [`Reach`] keeps
    /// the same per neuron for the steps).
    neuron_runs: Vec<u32>,
    /// The runs, neuron after neuron, then one closing run that only marks the end.
    runs: Vec<Run>,
    rows: Vec<u32>,
}

impl NeuronRows {
    /// Indexes `syn` by `key(s) = (neuron, delay)`. Build time only.
    fn build(syn: &[Synapse], neurons: usize, key: impl Fn(&Synapse) -> (u32, u16)) -> Self {
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
        let mut ix = NeuronRows {
            neuron_runs: Vec::with_capacity(neurons + 1),
            ..Default::default()
        };
        for n in 0..neurons {
            ix.neuron_runs.push(ix.runs.len() as u32);
            let mine = &mut rows[start[n] as usize..start[n + 1] as usize];
            mine.sort_unstable_by_key(|&r| (key(&syn[r as usize]).1, r));
            let mut prev = None;
            for (k, &r) in mine.iter().enumerate() {
                let d = key(&syn[r as usize]).1;
                if prev != Some(d) {
                    ix.runs.push(Run {
                        delay: d,
                        start: start[n] + k as u32,
                    });
                    prev = Some(d);
                }
            }
        }
        ix.neuron_runs.push(ix.runs.len() as u32);
        ix.runs.push(Run {
            delay: u16::MAX,
            start: syn.len() as u32,
        });
        ix.rows = rows;
        ix
    }

    /// The runs of `neuron`: (first, count).
    fn runs_of(&self, neuron: usize) -> (u32, u32) {
        let first = self.neuron_runs[neuron];
        (first, self.neuron_runs[neuron + 1] - first)
    }

    /// Bit mask of the delays `neuron` has runs at ([`delay_bit`]).
    fn delays_of(&self, neuron: usize) -> u64 {
        let (first, n) = self.runs_of(neuron);
        let runs = &self.runs[first as usize..(first + n) as usize];
        runs.iter().fold(0, |m, r| m | delay_bit(r.delay as usize))
    }

    /// The rows with delay `delay` among the runs `first..first + count` (one neuron's).
    #[inline]
    fn rows_in(&self, (first, count): (u32, u32), delay: usize) -> &[u32] {
        let k0 = first as usize;
        for k in k0..k0 + count as usize {
            if self.runs[k].delay as usize == delay {
                let (a, b) = (self.runs[k].start, self.runs[k + 1].start);
                return &self.rows[a as usize..b as usize];
            }
        }
        &[]
    }

    /// The rows of `neuron`'s synapses with delay `delay`.
    #[cfg(test)]
    fn rows_of(&self, neuron: u32, delay: usize) -> &[u32] {
        self.rows_in(self.runs_of(neuron as usize), delay)
    }
}

/// The bit of delay `d` (steps) in a neuron's delay mask: one bit per delay below 63, and bit 63
/// for all longer ones.
#[inline(always)]
fn delay_bit(d: usize) -> u64 {
    1 << d.min(63)
}

/// Which delays a neuron's outgoing and incoming synapses of one table have, and where their
/// runs are: tested before the runs are searched, so a spike costs one lookup on the steps it
/// reaches nothing, and one line of memory tells where to look on the steps it does.
#[derive(Clone, Copy, Default)]
struct Reach {
    outgoing: u64,
    incoming: u64,
    /// (first run, number of runs) of each side.
    outgoing_runs: (u32, u32),
    incoming_runs: (u32, u32),
}

/// The index of one table: where it lay when built (to notice a table that moved or grew), each
/// neuron's delay masks, and its two sides.
pub struct TableIndex {
    at: (usize, usize),
    reach: Vec<Reach>,
    outgoing: NeuronRows,
    incoming: NeuronRows,
}

impl TableIndex {
    /// Calls `f(row, bit)` for every spike reaching a synapse of the table on this step: [`PRE`]
    /// for a presynaptic spike `back` steps old on a synapse with that axonal delay, [`POST`] for
    /// a postsynaptic one on a synapse with that dendritic delay.
    pub(crate) fn for_each_arrival(&self, spikes: &SpikeHistory, f: impl FnMut(u32, u8)) {
        self.for_each_reached(spikes, 0, f);
    }

    /// Like [`for_each_arrival`](Self::for_each_arrival), for the spikes that arrived `lag`
    /// steps ago.
    fn for_each_reached(&self, spikes: &SpikeHistory, lag: usize, mut f: impl FnMut(u32, u8)) {
        let lookback = spikes.lookback();
        for back in lag..spikes.rows() - 1 + lag {
            let delay = back - lag;
            let bit = delay_bit(delay);
            for n in lookback.fired_at(back) {
                let reach = self.reach[n as usize];
                if reach.outgoing & bit != 0 {
                    for &r in self.outgoing.rows_in(reach.outgoing_runs, delay) {
                        f(r, PRE);
                    }
                }
                if reach.incoming & bit != 0 {
                    for &r in self.incoming.rows_in(reach.incoming_runs, delay) {
                        f(r, POST);
                    }
                }
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
            let outgoing = NeuronRows::build(syn, neurons, |s| (s.pre, s.axonal_delay_steps));
            let incoming = NeuronRows::build(syn, neurons, |s| (s.post, s.dendritic_delay_steps));
            let reach = (0..neurons)
                .map(|n| Reach {
                    outgoing: outgoing.delays_of(n),
                    incoming: incoming.delays_of(n),
                    outgoing_runs: outgoing.runs_of(n),
                    incoming_runs: incoming.runs_of(n),
                })
                .collect();
            // Reach holds each neuron's runs now.
            let (mut outgoing, mut incoming) = (outgoing, incoming);
            outgoing.neuron_runs = Vec::new();
            incoming.neuron_runs = Vec::new();
            let t = TableIndex {
                at,
                reach,
                outgoing,
                incoming,
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
        t.for_each_reached(&spikes, 1, |r, _| syn[r as usize].arrivals = 0);
        t.for_each_arrival(&spikes, |r, bit| {
            let s = &mut syn[r as usize];
            s.arrivals |= bit;
            if bit == PRE && groups.0[s.group as usize].delivers_input {
                input.add(s.post, w[r as usize].efficacy_mv);
            }
        });
    }
}

/// Registers delivery in [`Stage::Delivery`](crate::schedule::Stage::Delivery).
pub fn plugin(s: &mut Schedule) {
    s.add_systems(deliver_spikes.in_set(crate::schedule::Stage::Delivery));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{self, Purpose};
    use crate::spikes::Lookback;

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
    /// synapse, step after step, with mixed delays (0..=5), two tables and neurons without
    /// synapses.
    #[test]
    fn spike_driven_delivery_equals_the_scan() {
        let (neurons, max_delay, n_syn) = (70u32, 5u16, 400u32);
        let synapse = |i: u32| Synapse {
            id: i,
            pre: (rng::bits(1, i as u64, 0, Purpose::Init) % 60) as u32,
            post: (rng::bits(1, i as u64, 1, Purpose::Init) % 60) as u32,
            axonal_delay_steps: (rng::bits(1, i as u64, 2, Purpose::Init) % 6) as u16,
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
        world.insert_resource(SynapseGroups(vec![crate::world::SynapseGroupRt {
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
                e.insert(crate::synapse::Recorded);
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

    /// Delays of 63 steps and more share the last bit of a neuron's delay mask: the runs are
    /// still searched for the exact delay.
    #[test]
    fn long_delays_are_found_exactly() {
        let syn: Vec<Synapse> = [(0, 2), (0, 63), (0, 70), (1, 64)]
            .iter()
            .map(|&(pre, d)| Synapse {
                pre,
                axonal_delay_steps: d,
                ..Default::default()
            })
            .collect();
        let rows = NeuronRows::build(&syn, 2, |s| (s.pre, s.axonal_delay_steps));
        assert_eq!(rows.delays_of(0), delay_bit(2) | delay_bit(63));
        assert_eq!(delay_bit(70), delay_bit(63));
        assert_eq!(rows.rows_of(0, 70), &[2]);
        assert_eq!(rows.rows_of(0, 63), &[1]);
        assert!(rows.rows_of(0, 64).is_empty());
        assert_eq!(rows.rows_of(1, 64), &[3]);
    }
}
