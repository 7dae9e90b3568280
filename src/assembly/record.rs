//! What can be read off an entity, and recorders that sample it during a run.
//!
//! Every variable has a column name with its unit and the cascade stage it belongs to, declared
//! by its stage ([`crate::stages::synapse_variables`], and registered stages' after them). The
//! same list drives `synapses.csv`, the recorders' CSVs, `edra show` and the synapse page.
//!
//! A recorder keeps its samples in memory ([`RecorderRt::rows`]) for the library, `edra report`'s
//! tests and `edra serve` (which trims them). `edra run` streams them instead
//! ([`crate::assembly::sim::Simulation::stream_recorders`]): whenever a recorder's buffer holds a chunk
//! ([`RECORDER_CHUNK_BYTES`]) its rows are appended to its CSV and the buffer emptied, after
//! the step and outside its systems, so the memory of a run does not grow with its length.

use crate::core::clock::Clock;
use crate::core::registry::Registered;
use crate::core::synapse::Recorded;
pub use crate::scene::recorders::RecordKind;
use crate::stages::ca_influx::SpineHeadCa;
use crate::stages::consolidation::ConsolidationProteinPool;
use crate::stages::homeostasis::AstrocyteUnit;
use crate::stages::modulation::RegionData;
use crate::stages::neurons::{IzhikevichState, LifState, Neuron};
use crate::stages::plasticity::event_stdp::{CaughtUp, EventView};
use crate::stages::plasticity::{CaRuleState, EarlyCalciumRule, StdpTraces, SynapticWeight};
use crate::stages::{SYNAPSE_VARIABLE_COUNT, SynapseParts};
use bevy_ecs::prelude::*;
use bevy_ecs::query::QueryData;

/// From the components of `cascade!` (src/stages/mod.rs): [`SynapseData`], read access to every
/// component a synapse may carry, and the [`SynapseParts`] of one.
macro_rules! synapse_data {
    ($($stage:ident: [$($how:ident [$($field:ident: $c:ty)|+]),*]);* $(;)?) => {
        /// Read access to every component a synapse may carry.
        #[derive(QueryData)]
        pub struct SynapseData {
            pub entity: Entity,
            $($($(pub $field: crate::stages::slot!(query $how $c),)+)*)*
        }

        impl<'w> SynapseDataItem<'w, '_> {
            /// Its components as they are (not brought up to date).
            fn parts(&self) -> SynapseParts<'w> {
                SynapseParts {
                    $($($($field: crate::stages::slot!(some $how self.$field),)+)*)*
                }
            }
        }
    };
}

crate::stages::cascade!(synapse_data);

/// The components an event-driven synapse changes between its steps, as they are now.
struct UpToDate {
    traces: Option<StdpTraces>,
    spine: SpineHeadCa,
    rho: Option<CaRuleState>,
    early: Option<EarlyCalciumRule>,
    weight: SynapticWeight,
}

impl SynapseDataItem<'_, '_> {
    /// The components an event-driven synapse changes, brought up to date (`now`) without
    /// being written; a clock-driven synapse's as they are.
    fn up_to_date(&self, now: &CaughtUp) -> UpToDate {
        let (syn, event) = (self.synapse, self.event);
        let (traces, w) = now.view(syn, event, self.traces, self.weight);
        let (spine, rho, w) = now.view_calcium(syn, event, self.spine, self.rho, w);
        let (spine, early, weight) = now.view_calcium(syn, event, &spine, self.early, w);
        UpToDate {
            traces,
            spine,
            rho,
            early,
            weight,
        }
    }

    /// The weight, brought up to date (`now`) if the synapse is event-driven.
    pub fn weight_now(&self, now: &CaughtUp) -> SynapticWeight {
        self.up_to_date(now).weight
    }

