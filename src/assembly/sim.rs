//! [`Simulation`]: load a scene, step it, read and write its components, save a checkpoint.
//! The `edra` command is a thin layer over this.

use crate::assembly::build::{BuildInfo, build_world_on};
use crate::assembly::idle::IdleSteps;
use crate::assembly::output::{Format, RecorderFiles, RunSummary};
use crate::assembly::record::{NeuronData, Recorders, SynapseData, chunk_values};
use crate::core::clock::Clock;
use crate::core::error::{EdraError, Result};
use crate::core::param_path::ParamValue;
use crate::core::registry::{Registered, Stages};
use crate::core::stage::Stage;
use crate::engine::exchange::{ExchangeCost, SpikeExchange, exchange};
use crate::engine::ranks::Ranks;
use crate::engine::schedule::{Plugin, cascade_schedule};
use crate::scene::{Scene, SceneFile};
use crate::stages::guard::NonFinite;
use crate::stages::neurons::NEURON_VARIABLES;
use crate::stages::plasticity::event_stdp::CaughtUp;
use bevy_ecs::prelude::*;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;

/// Sets flush-to-zero and denormals-are-zero on the calling thread. Decaying traces become
/// subnormal floats, which are 10–100x slower on x86; every thread that runs a stage sets the
/// same mode, so results do not depend on which thread computed what.
pub fn flush_denormals() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: only sets the FTZ (bit 15) and DAZ (bit 6) flags of this thread's MXCSR.
    #[allow(deprecated)]
    unsafe {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        _mm_setcsr(_mm_getcsr() | 0x8040);
    }
}

/// Starts the worker pool with `threads` threads (default: all cores). The pool is global to
/// the process and is started once; later calls return the count it already has.
pub fn init_threads(threads: Option<usize>) -> usize {
    use bevy_tasks::{ComputeTaskPool, TaskPoolBuilder};
    flush_denormals();
    let n = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = ComputeTaskPool::get_or_init(|| {
        TaskPoolBuilder::new()
            .num_threads(n.max(1))
            .on_thread_spawn(flush_denormals)
            .build()
    });
    // rayon (used at build time) gets the same count; an error means it was already set.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n.max(1))
        .start_handler(|_| flush_denormals())
        .build_global();
    pool.thread_num()
}

/// A loaded scene, ready to step.
pub struct Simulation {
    world: World,
    schedule: Schedule,
    scene: SceneFile,
    /// The recorders' files when they stream to disk ([`Simulation::stream_recorders`]).
    recorder_files: Option<RecorderFiles>,
    /// This rank's error, on a run shared among ranks, until the ranks agree on it at the next
    /// spike exchange (it steps no more meanwhile).
    failed: Option<EdraError>,
    /// This rank was asked to stop; `stopping`: the ranks agreed to.
    stop_asked: bool,
    stopping: bool,
    /// Skipping idle steps, when every part of the scene is event-driven
    /// ([`IdleSteps`]); otherwise why not.
    idle: std::result::Result<IdleSteps, String>,
    /// Steps run (not skipped) since the build.
    steps_run: u64,
}

/// A synapse's variables at one moment: (name, cascade stage, component, value or None).
pub type SynapseSnapshot = Vec<(&'static str, Stage, &'static str, Option<f32>)>;

/// The schedule of a step: the built-in stages, recording, and the `registered` stages'
/// systems.
pub fn step_schedule(registered: &Stages) -> Schedule {
    let mut plugins: Vec<Plugin> = crate::stages::BUILT_IN.to_vec();
    plugins.push(crate::assembly::record::plugin);
    if !registered.0.is_empty() {
        plugins.push(crate::assembly::record::plugin_registered);
    }
    let mut s = cascade_schedule(&plugins);
    crate::core::registry::add_systems(registered, &mut s);
    s
}

