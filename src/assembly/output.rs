//! What `edra run` writes: `summary.ron`, `synapses.csv`, `spikes.csv`, one CSV per recorder and
//! `checkpoint.ron`. CSVs have one header line with the unit in each column name and load with
//! `pandas.read_csv` / `numpy.genfromtxt(names=True, delimiter=",")`; a variable a synapse does
//! not have (no NMDA receptor in the linear Ca model, say) is an empty field (NaN in pandas).
//!
//! Recorder rows are written by one function, [`write_row`], whether from memory at the end
//! ([`write_recorders`]) or streamed as the run goes ([`RecorderFiles`], which `edra run` uses):
//! `<dir>/.<name>.csv.partial` gets whole rows whenever a recorder holds a chunk, and becomes
//! `<name>.csv` when the run ends, so the bytes are the same either way.
//!
//! With [`Format::Parquet`] the same tables are Parquet files instead ([`crate::assembly::parquet`]):
//! `synapses.parquet`, `spikes.parquet`, `<name>.parquet`, streamed the same way (each chunk a
//! row group of `.<name>.parquet.partial`).

use crate::assembly::checkpoint::Form;
use crate::assembly::parquet::{RecorderParquet, SpikeParquet};
use crate::assembly::record::{RecorderRt, Recorders, SynapseData};
use crate::assembly::sim::Simulation;
use crate::core::clock::Clock;
use crate::core::error::{EdraError, Result};
use crate::core::registry::Registered;
use crate::stages::groups::{Replicas, SynapseGroups};
use crate::stages::plasticity::event_stdp::CaughtUp;
use bevy_ecs::prelude::World;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The files of a run's tables: CSV (the default) or Parquet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Csv,
    Parquet,
}

impl Format {
    /// The file extension: `csv` or `parquet`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }

    /// The checkpoint that goes with the tables: RON text beside CSV, the binary form beside
    /// Parquet (a run is either read by people or by programs).
    pub fn checkpoint_form(self) -> Form {
        match self {
            Format::Csv => Form::Ron,
            Format::Parquet => Form::Binary,
        }
    }

    /// The name of a run folder's checkpoint: `checkpoint.ron` or `checkpoint.ckpt`.
    pub fn checkpoint_file(self) -> String {
        format!("checkpoint.{}", self.checkpoint_form().extension())
    }
}

/// The file of the table `stem` (`spikes`, `synapses`, a recorder's name) in the run folder
/// `dir`: `<stem>.parquet` if there is one, else `<stem>.csv`; `None` if neither is there.
pub fn table_path(dir: &Path, stem: &str) -> Option<PathBuf> {
    [Format::Parquet, Format::Csv]
        .map(|f| dir.join(format!("{stem}.{}", f.extension())))
        .into_iter()
        .find(|p| p.is_file())
}

