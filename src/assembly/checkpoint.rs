//! Capturing the state of a world into a checkpoint, and writing it.

use crate::assembly::build::BuildInfo;
use crate::assembly::record::{SynapseData, SynapseDataItem};
use crate::core::clock::Clock;
use crate::core::error::{EdraError, Result};
use crate::core::registry::Registered;
use crate::engine::spikes::{NeuronInput, SpikeHistory};
use crate::scene::Scene;
use crate::scene::binary::Column;
use crate::scene::state::{NeuronColumns, RegionState, State, SynapseColumns};
use crate::stages::consolidation::ConsolidationProteinPool;
use crate::stages::homeostasis::AstrocyteUnit;
use crate::stages::modulation::RegionData;
use crate::stages::neurons::{IzhikevichState, LifState, Neuron, PoissonCalendar, SpikeCursor};
use crate::stages::plasticity::event_calcium::EventCalcium;
use crate::stages::plasticity::event_stdp::EventStdp;
use crate::stages::timeline::Timeline;
use bevy_ecs::prelude::*;
use std::path::Path;

/// The complete dynamic state of `world`.
pub fn capture(world: &mut World) -> State {
    let n = world.resource::<BuildInfo>().synapses as usize;
    State {
        synapses: synapse_columns(world, n),
        ..capture_but_synapses(world)
    }
}

/// The state of `world` but for its synapse columns (left empty).
fn capture_but_synapses(world: &mut World) -> State {
    let info = world.resource::<BuildInfo>().clone();
    let step = world.resource::<Clock>().step;
    State {
        step,
        edra_version: env!("CARGO_PKG_VERSION").to_string(),
        synapses: SynapseColumns::default(),
        neurons: neuron_columns(world, info.neurons as usize),
        regions: regions(world, info.regions as usize),
        astrocytes: astrocytes(world),
        spike_history: world.resource::<SpikeHistory>().export(step).into(),
        neuron_input: world.resource::<NeuronInput>().export().into(),
        rule_last_pre: world
            .resource::<Timeline>()
            .rules
            .iter()
            .map(|r| r.last_pre_step)
            .collect(),
        pending_rewards: world.resource::<Timeline>().pending.clone(),
        event_epoch: Some(world.resource::<EventStdp>())
            .filter(|e| !e.is_empty())
            .map(EventStdp::epoch),
    }
}

/// How a per-synapse checkpoint column is read from a synapse's components (0 where the
/// synapse lacks the component).
#[derive(Clone, Copy)]
enum Get {
    U8(fn(&SynapseDataItem) -> u8),
    U16(fn(&SynapseDataItem) -> u16),
    U32(fn(&SynapseDataItem) -> u32),
    U64(fn(&SynapseDataItem) -> u64),
    F32(fn(&SynapseDataItem) -> f32),
    F64(fn(&SynapseDataItem) -> f64),
    Bool(fn(&SynapseDataItem) -> bool),
}

/// The per-synapse columns of a checkpoint, named as in [`State::visit_columns`], each with how
/// it is read: the one list that both forms of checkpoint are captured from.
const SYNAPSE_COLUMNS: &[(&str, Get)] = &[
    ("synapses.pre", Get::U32(|s| s.synapse.pre)),
    ("synapses.post", Get::U32(|s| s.synapse.post)),
    ("synapses.group", Get::U16(|s| s.synapse.group)),
    (
        "synapses.axonal_delay_steps",
        Get::U16(|s| s.synapse.axonal_delay_steps),
    ),
    (
        "synapses.dendritic_delay_steps",
        Get::U16(|s| s.synapse.dendritic_delay_steps),
    ),
    ("synapses.arrivals", Get::U8(|s| s.synapse.arrivals)),
    (
        "synapses.glutamate_mm",
        Get::F32(|s| s.nmda.map_or(0.0, |x| x.cleft.glutamate_mm)),
    ),
    (
        "synapses.spine_v_mv",
        Get::F32(|s| s.nmda.map_or(0.0, |x| x.membrane.v_mv)),
    ),
    (
        "synapses.nmda_open_fraction",
        Get::F32(|s| s.nmda.map_or(0.0, |x| x.receptor.open_fraction)),
    ),
    ("synapses.ca_um", Get::F32(|s| s.spine.ca_um)),
    ("synapses.ca_sensitivity", Get::F32(|s| s.spine.sensitivity)),
    (
        "synapses.x_pre",
        Get::F32(|s| s.traces.map_or(0.0, |t| t.x_pre)),
    ),
    (
        "synapses.y_post",
        Get::F32(|s| s.traces.map_or(0.0, |t| t.y_post)),
    ),
    (
        "synapses.eligibility_mv",
        Get::F32(|s| s.traces.map_or(0.0, |t| t.eligibility_mv)),
    ),
    ("synapses.rho", Get::F64(|s| s.rho.map_or(0.0, |r| r.rho))),
    ("synapses.h_mv", Get::F32(|s| s.weight.h_mv)),
    ("synapses.z", Get::F32(|s| s.weight.z)),
    ("synapses.w_mv", Get::F32(|s| s.weight.w_mv)),
    ("synapses.efficacy_mv", Get::F32(|s| s.weight.efficacy_mv)),
    (
        "synapses.psd_receptors",
        Get::F32(|s| s.pools.map_or(0.0, |p| p.psd)),
    ),
    (
        "synapses.total_receptors",
        Get::F32(|s| s.pools.map_or(0.0, |p| p.total)),
    ),
    (
        "synapses.tagged",
        Get::Bool(|s| s.tag.is_some_and(|t| t.tagged)),
    ),
    (
        "synapses.h_residual_mv",
        Get::F32(|s| s.early.map_or(0.0, |e| e.h_residual_mv)),
    ),
    (
        "synapses.z_residual",
        Get::F32(|s| s.tag.map_or(0.0, |t| t.z_residual)),
    ),
    // Only in a scene with event-driven groups (see `columns_of`).
    (
        "synapses.next_step",
        Get::U64(|s| s.event.map_or(0, |e| e.next_step)),
    ),
];

