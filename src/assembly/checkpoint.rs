//! Capturing the state of a world into a checkpoint, and writing it.

use crate::assembly::build::BuildInfo;
use crate::assembly::columns::{
    Get, Kind, NEURON_COLUMNS, NeuronQuery, Scratch, SynapseColumn, SynapseQuery, Tables,
    synapse_columns,
};
use crate::assembly::write_behind::WriteBehind;
use crate::core::clock::Clock;
use crate::core::error::{EdraError, Result};
use crate::core::registry::Registered;
use crate::engine::spikes::{NeuronInput, SpikeHistory};
use crate::scene::Scene;
use crate::scene::binary::{Column, Writer};
use crate::scene::state::{RegionState, State};
use crate::stages::homeostasis::AstrocyteUnit;
use crate::stages::modulation::RegionData;
use crate::stages::neurons::PoissonCalendar;
use crate::stages::plasticity::event_calcium::EventCalcium;
use crate::stages::plasticity::event_stdp::EventStdp;
use crate::stages::timeline::Timeline;
use bevy_ecs::prelude::*;
use std::path::Path;

/// The complete dynamic state of `world`.
pub fn capture(world: &mut World) -> State {
    capture_as(world, false)
}

/// The state of one rank of a shared run: its synapse columns hold only its own synapses, in
/// id order (not the whole run's columns, which would grow with the whole network on every
/// rank); the rest as [`capture`].
pub fn capture_own(world: &mut World) -> State {
    capture_as(world, true)
}

fn capture_as(world: &mut World, own_synapses: bool) -> State {
    let info = world.resource::<BuildInfo>().clone();
    let (synapses, neurons) = (info.synapses as usize, info.neurons as usize);
    let mut cols = Vec::new();
    let which = synapse_columns_of(world);
    let mut q = world.query::<SynapseQuery>();
    let tables = Tables::synapses(world, &mut q, synapses);
    let which = which.iter().map(|c| (c.name, c.get));
    if own_synapses {
        cols.extend(which.map(|(name, get)| (name.to_string(), get.own(&tables))));
    } else {
        cols.extend(whole(which, &tables, synapses));
    }
    let mut q = world.query::<NeuronQuery>();
    let tables = Tables::neurons(world, &mut q, neurons);
    cols.extend(whole(NEURON_COLUMNS.iter().copied(), &tables, neurons));
    cols.extend(other_columns(world));
    cols.extend(registered_columns(world, synapses));
    let mut state = capture_but_columns(world);
    crate::scene::binary::fill_state(&mut state, cols)
        .unwrap_or_else(|r| panic!("the captured columns and State disagree at {}", r.field));
    state
}

