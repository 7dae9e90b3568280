//! The identity of a synapse entity and of a neuron entity, and the parallel loop over their
//! tables. A synapse's identity is: who it connects, with which delays, in which group, and which
//! spikes reached it on the current step.

use bevy_ecs::batching::BatchingStrategy;
use bevy_ecs::prelude::*;
use bevy_ecs::query::{ArchetypeFilter, ArchetypeQueryData, ContiguousQueryData};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Bit of [`Synapse::arrivals`]: a presynaptic spike arrived (after the axonal delay).
pub const PRE: u8 = 1;
/// Bit of [`Synapse::arrivals`]: a back-propagating postsynaptic spike reached the spine
/// (after the dendritic delay).
pub const POST: u8 = 2;

/// Links of one synapse. `id` is its dense index (0..n in build order), used for output order
/// and as the key of its random streams.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Synapse {
    pub id: u32,
    pub pre: u32,
    pub post: u32,
    pub group: u16,
    pub axonal_delay_steps: u16,
    pub dendritic_delay_steps: u16,
    /// Spikes that reached this synapse on the current step: [`PRE`] | [`POST`]. Written by the
    /// Delivery stage for clock-driven synapses; event-driven ones gather their arrivals in
    /// their own system and leave it 0.
    pub arrivals: u8,
}

// Its checkpoint columns: the identity and delays are checked against what the scene's seed
// connects (`check_rows`); at most PRE | POST spikes arrive on a step.
crate::state_columns! {
    "synapses" Synapse {
        pre: u32 = pre, checked;
        post: u32 = post, checked;
        group: u16 = group, checked;
        axonal_delay_steps: u16 = axonal_delay_steps, checked;
        dendritic_delay_steps: u16 = dendritic_delay_steps, checked;
        arrivals: u8 = arrivals, [0, 3];
    }
}

impl Synapse {
    #[inline(always)]
    pub fn pre_arrived(&self) -> bool {
        self.arrivals & PRE != 0
    }
    #[inline(always)]
    pub fn post_arrived(&self) -> bool {
        self.arrivals & POST != 0
    }
}

/// A neuron's dense index and group.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Neuron {
    pub id: u32,
    pub group: u16,
}

/// Marks the synapses (and neurons) named by a recorder, so that recording iterates a small
/// archetype instead of looking entities up.
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct Recorded;

/// Splits a table slice into runs of one group each. Synapses and neurons are spawned group
/// after group and never move, so every table is sorted by group ([`tables_sorted_by_group`]
/// checks it after the build): a slice is usually one run, found by comparing its ends, and
/// otherwise each run's end is found by binary search. Every stage kernel takes one run and its
/// group's parameters.
pub struct GroupRuns<'a, T> {
    items: &'a [T],
    pos: usize,
    group: fn(&T) -> u16,
}

impl<T> Iterator for GroupRuns<'_, T> {
    type Item = (usize, Range<usize>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        let rest = self.items.get(start..).filter(|r| !r.is_empty())?;
        let g = (self.group)(&rest[0]);
        let len = if (self.group)(&rest[rest.len() - 1]) == g {
            rest.len()
        } else {
            rest.partition_point(|s| (self.group)(s) == g)
        };
        self.pos = start + len;
        Some((g as usize, start..start + len))
    }
}

/// The runs of equal group in `syn` (a slice of one table, sorted by group).
pub fn group_runs(syn: &[Synapse]) -> GroupRuns<'_, Synapse> {
    GroupRuns {
        items: syn,
        pos: 0,
        group: |s| s.group,
    }
}

/// The runs of equal group in `neurons` (a slice of one table, sorted by group).
pub fn neuron_group_runs(neurons: &[Neuron]) -> GroupRuns<'_, Neuron> {
    GroupRuns {
        items: neurons,
        pos: 0,
        group: |n| n.group,
    }
}

/// Whether every table slice of synapses and of neurons is sorted by group, as
/// [`group_runs`] and [`neuron_group_runs`] need.
pub fn tables_sorted_by_group(world: &mut World) -> bool {
    let mut q = world.query::<&Synapse>();
    let Ok(mut tables) = q.contiguous_iter(world) else {
        return false;
    };
    let synapses = tables.all(|syn| syn.windows(2).all(|p| p[0].group <= p[1].group));
    let mut q = world.query::<&Neuron>();
    let Ok(mut tables) = q.contiguous_iter(world) else {
        return false;
    };
    synapses && tables.all(|ns| ns.windows(2).all(|p| p[0].group <= p[1].group))
}

/// How parallel stage loops split their tables: several batches per thread balance the load
/// (a prototype gained 10–50 % over one batch per thread).
pub fn batching() -> BatchingStrategy {
    BatchingStrategy::new().batches_per_thread(8)
}

/// Below this many rows a stage kernel runs on the calling thread: a parallel pass costs a few
/// µs of task spawning and joining, more than the work of a small population.
pub const SERIAL_BELOW_ROWS: usize = 32_768;

/// Runs `kernel` on every table slice of `q`: on the calling thread for fewer than
/// [`SERIAL_BELOW_ROWS`] rows, otherwise in parallel batches ([`batching`]). The slices, and so
/// the results, are the same either way: kernels only write the rows they are given.
pub fn for_each_table<'w, 's, D, F>(
    q: &mut Query<'w, 's, D, F>,
    kernel: impl for<'a> Fn(D::Contiguous<'a, 's>) + Send + Sync + Clone,
) where
    D: ContiguousQueryData,
    D::ReadOnly: ArchetypeQueryData,
    F: ArchetypeFilter,
{
    if q.iter().len() < SERIAL_BELOW_ROWS {
        q.contiguous_iter_mut()
            .expect("stage queries are dense")
            .for_each(kernel);
    } else {
        q.contiguous_par_iter_mut()
            .expect("stage queries are dense")
            .batching_strategy(batching())
            .for_each(kernel);
    }
}

/// A synapse's links are not output variables: they are the id, pre and post columns.
impl crate::core::registry::Observed for Synapse {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_on_group_changes() {
        let s = |group| Synapse {
            group,
            ..Default::default()
        };
        let syn = [s(0), s(0), s(1), s(2), s(2), s(2), s(5)];
        let runs: Vec<_> = group_runs(&syn).collect();
        assert_eq!(runs, vec![(0, 0..2), (1, 2..3), (2, 3..6), (5, 6..7)]);
        assert_eq!(group_runs(&syn[3..6]).collect::<Vec<_>>(), vec![(2, 0..3)]);
        assert_eq!(group_runs(&[]).count(), 0);
    }
}