/// Writes a file that appears whole or not at all: `write` fills `<path>.partial`, which is
/// then renamed to `path`; if either fails the partial file is removed and `path` is left as
/// it was.
pub fn write_whole(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = write(&partial).and_then(|()| {
        std::fs::rename(&partial, path).map_err(|source| EdraError::Output {
            path: path.to_path_buf(),
            source,
        })
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// `summary.ron`: what ran and how fast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub scene: String,
    pub edra_version: String,
    pub seed: u64,
    pub dt_ms: f64,
    pub start_ms: f64,
    pub simulated_ms: f64,
    pub steps: u64,
    pub neurons: u64,
    pub synapses: u64,
    pub dopamine_regions: u64,
    pub astrocytes: u64,
    pub replicas: u64,
    pub spikes: u64,
    pub threads: usize,
    pub wall_s: f64,
    pub synapse_steps_per_s: f64,
    /// MPI processes of the run (1 without `mpirun`).
    #[serde(default = "one")]
    pub ranks: usize,
    /// Rank 0's spike exchanges: collective calls, wall seconds in them (waiting for the
    /// slowest rank included) and bytes received. 0 on one process.
    #[serde(default)]
    pub exchange_calls: u64,
    #[serde(default)]
    pub exchange_s: f64,
    #[serde(default)]
    pub exchange_bytes: u64,
}

/// The default of [`RunSummary::ranks`], for summaries written before it.
fn one() -> usize {
    1
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> EdraError + '_ {
    move |source| EdraError::Output {
        path: path.to_path_buf(),
        source,
    }
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::new(File::create(path).map_err(io_err(path))?))
}

/// Writes `summary.ron`.
pub fn write_summary(dir: &Path, s: &RunSummary) -> Result<()> {
    let path = dir.join("summary.ron");
    let text = ron::ser::to_string_pretty(s, ron::ser::PrettyConfig::new().struct_names(true))
        .map_err(|e| EdraError::other(e.to_string()))?;
    std::fs::write(&path, text + "\n").map_err(io_err(&path))
}

fn opt(v: Option<f32>) -> String {
    v.map_or(String::new(), |x| x.to_string())
}

/// One synapse as `synapses.csv` and the Python package's `synapses()` read it.
pub struct SynapseRow {
    pub id: u32,
    /// Index into [`SynapseGroups`].
    pub group: u16,
    pub pre: u32,
    pub post: u32,
    pub axonal_delay_steps: u16,
    pub dendritic_delay_steps: u16,
    /// Every variable, built-in then registered ([`synapse_variable_names`] order); `None`
    /// where the synapse does not have it.
    pub values: Vec<Option<f32>>,
}

/// The names of [`SynapseRow::values`]: the built-in variables, then the registered stages'.
pub fn synapse_variable_names(sim: &Simulation) -> Vec<&'static str> {
    let reg = sim.world().resource::<Registered>();
    crate::stages::synapse_variables()
        .into_iter()
        .chain(reg.stages.variables())
        .map(|v| v.name)
        .collect()
}

/// Every synapse's row, in id order, with event-driven synapses caught up to now. On a run
/// shared among ranks every rank calls it, and rank 0 gets every rank's rows (the others none).
pub fn synapse_rows(sim: &mut Simulation) -> Vec<SynapseRow> {
    let world = sim.world_mut();
    let reg = world.resource::<Registered>().clone();
    let mut q = world.query::<SynapseData>();
    let world: &World = world;
    let now = CaughtUp::of(world, world.resource::<Clock>().step);
    let mut rows: Vec<SynapseRow> = q
        .iter(world)
        .map(|s| {
            let sy = s.synapse;
            let mut values = s.values(&now).to_vec();
            reg.read(world, s.entity, &mut values);
            SynapseRow {
                id: sy.id,
                group: sy.group,
                pre: sy.pre,
                post: sy.post,
                axonal_delay_steps: sy.axonal_delay_steps,
                dendritic_delay_steps: sy.dendritic_delay_steps,
                values,
            }
        })
        .collect();
    rows.sort_unstable_by_key(|r| r.id);
    let ranks = sim
        .world()
        .resource::<crate::engine::ranks::Ranks>()
        .clone();
    crate::assembly::gather::synapse_rows_to_root(&ranks, rows)
}

/// Writes `synapses.csv`: one row per synapse in id order (id, group, the sweep values of its
/// replica, pre, post, delays in steps, then every variable; empty where it lacks one).
pub fn write_synapses(sim: &mut Simulation, path: &Path) -> Result<()> {
    let rows = synapse_rows(sim);
    let names = synapse_variable_names(sim);
    let groups = sim.world().resource::<SynapseGroups>();
    let replicas = sim.world().resource::<Replicas>();
    let mut w = create(path)?;
    let e = io_err(path);
    let mut header = vec!["id", "group"];
    header.extend(replicas.paths.iter().map(String::as_str));
    header.extend(["pre", "post", "axonal_delay_steps", "dendritic_delay_steps"]);
    header.extend(names);
    writeln!(w, "{}", header.join(",")).map_err(&e)?;
    for r in &rows {
        let g = &groups.0[r.group as usize];
        write!(w, "{},{}", r.id, g.spec.name).map_err(&e)?;
        for v in replicas
            .values
            .get(g.replica as usize)
            .into_iter()
            .flatten()
        {
            write!(w, ",{v}").map_err(&e)?;
        }
        let (a, d) = (r.axonal_delay_steps, r.dendritic_delay_steps);
        write!(w, ",{},{},{a},{d}", r.pre, r.post).map_err(&e)?;
        for v in &r.values {
            write!(w, ",{}", opt(*v)).map_err(&e)?;
        }
        writeln!(w).map_err(&e)?;
    }
    w.flush().map_err(e)
}