impl Simulation {
    /// Loads and builds a scene (or a checkpoint) from a file.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, crate::stages::registered())
    }

    /// Loads a scene (or a checkpoint) with stages registered on top of the built-in cascade
    /// (see [`crate::core::registry`]).
    pub fn load_with(path: &Path, registered: Stages) -> Result<Self> {
        Self::new_with(SceneFile::load_with(path, &registered)?, registered)
    }

    /// Builds a scene already read.
    pub fn new(scene: SceneFile) -> Result<Self> {
        Self::new_with(scene, crate::stages::registered())
    }

    /// Builds a scene already read, with stages registered on top of the built-in cascade; the
    /// scene is checked again against them.
    pub fn new_with(scene: SceneFile, registered: Stages) -> Result<Self> {
        Self::new_on(scene, registered, &Ranks::single())
    }

    /// Builds this rank's share of a scene already read, on a run shared among `ranks` (every
    /// rank calls it; see [`crate::engine::partition`]).
    pub fn new_on(mut scene: SceneFile, registered: Stages, ranks: &Ranks) -> Result<Self> {
        init_threads(None);
        scene.check(&registered)?;
        refuse_on_ranks(&scene, ranks.size())?;
        if ranks.size() > 1 && !registered.0.is_empty() {
            return Err(EdraError::Argument(format!(
                "{} stage(s) registered by the program ({}): such stages run on one process; \
                 several MPI ranks run the built-in cascade only",
                registered.0.len(),
                registered.names().join(", ")
            )));
        }
        let mut world = build_world_on(&scene, &registered, ranks)?;
        if !crate::core::synapse::tables_sorted_by_group(&mut world) {
            return Err(EdraError::Other(
                "internal: synapse or neuron tables are not sorted by group after the build".into(),
            ));
        }
        scene.scene.state = None;
        let idle = IdleSteps::of(&mut world, registered.0.len());
        Ok(Simulation {
            world,
            schedule: step_schedule(&registered),
            scene,
            recorder_files: None,
            failed: None,
            stop_asked: false,
            stopping: false,
            idle,
            steps_run: 0,
        })
    }

    /// Parses scene text (`name` labels it in errors) and builds it.
    pub fn from_ron(name: &str, src: &str) -> Result<Self> {
        Self::new(SceneFile::parse(name, src.to_string())?)
    }

    /// The scene this simulation was built from (without state).
    pub fn scene(&self) -> &Scene {
        &self.scene.scene
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }

    /// The step schedule, to add systems of a new stage (see `examples/custom_stage.rs`).
    pub fn schedule_mut(&mut self) -> &mut Schedule {
        &mut self.schedule
    }

    pub fn clock(&self) -> &Clock {
        self.world.resource::<Clock>()
    }

    /// Simulated time, ms.
    pub fn t_ms(&self) -> f64 {
        self.clock().t_ms()
    }

    pub fn info(&self) -> &BuildInfo {
        self.world.resource::<BuildInfo>()
    }

    /// Advances one step. A non-finite value stops the run with an error naming the entity, the
    /// variable and the time.
    ///
    /// On a run shared among ranks, a rank that fails steps no more and tells the others at
    /// the next spike exchange, where every rank returns the error of the lowest failing rank.
    pub fn step(&mut self) -> Result<()> {
        let step = self.clock().step;
        if self.failed.is_none() {
            self.schedule.run(&mut self.world);
            if let Err(e) = self.check_finite() {
                if self.ranks().size() == 1 {
                    return Err(e);
                }
                self.failed = Some(e);
            }
        }
        if self.ranks().size() > 1 {
            let ranks = self.ranks().clone();
            let mut recs = self.world.resource_mut::<Recorders>();
            if self.failed.is_some() {
                // Stepping no more: nothing sampled, but every rank takes part in the gathers.
                recs.0.iter_mut().for_each(|r| r.last_sample = r.rows.len());
            }
            crate::assembly::gather::recorder_rows_to_root(&ranks, &mut recs, step);
        }
        self.exchange_after(step, false)?;
        self.world.resource_mut::<Clock>().step += 1;
        self.steps_run += 1;
        if self.steps_run.is_multiple_of(100_000) {
            // Without an App, change ticks must be checked or they wrap after long runs.
            self.world.check_change_ticks();
        }
        if let Some(files) = &mut self.recorder_files {
            files.flush_full(&mut self.world.resource_mut::<Recorders>())?;
        }
        Ok(())
    }

    /// Streams the recorders to disk from now on: each writes `dir/.<name>.csv.partial`
    /// (header, then the rows it holds), and from then on its rows are appended whenever its
    /// buffer holds a chunk of [`chunk_values`] (`chunk_rows` rows, default
    /// [`crate::assembly::record::RECORDER_CHUNK_BYTES`]); [`Simulation::finish_recorders`] writes the
    /// rest and renames the files to `<name>.csv`. Each buffer is replaced by one of a chunk's
    /// capacity, so memory no longer grows with the run; the bytes are those of
    /// [`crate::assembly::output::write_recorders`].
    pub fn stream_recorders(&mut self, dir: &Path, chunk_rows: Option<usize>) -> Result<()> {
        self.stream_recorders_as(dir, chunk_rows, Format::Csv)
    }

    /// [`Simulation::stream_recorders`] to files in `format`: with [`Format::Parquet`],
    /// `dir/.<name>.parquet.partial`, one row group per chunk, renamed to `<name>.parquet`.
    pub fn stream_recorders_as(
        &mut self,
        dir: &Path,
        chunk_rows: Option<usize>,
        format: Format,
    ) -> Result<()> {
        let info = self.info().clone();
        let mut recs = self.world.resource_mut::<Recorders>();
        let sample: Vec<usize> = recs
            .0
            .iter()
            .map(|r| {
                let width = 2 + r.columns.len();
                r.entities_per_sample(info.regions, info.astrocytes) * width
            })
            .collect();
        let chunk: Vec<usize> = recs
            .0
            .iter()
            .zip(&sample)
            .map(|(r, &s)| chunk_values(s, 2 + r.columns.len(), chunk_rows))
            .collect();
        let mut files = RecorderFiles::create(&recs, dir, format, &sample, &chunk)?;
        files.flush_all(&mut recs)?;
        for (r, &c) in recs.0.iter_mut().zip(&chunk) {
            r.rows = Vec::with_capacity(c);
        }
        self.recorder_files = Some(files);
        Ok(())
    }

    /// Ends the streaming of [`Simulation::stream_recorders`]: appends every recorder's
    /// remaining rows and renames its file to `<name>.csv`. Does nothing if the recorders do
    /// not stream.
    pub fn finish_recorders(&mut self) -> Result<()> {
        self.finish_recorders_with(None)
    }

    /// [`Simulation::finish_recorders`], with `summary` in the metadata of Parquet files.
    pub fn finish_recorders_with(&mut self, summary: Option<&RunSummary>) -> Result<()> {
        match self.recorder_files.take() {
            Some(files) => files.finish(&mut self.world.resource_mut::<Recorders>(), summary),
            None => Ok(()),
        }
    }

    /// The ranks this run is shared among (one process: [`Ranks::single`]).
    pub fn ranks(&self) -> &Ranks {
        self.world.resource::<Ranks>()
    }

    /// What this rank's spike exchanges have cost so far (nothing on one process).
    pub fn exchange_cost(&self) -> ExchangeCost {
        self.world.resource::<SpikeExchange>().cost
    }

    /// Asks the run to stop (a signal): on one process at once, on several at the next spike
    /// exchange, where every rank learns it ([`Simulation::stopping`]).
    pub fn ask_to_stop(&mut self) {
        self.stop_asked = true;
        if self.ranks().size() == 1 {
            self.stopping = true;
        }
    }

    /// Whether the run was asked to stop (on several ranks: whether the ranks agreed to).
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// Ends the open exchange interval where the run ends: every rank's spikes of the steps
    /// taken are then complete on every rank (every rank calls it at the same step). Returns
    /// the agreed error if a rank failed.
    pub fn complete_spikes(&mut self) -> Result<()> {
        let step = self.clock().step;
        let open = self.world.resource::<SpikeExchange>().complete_before < step;
        if step == 0 || !open {
            return Ok(());
        }
        self.exchange_after(step - 1, true)
    }

    /// The spike exchange after step `step` (if due, or `force`): tells the other ranks whether
    /// this one failed or was asked to stop, and returns the agreed error if any rank failed.
    fn exchange_after(&mut self, step: u64, force: bool) -> Result<()> {
        let (failed, stop) = (self.failed.is_some(), self.stop_asked);
        let said = exchange(&mut self.world, step, force, failed, stop);
        if said.failed {
            return Err(self.agree_on_error());
        }
        self.stopping |= said.stop;
        Ok(())
    }

    /// The steps whose spikes are complete (every neuron's) on this rank: those before this.
    pub fn spikes_complete_before(&self) -> u64 {
        self.world.resource::<SpikeExchange>().complete_before
    }

    /// The error of the lowest failing rank, agreed on by every rank (one collective, which
    /// every rank reaches after an exchange that reported a failure).
    fn agree_on_error(&mut self) -> EdraError {
        let local = self.failed.take().map_or(Ok(()), Err);
        match self.ranks().agree(local) {
            Err(e) => e,
            Ok(()) => EdraError::other("internal: an exchange reported a failure no rank has"),
        }
    }

    /// Runs until simulated time `t_ms`; `progress` is called now and then with the time reached.
    pub fn run_until(&mut self, t_ms: f64, progress: &mut dyn FnMut(f64)) -> Result<()> {
        let end = self.clock().steps(t_ms);
        let mut told = self.clock().step;
        while self.clock().step < end {
            self.advance(end)?;
            if self.clock().step >= told + 256 {
                told = self.clock().step;
                progress(self.t_ms());
            }
        }
        progress(self.t_ms());
        Ok(())
    }

    /// Runs one step, then, in a scene whose every part is event-driven, skips the steps after
    /// it on which nothing can happen, up to step `limit` at most ([`IdleSteps`]): the clock
    /// then stands at the next step that may have work. Outputs are the same as stepping every
    /// step.
    pub fn advance(&mut self, limit: u64) -> Result<()> {
        self.step()?;
        self.skip_idle(limit);
        Ok(())
    }

    /// Right after [`Simulation::step`], in a scene whose every part is event-driven: skips the
    /// steps on which nothing can happen, up to step `limit` at most; returns how many. Read
    /// the spikes of the step just run first ([`Simulation::fired_last_step`]): the skipped
    /// steps had none, and the history may forget them.
    pub fn skip_idle(&mut self, limit: u64) -> u64 {
        let ran = self.clock().step - 1;
        if self.failed.is_some() || self.stopping || self.stop_asked {
            return 0;
        }
        let Ok(idle) = &mut self.idle else {
            return 0;
        };
        let next = idle.next_busy(&self.world, ran).min(limit);
        if next <= ran + 1 {
            return 0;
        }
        idle.skip(&mut self.world, ran, next);
        next - (ran + 1)
    }

    /// Steps every step from now on, even in a scene where idle steps could be skipped
    /// (`edra run --every-step`; the outputs are the same).
    pub fn every_step(&mut self) {
        self.idle = Err("every step was asked for".into());
    }

    /// Steps run and steps skipped since the build, and why none are skipped if none can be.
    pub fn steps_taken(&self) -> (u64, u64, Option<&str>) {
        match &self.idle {
            Ok(idle) => (self.steps_run, idle.skipped, None),
            Err(why) => (self.steps_run, 0, Some(why)),
        }
    }

    fn check_finite(&mut self) -> Result<()> {
        let flag = self.world.resource::<NonFinite>();
        let (syn, neu) = (flag.synapse(), flag.neuron());
        let (reg, ast) = (flag.region(), flag.astrocyte());
        if syn.is_none() && neu.is_none() && reg.is_none() && ast.is_none() {
            return Ok(());
        }
        let t_ms = (self.clock().step + 1) as f64 * self.clock().dt_ms;
        // Regions and astrocytes feed synapses, which feed neurons: the most upstream is named.
        if reg.is_some() || ast.is_some() {
            return Err(self.region_or_astrocyte_error(reg, ast, t_ms));
        }
        if let Some(id) = syn {
            let snap = self.synapse(id).unwrap_or_default();
            let (variable, _, _, value) = snap
                .into_iter()
                .find(|v| v.3.is_some_and(|x| !x.is_finite()))
                .unwrap_or(("unknown", Stage::Record, "", Some(f32::NAN)));
            return Err(EdraError::NonFinite {
                entity: format!("synapse {id}"),
                variable,
                value: value.unwrap_or(f32::NAN),
                t_ms,
            });
        }
        let id = neu.expect("checked above");
        let flag = self.world.resource::<NonFinite>();
        flag.neuron.store(u32::MAX, Relaxed);
        let values = self.neuron(id).unwrap_or([None; 3]);
        let k = values
            .iter()
            .position(|v| v.is_some_and(|x| !x.is_finite()))
            .unwrap_or(0);
        Err(EdraError::NonFinite {
            entity: format!("neuron {id}"),
            variable: NEURON_VARIABLES[k],
            value: values[k].unwrap_or(f32::NAN),
            t_ms,
        })
    }

    /// The error of a non-finite dopamine region (`reg`) or else astrocyte (`ast`).
    fn region_or_astrocyte_error(
        &mut self,
        reg: Option<u32>,
        ast: Option<u32>,
        t_ms: f64,
    ) -> EdraError {
        use crate::stages::homeostasis::{ASTROCYTE_VARIABLES, AstrocyteUnit};
        use crate::stages::modulation::{REGION_VARIABLES, RegionData};
        let first = |names: [&'static str; 3], vals: [f64; 3]| {
            let k = vals.iter().position(|v| !v.is_finite()).unwrap_or(0);
            (names[k], vals[k] as f32)
        };
        let (entity, (variable, value)) = if let Some(id) = reg {
            let mut q = self.world.query::<RegionData>();
            let vals = q
                .iter(&self.world)
                .find(|r| r.id.0 == id)
                .map_or([f64::NAN; 3], |r| r.values().map(f64::from));
            (
                format!("dopamine region {id}"),
                first(REGION_VARIABLES, vals),
            )
        } else {
            let id = ast.expect("a region or an astrocyte");
            let mut q = self.world.query::<&AstrocyteUnit>();
            let vals = q
                .iter(&self.world)
                .find(|a| a.id == id)
                .map_or([f64::NAN; 3], |a| {
                    [a.activity_hz, a.error_integral_hz_s, a.scale]
                });
            (format!("astrocyte {id}"), first(ASTROCYTE_VARIABLES, vals))
        };
        EdraError::NonFinite {
            entity,
            variable,
            value,
            t_ms,
        }
    }

    /// Every variable of synapse `id`, in cascade order. A lookup by id: for inspection, not
    /// for per-step use.
    pub fn synapse(&mut self, id: u32) -> Option<SynapseSnapshot> {
        let mut q = self.world.query::<SynapseData>();
        let now = CaughtUp::of(&self.world, self.clock().step);
        let s = q.iter(&self.world).find(|s| s.synapse.id == id)?;
        let mut vals = s.values(&now).to_vec();
        let reg = self.world.resource::<Registered>();
        reg.read(&self.world, s.entity, &mut vals);
        let vars = crate::stages::synapse_variables()
            .into_iter()
            .chain(reg.stages.variables());
        Some(
            vars.zip(vals)
                .map(|(v, x)| (v.name, v.stage, v.component, x))
                .collect(),
        )
    }

    /// The links of synapse `id`: (pre, post, group name, axonal and dendritic delay in steps).
    pub fn synapse_links(&mut self, id: u32) -> Option<(u32, u32, String, u16, u16)> {
        let mut q = self.world.query::<&crate::core::synapse::Synapse>();
        let s = *q.iter(&self.world).find(|s| s.id == id)?;
        let groups = self
            .world
            .resource::<crate::stages::groups::SynapseGroups>();
        let name = groups.0[s.group as usize].spec.name.clone();
        Some((
            s.pre,
            s.post,
            name,
            s.axonal_delay_steps,
            s.dendritic_delay_steps,
        ))
    }

    /// The state variables of neuron `id` ([`NEURON_VARIABLES`]).
    pub fn neuron(&mut self, id: u32) -> Option<[Option<f32>; 3]> {
        let mut q = self.world.query::<NeuronData>();
        q.iter(&self.world)
            .find(|n| n.neuron.id == id)
            .map(|n| n.values())
    }

    /// Ids of the neurons that fired on the step just completed.
    pub fn fired_last_step(&self) -> Vec<u32> {
        let step = self.clock().step;
        if step == 0 {
            return Vec::new();
        }
        self.world
            .resource::<crate::engine::spikes::SpikeHistory>()
            .fired_on(step - 1)
            .collect()
    }

    /// Sets parameter `path` (a path as in sweeps and `SetParam`, e.g.
    /// `synapses.syn.rule.a_plus`) to `value` from the next step on, in every sweep replica:
    /// the same as a scene's `SetParam` at the current time, and checked the same way (the
    /// scene with that event added must check). The event joins the scene's timeline, so a
    /// checkpoint keeps it. A refused change leaves the simulation as it was.
    pub fn set_param(&mut self, path: &str, value: ParamValue) -> Result<()> {
        use crate::scene::timeline::Event;
        use crate::stages::timeline::{ParamChange, Timeline};
        let at_ms = self.t_ms();
        let step = self.clock().step;
        let event = Event::SetParam {
            at_ms,
            path: path.to_string(),
            value: value.clone(),
        };
        let mut scene = self.scene.scene.clone();
        let at = format!("timeline[{}].SetParam.", scene.timeline.len());
        scene.timeline.push(event.clone());
        let registered = self.world.resource::<Registered>().stages.clone();
        let mut c = crate::core::params::Checker::default();
        scene.check_with(&mut c, &registered);
        if let Some((field, msg)) = c.errors.first() {
            let field = field.strip_prefix(&at).unwrap_or(field);
            return Err(EdraError::Argument(format!(
                "set_param({path:?}, {value}) at t = {at_ms} ms: field `{field}`: {msg}"
            )));
        }
        self.scene.scene.timeline.push(event);
        let replicas = self.info().replicas.max(1) as u32;
        let mut tl = self.world.resource_mut::<Timeline>();
        // After the changes due at this step: the order a rebuild from the scene gives.
        let k = tl.changes.partition_point(|c| c.step <= step);
        let new = (0..replicas).map(|replica| ParamChange {
            step,
            replica,
            path: path.to_string(),
            value: value.clone(),
        });
        tl.changes.splice(k..k, new);
        Ok(())
    }

    /// The scene with the complete current state: a checkpoint.
    pub fn checkpoint(&mut self) -> Scene {
        let state = crate::assembly::checkpoint::capture(&mut self.world);
        Scene {
            state: Some(state),
            ..self.scene.scene.clone()
        }
    }

    /// The scene with its complete state, on a run shared among ranks: on rank 0, `Some`,
    /// put together from every rank's share; `None` on the others. Every rank calls it at the
    /// same step; it first completes the spikes of the open exchange interval.
    pub fn checkpoint_of_ranks(&mut self) -> Result<Option<Scene>> {
        self.complete_spikes()?;
        let state = crate::assembly::gather::state_to_root(&mut self.world);
        Ok(state.map(|state| Scene {
            state: Some(state),
            ..self.scene.scene.clone()
        }))
    }

    /// Writes a checkpoint to `path` in `form`, on one process or several (every rank calls it;
    /// rank 0 writes, whole or not at all).
    pub fn write_checkpoint(
        &mut self,
        path: &Path,
        form: crate::assembly::checkpoint::Form,
    ) -> Result<()> {
        use crate::assembly::{checkpoint, output::write_whole};
        if self.ranks().size() == 1 {
            return write_whole(path, |tmp| self.save_checkpoint_as(tmp, form));
        }
        match self.checkpoint_of_ranks()? {
            Some(scene) => write_whole(path, |tmp| checkpoint::write_as(scene, tmp, form)),
            None => Ok(()),
        }
    }

    /// Writes a checkpoint to `path`: RON text if it ends in `.ron`, the binary form
    /// ([`crate::scene::binary`]) if it ends in `.ckpt`.
    pub fn save_checkpoint(&mut self, path: &Path) -> Result<()> {
        let form = crate::assembly::checkpoint::Form::of(path)?;
        self.save_checkpoint_as(path, form)
    }

    /// Writes a checkpoint to `path` in the form `form`, whatever its extension.
    pub fn save_checkpoint_as(
        &mut self,
        path: &Path,
        form: crate::assembly::checkpoint::Form,
    ) -> Result<()> {
        use crate::assembly::checkpoint::{self, Form};
        match form {
            Form::Ron => checkpoint::write_as(self.checkpoint(), path, form),
            Form::Binary => checkpoint::write_binary(&mut self.world, &self.scene.scene, path),
        }
    }
}

