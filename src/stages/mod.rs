//! Layer 3, the stages: the plasticity cascade, one module per stage in cascade order, with the
//! neuron models that drive it, spike delivery, the timeline of rewards and parameter changes,
//! and the per-group tables the stages read their parameters from.

pub mod ca_influx;
pub mod consolidation;
pub mod delivery;
pub mod groups;
pub mod guard;
pub mod homeostasis;
pub mod modulation;
pub mod neurons;
pub mod plasticity;
pub mod timeline;
pub mod trafficking;

use crate::engine::schedule::Plugin;

/// The built-in modules that add systems to a step, in cascade order. A new built-in module
/// with systems of its own is one more line here; a stage declared as a
/// [`SynapseStage`](crate::core::registry::SynapseStage) is registered in
/// [`crate::core::registry::Stages`] instead.
pub const BUILT_IN: [Plugin; 9] = [
    timeline::plugin,
    neurons::plugin,
    delivery::plugin,
    ca_influx::plugin,
    modulation::plugin,
    plasticity::plugin,
    trafficking::plugin,
    homeostasis::plugin,
    consolidation::plugin,
];

/// The built-in stages declared as [`SynapseStage`](crate::core::registry::SynapseStage)s:
/// what every scene, run and checkpoint knows without being told. A new built-in stage written
/// that way (its own module, like `examples/custom_stage.rs`) is one `.with(...)` here. A
/// user's program adds its own on top: `edra::stages::registered().with(camkii())`.
pub fn registered() -> crate::core::registry::Stages {
    crate::core::registry::Stages::none()
}

/// Every built-in synapse variable, in the order of outputs' columns: stage by stage, the
/// weight's after the rules' (it is read by all later stages).
pub fn synapse_variables() -> Vec<crate::core::registry::Variable> {
    [
        &ca_influx::VARIABLES[..],
        &modulation::VARIABLES,
        &plasticity::VARIABLES,
        &crate::core::weight::VARIABLES,
        &trafficking::VARIABLES,
        &consolidation::VARIABLES,
    ]
    .concat()
}

/// How many built-in synapse variables there are.
pub const SYNAPSE_VARIABLE_COUNT: usize = ca_influx::VARIABLES.len()
    + modulation::VARIABLES.len()
    + plasticity::VARIABLES.len()
    + crate::core::weight::VARIABLES.len()
    + trafficking::VARIABLES.len()
    + consolidation::VARIABLES.len();
