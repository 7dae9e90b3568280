//! Stops a run that goes non-finite, naming the synapse (or neuron), the variable and the time.
//!
//! Every step, a cheap parallel pass checks the variables every other synapse variable flows
//! into within one step (Ca and sensitivity, h, z, w, efficacy) and each neuron's potential; the
//! smallest offending id is kept with an atomic `fetch_min`, so the report does not depend on
//! thread timing. The simulation then looks that entity up once and names the first non-finite
//! variable in cascade order.

use crate::neurons::{IzhikevichState, LifState, Neuron};
use crate::stages::ca_influx::SpineHeadCa;
use crate::stages::plasticity::SynapticWeight;
use crate::synapse::{Synapse, for_each_table};
use bevy_ecs::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

/// The smallest synapse and neuron ids seen with a non-finite value (u32::MAX: none).
#[derive(Resource)]
pub struct NonFinite {
    pub synapse: AtomicU32,
    pub neuron: AtomicU32,
}

impl Default for NonFinite {
    fn default() -> Self {
        NonFinite {
            synapse: AtomicU32::new(u32::MAX),
            neuron: AtomicU32::new(u32::MAX),
        }
    }
}

impl NonFinite {
    pub fn synapse(&self) -> Option<u32> {
        Some(self.synapse.load(Relaxed)).filter(|&i| i != u32::MAX)
    }
    pub fn neuron(&self) -> Option<u32> {
        Some(self.neuron.load(Relaxed)).filter(|&i| i != u32::MAX)
    }
}

fn finite_weight(w: &SynapticWeight) -> bool {
    (w.h_mv + w.z + w.w_mv + w.efficacy_mv).is_finite()
}

/// System (Record): flags the smallest synapse id with a non-finite value.
pub fn check_synapses_finite(
    mut q: Query<(&Synapse, &SpineHeadCa, &SynapticWeight)>,
    flag: Res<NonFinite>,
) {
    for_each_table(&mut q, |(syn, ca, w)| {
        let (syn, ca, w) = (syn, ca, w);
        let bad =
            |i: usize| !((ca[i].ca_um + ca[i].sensitivity).is_finite() && finite_weight(&w[i]));
        if let Some(i) = (0..syn.len()).find(|&i| bad(i)) {
            let first = (i..syn.len()).filter(|&j| bad(j)).map(|j| syn[j].id).min();
            flag.synapse.fetch_min(first.unwrap_or(u32::MAX), Relaxed);
        }
    });
}

/// System (Record): flags the smallest neuron id with a non-finite membrane state. Spike
/// sources have no membrane state and are not visited.
pub fn check_neurons_finite(
    lif: Query<(&Neuron, &LifState)>,
    izh: Query<(&Neuron, &IzhikevichState)>,
    flag: Res<NonFinite>,
) {
    for (n, s) in &lif {
        if !s.v_mv.is_finite() {
            flag.neuron.fetch_min(n.id, Relaxed);
        }
    }
    for (n, s) in &izh {
        if !(s.v_mv + s.u).is_finite() {
            flag.neuron.fetch_min(n.id, Relaxed);
        }
    }
}