/// Writes `dir/synapses.csv` or `dir/synapses.parquet` (with `summary` in its metadata).
pub fn write_synapses_as(
    sim: &mut Simulation,
    dir: &Path,
    format: Format,
    summary: Option<&RunSummary>,
) -> Result<()> {
    match format {
        Format::Csv => write_synapses(sim, &dir.join("synapses.csv")),
        Format::Parquet => {
            crate::assembly::parquet::write_synapses(sim, &dir.join("synapses.parquet"), summary)
        }
    }
}

/// `spikes.csv` or `spikes.parquet` while a run goes on: written to `.spikes.<ext>.partial`
/// step by step ([`SpikeFile::write_last_step`]), renamed when complete ([`SpikeFile::finish`]).
pub struct SpikeFile {
    sink: SpikeSink,
    partial: std::path::PathBuf,
    done: std::path::PathBuf,
    /// The first step not written yet ([`SpikeFile::write_complete`]).
    next: Option<u64>,
}

enum SpikeSink {
    Csv(BufWriter<File>),
    Parquet(Box<SpikeParquet>),
}

impl SpikeFile {
    /// Creates `dir/.spikes.<ext>.partial` (the CSV with its header `t_ms,neuron`).
    pub fn create(dir: &Path, format: Format) -> Result<SpikeFile> {
        let ext = format.extension();
        let partial = dir.join(format!(".spikes.{ext}.partial"));
        let sink = match format {
            Format::Csv => {
                let mut w = create(&partial)?;
                writeln!(w, "t_ms,neuron").map_err(io_err(&partial))?;
                SpikeSink::Csv(w)
            }
            Format::Parquet => SpikeSink::Parquet(Box::new(SpikeParquet::create(
                &partial,
                crate::assembly::parquet::SPIKE_ROWS,
            )?)),
        };
        Ok(SpikeFile {
            sink,
            done: dir.join(format!("spikes.{ext}")),
            partial,
            next: None,
        })
    }

    /// Writes the spikes of the step `sim` just completed; returns how many.
    pub fn write_last_step(&mut self, sim: &Simulation) -> Result<u64> {
        match &mut self.sink {
            SpikeSink::Csv(w) => sim
                .write_spikes_of_last_step(w)
                .map_err(io_err(&self.partial)),
            SpikeSink::Parquet(p) => p.push_last_step(sim),
        }
    }

    /// Writes the spikes of the steps from `step` on as they become complete
    /// ([`SpikeFile::write_complete`]).
    pub fn from_step(&mut self, step: u64) {
        self.next = Some(step);
    }

    /// Writes the spikes of every step not written yet whose spikes are complete (on a run
    /// shared among ranks, those of the last exchange interval; on one process, the step just
    /// taken); returns how many.
    pub fn write_complete(&mut self, sim: &Simulation) -> Result<u64> {
        let end = sim.spikes_complete_before();
        let mut n = 0;
        for step in self.next.unwrap_or(end.saturating_sub(1))..end {
            n += match &mut self.sink {
                SpikeSink::Csv(w) => sim
                    .write_spikes_of_step(step, w)
                    .map_err(io_err(&self.partial))?,
                SpikeSink::Parquet(p) => p.push_step(sim, step)?,
            };
        }
        self.next = Some(end);
        Ok(n)
    }

