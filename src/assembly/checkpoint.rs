//! Capturing the state of a world into a checkpoint, and writing it.

use crate::assembly::build::BuildInfo;
use crate::assembly::record::SynapseData;
use crate::core::clock::Clock;
use crate::core::error::{EdraError, Result};
use crate::core::registry::Registered;
use crate::engine::spikes::{NeuronInput, SpikeHistory};
use crate::scene::Scene;
use crate::scene::state::{NeuronColumns, RegionState, State, SynapseColumns};
use crate::stages::consolidation::ConsolidationProteinPool;
use crate::stages::homeostasis::AstrocyteUnit;
use crate::stages::modulation::RegionData;
use crate::stages::neurons::{IzhikevichState, LifState, Neuron, PoissonCalendar, SpikeCursor};
use crate::stages::plasticity::event_stdp::EventStdp;
use crate::stages::timeline::Timeline;
use bevy_ecs::prelude::*;
use std::path::Path;

/// The complete dynamic state of `world`.
pub fn capture(world: &mut World) -> State {
    let info = world.resource::<BuildInfo>().clone();
    let step = world.resource::<Clock>().step;
    State {
        step,
        edra_version: env!("CARGO_PKG_VERSION").to_string(),
        synapses: synapse_columns(world, info.synapses as usize),
        neurons: neuron_columns(world, info.neurons as usize),
        regions: regions(world, info.regions as usize),
        astrocytes: astrocytes(world),
        spike_history: world.resource::<SpikeHistory>().export(step),
        neuron_input: world.resource::<NeuronInput>().export(),
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

fn synapse_columns(world: &mut World, n: usize) -> SynapseColumns {
    let f = || vec![0.0f32; n];
    let mut c = SynapseColumns {
        pre: vec![0; n],
        post: vec![0; n],
        group: vec![0; n],
        axonal_delay_steps: vec![0; n],
        dendritic_delay_steps: vec![0; n],
        arrivals: vec![0; n],
        glutamate_mm: f(),
        spine_v_mv: f(),
        nmda_open_fraction: f(),
        ca_um: f(),
        ca_sensitivity: f(),
        x_pre: f(),
        y_post: f(),
        eligibility_mv: f(),
        rho: vec![0.0; n],
        h_mv: f(),
        z: f(),
        w_mv: f(),
        efficacy_mv: f(),
        psd_receptors: f(),
        total_receptors: f(),
        tagged: vec![false; n],
        h_residual_mv: f(),
        z_residual: f(),
        next_step: Vec::new(),
        registered: Default::default(),
    };
    if !world.resource::<EventStdp>().is_empty() {
        c.next_step = vec![0; n];
    }
    let reg = world.resource::<Registered>().clone();
    for stage in &reg.stages.0 {
        for (v, col) in stage.variables().into_iter().zip(stage.save(world, n)) {
            c.registered.insert(v.name.to_string(), col);
        }
    }
    let mut q = world.query::<SynapseData>();
    for s in q.iter(world) {
        let i = s.synapse.id as usize;
        let sy = s.synapse;
        (c.pre[i], c.post[i], c.group[i]) = (sy.pre, sy.post, sy.group);
        c.axonal_delay_steps[i] = sy.axonal_delay_steps;
        c.dendritic_delay_steps[i] = sy.dendritic_delay_steps;
        c.arrivals[i] = sy.arrivals;
        if let Some(x) = s.nmda {
            c.glutamate_mm[i] = x.cleft.glutamate_mm;
            c.spine_v_mv[i] = x.membrane.v_mv;
            c.nmda_open_fraction[i] = x.receptor.open_fraction;
        }
        (c.ca_um[i], c.ca_sensitivity[i]) = (s.spine.ca_um, s.spine.sensitivity);
        if let Some(t) = s.traces {
            (c.x_pre[i], c.y_post[i], c.eligibility_mv[i]) = (t.x_pre, t.y_post, t.eligibility_mv);
        }
        if let Some(r) = s.rho {
            c.rho[i] = r.rho;
        }
        let w = s.weight;
        (c.h_mv[i], c.z[i], c.w_mv[i], c.efficacy_mv[i]) = (w.h_mv, w.z, w.w_mv, w.efficacy_mv);
        if let Some(p) = s.pools {
            (c.psd_receptors[i], c.total_receptors[i]) = (p.psd, p.total);
        }
        if let Some(t) = s.tag {
            (c.tagged[i], c.z_residual[i]) = (t.tagged, t.z_residual);
        }
        if let Some(e) = s.early {
            c.h_residual_mv[i] = e.h_residual_mv;
        }
        if let Some(e) = s.event {
            c.next_step[i] = e.next_step;
        }
    }
    c
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
        v_mv: vec![0.0; n],
        u: vec![0.0; n],
        refractory_steps: vec![0; n],
        spike_cursor: vec![0; n],
        protein: vec![0.0; n],
        poisson_next_step: Vec::new(),
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
    c.poisson_next_step = world.resource::<PoissonCalendar>().next_steps(n, step);
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
            let header = ron_text(&scene)?;
            let f = std::fs::File::create(path).map_err(out)?;
            let w = std::io::BufWriter::with_capacity(1 << 20, f);
            let w = crate::scene::binary::write(w, &header, columns).map_err(out)?;
            w.into_inner().map_err(|e| out(e.into_error()))?;
            Ok(())
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
