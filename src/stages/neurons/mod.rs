//! Neurons and spike sources. Each model is a marker component with its own system in the
//! Neurons stage; every system writes who fired into [`SpikeHistory`](crate::engine::spikes::SpikeHistory)
//! and consumes the synaptic input that arrived on the previous step.
//!
//! | model | equation | source |
//! |---|---|---|
//! | `Poisson` | fires with probability rate·dt per step (geometric gaps, [`poisson`]) | — |
//! | `Regular` | fires at phase + k/rate (`phase_ms` default 0) | — |
//! | `SpikeTimes` | fires at the listed times | — |
//! | `Pairing` | neuron 0 (pre) at start + k/f, neuron 1 (post) Δt later, k < pairs | plasticity protocols |
//! | `Lif` | τm dV/dt = −(V − E_L) + R·I; V ≥ θ → V = V_reset, refractory | Lapicque; Gerstner & Kistler 2002 |
//! | `Izhikevich` | dv/dt = 0.04v² + 5v + 140 − u + I, du/dt = a(bv − u); v ≥ 30 → v = c, u += d | Izhikevich 2003, IEEE TNN 14:1569 |
//!
//! Synaptic input is a jump of the membrane potential by the synapse's efficacy (mV), for LIF
//! and Izhikevich neurons alike, so its effect does not depend on dt (Izhikevich's own code adds
//! it to I for one 1 ms step, which at dt = 1 ms moves v by about 0.9 of the efficacy and at
//! dt = 0.1 ms by a tenth of that). Kicks and the uniform noise stay currents in I, as in his
//! code. Input that reaches a synapse on step s acts on the soma on step s + 1.

pub mod models;
pub mod poisson;

pub use models::*;
pub use poisson::PoissonCalendar;

use crate::stages::consolidation::ProteinPoolParams;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::core::synapse::Neuron;

/// A group of neurons of one model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronGroup {
    pub name: String,
    pub size: u32,
    pub model: NeuronModel,
    /// Protein pool of each neuron of the group (stage 6).
    #[serde(default)]
    pub protein_pool: ProteinPoolParams,
}

crate::settable!(NeuronGroup {
    name,
    size,
    model,
    protein_pool
});

/// A neuron group as it runs: its scene description (parameters may change during the run) and
/// its id range.
#[derive(Clone, Debug)]
pub struct NeuronGroupRt {
    pub spec: NeuronGroup,
    pub replica: u32,
    pub first: u32,
}

/// All neuron groups, indexed by [`Neuron::group`].
#[derive(Resource, Clone, Debug, Default)]
pub struct NeuronGroups(pub Vec<NeuronGroupRt>);

impl NeuronGroups {
    /// The group `name` of sweep replica `replica` (names are checked with the scene).
    pub fn find(&self, replica: u32, name: &str) -> &NeuronGroupRt {
        self.0
            .iter()
            .find(|g| g.replica == replica && g.spec.name == name)
            .expect("names are checked with the scene")
    }
}

/// Registers the neuron models in [`Stage::Neurons`](crate::engine::schedule::Stage::Neurons).
pub fn plugin(s: &mut Schedule) {
    use crate::engine::schedule::Stage;
    s.add_systems(
        (
            poisson::fire_poisson,
            fire_regular,
            fire_pairing,
            fire_spike_times,
            update_lif,
            update_izhikevich,
        )
            .chain()
            .in_set(Stage::Neurons),
    );
}
/// Neuron variables a recorder can sample.
pub const NEURON_VARIABLES: [&str; 3] = ["v_mv", "u", "protein"];

/// The units of [`NEURON_VARIABLES`], in that order (`""` for dimensionless): Izhikevich's `u`
/// is in mV, as `v` is; the protein pool is in the model's own units (0 to α).
pub const NEURON_VARIABLE_UNITS: [&str; 3] = ["mV", "mV", ""];
