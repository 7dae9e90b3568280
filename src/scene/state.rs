//! The complete dynamic state of a run, as stored in a checkpoint.
//!
//! A checkpoint is the scene it came from plus this state: loading it rebuilds the world from
//! the scene (connectivity from the stored columns, not from the seed) and then overwrites every
//! entity's state, the spikes still in flight (spike history and pending neuron input), the
//! reward rules' memory and the rewards they have scheduled. Floats are written in Rust's
//! shortest round-trip form, so a resumed run is bit-identical to one that never stopped.

use crate::scene::binary::{Column, ColumnMut, ColumnRef};
use crate::scene::column::Col;
use crate::stages::homeostasis::AstrocyteUnit;
use crate::stages::plasticity::event_stdp::EventEpoch;
use crate::stages::timeline::PendingReward;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per-synapse columns, in id order. Columns of components a synapse lacks hold 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynapseColumns {
    pub pre: Col<u32>,
    pub post: Col<u32>,
    pub group: Col<u16>,
    pub axonal_delay_steps: Col<u16>,
    pub dendritic_delay_steps: Col<u16>,
    pub arrivals: Col<u8>,
    pub glutamate_mm: Col<f32>,
    pub spine_v_mv: Col<f32>,
    pub nmda_open_fraction: Col<f32>,
    pub ca_um: Col<f32>,
    pub ca_sensitivity: Col<f32>,
    pub x_pre: Col<f32>,
    pub y_post: Col<f32>,
    pub eligibility_mv: Col<f32>,
    pub rho: Col<f64>,
    pub h_mv: Col<f32>,
    pub z: Col<f32>,
    pub w_mv: Col<f32>,
    pub efficacy_mv: Col<f32>,
    pub psd_receptors: Col<f32>,
    pub total_receptors: Col<f32>,
    pub tagged: Vec<bool>,
    /// Residuals of h (early calcium rule) and z (consolidation) below f32 resolution
    /// ([`crate::core::fine`]); 0 for other synapses. Left out of a checkpoint when all 0 (and absent
    /// in checkpoints written before edra kept them), which then resumes with residuals 0.
    #[serde(default, skip_serializing_if = "all_zero")]
    pub h_residual_mv: Col<f32>,
    #[serde(default, skip_serializing_if = "all_zero")]
    pub z_residual: Col<f32>,
    /// The [`EventDriven`](crate::core::weight::EventDriven) clock of each event-driven synapse
    /// (0 for the others): for pair STDP the first step not yet taken, for the calcium rule the
    /// step of its last spike; empty in a scene without event-driven groups.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub next_step: Col<u64>,
    /// Columns of built-in components that the fields above do not name (a component added to
    /// the cascade after these fields were set), by their full name (`synapses.<field>`), each
    /// with its type: `{"synapses.foo_um": F32([...])}`. Absent while there are none. The build
    /// checks each against its component's declaration ([`crate::core::columns`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub more: BTreeMap<String, Column>,
    /// The variables of registered stages ([`crate::core::registry`]), by name; absent without
    /// registered stages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub registered: BTreeMap<String, Vec<f32>>,
}

/// Per-neuron columns, in id order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronColumns {
    pub v_mv: Col<f32>,
    pub u: Col<f32>,
    pub refractory_steps: Col<u32>,
    pub spike_cursor: Col<u32>,
    pub protein: Col<f64>,
    /// Next spike step of each Poisson source (`u64::MAX`: never; 0 for other neurons); empty
    /// in a scene without Poisson sources.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub poisson_next_step: Col<u64>,
}

/// One dopamine region's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionState {
    pub dopamine_um: f32,
    pub occupancy: f32,
    pub pka: f32,
}

/// Everything that changes during a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Steps completed.
    pub step: u64,
    /// Version of edra that wrote the checkpoint.
    pub edra_version: String,
    pub synapses: SynapseColumns,
    pub neurons: NeuronColumns,
    pub regions: Vec<RegionState>,
    pub astrocytes: Vec<AstrocyteUnit>,
    /// Spike history words, oldest row first.
    pub spike_history: Col<u64>,
    /// Pending synaptic input per neuron, 32.32 fixed point mV.
    pub neuron_input: Col<i64>,
    /// Last presynaptic spike step of each reward rule.
    pub rule_last_pre: Vec<Option<u64>>,
    pub pending_rewards: Vec<PendingReward>,
    /// The epoch of event-driven pair STDP, if the scene has such groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_epoch: Option<EventEpoch>,
}