impl Simulation {
    /// Writes the spikes of the step just completed as `t_ms,neuron` lines (no allocation);
    /// returns how many.
    pub fn write_spikes_of_last_step(&self, w: &mut impl std::io::Write) -> std::io::Result<u64> {
        match self.clock().step {
            0 => Ok(0),
            step => self.write_spikes_of_step(step - 1, w),
        }
    }

    /// Writes the spikes of step `step` (held by the spike history, and complete:
    /// [`Simulation::spikes_complete_before`]) as `t_ms,neuron` lines; returns how many.
    pub fn write_spikes_of_step(
        &self,
        step: u64,
        w: &mut impl std::io::Write,
    ) -> std::io::Result<u64> {
        let t = step as f64 * self.clock().dt_ms;
        let mut n = 0;
        for id in self
            .world
            .resource::<crate::engine::spikes::SpikeHistory>()
            .fired_on(step)
        {
            writeln!(w, "{t},{id}")?;
            n += 1;
        }
        Ok(n)
    }
}

/// The first synapse group whose axonal delay can round to 0 steps (a normal or log-normal
/// delay can, whatever its mean).
pub fn zero_axonal_delay(scene: &Scene) -> Option<usize> {
    let min_steps = |d: &crate::core::params::Dist| (d.min_in(0.0, f64::MAX) / scene.dt_ms).round();
    scene
        .synapses
        .iter()
        .position(|g| min_steps(&g.axonal_delay_ms) < 1.0)
}

/// Refuses, on a run shared among `ranks` > 1 processes, what the ranks cannot share: an
/// axonal delay that can be 0 steps (a spike would have to cross ranks within its step). Every
/// rank reads the same scene, so every rank refuses it alike, with the same message.
pub fn refuse_on_ranks(sf: &SceneFile, ranks: usize) -> Result<()> {
    if ranks <= 1 {
        return Ok(());
    }
    let scene = &sf.scene;
    if let Some(i) = zero_axonal_delay(scene) {
        return Err(sf.error_at(
            &format!("synapses[{i}].axonal_delay_ms"),
            format!(
                "can be shorter than one step ({} ms): on {ranks} ranks a spike reaches another \
                 rank no sooner than the next step; give the group an axonal delay of at least dt",
                scene.dt_ms
            ),
        ));
    }
    Ok(())
}
