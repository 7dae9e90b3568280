//! Spike delivery: presynaptic spikes arrive after each synapse's axonal delay and the
//! postsynaptic neuron receives the synapse's efficacy; back-propagating postsynaptic spikes
//! reach the spine after the dendritic delay. Each synapse reads two bits of
//! [`SpikeHistory`]: O(1) per synapse per step, no per-spike allocation.

use crate::spikes::{NeuronInput, SpikeHistory};
use crate::stages::plasticity::SynapticWeight;
use crate::synapse::{POST, PRE, Synapse, for_each_table};
use bevy_ecs::prelude::*;

/// Sets the arrival bits of each synapse and adds the efficacy of arriving presynaptic spikes to
/// the postsynaptic neuron's input for the next step.
pub fn deliver_spikes(
    mut q: Query<(&mut Synapse, &SynapticWeight)>,
    spikes: Res<SpikeHistory>,
    input: Res<NeuronInput>,
) {
    let lookback = spikes.lookback();
    for_each_table(&mut q, |(mut syn, w)| {
        let (syn, w) = (syn.bypass_change_detection(), w);
        for (s, w) in syn.iter_mut().zip(w) {
            let pre = lookback.fired(s.axonal_delay_steps as usize, s.pre);
            let post = lookback.fired(s.dendritic_delay_steps as usize, s.post);
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