impl Get {
    /// An empty column of `n` values of this type.
    fn column(self, n: usize) -> Column {
        match self {
            Get::U8(_) => Column::U8(vec![0; n].into()),
            Get::U16(_) => Column::U16(vec![0; n].into()),
            Get::U32(_) => Column::U32(vec![0; n].into()),
            Get::U64(_) => Column::U64(vec![0; n].into()),
            Get::F32(_) => Column::F32(vec![0.0; n].into()),
            Get::F64(_) => Column::F64(vec![0.0; n].into()),
            Get::Bool(_) => Column::Bool(vec![false; n]),
        }
    }

    /// Writes synapse `s`'s value into `col` at `i`.
    fn put(self, col: &mut Column, i: usize, s: &SynapseDataItem) {
        match (self, col) {
            (Get::U8(f), Column::U8(v)) => v[i] = f(s),
            (Get::U16(f), Column::U16(v)) => v[i] = f(s),
            (Get::U32(f), Column::U32(v)) => v[i] = f(s),
            (Get::U64(f), Column::U64(v)) => v[i] = f(s),
            (Get::F32(f), Column::F32(v)) => v[i] = f(s),
            (Get::F64(f), Column::F64(v)) => v[i] = f(s),
            (Get::Bool(f), Column::Bool(v)) => v[i] = f(s),
            _ => unreachable!("a column is made by its own getter"),
        }
    }
}

/// The declared synapse columns this world has (`next_step` only with event-driven groups).
fn columns_of(world: &World) -> Vec<(&'static str, Get)> {
    let event =
        !world.resource::<EventStdp>().is_empty() || !world.resource::<EventCalcium>().is_empty();
    SYNAPSE_COLUMNS
        .iter()
        .copied()
        .filter(|(name, _)| event || *name != "synapses.next_step")
        .collect()
}