    /// Passes over the steps up to those complete now without reading them: they were skipped
    /// as idle ([`Simulation::skip_idle`]), so none had a spike.
    pub fn pass_quiet(&mut self, sim: &Simulation) {
        self.next = Some(sim.spikes_complete_before());
    }

    /// Writes the rest (with `summary` in a Parquet file's metadata) and renames the file to
    /// `spikes.<ext>`.
    pub fn finish(self, summary: Option<&RunSummary>) -> Result<()> {
        match self.sink {
            SpikeSink::Csv(mut w) => w.flush().map_err(io_err(&self.partial))?,
            SpikeSink::Parquet(p) => p.finish(summary)?,
        }
        std::fs::rename(&self.partial, &self.done).map_err(io_err(&self.partial))
    }
}

/// Appends one recorder row (`t_ms`, id, values) to `out` as a CSV line: `t_ms` as `{}` of the
/// f64, the id as a whole number, each value as its f32 (as sampled), NaN as an empty field. The
/// one formatting of recorder rows, so that a streamed run and [`write_recorders`] write the
/// same bytes.
pub fn write_row(out: &mut Vec<u8>, row: &[f64]) {
    // Writing to a Vec<u8> cannot fail.
    let _ = write!(out, "{},{}", row[0], row[1] as u64);
    for v in &row[2..] {
        if v.is_nan() {
            out.push(b',');
        } else {
            let _ = write!(out, ",{}", *v as f32);
        }
    }
    out.push(b'\n');
}

/// Text of recorder rows gathered before one `write` to the file: a write holds whole rows
/// only, so a file cut short (a killed run) ends with a whole line.
const ROW_TEXT_BYTES: usize = 64 << 10;

/// Appends `rows` (rows of `width` values) to `file` as CSV lines, through `text` (cleared
/// first; its capacity is kept for the next call).
fn append_rows(
    file: &mut File,
    text: &mut Vec<u8>,
    rows: &[f64],
    width: usize,
) -> std::io::Result<()> {
    text.clear();
    for row in rows.chunks(width) {
        write_row(text, row);
        if text.len() >= ROW_TEXT_BYTES {
            file.write_all(text)?;
            text.clear();
        }
    }
    file.write_all(text)
}

/// Writes one CSV per recorder into `dir`, from the rows held in memory.
pub fn write_recorders(sim: &Simulation, dir: &Path) -> Result<()> {
    let mut text = Vec::with_capacity(ROW_TEXT_BYTES * 2);
    for r in &sim.world().resource::<Recorders>().0 {
        let path = dir.join(format!("{}.csv", r.name));
        let mut file = File::create(&path).map_err(io_err(&path))?;
        let header = r.header();
        let e = io_err(&path);
        writeln!(file, "{}", header.join(",")).map_err(&e)?;
        append_rows(&mut file, &mut text, &r.rows, header.len()).map_err(&e)?;
    }
    Ok(())
}

/// The files of a run whose recorders stream to disk ([`Simulation::stream_recorders`]): each
/// recorder appends its rows to `<dir>/.<name>.csv.partial` whenever its buffer holds a chunk,
/// and [`RecorderFiles::finish`] writes the rest and renames the file to `<name>.csv`. In
/// [`Format::Parquet`] the file is `.<name>.parquet.partial`, each chunk one row group, and
/// becomes `<name>.parquet`.
pub struct RecorderFiles {
    files: Vec<RecorderFile>,
    /// Row text on its way to a file (capacity kept between flushes).
    text: Vec<u8>,
}

/// One recorder's file while it streams.
struct RecorderFile {
    partial: std::path::PathBuf,
    done: std::path::PathBuf,
    sink: RecorderSink,
    /// Values (f64) in one sample of the recorder, and the most its buffer holds: whole
    /// samples, at least one ([`crate::assembly::record::chunk_values`]).
    sample_values: usize,
    chunk_values: usize,
}

