//! Loading a scene and spawning its 10^6 synapses, and writing and reading a `checkpoint.ron` of
//! 10^6 synapses (`scenes/bench/cascade.ron`, all six stages). Throughput is synapses per
//! second; at the end the bench prints the times against the 1 s target for load + spawn.
//!
//! `cargo bench --bench io`.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edra::sim::Simulation;
use std::time::Duration;

const N: usize = 1_000_000;

fn load_and_spawn(c: &mut Criterion) {
    common::threads();
    let text = common::scene_text("cascade", N);
    let mut g = c.benchmark_group("io");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(N as u64));
    g.bench_function("load_spawn/1000000", |b| {
        b.iter_custom(|iters| {
            common::timed("load_spawn", N as f64, iters, || {
                let sim = Simulation::from_ron("cascade.ron", &text).expect("scene");
                std::hint::black_box(&sim);
            })
        })
    });
    g.finish();
}

fn checkpoint(c: &mut Criterion) {
    let mut sim = common::simulation("cascade", N, 50);
    let path = common::scratch("checkpoint_1e6.ron");
    sim.save_checkpoint(&path).expect("checkpoint");
    let mut g = c.benchmark_group("io");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(N as u64));
    g.bench_function("checkpoint_write/1000000", |b| {
        b.iter_custom(|iters| {
            common::timed("checkpoint_write", N as f64, iters, || {
                sim.save_checkpoint(&path).expect("write")
            })
        })
    });
    drop(sim);
    g.bench_function("checkpoint_read/1000000", |b| {
        b.iter_custom(|iters| {
            common::timed("checkpoint_read", N as f64, iters, || {
                let sim = Simulation::load(&path).expect("read");
                std::hint::black_box(&sim);
            })
        })
    });
    g.finish();
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!(
        "checkpoint of 10^6 synapses: {:.1} MB ({:.0} bytes per synapse)",
        size as f64 / 1e6,
        size as f64 / N as f64
    );
    let _ = std::fs::remove_file(&path);
}

fn summary(_: &mut Criterion) {
    println!(
        "\n== io summary (10^6 synapses, {} threads) ==",
        common::threads()
    );
    for (key, what) in [
        ("load_spawn", "load + spawn"),
        ("checkpoint_write", "checkpoint write"),
        ("checkpoint_read", "checkpoint read"),
    ] {
        if let Some(r) = common::rate(key) {
            let s = N as f64 / r;
            let note = if key == "load_spawn" {
                format!("  (target < 1 s: {:.2} of it)", s)
            } else {
                String::new()
            };
            println!("{what:<18} {s:7.3} s  {}{note}", common::mega(r));
        }
    }
}

criterion_group!(benches, load_and_spawn, checkpoint, summary);
criterion_main!(benches);
