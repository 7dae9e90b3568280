//! What can be read off an entity, and recorders that sample it during a run.
//!
//! Every variable has a column name with its unit and the cascade stage it belongs to. The same
//! table drives `synapses.csv`, the recorders' CSVs, `edra show` and the non-finite check.

use crate::clock::Clock;
use crate::neurons::{IzhikevichState, LifState, Neuron};
use crate::params::{Checker, is_name};
use crate::scene::{Names, RecordTarget, Recorder};
use crate::stages::ca_influx::{NmdaSpine, SpineHeadCa};
use crate::stages::consolidation::{ConsolidationProteinPool, SynapticTag};
use crate::stages::homeostasis::AstrocyteUnit;
use crate::stages::modulation::{DopamineCleft, DopamineReceptor, ModulatoryCascade, RegionId};
use crate::stages::plasticity::event_stdp::{CaughtUp, EventDriven, EventView};
use crate::stages::plasticity::{CaRuleState, EarlyCalciumRule, StdpTraces, SynapticWeight};
use crate::stages::trafficking::AmpaPools;
use crate::synapse::{Recorded, Synapse};
use bevy_ecs::prelude::*;
use bevy_ecs::query::QueryData;

/// A synapse variable: CSV column (unit in the name), cascade stage, component.
pub struct Variable {
    pub name: &'static str,
    pub stage: &'static str,
    pub component: &'static str,
}

const fn var(name: &'static str, stage: &'static str, component: &'static str) -> Variable {
    Variable {
        name,
        stage,
        component,
    }
}

/// Every synapse state variable, in cascade order.
pub const SYNAPSE_VARIABLES: [Variable; 16] = [
    var("glutamate_mm", "1 Ca influx", "NmdaSpine"),
    var("spine_v_mv", "1 Ca influx", "NmdaSpine"),
    var("nmda_open_fraction", "1 Ca influx", "NmdaSpine"),
    var("ca_um", "1 Ca influx", "SpineHeadCa"),
    var("ca_sensitivity", "2 Modulation", "SpineHeadCa"),
    var("x_pre", "3 Plasticity", "StdpTraces"),
    var("y_post", "3 Plasticity", "StdpTraces"),
    var("eligibility_mv", "3 Plasticity", "StdpTraces"),
    var("rho", "3 Plasticity", "CaRuleState"),
    var("h_mv", "3 Plasticity", "SynapticWeight"),
    var("z", "6 Consolidation", "SynapticWeight"),
    var("w_mv", "3 Plasticity", "SynapticWeight"),
    var("efficacy_mv", "4 Trafficking", "SynapticWeight"),
    var("psd_receptors", "4 Trafficking", "AmpaPools"),
    var("endosome_receptors", "4 Trafficking", "AmpaPools"),
    var("tagged", "6 Consolidation", "SynapticTag"),
];

/// Read access to every component a synapse may carry.
#[derive(QueryData)]
pub struct SynapseData {
    pub entity: Entity,
    pub synapse: &'static Synapse,
    pub nmda: Option<&'static NmdaSpine>,
    pub spine: &'static SpineHeadCa,
    pub traces: Option<&'static StdpTraces>,
    pub rho: Option<&'static CaRuleState>,
    pub weight: &'static SynapticWeight,
    pub pools: Option<&'static AmpaPools>,
    pub tag: Option<&'static SynapticTag>,
    pub early: Option<&'static EarlyCalciumRule>,
    pub event: Option<&'static EventDriven>,
}

impl SynapseDataItem<'_, '_> {
    /// The values of [`SYNAPSE_VARIABLES`]; `None` where the synapse lacks the component. An
    /// event-driven synapse is shown brought up to date (`now`), without being written.
    pub fn values(&self, now: &CaughtUp) -> [Option<f32>; 16] {
        let (traces, w) = now.view(self.synapse, self.event, self.traces, self.weight);
        [
            self.nmda.map(|n| n.cleft_glutamate_mm),
            self.nmda.map(|n| n.membrane_v_mv),
            self.nmda.map(|n| n.nmda_open_fraction),
            Some(self.spine.ca_um),
            Some(self.spine.sensitivity),
            traces.map(|t| t.x_pre),
            traces.map(|t| t.y_post),
            traces.map(|t| t.eligibility_mv),
            self.rho.map(|r| r.rho as f32),
            Some(w.h_mv),
            Some(w.z),
            Some(w.w_mv),
            Some(w.efficacy_mv),
            self.pools.map(|p| p.psd),
            self.pools.map(|p| p.endosome()),
            self.tag.map(|t| t.tagged as u8 as f32),
        ]
    }
}