/// Where a streamed recorder's rows go.
enum RecorderSink {
    Csv(File),
    Parquet(Box<RecorderParquet>),
}

impl RecorderSink {
    /// Creates `path` for recorder `r`: a CSV with its header, or a Parquet file.
    fn create(path: &Path, r: &RecorderRt, format: Format) -> Result<RecorderSink> {
        Ok(match format {
            Format::Csv => {
                let mut file = File::create(path).map_err(io_err(path))?;
                writeln!(file, "{}", r.header().join(",")).map_err(io_err(path))?;
                RecorderSink::Csv(file)
            }
            Format::Parquet => RecorderSink::Parquet(Box::new(RecorderParquet::create(path, r)?)),
        })
    }
}

impl RecorderFiles {
    /// Creates the partial file of each recorder of `recs` in `dir` in `format`, header first;
    /// `sample_values[i]` and `chunk_values[i]` are recorder i's values per sample and chunk.
    pub fn create(
        recs: &Recorders,
        dir: &Path,
        format: Format,
        sample_values: &[usize],
        chunk_values: &[usize],
    ) -> Result<RecorderFiles> {
        let mut files = Vec::with_capacity(recs.0.len());
        let ext = format.extension();
        for (i, r) in recs.0.iter().enumerate() {
            let partial = dir.join(format!(".{}.{ext}.partial", r.name));
            files.push(RecorderFile {
                done: dir.join(format!("{}.{ext}", r.name)),
                sink: RecorderSink::create(&partial, r, format)?,
                partial,
                sample_values: sample_values[i],
                chunk_values: chunk_values[i],
            });
        }
        Ok(RecorderFiles {
            files,
            text: Vec::with_capacity(ROW_TEXT_BYTES * 2),
        })
    }

    /// Appends the rows of every recorder whose buffer could not take another sample, and
    /// empties its buffer (keeping its capacity). Called after each step, outside the step's
    /// systems; it writes only when a buffer is full.
    pub fn flush_full(&mut self, recs: &mut Recorders) -> Result<()> {
        for (f, r) in self.files.iter_mut().zip(recs.0.iter_mut()) {
            if r.rows.len() + f.sample_values > f.chunk_values {
                f.append(&mut self.text, r)?;
            }
        }
        Ok(())
    }

    /// Appends every recorder's rows and empties its buffer.
    pub fn flush_all(&mut self, recs: &mut Recorders) -> Result<()> {
        for (f, r) in self.files.iter_mut().zip(recs.0.iter_mut()) {
            f.append(&mut self.text, r)?;
        }
        Ok(())
    }

    /// Appends every recorder's remaining rows, closes the files (a Parquet file with
    /// `summary` in its metadata) and renames each to `<name>.csv` or `<name>.parquet`.
    pub fn finish(mut self, recs: &mut Recorders, summary: Option<&RunSummary>) -> Result<()> {
        self.flush_all(recs)?;
        for f in self.files {
            if let RecorderSink::Parquet(p) = f.sink {
                p.finish(summary)?;
            }
            std::fs::rename(&f.partial, &f.done).map_err(io_err(&f.done))?;
        }
        Ok(())
    }
}

impl RecorderFile {
    /// Appends `r`'s rows to the file and empties its buffer.
    fn append(&mut self, text: &mut Vec<u8>, r: &mut RecorderRt) -> Result<()> {
        let width = 2 + r.columns.len();
        match &mut self.sink {
            RecorderSink::Csv(file) => {
                append_rows(file, text, &r.rows, width).map_err(io_err(&self.partial))?
            }
            RecorderSink::Parquet(p) => p.append(&r.rows)?,
        }
        r.rows.clear();
        r.last_sample = 0;
        Ok(())
    }
}