/// The columns `which` of the `n` synapses, in id order, read in one pass over them.
fn capture_columns(world: &mut World, n: usize, which: &[(&'static str, Get)]) -> Vec<Column> {
    let mut cols: Vec<Column> = which.iter().map(|(_, g)| g.column(n)).collect();
    let mut q = world.query::<SynapseData>();
    for s in q.iter(world) {
        let i = s.synapse.id as usize;
        for ((_, get), col) in which.iter().zip(&mut cols) {
            get.put(col, i, &s);
        }
    }
    cols
}

/// The registered stages' columns, named as in a binary checkpoint
/// (`synapses.registered.<variable>`).
fn registered_columns(world: &mut World, n: usize) -> Vec<(String, Column)> {
    let reg = world.resource::<Registered>().clone();
    let mut out = Vec::new();
    for stage in &reg.stages.0 {
        for (v, col) in stage.variables().into_iter().zip(stage.save(world, n)) {
            let name = format!("{}{}", crate::scene::binary::REGISTERED, v.name);
            out.push((name, Column::F32(col.into())));
        }
    }
    out
}

/// Every synapse column, captured in one pass and put into the state by name, as a binary
/// checkpoint is read ([`crate::scene::binary::fill_state`]).
fn synapse_columns(world: &mut World, n: usize) -> SynapseColumns {
    let which = columns_of(world);
    let names = which.iter().map(|(name, _)| name.to_string());
    let mut cols: Vec<(String, Column)> = names.zip(capture_columns(world, n, &which)).collect();
    cols.extend(registered_columns(world, n));
    let mut state = State::default();
    crate::scene::binary::fill_state(&mut state, cols)
        .unwrap_or_else(|r| panic!("SYNAPSE_COLUMNS and State disagree at {}", r.field));
    state.synapses
}

type NeuronState<'a> = (
    &'a Neuron,
    Option<&'a LifState>,
    Option<&'a IzhikevichState>,
    Option<&'a SpikeCursor>,
    &'a ConsolidationProteinPool,
);

fn neuron_columns(world: &mut World, n: usize) -> NeuronColumns {
    let mut c = NeuronColumns {
        v_mv: vec![0.0; n].into(),
        u: vec![0.0; n].into(),
        refractory_steps: vec![0; n].into(),
        spike_cursor: vec![0; n].into(),
        protein: vec![0.0; n].into(),
        poisson_next_step: Default::default(),
    };
    let mut q = world.query::<NeuronState>();
    for (nr, lif, izh, cur, pool) in q.iter(world) {
        let i = nr.id as usize;
        if let Some(s) = lif {
            (c.v_mv[i], c.refractory_steps[i]) = (s.v_mv, s.refractory_steps);
        }
        if let Some(s) = izh {
            (c.v_mv[i], c.u[i]) = (s.v_mv, s.u);
        }
        if let Some(s) = cur {
            c.spike_cursor[i] = s.next;
        }
        c.protein[i] = pool.protein;
    }
    let step = world.resource::<Clock>().step;
    c.poisson_next_step = world
        .resource::<PoissonCalendar>()
        .next_steps(n, step)
        .into();
    c
}

fn regions(world: &mut World, n: usize) -> Vec<RegionState> {
    let mut out = vec![RegionState::default(); n];
    let mut q = world.query::<RegionData>();
    for g in q.iter(world) {
        let [dopamine_um, occupancy, pka] = g.values();
        out[g.id.0 as usize] = RegionState {
            dopamine_um,
            occupancy,
            pka,
        };
    }
    out
}

fn astrocytes(world: &mut World) -> Vec<AstrocyteUnit> {
    let mut q = world.query::<&AstrocyteUnit>();
    let mut out: Vec<AstrocyteUnit> = q.iter(world).copied().collect();
    out.sort_by_key(|a| a.id);
    out
}

/// Writes the binary checkpoint of `world`, built from `scene` (without state), to `path`,
/// capturing the synapse columns a few at a time as they are written: at most about half the
/// memory still available (at least 64 MiB) is held for them, so that a world that fills most
/// of the machine's memory can still be saved.
pub fn write_binary(world: &mut World, scene: &Scene, path: &Path) -> Result<()> {
    let available = crate::assembly::build::available_memory().unwrap_or(0.0);
    write_binary_within(world, scene, path, (available / 2.0).max(64.0 * 1048576.0))
}

/// [`write_binary`] holding at most about `budget` bytes of synapse columns at a time.
fn write_binary_within(world: &mut World, scene: &Scene, path: &Path, budget: f64) -> Result<()> {
    let out = |source| EdraError::Output {
        path: path.to_path_buf(),
        source,
    };
    let mut state = capture_but_synapses(world);
    let rest = crate::scene::binary::take_columns(&mut state);
    let header = ron_text(&Scene {
        state: Some(state),
        ..scene.clone()
    })?;
    let mut w = binary_file(path, &header)?;
    let n = world.resource::<BuildInfo>().synapses as usize;
    for batch in batches(&columns_of(world), n, budget) {
        for ((name, _), col) in batch.iter().zip(capture_columns(world, n, batch)) {
            w.column(name, col.as_ref()).map_err(out)?;
        }
    }
    // In the order of `binary::take_columns`.
    for (name, col) in rest.into_iter().chain(registered_columns(world, n)) {
        w.column(&name, col.as_ref()).map_err(out)?;
    }
    close_binary(w, path)
}

/// A binary checkpoint file at `path`, its header written.
fn binary_file(path: &Path, header: &str) -> Result<BinaryWriter> {
    let out = |source| EdraError::Output {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::create(path).map_err(out)?;
    let w = std::io::BufWriter::with_capacity(1 << 20, f);
    crate::scene::binary::Writer::new(w, header).map_err(out)
}

type BinaryWriter = crate::scene::binary::Writer<std::io::BufWriter<std::fs::File>>;

/// Writes the end of the binary checkpoint `w` at `path` and flushes it.
fn close_binary(w: BinaryWriter, path: &Path) -> Result<()> {
    let out = |source| EdraError::Output {
        path: path.to_path_buf(),
        source,
    };
    let w = w.finish().map_err(out)?;
    w.into_inner().map_err(|e| out(e.into_error()))?;
    Ok(())
}

/// `columns` split into runs whose values for `n` synapses fit in `budget` bytes, counting 8
/// bytes a value (the widest type; one column at least).
fn batches<'a>(
    columns: &'a [(&'static str, Get)],
    n: usize,
    budget: f64,
) -> impl Iterator<Item = &'a [(&'static str, Get)]> {
    let per_column = (n as f64 * 8.0).max(1.0);
    let k = ((budget / per_column) as usize).clamp(1, columns.len().max(1));
    columns.chunks(k)
}

