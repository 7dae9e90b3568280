//! Synapse groups: their description (the scene's `synapses` entries, read by every stage) and
//! the per-group runtime tables the stages take their parameters from.

use crate::core::param_path::{At, ParamValue, SetError, SetPath};
use crate::core::params::Dist;
use crate::stages::ca_influx::CaModel;
use crate::stages::consolidation::ConsolidationParams;
use crate::stages::plasticity::{DopamineGating, Rule};
use crate::stages::trafficking::AmpaTraffickingParams;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the synapses of a group connect its presynaptic and postsynaptic neurons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Connectivity {
    /// Neuron i to neuron i (groups of equal size).
    OneToOne,
    AllToAll,
    /// Each pair independently with probability `p`.
    FixedProbability(f64),
    /// Each postsynaptic neuron gets exactly `k` distinct presynaptic partners (`k` at most the
    /// size of the pre group, one fewer when pre and post are one group without autapses).
    FixedInDegree(u32),
    /// Each presynaptic neuron gets exactly `k` distinct postsynaptic partners (`k` at most the
    /// size of the post group, one fewer when pre and post are one group without autapses).
    FixedOutDegree(u32),
}

/// Initial state of a group's synapses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SynapseInit {
    /// Early weight h, mV (for the calcium rule the initial weight is read from `rho`). Default 1.0.
    pub h_mv: Dist,
    /// Late weight z. Default 0.
    pub z: Dist,
    /// Calcium-rule efficacy ρ (0..1). Default 0.
    pub rho: Dist,
}

impl Default for SynapseInit {
    fn default() -> Self {
        SynapseInit {
            h_mv: Dist::Const(1.0),
            z: Dist::Const(0.0),
            rho: Dist::Const(0.0),
        }
    }
}

/// A group of synapses sharing their models and parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynapseGroup {
    pub name: String,
    /// Presynaptic neuron group.
    pub pre: String,
    /// Postsynaptic neuron group.
    pub post: String,
    pub connectivity: Connectivity,
    /// Whether a neuron may synapse onto itself (when pre and post are the same group). Default false.
    #[serde(default)]
    pub allow_autapses: bool,
    /// Axonal delay (spike to synapse and soma), ms. Default 1.0.
    #[serde(default = "default_axonal")]
    pub axonal_delay_ms: Dist,
    /// Dendritic delay (postsynaptic spike to spine), ms. Default 0.
    #[serde(default)]
    pub dendritic_delay_ms: Dist,
    /// Inhibitory synapses deliver a negative efficacy. Default false.
    #[serde(default)]
    pub inhibitory: bool,
    /// Stage 1: calcium model. Default: NMDA with default parameters.
    #[serde(default)]
    pub ca: CaModel,
    /// Stage 3: plasticity rule. Default: pair STDP with default parameters.
    #[serde(default)]
    pub rule: Rule,
    /// Stage 2: the dopamine region the synapses sit in (sets NMDA Ca sensitivity). Default none.
    #[serde(default)]
    pub region: Option<String>,
    /// Stage 3: dopamine gating of pair STDP (needs `region`). Default none.
    #[serde(default)]
    pub gating: Option<DopamineGating>,
    /// Stage 4: AMPA trafficking. Default none (efficacy = weight).
    #[serde(default)]
    pub trafficking: Option<AmpaTraffickingParams>,
    /// Stage 6: tagging and capture. Default none.
    #[serde(default)]
    pub consolidation: Option<ConsolidationParams>,
    #[serde(default)]
    pub init: SynapseInit,
    /// Registered stages this group's synapses take part in, each with its parameters
    /// (`{"camkii": (tau_ms: 2000.0)}`, `()` for the defaults); see
    /// [`crate::core::registry`]. Default none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stages: BTreeMap<String, ron::Value>,
}

fn default_axonal() -> Dist {
    Dist::Const(1.0)
}

/// `connectivity.FixedProbability` (or `connectivity`) sets p or k of the group's connectivity.
impl SetPath for Connectivity {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        match self {
            Connectivity::FixedProbability(p) => p.set_at(at.variant("FixedProbability"), value),
            Connectivity::FixedInDegree(k) => k.set_at(at.variant("FixedInDegree"), value),
            Connectivity::FixedOutDegree(k) => k.set_at(at.variant("FixedOutDegree"), value),
            Connectivity::OneToOne | Connectivity::AllToAll => Err(at.no_such(&[])),
        }
    }
}

crate::settable!(SynapseInit { h_mv, z, rho });

crate::settable!(SynapseGroup {
    name,
    pre,
    post,
    connectivity,
    allow_autapses,
    axonal_delay_ms,
    dendritic_delay_ms,
    inhibitory,
    ca,
    rule,
    region,
    gating,
    trafficking,
    consolidation,
    init,
    stages,
});

/// A synapse group as it runs: its scene description (parameters may change during the run
/// through the timeline), its replica in a sweep, and what its names resolved to.
#[derive(Clone, Debug)]
pub struct SynapseGroupRt {
    pub spec: SynapseGroup,
    pub replica: u32,
    /// Dense index of its dopamine region.
    pub region: Option<u32>,
    /// +1 for excitatory, −1 for inhibitory groups.
    pub sign: f32,
    /// Whether arriving spikes add to the postsynaptic neuron's input: only onto model neurons
    /// (LIF, Izhikevich); spike sources ignore it.
    pub delivers_input: bool,
    /// Ids `first_id..first_id + count` belong to this group.
    pub first_id: u32,
    pub count: u32,
}

impl SynapseGroupRt {
    /// Baseline h0 of the late weight (0 without consolidation): w = h + h0·z.
    pub fn h0_mv(&self) -> f64 {
        self.spec.consolidation.as_ref().map_or(0.0, |c| c.h0_mv)
    }

    /// Whether no stage changes this group's synapses after the build: a static rule, without
    /// spine Ca, trafficking or consolidation. Their efficacy still follows astrocyte scaling.
    pub fn is_frozen(&self) -> bool {
        use crate::stages::{ca_influx::CaModel, plasticity::Rule};
        let s = &self.spec;
        matches!(s.rule, Rule::Static)
            && s.ca == CaModel::Off
            && s.trafficking.is_none()
            && s.consolidation.is_none()
    }
}

/// All synapse groups, indexed by [`Synapse::group`](crate::core::synapse::Synapse::group).
#[derive(Resource, Clone, Debug, Default)]
pub struct SynapseGroups(pub Vec<SynapseGroupRt>);

/// The sweep: the parameter paths and, for each replica, their values.
#[derive(Resource, Clone, Debug, Default)]
pub struct Replicas {
    pub paths: Vec<String>,
    pub values: Vec<Vec<f64>>,
}