/// Neuron variables.
pub const NEURON_VARIABLES: [&str; 3] = ["v_mv", "u", "protein"];

/// Read access to a neuron's state.
#[derive(QueryData)]
pub struct NeuronData {
    pub neuron: &'static Neuron,
    pub lif: Option<&'static LifState>,
    pub izh: Option<&'static IzhikevichState>,
    pub pool: Option<&'static ConsolidationProteinPool>,
}

impl NeuronDataItem<'_, '_> {
    pub fn values(&self) -> [Option<f32>; 3] {
        let v = self.lif.map(|s| s.v_mv).or(self.izh.map(|s| s.v_mv));
        [
            v,
            self.izh.map(|s| s.u),
            self.pool.map(|p| p.protein as f32),
        ]
    }
}

/// Dopamine region variables.
pub const REGION_VARIABLES: [&str; 3] = ["dopamine_um", "receptor_occupancy", "pka"];
/// Astrocyte variables.
pub const ASTROCYTE_VARIABLES: [&str; 3] = ["activity_hz", "error_integral_hz_s", "scale"];

fn variables_of(t: &RecordTarget) -> Vec<&'static str> {
    variable_names(match t {
        RecordTarget::Synapses { .. } => RecordKind::Synapses,
        RecordTarget::Neurons { .. } => RecordKind::Neurons,
        RecordTarget::Regions => RecordKind::Regions,
        RecordTarget::Astrocytes => RecordKind::Astrocytes,
    })
}

/// Checks a recorder's names against the scene.
pub(crate) fn validate_recorder(c: &mut Checker, r: &Recorder, names: &Names) {
    c.range("every_steps", r.every_steps as f64, 1.0, 1e9, "steps");
    c.name("name", &r.name);
    if is_name(&r.name) && r.name.contains('.') {
        c.fail(
            "name",
            format!(
                "`{}` is not a valid recorder name: no `.` (its file is `<name>.csv`)",
                r.name
            ),
        );
    }
    if RESERVED_NAMES.contains(&r.name.as_str()) {
        c.fail(
            "name",
            format!(
                "`{}` is taken by edra's own output file {}.csv/.ron",
                r.name, r.name
            ),
        );
    }
    let known = variables_of(&r.target);
    // Each variable is one column of the CSV: a repeated one would be two columns of one name.
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, v) in r.variables.iter().enumerate() {
        if !known.contains(&v.as_str()) {
            c.fail(
                &format!("variables[{i}]"),
                format!(
                    "unknown variable `{v}` (this target has: {})",
                    known.join(", ")
                ),
            );
        } else if let Some(j) = first.get(v.as_str()) {
            c.fail(
                &format!("variables[{i}]"),
                format!("`{v}` is listed twice: variables[{j}] and variables[{i}]"),
            );
        } else {
            first.insert(v, i);
        }
    }
    let check_group = |c: &mut Checker, group: &str, indices: &[u32], size: Option<u64>| match size
    {
        None => c.fail("target.group", format!("unknown group `{group}`")),
        Some(n) => {
            if let Some(i) = indices.iter().find(|&&i| i as u64 >= n) {
                c.fail(
                    "target.indices",
                    format!("index {i} is outside group `{group}` ({n} members)"),
                );
            }
        }
    };
    match &r.target {
        RecordTarget::Synapses { group, indices } => {
            if names.synapses(group).is_some() {
                // The bound is unknown while the group's own neuron groups are wrong; that is
                // reported on the group.
                if let Some(n) = names.synapse_upper_bound(group) {
                    check_group(c, group, indices, Some(n))
                }
            } else {
                check_group(c, group, indices, None)
            }
        }
        RecordTarget::Neurons { group, indices } => {
            let size = names.size(group).map(u64::from);
            check_group(c, group, indices, size)
        }
        _ => {}
    }
}

/// A recorder as it runs: the entity ids it samples and its samples so far.
#[derive(Clone, Debug)]
pub struct RecorderRt {
    pub name: String,
    pub kind: RecordKind,
    /// Global ids (synapse or neuron) sampled, ascending; empty for regions and astrocytes.
    pub ids: Vec<u32>,
    /// Indices of the recorded variables in the target's variable list.
    pub columns: Vec<usize>,
    pub every_steps: u32,
    /// One row per sample and entity: t_ms, id, then the columns. NaN marks a variable the
    /// entity does not have.
    pub rows: Vec<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    Synapses,
    Neurons,
    Regions,
    Astrocytes,
}

