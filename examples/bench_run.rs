//! Times one run of a scene and prints one JSON line: build time, stepping time, synapse-steps
//! per second, wall seconds per simulated second and peak RSS. Used by
//! `benches/peers/compare.py` and for the scaling and memory numbers of docs/performance.md.
//!
//! ```text
//! cargo run --release --example bench_run -- SCENE [--size N] [--threads T] [--duration-ms MS]
//! ```
//!
//! `--size N` sets every neuron group of the scene to N neurons (for the one-to-one W1 and
//! cascade scenes of `scenes/bench/`, that is N synapses). Nothing is written to disk, unless
//! `--checkpoint PATH` (`.ron` or `.ckpt`) is given: then the run's checkpoint is written there,
//! the simulation dropped, and the checkpoint read back (decoded, then built), each timed, with
//! the peak RSS of the whole.

use edra::scene::SceneFile;
use edra::sim::{Simulation, init_threads};
use std::path::Path;
use std::time::Instant;

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(|v| {
                v.parse::<f64>()
                    .unwrap_or_else(|_| panic!("{name} {v}: not a number"))
            })
    };
    let path = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .expect("usage: bench_run SCENE [--size N] [--threads T] [--duration-ms MS]");
    let threads = init_threads(flag("--threads").map(|t| t as usize));

    let t0 = Instant::now();
    let mut sf = SceneFile::load(Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    if let Some(n) = flag("--size") {
        for g in &mut sf.scene.neurons {
            g.size = n as u32;
        }
    }
    if let Some(d) = flag("--duration-ms") {
        sf.scene.duration_ms = d;
    }
    let name = sf.scene.name.clone();
    let mut sim = Simulation::new(sf).unwrap_or_else(|e| panic!("{e}"));
    let build_s = t0.elapsed().as_secs_f64();
    let rss_after_build = peak_rss_bytes();

    let (synapses, neurons) = (sim.info().synapses, sim.info().neurons);
    let end = sim.clock().steps(sim.scene().duration_ms);
    let t1 = Instant::now();
    while sim.clock().step < end {
        sim.step().unwrap_or_else(|e| panic!("{e}"));
    }
    let wall_s = t1.elapsed().as_secs_f64();
    let steps = sim.clock().step;
    let simulated_s = steps as f64 * sim.clock().dt_ms / 1000.0;
    let rss = peak_rss_bytes();
    let path_arg = |name: &str| {
        let i = args.iter().position(|a| a == name)?;
        args.get(i + 1).cloned()
    };
    let checkpoint = path_arg("--checkpoint").map(|p| checkpoint_times(sim, Path::new(&p)));
    println!(
        "{{\"scene\": \"{name}\", \"synapses\": {synapses}, \"neurons\": {neurons}, \
         \"threads\": {threads}, \"build_s\": {build_s:.4}, \"steps\": {steps}, \
         \"wall_s\": {wall_s:.4}, \"synapse_steps_per_s\": {:.4e}, \
         \"wall_s_per_simulated_s\": {:.5}, \"peak_rss_bytes\": {rss}, \
         \"peak_rss_after_build_bytes\": {rss_after_build}, \"bytes_per_synapse\": {:.1}}}",
        synapses as f64 * steps as f64 / wall_s,
        wall_s / simulated_s,
        rss as f64 / synapses.max(1) as f64,
    );
    if let Some(line) = checkpoint {
        println!("{line}");
    }
}

/// Writes `sim`'s checkpoint to `path`, drops `sim`, and reads the checkpoint back; one JSON
/// line of the times, the file size and the peak RSS.
fn checkpoint_times(mut sim: Simulation, path: &Path) -> String {
    let t = Instant::now();
    sim.save_checkpoint(path).unwrap_or_else(|e| panic!("{e}"));
    let write_s = t.elapsed().as_secs_f64();
    drop(sim);
    let t = Instant::now();
    let sf = SceneFile::load(path).unwrap_or_else(|e| panic!("{e}"));
    let decode_s = t.elapsed().as_secs_f64();
    let sim = Simulation::new(sf).unwrap_or_else(|e| panic!("{e}"));
    let read_s = t.elapsed().as_secs_f64();
    let synapses = sim.info().synapses;
    drop(sim);
    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
    format!(
        "{{\"checkpoint\": \"{}\", \"synapses\": {synapses}, \"bytes\": {bytes}, \
         \"write_s\": {write_s:.4}, \"decode_s\": {decode_s:.4}, \"read_s\": {read_s:.4}, \
         \"peak_rss_bytes\": {}}}",
        path.display(),
        peak_rss_bytes()
    )
}
