//! Which neurons this process steps when a run is shared among ranks (MPI processes).
//!
//! A rank owns a share of the neurons and every synapse onto them, so that the input sums,
//! each neuron's protein pool and all postsynaptic state stay local; only spikes cross ranks.
//! Neurons are dealt round-robin (neuron `i` to rank `i mod K`), as NEST deals them to its
//! virtual processes: every group is spread evenly over the ranks, whatever the order of the
//! groups in the scene. Poisson sources are neurons like the others: a rank fires the ones it
//! owns and sends their spikes. Everything that does not belong to one neuron (dopamine
//! regions, astrocytes, reward rules) is kept whole by every rank and computed identically on
//! each.

use bevy_ecs::prelude::*;

/// This rank's share of the neurons: rank `rank` of `ranks`.
#[derive(Resource, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub rank: u32,
    pub ranks: u32,
}

impl Default for Partition {
    fn default() -> Self {
        Partition::WHOLE
    }
}

impl Partition {
    /// One process owning everything.
    pub const WHOLE: Partition = Partition { rank: 0, ranks: 1 };

    /// Rank `rank` of `ranks` (`rank < ranks`, at least one rank).
    pub fn new(rank: u32, ranks: u32) -> Partition {
        assert!(ranks >= 1 && rank < ranks, "rank {rank} of {ranks}");
        Partition { rank, ranks }
    }

    /// Whether this process owns everything.
    pub fn is_whole(&self) -> bool {
        self.ranks == 1
    }

    /// Whether this rank owns `neuron` (and so steps it and holds the synapses onto it).
    #[inline]
    pub fn owns(&self, neuron: u32) -> bool {
        neuron % self.ranks == self.rank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_neuron_has_exactly_one_owner() {
        for ranks in 1..=5 {
            let parts: Vec<Partition> = (0..ranks).map(|r| Partition::new(r, ranks)).collect();
            for n in [0u32, 1, 7, 64, 1001] {
                for i in 0..n {
                    let owners = parts.iter().filter(|p| p.owns(i)).count();
                    assert_eq!(owners, 1, "neuron {i} of {n}, {ranks} ranks");
                }
            }
        }
    }
}
