//! What a built-in synapse component says of itself to the build: which groups' synapses carry
//! it, and its value on a new synapse. With its checkpoint columns
//! ([`crate::core::columns::StateColumns`]) and its output variables
//! ([`crate::core::registry::Observed`]), declared beside it, this is all the build, the
//! outputs, the checkpoint, `edra show` and the synapse page need to know of it; the list of
//! components is `cascade!` (src/stages/mod.rs).

use crate::core::columns::StateColumns;
use crate::core::registry::Observed;
use crate::core::synapse::Synapse;
use crate::stages::groups::{SynapseGroup, SynapseGroupRt};
use bevy_ecs::component::{Component, Mutable};

/// A new synapse as the scene makes it: its identity and delays, and the initial state of its
/// weight sampled from the seed (rows of the `cascade!` list's components are made from
/// it).
#[derive(Clone, Copy, Debug)]
pub struct NewSynapse<'a> {
    pub group: &'a SynapseGroupRt,
    pub synapse: Synapse,
    /// Initial efficacy state ρ of the calcium rule (0..1).
    pub rho: f64,
    /// Early-phase weight h, mV.
    pub h_mv: f32,
    /// Late-phase weight z (relative to h0).
    pub z: f32,
    /// Total weight w = h + h0·z, mV.
    pub w_mv: f32,
}

/// A built-in component of synapses, listed once in `cascade!` (src/stages/mod.rs).
pub trait SynapseComponent:
    Component<Mutability = Mutable> + Copy + Default + StateColumns + Observed
{
    /// Whether the synapses of group `g` carry it: yes by default, as for the `one`
    /// components every synapse carries. Of the components of one `any [...]` slot of the
    /// list, at most one may say yes for a group.
    fn in_group(_g: &SynapseGroup) -> bool {
        true
    }

    /// Its value on a new synapse: the default unless the component says otherwise.
    fn fresh(_new: &NewSynapse) -> Self {
        Self::default()
    }
}

impl SynapseComponent for Synapse {
    fn fresh(new: &NewSynapse) -> Self {
        new.synapse
    }
}
