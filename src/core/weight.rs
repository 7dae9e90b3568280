//! The synaptic weight, which every stage from plasticity on reads or writes, and the marker of
//! synapses whose plasticity is stepped only when spikes reach them.

use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

use crate::core::registry::{Observed, Read, Variable};
use crate::core::stage::Stage;

/// The variables of the weight, each under the stage that sets it.
impl Observed for SynapticWeight {
    const VARIABLES: &'static [Read<Self>] = &[
        Read {
            variable: Variable {
                name: "h_mv",
                unit: "mV",
                stage: Stage::Plasticity,
                component: "SynapticWeight",
                doc: "early-phase weight",
            },
            read: |w| w.h_mv,
        },
        Read {
            variable: Variable {
                name: "z",
                unit: "",
                stage: Stage::Consolidation,
                component: "SynapticWeight",
                doc: "late-phase weight",
            },
            read: |w| w.z,
        },
        Read {
            variable: Variable {
                name: "w_mv",
                unit: "mV",
                stage: Stage::Plasticity,
                component: "SynapticWeight",
                doc: "total weight h + h0·z",
            },
            read: |w| w.w_mv,
        },
        Read {
            variable: Variable {
                name: "efficacy_mv",
                unit: "mV",
                stage: Stage::Trafficking,
                component: "SynapticWeight",
                doc: "jump of the postsynaptic potential per arriving spike",
            },
            read: |w| w.efficacy_mv,
        },
    ];
}

/// Strength of a synapse. `h` is the early-phase weight set by the plasticity rule, `z` the
/// late-phase weight set by consolidation (stage 6, dimensionless), `w = h + h0·z` the total, and
/// `efficacy_mv` what the postsynaptic neuron receives per arriving spike (stage 4: proportional
/// to PSD AMPA receptors, or `w` without trafficking; scaled by the astrocyte; negative for
/// inhibitory groups).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SynapticWeight {
    pub h_mv: f32,
    pub z: f32,
    pub w_mv: f32,
    pub efficacy_mv: f32,
}

// Its checkpoint columns: z is checked against its group's limits (wider with consolidation).
crate::state_columns! {
    "synapses" SynapticWeight {
        h_mv: f32 = h_mv, [-1e3, 1e3];
        z: f32 = z, checked;
        w_mv: f32 = w_mv, [-1e9, 1e9];
        efficacy_mv: f32 = efficacy_mv, [-1e9, 1e9];
    }
}

/// What the postsynaptic neuron receives per arriving spike from a synapse without AMPA
/// trafficking: efficacy = sign·w·S, with S the astrocyte scaling of the postsynaptic neuron
/// (1 without astrocytes; van Rossum et al. 2000 form of multiplicative scaling) and sign −1 for
/// inhibitory groups. With trafficking, w is replaced by the PSD receptors' efficacy (stage 4).
#[inline(always)]
pub fn direct_efficacy_mv(sign: f32, w_mv: f32, scale: f32) -> f32 {
    sign * w_mv * scale
}

/// Marks a synapse of an event-driven group, updated only when a spike reaches it. Pair STDP:
/// its traces and weight are those at the end of step `next_step − 1`; the steps from
/// `next_step` on are taken when a spike reaches it or at the end of the epoch. Calcium rule:
/// its Ca is that after the jumps of step `next_step` (its last spike) and ρ that at the start
/// of that step.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub struct EventDriven {
    pub next_step: u64,
}

// Its checkpoint column, written only in a scene with event-driven groups: a step not after the
// checkpoint's (checked against it).
crate::state_columns! {
    "synapses" EventDriven {
        next_step: u64 = next_step, checked, optional;
    }
}

/// The step an event-driven synapse is up to date with is bookkeeping, not a variable.
impl Observed for EventDriven {}
