//! Shared by the benches: loading the bench scenes at a given size, the thread count, and a
//! record of what each bench measured so that a bench can print ratios at its end.

#![allow(dead_code)]

pub mod fused;

use edra::scene::SceneFile;
use edra::sim::{Simulation, init_threads};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The repository root (benches run with the package root as working directory, but be sure).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Threads for every bench: `EDRA_BENCH_THREADS`, default all cores. The pools are global, so
/// the first call decides.
pub fn threads() -> usize {
    let n = std::env::var("EDRA_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok());
    init_threads(n)
}

/// `scenes/bench/<name>.ron` with every neuron group resized to `n` (one-to-one scenes: n
/// synapses).
pub fn scene(name: &str, n: usize) -> SceneFile {
    let path = root().join("scenes/bench").join(format!("{name}.ron"));
    let mut sf = SceneFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
    for g in &mut sf.scene.neurons {
        g.size = n as u32;
    }
    sf
}

/// The scene text of `scenes/bench/<name>.ron` with its neuron groups resized to `n`.
pub fn scene_text(name: &str, n: usize) -> String {
    let path = root().join("scenes/bench").join(format!("{name}.ron"));
    let src = std::fs::read_to_string(path).expect("bench scene");
    src.replace("size: 1000000", &format!("size: {n}"))
}

/// Builds `scenes/bench/<name>.ron` at size `n` and runs `warm` steps.
pub fn simulation(name: &str, n: usize, warm: usize) -> Simulation {
    threads();
    let mut sim = Simulation::new(scene(name, n)).unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..warm {
        sim.step().expect("step");
    }
    sim
}

/// What one bench measured: elements per iteration and the mean time of an iteration.
#[derive(Clone, Debug)]
pub struct Measured {
    pub name: String,
    pub elements: f64,
    pub total: Duration,
    pub iters: u64,
}

impl Measured {
    pub fn per_s(&self) -> f64 {
        self.elements * self.iters as f64 / self.total.as_secs_f64().max(1e-12)
    }
}

static RESULTS: Mutex<Vec<Measured>> = Mutex::new(Vec::new());

/// Times `iters` calls of `f` and adds them to the record under `name` (for `iter_custom`).
pub fn timed(name: &str, elements: f64, iters: u64, mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    record(name, elements, iters, t.elapsed())
}

/// Times `iters` calls of `f`, each alone, and drops what each returns after its time is taken:
/// a bench of building a world measures the building, not freeing the world it built (which a
/// resumed run does not do either). Adds them to the record under `name`.
pub fn timed_each<T>(name: &str, elements: f64, iters: u64, mut f: impl FnMut() -> T) -> Duration {
    let mut d = Duration::ZERO;
    for _ in 0..iters {
        let t = Instant::now();
        let made = std::hint::black_box(f());
        d += t.elapsed();
        drop(made);
    }
    record(name, elements, iters, d)
}

/// Adds `iters` iterations that took `d` to the record under `name`; returns `d`.
fn record(name: &str, elements: f64, iters: u64, d: Duration) -> Duration {
    let mut r = RESULTS.lock().expect("results");
    match r.iter_mut().find(|m| m.name == name) {
        Some(m) => {
            m.total += d;
            m.iters += iters;
        }
        None => r.push(Measured {
            name: name.to_string(),
            elements,
            total: d,
            iters,
        }),
    }
    d
}

/// Everything measured so far.
pub fn results() -> Vec<Measured> {
    RESULTS.lock().expect("results").clone()
}

/// The rate recorded under `name`, in elements per second.
pub fn rate(name: &str) -> Option<f64> {
    results().iter().find(|m| m.name == name).map(|m| m.per_s())
}

/// The rate as "123.4 M/s".
pub fn mega(x: f64) -> String {
    format!("{:8.1} M/s", x / 1e6)
}

/// A path under target/ for bench output files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/bench-scratch");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