/// The columns `which` of the `n` entities of `tables`, whole and named.
fn whole<K: Kind>(
    which: impl Iterator<Item = (&'static str, Get<K>)>,
    tables: &Tables<K>,
    n: usize,
) -> Vec<(String, Column)> {
    which
        .map(|(name, get)| (name.to_string(), get.column(tables, n)))
        .collect()
}

/// The state of `world` but for its columns (left empty): what the header of a binary
/// checkpoint holds.
fn capture_but_columns(world: &mut World) -> State {
    let info = world.resource::<BuildInfo>().clone();
    State {
        step: world.resource::<Clock>().step,
        edra_version: env!("CARGO_PKG_VERSION").to_string(),
        regions: regions(world, info.regions as usize),
        astrocytes: astrocytes(world),
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
        ..State::default()
    }
}

/// The columns that follow the neurons' components in a checkpoint, named: the Poisson
/// sources' next steps, the spike history and the pending neuron input (empty ones too).
fn other_columns(world: &World) -> [(String, Column); 3] {
    let step = world.resource::<Clock>().step;
    let n = world.resource::<BuildInfo>().neurons as usize;
    let calendar = world.resource::<PoissonCalendar>();
    [
        (
            "neurons.poisson_next_step".into(),
            Column::U64(calendar.next_steps(n, step).into()),
        ),
        (
            "spike_history".into(),
            Column::U64(world.resource::<SpikeHistory>().export(step).into()),
        ),
        (
            "neuron_input".into(),
            Column::I64(world.resource::<NeuronInput>().export().into()),
        ),
    ]
}

/// The declared synapse columns this world has (`next_step` only with event-driven groups).
fn synapse_columns_of(world: &World) -> Vec<SynapseColumn> {
    let event =
        !world.resource::<EventStdp>().is_empty() || !world.resource::<EventCalcium>().is_empty();
    let mut which = synapse_columns();
    which.retain(|c| event || c.name != "synapses.next_step");
    which
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

/// Writes the binary checkpoint of `world`, built from `scene` (without state), to `path`: the
/// same bytes as [`write_as`] of the [`capture`]d state. The synapse and neuron columns are
/// read out of the world's tables a piece at a time as they are written, never held whole (so
/// that a world that fills most of the machine's memory can be saved), and the file is written
/// behind ([`WriteBehind`]).
pub fn write_binary(world: &mut World, scene: &Scene, path: &Path) -> Result<()> {
    let out = |source| EdraError::Output {
        path: path.to_path_buf(),
        source,
    };
    let header = ron_text(&Scene {
        state: Some(capture_but_columns(world)),
        ..scene.clone()
    })?;
    let mut w = binary_file(path, &header)?;
    let which = synapse_columns_of(world);
    let mut synapses = world.query::<SynapseQuery>();
    let mut neurons = world.query::<NeuronQuery>();
    let read: &World = world;
    // The columns that are not read out of tables are made meanwhile, on another thread.
    let (rest, written) = rayon::join(
        || other_columns(read),
        || write_tables(read, (&mut synapses, &mut neurons), &which, &mut w),
    );
    written.map_err(out)?;
    let n = world.resource::<BuildInfo>().synapses as usize;
    let rest = rest.into_iter().chain(registered_columns(world, n));
    for (name, col) in rest.filter(|(_, col)| !col.is_empty()) {
        w.column(&name, col.as_ref()).map_err(out)?;
    }
    close_binary(w, path)
}

/// Writes the synapse columns `which` and the neuron columns to `w`, read out of the tables.
/// As every column of the state past the synapses', those of a world without neurons are left
/// out.
fn write_tables(
    world: &World,
    (synapses, neurons): (&mut QueryState<SynapseQuery>, &mut QueryState<NeuronQuery>),
    which: &[SynapseColumn],
    w: &mut BinaryWriter,
) -> std::io::Result<()> {
    let info = world.resource::<BuildInfo>();
    let (n_synapses, n_neurons) = (info.synapses as usize, info.neurons as usize);
    let mut scratch = Scratch::default();
    let tables = Tables::synapses(world, synapses, n_synapses);
    for c in which {
        c.get.write(c.name, &tables, n_synapses, w, &mut scratch)?;
    }
    let tables = Tables::neurons(world, neurons, n_neurons);
    for (name, get) in NEURON_COLUMNS.iter().filter(|_| n_neurons > 0) {
        get.write(name, &tables, n_neurons, w, &mut scratch)?;
    }
    Ok(())
}

/// A binary checkpoint file at `path`, its header written.
fn binary_file(path: &Path, header: &str) -> Result<BinaryWriter> {
    let out = |source| EdraError::Output {
        path: path.to_path_buf(),
        source,
    };
    let w = WriteBehind::create(path).map_err(out)?;
    Writer::new(w, header).map_err(out)
}

type BinaryWriter = Writer<WriteBehind>;

/// Writes the end of the binary checkpoint `w` at `path` and flushes it.
fn close_binary(w: BinaryWriter, path: &Path) -> Result<()> {
    let out = |source| EdraError::Output {
        path: path.to_path_buf(),
        source,
    };
    w.finish().and_then(WriteBehind::finish).map_err(out)?;
    Ok(())
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
            let mut columns = match scene.state.as_mut() {
                Some(state) => crate::scene::binary::take_columns(state),
                None => Vec::new(),
            };
            // The synapse columns in the components' order, as [`write_binary`] writes them
            // (`take_columns` gives those without a field of the state after all the fields).
            let declared = synapse_columns();
            let place = |name: &str| declared.iter().position(|c| c.name == name);
            columns.sort_by_key(|(name, _)| place(name).unwrap_or(usize::MAX));
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

    /// Written from the world's tables a piece at a time, the binary checkpoint has the same
    /// bytes as one written from the captured state, and it holds the same state as the RON
    /// checkpoint: with one synapse; with several groups and recorded synapses and neurons
    /// (tables whose ids are not consecutive); with event-driven synapses.
    #[test]
    fn the_binary_checkpoint_is_the_same_written_from_the_world_or_the_state() {
        let dir = std::env::temp_dir().join(format!("edra-ckpt-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (scene, ms) in [
            ("single_synapse", 500.0),
            ("population", 50.0),
            ("event_driven", 20.0),
        ] {
            let path = format!("scenes/{scene}.ron");
            let mut sim = Simulation::load(path.as_ref()).unwrap();
            sim.run_until(ms, &mut |_| {}).unwrap();
            let scene_def = sim.scene().clone();
            write_binary(sim.world_mut(), &scene_def, &dir.join("0.ckpt")).unwrap();
            write_as(sim.checkpoint(), &dir.join("1.ckpt"), Form::Binary).unwrap();
            let bytes = ["0.ckpt", "1.ckpt"].map(|f| std::fs::read(dir.join(f)).unwrap());
            assert!(bytes[0] == bytes[1], "{scene}: the two ways differ");
            let read = crate::scene::SceneFile::load(&dir.join("0.ckpt")).unwrap();
            assert_eq!(read.scene, sim.checkpoint(), "{scene}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
