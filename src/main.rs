//! The `edra` command: run, check and inspect scenes. Everything it does goes through the
//! library ([`edra::Simulation`]); this file only parses arguments and prints.

use clap::{Parser, Subcommand};
use edra::error::EdraError;
use edra::output::{self, RunSummary};
use edra::scene::SceneFile;
use edra::sim::{Simulation, init_threads};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "edra",
    version,
    about = "Synaptic plasticity in large synapse populations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scene (or continue a checkpoint) and write its outputs.
    Run {
        scene: PathBuf,
        /// Output folder. Default: out/<scene name>/
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads, 1 to 1024. Default: all cores.
        #[arg(long, value_parser = thread_count)]
        threads: Option<usize>,
        /// Seed, replacing the scene's.
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated time at which the run ends, ms (0 to 1e10), replacing the scene's duration.
        #[arg(long, value_parser = duration)]
        duration_ms: Option<f64>,
        /// Write a checkpoint every this many ms of simulated time, to `<folder>.checkpoint.ron`
        /// (`.ckpt` with `--format parquet`) beside the output folder (replaced whole each time,
        /// removed when the run completes), so that a run that is killed can be continued from
        /// it. Default: none.
        #[arg(long, value_parser = interval_ms)]
        checkpoint_every_ms: Option<f64>,
        /// Run even if the scene needs more memory than the machine has available.
        #[arg(long)]
        force: bool,
        /// Files of the run: csv (tables as CSV, checkpoint.ron), or parquet for large runs
        /// (tables as Parquet, checkpoint.ckpt in the binary form).
        #[arg(long, value_enum, default_value_t = OutputFormat::Csv)]
        format: OutputFormat,
        /// Run every step, even where the scene lets idle steps be skipped (every part
        /// event-driven); the outputs are the same either way.
        #[arg(long)]
        every_step: bool,
    },
    /// Validate a scene; print entity counts and the memory it will need.
    Check { scene: PathBuf },
    /// Run a scene and print every component of one synapse before and after.
    Show {
        scene: PathBuf,
        #[arg(long)]
        synapse: u32,
        /// Worker threads, 1 to 1024. Default: all cores.
        #[arg(long, value_parser = thread_count)]
        threads: Option<usize>,
        /// Simulated time at which the run ends, ms (0 to 1e10), replacing the scene's duration.
        #[arg(long, value_parser = duration)]
        duration_ms: Option<f64>,
    },
    /// Write DIR/report.html: one self-contained page about the run in DIR (from `edra run`).
    Report { dir: PathBuf },
    /// Work on checkpoint files.
    Checkpoint {
        #[command(subcommand)]
        action: CheckpointAction,
    },
    /// Serve the run's pages for a live simulation of SCENE (or of DIR's checkpoint) on
    /// 127.0.0.1, with a button that advances it.
    Serve {
        /// A scene file, or a folder written by `edra run`.
        target: PathBuf,
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 8000)]
        port: u16,
    },
    /// Write the run in DIR (from `edra run`) in another format: `nwb`, an NWB 2.x file of its
    /// spikes and recorded traces (needs a build with `--features nwb`, and libhdf5-dev).
    Export {
        format: ExportFormat,
        dir: PathBuf,
        /// Output file. Default: DIR/<scene name>.nwb
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Nwb,
}

#[derive(Subcommand)]
enum CheckpointAction {
    /// Rewrite a checkpoint in the form OUTPUT's extension names: `.ron` (text, to read or
    /// edit) or `.ckpt` (columnar binary with a checksum, for large runs). The input's layout,
    /// checksum and scene are checked; its state is checked against the scene when it is run.
    /// OUTPUT appears whole or not at all.
    Convert { input: PathBuf, output: PathBuf },
}

/// `--format`: [`output::Format`] as clap parses it.
#[derive(Clone, Copy, clap::ValueEnum)]
enum OutputFormat {
    Csv,
    Parquet,
}

impl From<OutputFormat> for output::Format {
    fn from(f: OutputFormat) -> Self {
        match f {
            OutputFormat::Csv => output::Format::Csv,
            OutputFormat::Parquet => output::Format::Parquet,
        }
    }
}

/// The most worker threads `--threads` accepts. Far more than any machine edra runs on has
/// cores; a count beyond what the system can start used to abort the process.
const MAX_THREADS: usize = 1024;

/// Parses `--checkpoint-every-ms`: a finite time above 0 ms.
fn interval_ms(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t.is_finite() && t > 0.0 => Ok(t),
        _ => Err("must be a time in ms above 0".into()),
    }
}