/// A run folder written whole or not at all. `edra run` writes its outputs into a staging
/// folder beside the target (`.<name>.partial-<pid>`), and [`RunFolder::commit`] moves it into
/// place, so the target is the previous complete run until the new one is complete, then the new
/// one. A lock file beside it (`.<name>.lock`, holding the process id) keeps two runs from
/// writing the same target; a lock left by a process that is gone (killed) is taken over. If the
/// run fails or is dropped before `commit`, the staging folder is removed and the target is left
/// as it was.
pub struct RunFolder {
    target: std::path::PathBuf,
    staging: std::path::PathBuf,
    lock: std::path::PathBuf,
    committed: bool,
}

impl RunFolder {
    /// Takes the lock of `target` and creates an empty staging folder for it.
    pub fn create(target: &Path) -> Result<RunFolder> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n != "." && n != "..")
            .ok_or_else(|| {
                EdraError::other(format!(
                    "{}: an output folder needs a name of its own",
                    target.display()
                ))
            })?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        let lock = parent.join(format!(".{name}.lock"));
        take_lock(&lock, target)?;
        remove_stale_staging(&parent, &name);
        let pid = std::process::id();
        let staging = parent.join(format!(".{name}.partial-{pid}"));
        let folder = RunFolder {
            target: target.to_path_buf(),
            staging,
            lock,
            committed: false,
        };
        let _ = std::fs::remove_dir_all(&folder.staging);
        std::fs::create_dir(&folder.staging).map_err(io_err(&folder.staging))?;
        Ok(folder)
    }

    /// Where the outputs are written until [`RunFolder::commit`].
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Where rolling checkpoints of this run go: `<name>.checkpoint.ron` (or `.ckpt`, the
    /// `form`) beside the target, so that they outlive a run that is killed (the staging folder
    /// does not). Removed by [`RunFolder::commit`], whose folder holds the final checkpoint.
    pub fn rolling_checkpoint(&self, form: crate::assembly::checkpoint::Form) -> PathBuf {
        let ext = form.extension();
        self.staging
            .with_file_name(format!("{}.checkpoint.{ext}", self.name()))
    }

    /// Moves the staging folder into place: a previous run folder is renamed aside, the new
    /// one renamed to the target (two renames within one folder), then the old one removed.
    pub fn commit(mut self) -> Result<std::path::PathBuf> {
        let old =
            self.staging
                .with_file_name(format!(".{}.old-{}", self.name(), std::process::id()));
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(&self.target, &old).map_err(io_err(&self.target))?;
        }
        std::fs::rename(&self.staging, &self.target).map_err(io_err(&self.target))?;
        self.committed = true;
        for form in [Form::Ron, Form::Binary] {
            let _ = std::fs::remove_file(self.rolling_checkpoint(form));
        }
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(self.target.clone())
    }

    fn name(&self) -> String {
        self.target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

impl Drop for RunFolder {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// Removes the staging folders `.<name>.partial-<pid>` beside a target whose process is gone
/// (a run killed before it could clean up; the lock is held, so none of them is live).
fn remove_stale_staging(parent: &Path, name: &str) {
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = file.strip_prefix(&prefix)
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Creates `lock` holding this process's id; refuses if another live process holds it.
fn take_lock(lock: &Path, target: &Path) -> Result<()> {
    let busy = |pid: &str| EdraError::Output {
        path: target.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::ResourceBusy,
            format!(
                "another edra run (process {pid}) is writing this folder; its lock is {}",
                lock.display()
            ),
        ),
    };
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock)
        {
            Ok(mut f) => {
                return write!(f, "{}", std::process::id()).map_err(io_err(lock));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let pid = std::fs::read_to_string(lock).unwrap_or_default();
                let pid = pid.trim();
                let alive = !pid.is_empty() && Path::new("/proc").join(pid).exists();
                if alive || !Path::new("/proc/self").exists() {
                    return Err(busy(pid));
                }
                // Left by a process that is gone: take it over.
                let _ = std::fs::remove_file(lock);
            }
            Err(e) => return Err(io_err(lock)(e)),
        }
    }
    Err(busy("?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("edra-runfolder-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The target holds the old run until commit, the new one after; nothing else is left.
    #[test]
    fn a_run_folder_replaces_the_old_one_whole() {
        let root = scratch("replace");
        let target = root.join("run");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("summary.ron"), "old").unwrap();
        let f = RunFolder::create(&target).unwrap();
        std::fs::write(f.path().join("summary.ron"), "new").unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("summary.ron")).unwrap(),
            "old"
        );
        f.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("summary.ron")).unwrap(),
            "new"
        );
        let left: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    /// A run that fails (its RunFolder dropped) leaves the old folder as it was.
    #[test]
    fn a_failed_run_leaves_the_old_folder() {
        let root = scratch("failed");
        let target = root.join("run");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("summary.ron"), "old").unwrap();
        let f = RunFolder::create(&target).unwrap();
        std::fs::write(f.path().join("summary.ron"), "half").unwrap();
        drop(f);
        assert_eq!(
            std::fs::read_to_string(target.join("summary.ron")).unwrap(),
            "old"
        );
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 1);
    }

    /// Two runs cannot hold one target; a lock whose process is gone is taken over.
    #[test]
    fn one_run_per_folder() {
        let root = scratch("lock");
        let target = root.join("run");
        let f = RunFolder::create(&target).unwrap();
        let e = RunFolder::create(&target)
            .err()
            .expect("second run refused");
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("another edra run"), "{e}");
        drop(f);
        // A stale lock (a pid that does not exist).
        std::fs::write(root.join(".run.lock"), "4294967").unwrap();
        RunFolder::create(&target).unwrap().commit().unwrap();
        assert!(target.is_dir());
    }

    /// With a chunk of 5 rows, a streamed recorder's buffer never grows past its chunk while a
    /// run of 2000 steps goes on (it is emptied, capacity kept, whenever full), and the files it
    /// writes are the bytes [`write_recorders`] writes for the same run held in memory.
    #[test]
    fn streamed_recorders_stay_within_their_chunk_and_write_the_same_bytes() {
        let scene = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/single_synapse.ron");
        let root = scratch("stream");
        let (streamed, held) = (root.join("streamed"), root.join("held"));
        std::fs::create_dir_all(&streamed).unwrap();
        std::fs::create_dir_all(&held).unwrap();
        let mut sim = Simulation::load(&scene).unwrap();
        sim.stream_recorders(&streamed, Some(5)).unwrap();
        let caps = |sim: &Simulation| -> Vec<usize> {
            let recs = sim.world().resource::<Recorders>();
            recs.0.iter().map(|r| r.rows.capacity()).collect()
        };
        let chunk = caps(&sim);
        let info = sim.info().clone();
        for (r, &c) in sim.world().resource::<Recorders>().0.iter().zip(&chunk) {
            let width = 2 + r.columns.len();
            let sample = r.entities_per_sample(info.regions, info.astrocytes) * width;
            let chunk = crate::assembly::record::chunk_values(sample, width, Some(5));
            assert_eq!(c, chunk, "{}", r.name);
            assert!(c <= 5 * width || c == sample, "{}: {c}", r.name);
        }
        for _ in 0..2000 {
            sim.step().unwrap();
            assert_eq!(
                caps(&sim),
                chunk,
                "a buffer grew at step {}",
                sim.clock().step
            );
        }
        sim.finish_recorders().unwrap();
        let mut mem = Simulation::load(&scene).unwrap();
        for _ in 0..2000 {
            mem.step().unwrap();
        }
        write_recorders(&mem, &held).unwrap();
        for r in &mem.world().resource::<Recorders>().0 {
            let f = format!("{}.csv", r.name);
            let a = std::fs::read(streamed.join(&f)).unwrap();
            assert!(a == std::fs::read(held.join(&f)).unwrap(), "{f} differs");
            assert!(
                a.iter().filter(|&&b| b == b'\n').count() > 10,
                "{f} too short"
            );
            assert!(!streamed.join(format!(".{f}.partial")).exists());
        }
    }
}