/// The form of a checkpoint file, chosen by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `.ron`: text, for reading and editing.
    Ron,
    /// `.ckpt`: columnar binary with a checksum ([`crate::scene::binary`]).
    Binary,
}

impl Form {
    /// The form a checkpoint at `path` is written in.
    pub fn of(path: &Path) -> Result<Form> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("ron") => Ok(Form::Ron),
            Some("ckpt") => Ok(Form::Binary),
            _ => Err(EdraError::Argument(format!(
                "{}: a checkpoint is written as .ron (text) or .ckpt (binary)",
                path.display()
            ))),
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Form::Ron => "ron",
            Form::Binary => "ckpt",
        }
    }
}

/// Writes a checkpoint scene to `path`, as RON or binary after its extension ([`Form`]).
pub fn write(scene: Scene, path: &Path) -> Result<()> {
    write_as(scene, path, Form::of(path)?)
}

/// Writes a checkpoint scene to `path` in the form `form`, whatever its extension.
pub fn write_as(scene: Scene, path: &Path, form: Form) -> Result<()> {
    let out = |source| EdraError::Output {
        path: path.to_path_buf(),
        source,
    };
    match form {
        Form::Ron => std::fs::write(path, ron_text(&scene)?).map_err(out),
        Form::Binary => {
            let mut scene = scene;
            let columns = match scene.state.as_mut() {
                Some(state) => crate::scene::binary::take_columns(state),
                None => Vec::new(),
            };
            let mut w = binary_file(path, &ron_text(&scene)?)?;
            for (name, col) in columns {
                w.column(&name, col.as_ref()).map_err(out)?;
            }
            close_binary(w, path)
        }
    }
}

/// A checkpoint scene as RON text.
fn ron_text(scene: &Scene) -> Result<String> {
    let cfg = ron::ser::PrettyConfig::new()
        .struct_names(true)
        .compact_arrays(true)
        .depth_limit(4);
    ron::ser::to_string_pretty(scene, cfg)
        .map_err(|e| EdraError::other(format!("writing checkpoint: {e}")))
}

/// The checkpoint of a run folder: `checkpoint.ckpt` if there is one, else `checkpoint.ron`
/// (named in the error if neither exists).
pub fn in_folder(dir: &Path) -> std::path::PathBuf {
    let binary = dir.join("checkpoint.ckpt");
    match binary.is_file() {
        true => binary,
        false => dir.join("checkpoint.ron"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assembly::sim::Simulation;

    /// Captured one column at a time or all at once, the binary checkpoint is the same, and it
    /// holds the same state as the RON checkpoint.
    #[test]
    fn the_binary_checkpoint_is_the_same_whatever_the_memory_budget() {
        let mut sim = Simulation::load("scenes/single_synapse.ron".as_ref()).unwrap();
        sim.run_until(500.0, &mut |_| {}).unwrap();
        let dir = std::env::temp_dir().join(format!("edra-ckpt-budget-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let scene = sim.scene().clone();
        let mut bytes = Vec::new();
        for (k, budget) in [1.0, 1e12].into_iter().enumerate() {
            let path = dir.join(format!("{k}.ckpt"));
            write_binary_within(sim.world_mut(), &scene, &path, budget).unwrap();
            bytes.push(std::fs::read(&path).unwrap());
        }
        assert!(bytes[0] == bytes[1], "the budget changed the file");
        let read = crate::scene::SceneFile::load(&dir.join("0.ckpt")).unwrap();
        assert_eq!(read.scene, sim.checkpoint());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