/// Parses `--threads`: a whole number from 1 to [`MAX_THREADS`]. clap refuses anything else with
/// this message and exit code 2, before any work.
fn thread_count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a number of threads from 1 to {MAX_THREADS}"
        )),
    }
}

/// Parses `--duration-ms`: a time from 0 to the longest a scene may have. clap refuses anything
/// else with this message and exit code 2, before any work (1e300 used to panic while
/// reserving the recorders).
fn duration(s: &str) -> Result<f64, String> {
    let max = edra::scene::MAX_DURATION_MS;
    match s.parse::<f64>() {
        Ok(d) if (0.0..=max).contains(&d) => Ok(d),
        _ => Err(format!("must be a time in ms from 0 to {max:e}")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scene,
            out,
            threads,
            seed,
            duration_ms,
            checkpoint_every_ms,
            force,
            format,
            every_step,
        } => run(
            &scene,
            out,
            threads,
            seed,
            duration_ms,
            checkpoint_every_ms,
            force,
            every_step,
            format.into(),
        ),
        Command::Check { scene } => check(&scene),
        Command::Show {
            scene,
            synapse,
            threads,
            duration_ms,
        } => show(&scene, synapse, threads, duration_ms),
        Command::Report { dir } => edra::web::write_report(&dir).map(|p| {
            eprintln!("wrote {}", p.display());
        }),
        Command::Checkpoint {
            action: CheckpointAction::Convert { input, output },
        } => convert(&input, &output),
        Command::Serve { target, port } => edra::web::serve(&target, port, |addr| {
            // One line on stdout, so that scripts and tests can read the address.
            println!("serving {} on http://{addr}/", target.display());
        }),
        Command::Export {
            format: ExportFormat::Nwb,
            dir,
            out,
        } => edra::front::nwb::export(&dir, out.as_deref()).map(|p| {
            eprintln!("wrote {}", p.display());
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Every rank of an MPI run knows an agreed error alike: rank 0 says it.
            if !matches!(e, EdraError::OnRank { .. })
                || edra::engine::ranks::Ranks::speaks_for_all()
            {
                eprintln!("error: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// `edra checkpoint convert`: reads a checkpoint in either form and writes it in the form of
/// `output`'s extension, through a temporary file renamed at the end.
fn convert(input: &Path, output: &Path) -> edra::Result<()> {
    let form = edra::checkpoint::Form::of(output)?;
    let sf = SceneFile::load(input)?;
    if sf.scene.state.is_none() {
        return Err(EdraError::Argument(format!(
            "{}: is a scene, not a checkpoint (it has no state)",
            input.display()
        )));
    }
    output::write_whole(output, |tmp| {
        edra::checkpoint::write_as(sf.scene, tmp, form)
    })?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

/// Refuses, before anything is built, a scene that cannot run here: ids beyond 32 bits, or more
/// memory than the machine has available (unless `force`). Exit 2, with the figures. With
/// `streamed` (`edra run`) the recorders count one chunk each: the rest goes to disk. On
/// `ranks` processes each needs its share, from the memory its host has for each of the
/// processes it runs ([`memory_per_process`]).
fn fits(sf: &SceneFile, force: bool, streamed: bool, ranks: usize) -> edra::Result<()> {
    let mut e = edra::build::estimate(&sf.scene);
    if streamed {
        e = e.streamed();
    }
    let mut available = edra::build::available_memory();
    if ranks > 1 {
        e = e.per_rank(ranks);
        available = available.map(|a| a / memory_per_process());
    }
    match edra::build::refusal(&e, available, force) {
        Some(why) if ranks > 1 => Err(EdraError::Argument(format!(
            "{}: {why} (each of {ranks} ranks holds its share of the synapses and neurons; \
             the figures are one rank's)",
            sf.file
        ))),
        Some(why) => Err(EdraError::Argument(format!("{}: {why}", sf.file))),
        None => Ok(()),
    }
}

/// How many processes of the run share this host's memory: OpenMPI's
/// `OMPI_COMM_WORLD_LOCAL_SIZE` (1 when unset).
fn memory_per_process() -> f64 {
    std::env::var("OMPI_COMM_WORLD_LOCAL_SIZE")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(1.0, |n| n.max(1) as f64)
}

/// Loads a scene and applies the command-line overrides.
fn load(path: &Path, seed: Option<u64>, duration_ms: Option<f64>) -> edra::Result<SceneFile> {
    let mut sf = SceneFile::load(path)?;
    if let Some(s) = seed {
        sf.scene.seed = s;
    }
    if let Some(d) = duration_ms {
        let start = sf
            .scene
            .state
            .as_ref()
            .map_or(0.0, |s| s.step as f64 * sf.scene.dt_ms);
        if !(d.is_finite() && d >= start) {
            return Err(EdraError::Argument(format!(
                "--duration-ms {d}: must be a time ≥ {start} ms (where the scene starts)"
            )));
        }
        if let Some(m) = edra::scene::too_many_steps(d, sf.scene.dt_ms) {
            return Err(EdraError::Argument(format!("--duration-ms {d}: {m}")));
        }
        sf.scene.duration_ms = d;
    }
    Ok(sf)
}

#[allow(clippy::too_many_arguments)]
fn run(
    path: &Path,
    out: Option<PathBuf>,
    threads: Option<usize>,
    seed: Option<u64>,
    duration_ms: Option<f64>,
    checkpoint_every_ms: Option<f64>,
    force: bool,
    every_step: bool,
    format: output::Format,
) -> edra::Result<()> {
    let ranks = ranks()?;
    let threads = init_threads(threads);
    // Every rank reads and checks the scene; a refusal on any is every rank's.
    let (chunk_rows, sf) = ranks.agree((|| {
        let chunk_rows = chunk_rows_from_env()?;
        let sf = load(path, seed, duration_ms)?;
        fits(&sf, force, true, ranks.size())?;
        Ok((chunk_rows, sf))
    })())?;
    let dir = out.unwrap_or_else(|| Path::new("out").join(&sf.scene.name));
    let mut sim = ranks.agree(Simulation::new_on(sf, edra::stages::registered(), &ranks))?;
    if every_step {
        sim.every_step();
    }
    let every = |ms: f64| ((ms / sim.clock().dt_ms).round() as u64).max(1);
    if !ranks.is_root() {
        // The other ranks step their share and send rank 0 what it writes.
        let rolling = checkpoint_every_ms.map(|ms| (every(ms), None));
        return run_and_write(&mut sim, None, format, threads, &stop_on_signals(), rolling);
    }
    // Outputs go to a staging folder beside `dir` and replace it only when complete.
    let folder = abort_job_on_error(&ranks, output::RunFolder::create(&dir))?;
    let stop = stop_on_signals();
    let rolling = checkpoint_every_ms.map(|ms| {
        (
            every(ms),
            Some(folder.rolling_checkpoint(format.checkpoint_form())),
        )
    });
    sim.stream_recorders_as(folder.path(), chunk_rows, format)?;
    run_and_write(
        &mut sim,
        Some(folder.path()),
        format,
        threads,
        &stop,
        rolling,
    )?;
    let dir = folder.commit()?;
    eprintln!("wrote {}", dir.display());
    if stop.load(Ordering::Relaxed) || sim.stopping() {
        return Err(EdraError::Interrupted {
            t_ms: sim.t_ms(),
            checkpoint: dir.join(format.checkpoint_file()),
        });
    }
    Ok(())
}

/// The processes of this run: with the feature `mpi`, MPI's world (one process when not
/// started by `mpirun`); without it, one process.
fn ranks() -> edra::Result<edra::engine::ranks::Ranks> {
    #[cfg(feature = "mpi")]
    return edra::engine::ranks::Ranks::from_env();
    #[cfg(not(feature = "mpi"))]
    Ok(edra::engine::ranks::Ranks::single())
}

/// Rank 0's `result`; a failure there (a run folder it cannot take) ends the whole job. Ranks
/// other than 0 do not call it: they wait in their first exchange, which the abort ends.
fn abort_job_on_error<T>(
    ranks: &edra::engine::ranks::Ranks,
    result: edra::Result<T>,
) -> edra::Result<T> {
    if ranks.size() > 1
        && let Err(e) = &result
    {
        eprintln!("{e}");
        ranks.abort(e.exit_code() as i32);
    }
    result
}

/// The environment variable that sets how many rows a streamed recorder holds before they are
/// written out (tests use a few, to exercise many writes). Default: 4 MiB of samples per
/// recorder ([`edra::record::RECORDER_CHUNK_BYTES`]).
const CHUNK_ROWS_VAR: &str = "EDRA_RECORDER_CHUNK_ROWS";

/// Reads [`CHUNK_ROWS_VAR`]: unset, or a whole number of rows from 1 (refused otherwise, exit 2).
fn chunk_rows_from_env() -> edra::Result<Option<usize>> {
    match std::env::var(CHUNK_ROWS_VAR) {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(v) if v.parse::<usize>().is_ok_and(|n| n > 0) => Ok(v.parse().ok()),
        _ => Err(EdraError::Argument(format!(
            "{CHUNK_ROWS_VAR}: must be a whole number of rows from 1"
        ))),
    }
}

/// A flag that SIGINT (Ctrl-C) and SIGTERM set instead of ending the process, so that a run
/// finishes its step and writes everything so far (signal-hook: the handler only stores to an
/// atomic, which is all a signal handler may safely do). Without the handlers (on a platform
/// that refuses them) the flag just stays unset.
fn stop_on_signals() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(signal, Arc::clone(&stop));
    }
    stop
}

/// Steps `sim` to the end of its scene, or until `stop` is set, then writes every output into
/// `dir` (the recorders stream there as the run goes, [`Simulation::stream_recorders`]). With
/// `rolling = (k, path)` a checkpoint is written to `path` every k steps (to a temporary file
/// first, then renamed over it, so `path` is always a whole checkpoint).
fn run_and_write(
    sim: &mut Simulation,
    dir: Option<&Path>,
    format: output::Format,
    threads: usize,
    stop: &AtomicBool,
    rolling: Option<(u64, Option<PathBuf>)>,
) -> edra::Result<()> {
    let mut spikes = dir
        .map(|d| output::SpikeFile::create(d, format))
        .transpose()?;
    let (start_ms, end_ms) = (sim.t_ms(), sim.scene().duration_ms);
    let start_step = sim.clock().step;
    if let Some(s) = &mut spikes {
        s.from_step(start_step);
    }
    let mut progress = Progress::new(start_ms, end_ms);
    let wall = Instant::now();
    let mut n_spikes = 0u64;
    let end = sim.clock().steps(end_ms);
    let mut told = start_step;
    while sim.clock().step < end && !sim.stopping() {
        sim.step()?;
        if stop.load(Ordering::Relaxed) {
            sim.ask_to_stop();
        }
        roll(sim, &rolling, end)?;
        if let Some(s) = &mut spikes {
            n_spikes += s.write_complete(sim)?;
        }
        // Idle steps are skipped up to the next rolling checkpoint at most.
        let limit = match &rolling {
            Some((every, _)) => end.min((sim.clock().step / every + 1) * every),
            None => end,
        };
        if sim.skip_idle(limit) > 0 {
            if let Some(s) = &mut spikes {
                s.pass_quiet(sim);
            }
            roll(sim, &rolling, end)?;
        }
        if sim.clock().step >= told + 256 && dir.is_some() {
            told = sim.clock().step;
            progress.update(sim.t_ms());
        }
    }
    sim.complete_spikes()?;
    let (Some(dir), Some(mut spikes)) = (dir, spikes) else {
        // A rank other than 0: its synapses and its share of the checkpoint go to rank 0,
        // which writes them (in the order rank 0 asks for them below).
        output::synapse_rows(sim);
        sim.checkpoint_of_ranks()?;
        return Ok(());
    };
    n_spikes += spikes.write_complete(sim)?;
    progress.finish();
    let wall_s = wall.elapsed().as_secs_f64();

    let steps = sim.clock().step - start_step;
    let info = sim.info().clone();
    let cost = sim.exchange_cost();
    let summary = RunSummary {
        scene: sim.scene().name.clone(),
        edra_version: env!("CARGO_PKG_VERSION").to_string(),
        seed: sim.scene().seed,
        dt_ms: sim.clock().dt_ms,
        start_ms,
        simulated_ms: sim.t_ms() - start_ms,
        steps,
        neurons: info.neurons,
        synapses: info.synapses,
        dopamine_regions: info.regions,
        astrocytes: info.astrocytes,
        replicas: info.replicas,
        spikes: n_spikes,
        threads,
        wall_s,
        synapse_steps_per_s: info.synapses as f64 * steps as f64 / wall_s.max(1e-9),
        ranks: sim.ranks().size(),
        exchange_calls: cost.calls,
        exchange_s: cost.seconds,
        exchange_bytes: cost.bytes,
    };
    output::write_synapses_as(sim, dir, format, Some(&summary))?;
    sim.finish_recorders_with(Some(&summary))?;
    let path = dir.join(format.checkpoint_file());
    sim.write_checkpoint(&path, format.checkpoint_form())?;
    output::write_summary(dir, &summary)?;
    spikes.finish(Some(&summary))?;
    let (run, skipped, _) = sim.steps_taken();
    let idle = match skipped {
        0 => String::new(),
        n => format!("; {run} steps run, {n} idle steps skipped"),
    };
    eprintln!(
        "{}: {} synapses, {} neurons, {:.1} ms simulated in {:.2} s ({:.3e} synapse-steps/s{idle})",
        summary.scene,
        summary.synapses,
        summary.neurons,
        summary.simulated_ms,
        wall_s,
        summary.synapse_steps_per_s,
    );
    Ok(())
}

/// Writes the rolling checkpoint if the clock is at one of its steps (`rolling = (k, path)`:
/// every k steps, before `end`); rank 0 writes it, the other ranks (without a path) send their
/// share.
fn roll(
    sim: &mut Simulation,
    rolling: &Option<(u64, Option<PathBuf>)>,
    end: u64,
) -> edra::Result<()> {
    let Some((every, path)) = rolling else {
        return Ok(());
    };
    let step = sim.clock().step;
    if !step.is_multiple_of(*every) || step >= end {
        return Ok(());
    }
    match path {
        Some(p) => sim.write_checkpoint(p, edra::checkpoint::Form::of(p)?),
        None => sim.checkpoint_of_ranks().map(drop),
    }
}

/// A progress bar on a terminal, shown once a run has taken more than a second.
struct Progress {
    start: Instant,
    start_ms: f64,
    end_ms: f64,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(start_ms: f64, end_ms: f64) -> Self {
        Progress {
            start: Instant::now(),
            start_ms,
            end_ms,
            bar: None,
        }
    }

    fn update(&mut self, t_ms: f64) {
        if self.bar.is_none()
            && self.start.elapsed().as_secs_f64() > 1.0
            && std::io::stderr().is_terminal()
        {
            let bar = indicatif::ProgressBar::new((self.end_ms - self.start_ms).max(1.0) as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} ms simulated  [{elapsed_precise}, {per_sec}, {eta} left]",
                )
                .expect("valid template"),
            );
            self.bar = Some(bar);
        }
        if let Some(b) = &self.bar {
            b.set_position((t_ms - self.start_ms) as u64);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn check(path: &Path) -> edra::Result<()> {
    let sf = SceneFile::load(path)?;
    // What `edra run` needs: its recorders stream to disk.
    let e = edra::build::estimate(&sf.scene).streamed();
    // A scene beyond 32-bit ids can run nowhere: refused. One beyond this machine's memory is
    // valid, and said so.
    if let Some(why) = edra::build::refusal(&e, None, true) {
        return Err(EdraError::Argument(format!("{}: {why}", sf.file)));
    }
    to_stdout(|out| {
        writeln!(out, "{}: valid", sf.file)?;
        writeln!(out, "  replicas      {}", e.replicas)?;
        writeln!(out, "  neurons       {}", e.neurons)?;
        writeln!(
            out,
            "  synapses      {:.0}{}",
            e.synapses,
            if e.exact { "" } else { " (expected)" }
        )?;
        for (name, n) in &e.per_group {
            writeln!(out, "    {name:<12}{n:.0}")?;
        }
        writeln!(out, "  regions       {}", e.regions)?;
        writeln!(out, "  astrocytes    {}", e.astrocytes)?;
        writeln!(out, "  steps         {}", e.steps)?;
        writeln!(
            out,
            "  memory        {:.1} MiB ({:.0} bytes per synapse; recorders {:.1} MiB; spike \
             history {:.1} MiB)",
            e.bytes / 1048576.0,
            e.bytes_per_synapse,
            e.recorder_bytes / 1048576.0,
            e.spike_history_bytes / 1048576.0
        )?;
        writeln!(
            out,
            "  recorders     {:.1} MiB on disk (about; streamed as the run goes)",
            e.recorder_disk_bytes / 1048576.0
        )?;
        if let Some(why) = edra::build::refusal(&e, edra::build::available_memory(), false) {
            writeln!(out, "  cannot run here: {why}")?;
        }
        Ok(())
    })
}

fn show(
    path: &Path,
    id: u32,
    threads: Option<usize>,
    duration_ms: Option<f64>,
) -> edra::Result<()> {
    init_threads(threads);
    let sf = load(path, None, duration_ms)?;
    fits(&sf, false, false, 1)?;
    let mut sim = Simulation::new(sf)?;
    let report = edra::front::show::synapse_report(&mut sim, id)?;
    to_stdout(|out| out.write_all(report.as_bytes()))
}

/// Writes a command's report to stdout with `write`. A reader that stops early and closes the
/// pipe (`edra check SCENE | head`) ends the report quietly, as it would end `cat`: what nobody
/// reads is not an error. Any other failure to write is an error.
fn to_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> edra::Result<()> {
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| EdraError::other(format!("writing to stdout: {e}"))),
    }
}
