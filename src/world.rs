//! Per-group runtime tables shared by the stages.

use crate::scene::SynapseGroup;
use bevy_ecs::prelude::*;

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
    /// Whether arriving spikes add to the postsynaptic neuron's input: false onto Poisson
    /// sources, which ignore it.
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

/// All synapse groups, indexed by [`Synapse::group`](crate::synapse::Synapse::group).
#[derive(Resource, Clone, Debug, Default)]
pub struct SynapseGroups(pub Vec<SynapseGroupRt>);

/// The sweep: the parameter paths and, for each replica, their values.
#[derive(Resource, Clone, Debug, Default)]
pub struct Replicas {
    pub paths: Vec<String>,
    pub values: Vec<Vec<f64>>,
}
