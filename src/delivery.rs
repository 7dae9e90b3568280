//! Spike delivery: presynaptic spikes arrive after each synapse's axonal delay and the
//! postsynaptic neuron receives the synapse's efficacy; back-propagating postsynaptic spikes
//! reach the spine after the dendritic delay. Each synapse reads two bits of
//! [`SpikeHistory`]: O(1) per synapse per step, no per-spike allocation.

use crate::clock::Clock;
use crate::spikes::{NeuronInput, SpikeHistory};
use crate::stages::plasticity::SynapticWeight;
use crate::synapse::{POST, PRE, Synapse, batching};
use bevy_ecs::prelude::*;

/// Sets the arrival bits of each synapse and adds the efficacy of arriving presynaptic spikes to
/// the postsynaptic neuron's input for the next step.
pub fn deliver_spikes(
    mut q: Query<(&mut Synapse, &SynapticWeight)>,
    clock: Res<Clock>,
    spikes: Res<SpikeHistory>,
    input: Res<NeuronInput>,
) {
    let step = clock.step;
    q.contiguous_par_iter_mut()
        .expect("stage queries are dense")
        .batching_strategy(batching())
        .for_each(|(mut syn, w)| {
            let (syn, w) = (syn.bypass_change_detection(), w);
            for (s, w) in syn.iter_mut().zip(w) {
                let pre = spikes.fired(step, s.axonal_delay_steps as u64, s.pre);
                let post = spikes.fired(step, s.dendritic_delay_steps as u64, s.post);
                s.arrivals = if pre { PRE } else { 0 } | if post { POST } else { 0 };
                if pre {
                    input.add(s.post, w.efficacy_mv);
                }
            }
        });
}

/// Registers delivery in [`Stage::Delivery`](crate::schedule::Stage::Delivery).
pub fn plugin(s: &mut Schedule) {
    s.add_systems(deliver_spikes.in_set(crate::schedule::Stage::Delivery));
}