/// The variables a recorder of `kind` can sample.
pub fn variable_names(kind: RecordKind) -> Vec<&'static str> {
    match kind {
        RecordKind::Synapses => SYNAPSE_VARIABLES.iter().map(|v| v.name).collect(),
        RecordKind::Neurons => NEURON_VARIABLES.to_vec(),
        RecordKind::Regions => REGION_VARIABLES.to_vec(),
        RecordKind::Astrocytes => ASTROCYTE_VARIABLES.to_vec(),
    }
}

/// File names `edra run` writes itself; a recorder may not take them.
pub const RESERVED_NAMES: [&str; 4] = ["synapses", "spikes", "summary", "checkpoint"];

impl RecorderRt {
    pub fn header(&self) -> Vec<&'static str> {
        let names = variable_names(self.kind);
        let id = match self.kind {
            RecordKind::Synapses => "synapse",
            RecordKind::Neurons => "neuron",
            RecordKind::Regions => "region",
            RecordKind::Astrocytes => "astrocyte",
        };
        let mut h = vec!["t_ms", id];
        h.extend(self.columns.iter().map(|&c| names[c]));
        h
    }

    fn push(&mut self, t_ms: f64, id: u32, values: &[Option<f32>]) {
        self.rows.push(t_ms);
        self.rows.push(id as f64);
        for &c in &self.columns {
            self.rows.push(values[c].map_or(f64::NAN, |v| v as f64));
        }
    }

    fn due(&self, step: u64) -> bool {
        step.is_multiple_of(self.every_steps as u64)
    }
}

/// All recorders of the run.
#[derive(Resource, Clone, Debug, Default)]
pub struct Recorders(pub Vec<RecorderRt>);

/// Query of recorded synapses.
type RecordedSynapses<'w, 's> = Query<'w, 's, SynapseData, With<Recorded>>;
/// Query of recorded neurons.
type RecordedNeurons<'w, 's> = Query<'w, 's, NeuronData, With<Recorded>>;

/// System (Record): each due recorder samples its entities. Buffers are reserved for the whole
/// run at build time, so sampling does not allocate.
pub fn sample_recorders(
    mut recs: ResMut<Recorders>,
    synapses: RecordedSynapses,
    neurons: RecordedNeurons,
    regions: Query<(
        &RegionId,
        &DopamineCleft,
        &DopamineReceptor,
        &ModulatoryCascade,
    )>,
    astros: Query<&AstrocyteUnit>,
    clock: Res<Clock>,
    view: EventView,
) {
    let t = (clock.step + 1) as f64 * clock.dt_ms;
    let now = view.after(clock.step + 1);
    for r in recs.0.iter_mut().filter(|r| r.due(clock.step)) {
        match r.kind {
            RecordKind::Synapses => {
                for s in &synapses {
                    if r.ids.binary_search(&s.synapse.id).is_ok() {
                        r.push(t, s.synapse.id, &s.values(&now));
                    }
                }
            }
            RecordKind::Neurons => {
                for n in &neurons {
                    if r.ids.binary_search(&n.neuron.id).is_ok() {
                        r.push(t, n.neuron.id, &n.values());
                    }
                }
            }
            RecordKind::Regions => {
                for (id, c, rec, casc) in &regions {
                    let v = [Some(c.dopamine_um), Some(rec.occupancy), Some(casc.pka)];
                    r.push(t, id.0, &v);
                }
            }
            RecordKind::Astrocytes => {
                for a in &astros {
                    let v = [
                        Some(a.activity_hz as f32),
                        Some(a.error_integral_hz_s as f32),
                        Some(a.scale as f32),
                    ];
                    r.push(t, a.id, &v);
                }
            }
        }
    }
}

/// Registers recording and the non-finite check in [`Stage::Record`](crate::schedule::Stage::Record).
pub fn plugin(s: &mut Schedule) {
    use crate::guard::{check_neurons_finite, check_synapses_finite};
    s.add_systems(
        (
            sample_recorders,
            check_synapses_finite,
            check_neurons_finite,
        )
            .chain()
            .in_set(crate::schedule::Stage::Record),
    );
}