/// Whether a column has no values (such a column is left out of a checkpoint).
fn is_empty(c: &Col<u64>) -> bool {
    c.is_empty()
}

/// Whether every value of a column is 0 (such a column is left out of a checkpoint).
fn all_zero(c: &Col<f32>) -> bool {
    c.iter().all(|x| *x == 0.0)
}

/// Calls `$f` with every column of a state (`$s`) and its name, as `$v` (`ColumnMut` or
/// `ColumnRef`) of `$($r)*` (`&mut` or `&`) the column, and `Column::$borrow` of those in
/// `more` (after the synapse fields): one list, for both.
macro_rules! each_column {
    ($s:expr, $f:expr, $v:ident, $borrow:ident, $($r:tt)*) => {{
        use $v::*;
        let s = $($r)* $s.synapses;
        $f("synapses.pre", U32($($r)* s.pre));
        $f("synapses.post", U32($($r)* s.post));
        $f("synapses.group", U16($($r)* s.group));
        $f("synapses.axonal_delay_steps", U16($($r)* s.axonal_delay_steps));
        $f("synapses.dendritic_delay_steps", U16($($r)* s.dendritic_delay_steps));
        $f("synapses.arrivals", U8($($r)* s.arrivals));
        $f("synapses.glutamate_mm", F32($($r)* s.glutamate_mm));
        $f("synapses.spine_v_mv", F32($($r)* s.spine_v_mv));
        $f("synapses.nmda_open_fraction", F32($($r)* s.nmda_open_fraction));
        $f("synapses.ca_um", F32($($r)* s.ca_um));
        $f("synapses.ca_sensitivity", F32($($r)* s.ca_sensitivity));
        $f("synapses.x_pre", F32($($r)* s.x_pre));
        $f("synapses.y_post", F32($($r)* s.y_post));
        $f("synapses.eligibility_mv", F32($($r)* s.eligibility_mv));
        $f("synapses.rho", F64($($r)* s.rho));
        $f("synapses.h_residual_mv", F32($($r)* s.h_residual_mv));
        $f("synapses.h_mv", F32($($r)* s.h_mv));
        $f("synapses.z", F32($($r)* s.z));
        $f("synapses.w_mv", F32($($r)* s.w_mv));
        $f("synapses.efficacy_mv", F32($($r)* s.efficacy_mv));
        $f("synapses.next_step", U64($($r)* s.next_step));
        $f("synapses.psd_receptors", F32($($r)* s.psd_receptors));
        $f("synapses.total_receptors", F32($($r)* s.total_receptors));
        $f("synapses.tagged", Bool($($r)* s.tagged));
        $f("synapses.z_residual", F32($($r)* s.z_residual));
        for (name, col) in $($r)* s.more {
            $f(name, col.$borrow());
        }
        let n = $($r)* $s.neurons;
        $f("neurons.v_mv", F32($($r)* n.v_mv));
        $f("neurons.u", F32($($r)* n.u));
        $f("neurons.refractory_steps", U32($($r)* n.refractory_steps));
        $f("neurons.spike_cursor", U32($($r)* n.spike_cursor));
        $f("neurons.protein", F64($($r)* n.protein));
        $f("neurons.poisson_next_step", U64($($r)* n.poisson_next_step));
        $f("spike_history", U64($($r)* $s.spike_history));
        $f("neuron_input", I64($($r)* $s.neuron_input));
    }};
}

impl State {
    /// Every column of the state with its name in a binary checkpoint
    /// ([`crate::scene::binary`]), in the order written there (the synapse columns in the order
    /// their components declare them, [`crate::core::columns`]), for reading and writing that
    /// form; the registered stages' columns (a map) are handled there.
    pub fn visit_columns(&mut self, f: &mut dyn FnMut(&str, ColumnMut<'_>)) {
        each_column!(self, f, ColumnMut, as_mut, &mut)
    }

    /// Every column of the state with its name, read-only, as [`State::visit_columns`].
    pub fn columns<'a>(&'a self, f: &mut dyn FnMut(&'a str, ColumnRef<'a>)) {
        each_column!(self, f, ColumnRef, as_ref, &)
    }
}