    /// The values of the built-in variables ([`crate::stages::synapse_variables`], in that
    /// order); `None` where the synapse lacks the component. An event-driven synapse is shown
    /// brought up to date (`now`), without being written.
    pub fn values(&self, now: &CaughtUp) -> [Option<f32>; SYNAPSE_VARIABLE_COUNT] {
        let u = self.up_to_date(now);
        SynapseParts {
            spine: Some(&u.spine),
            traces: u.traces.as_ref(),
            rho: u.rho.as_ref(),
            early: u.early.as_ref(),
            weight: Some(&u.weight),
            ..self.parts()
        }
        .values()
    }
}

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
    /// The CSV header: `t_ms`, the id column, the variables.
    pub header: Vec<&'static str>,
    /// The unit of each column of [`RecorderRt::header`]: `ms`, `""` for the id (no unit), then
    /// the variables' ([`crate::scene::recorders::variable_units`]).
    pub units: Vec<&'static str>,
    /// For a synapse recorder with variables of registered stages: the entity of each id, and
    /// per such column (its place in a row, registered stage, variable of the stage).
    pub entities: Vec<Entity>,
    pub registered_columns: Vec<(usize, usize, usize)>,
    /// Where the rows of the last sample begin.
    pub last_sample: usize,
}

impl RecorderRt {
    pub fn header(&self) -> Vec<&'static str> {
        self.header.clone()
    }

    /// The CSV header of a recorder of `kind` sampling `columns` of the variables `names`.
    pub fn header_of(
        kind: RecordKind,
        names: &[&'static str],
        columns: &[usize],
    ) -> Vec<&'static str> {
        let id = match kind {
            RecordKind::Synapses => "synapse",
            RecordKind::Neurons => "neuron",
            RecordKind::Regions => "region",
            RecordKind::Astrocytes => "astrocyte",
        };
        let mut h = vec!["t_ms", id];
        h.extend(columns.iter().map(|&c| names[c]));
        h
    }

    /// The units of the columns of [`RecorderRt::header_of`] with the same `columns`, from
    /// the units of every variable (`units`, as [`crate::scene::recorders::variable_units`]).
    pub fn units_of(units: &[&'static str], columns: &[usize]) -> Vec<&'static str> {
        let mut u = vec!["ms", ""];
        u.extend(columns.iter().map(|&c| units[c]));
        u
    }

    /// Appends a row; columns past `values` (registered stages' variables) are filled in by
    /// [`sample_registered`].
    fn push(&mut self, t_ms: f64, id: u32, values: &[Option<f32>]) {
        self.rows.push(t_ms);
        self.rows.push(id as f64);
        for &c in &self.columns {
            let v = values.get(c).copied().flatten();
            self.rows.push(v.map_or(f64::NAN, |v| v as f64));
        }
    }

    /// Entities in one sample: the ids for synapses and neurons, every region or astrocyte
    /// (`regions`, `astrocytes`: the counts of the world) for the others.
    pub fn entities_per_sample(&self, regions: u64, astrocytes: u64) -> usize {
        match self.kind {
            RecordKind::Synapses | RecordKind::Neurons => self.ids.len(),
            RecordKind::Regions => regions as usize,
            RecordKind::Astrocytes => astrocytes as usize,
        }
    }

    /// Whether the recorder samples on step `step`.
    pub fn due(&self, step: u64) -> bool {
        step.is_multiple_of(self.every_steps as u64)
    }
}

/// Bytes of samples a streamed recorder holds before they are written out (see
/// [`chunk_values`]). 4 MiB: a write of that much (about 5 MB of text) costs little next to
/// formatting it, and a scene with a dozen recorders holds under 50 MiB of them however long
/// it runs, where the whole run of one recorder on 10^6 synapses every step for an hour would
/// be 5·10^15 bytes.
pub const RECORDER_CHUNK_BYTES: usize = 4 << 20;

/// The most values (f64) a streamed recorder holds before its rows are written out: whole
/// samples of `sample_values` values, as many as fit in `chunk_rows` rows of `width` values
/// (default: [`RECORDER_CHUNK_BYTES`]), and at least one sample (a sample is never split
/// between two flushes); none for a recorder whose samples are empty (no regions, say).
pub fn chunk_values(sample_values: usize, width: usize, chunk_rows: Option<usize>) -> usize {
    if sample_values == 0 {
        return 0;
    }
    let bound = chunk_rows.map_or(RECORDER_CHUNK_BYTES / size_of::<f64>(), |rows| {
        rows.saturating_mul(width)
    });
    let per = sample_values.max(1);
    (bound / per).max(1).saturating_mul(per)
}

/// All recorders of the run.
#[derive(Resource, Clone, Debug, Default)]
pub struct Recorders(pub Vec<RecorderRt>);

impl Recorders {
    /// The ids recorded by recorders of `kind`, ascending, each once.
    pub fn ids(&self, kind: RecordKind) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .0
            .iter()
            .filter(|r| r.kind == kind)
            .flat_map(|r| r.ids.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Query of recorded synapses.
type RecordedSynapses<'w, 's> = Query<'w, 's, SynapseData, With<Recorded>>;
/// Query of recorded neurons.
type RecordedNeurons<'w, 's> = Query<'w, 's, NeuronData, With<Recorded>>;

/// System (Record): each due recorder samples its entities. Buffers are reserved at build
/// time for the whole run (up to a bound, past which they grow), or for one chunk when the run
/// streams its recorders and empties them whenever they are full
/// ([`crate::assembly::sim::Simulation::stream_recorders`]), so sampling does not allocate.
pub fn sample_recorders(
    mut recs: ResMut<Recorders>,
    synapses: RecordedSynapses,
    neurons: RecordedNeurons,
    regions: Query<RegionData>,
    astros: Query<&AstrocyteUnit>,
    clock: Res<Clock>,
    view: EventView,
) {
    let t = (clock.step + 1) as f64 * clock.dt_ms;
    let now = view.after(clock.step + 1);
    for r in recs.0.iter_mut().filter(|r| r.due(clock.step)) {
        r.last_sample = r.rows.len();
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
                for g in &regions {
                    r.push(t, g.id.0, &g.values().map(Some));
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

/// Most variables one registered stage may declare.
pub const MAX_STAGE_VARIABLES: usize = 32;

/// System (Record, after [`sample_recorders`]): fills in the columns of registered stages'
/// variables in the rows just sampled. The entities were found at build time, so this looks up
/// no id; it allocates nothing.
pub fn sample_registered(world: &mut World) {
    let step = world.resource::<Clock>().step;
    world.resource_scope(|world: &mut World, mut recs: Mut<Recorders>| {
        let world: &World = world;
        let reg = world.resource::<Registered>();
        let mut buf = [None; MAX_STAGE_VARIABLES];
        for r in recs.0.iter_mut().filter(|r| r.due(step)) {
            if r.registered_columns.is_empty() {
                continue;
            }
            let width = 2 + r.columns.len();
            let start = r.last_sample;
            for row in r.rows[start..].chunks_mut(width) {
                let Ok(k) = r.ids.binary_search(&(row[1] as u32)) else {
                    continue;
                };
                for &(col, s, v) in &r.registered_columns {
                    let stage = &reg.stages.0[s];
                    let n = reg.counts[s];
                    stage.read(world, reg.ids[s], r.entities[k], &mut buf[..n]);
                    row[col] = buf[v].map_or(f64::NAN, |x| x as f64);
                }
            }
        }
    });
}

/// Registers [`sample_registered`] after [`sample_recorders`]; only a run with registered
/// stages has it.
pub fn plugin_registered(s: &mut Schedule) {
    s.add_systems(
        sample_registered
            .after(sample_recorders)
            .before(crate::stages::guard::check_synapses_finite)
            .in_set(crate::engine::schedule::Stage::Record),
    );
}

/// Registers recording and the non-finite check in [`Stage::Record`](crate::engine::schedule::Stage::Record).
pub fn plugin(s: &mut Schedule) {
    use crate::core::clock::on_slow_step;
    use crate::stages::guard::{
        check_neurons_finite, check_regions_finite, check_slow_state_finite, check_synapses_finite,
    };
    s.add_systems(
        (
            sample_recorders,
            check_synapses_finite,
            check_slow_state_finite.run_if(on_slow_step),
            check_neurons_finite,
            check_regions_finite,
        )
            .chain()
            .in_set(crate::engine::schedule::Stage::Record),
    );
}
