//! One step of the full cascade (`scenes/bench/cascade.ron`: every synapse between its own 5 Hz
//! Poisson pre and post source, all six stages active every step) at 10^4, 10^5 and 10^6
//! synapses; the same arithmetic as one fused loop over plain vectors (the limit,
//! [`common::fused`]); and each stage alone at 10^6. Throughput is synapse-steps per second.
//! At the end the bench prints edra's speed as a fraction of the limit.
//!
//! `cargo bench --bench cascade`; `EDRA_BENCH_THREADS=1` for one thread.

mod common;

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;
use common::fused::Fused;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
/// Steps run before measuring, so that traces, Ca and dopamine are past their start.
const WARM: usize = 200;

fn full_step(c: &mut Criterion) {
    let threads = common::threads();
    let mut g = c.benchmark_group("full_step");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in SIZES {
        g.throughput(Throughput::Elements(n as u64));
        let mut sim = common::simulation("cascade", n, WARM);
        let name = format!("edra/{n}");
        g.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                common::timed(&name, n as f64, iters, || sim.step().expect("step"))
            })
        });
        drop(sim);
        let sf = common::scene("cascade", n);
        let mut f = Fused::new(&sf, n);
        for _ in 0..WARM {
            f.step();
        }
        let name = format!("fused_limit/{n}");
        g.bench_function(&name, |b| {
            b.iter_custom(|iters| common::timed(&name, n as f64, iters, || f.step()))
        });
    }
    g.finish();
    let _ = threads;
}

/// A schedule holding the systems of one stage, run on a world built by the cascade scene.
fn stage_schedule(add: impl FnOnce(&mut Schedule)) -> Schedule {
    let mut s = Schedule::default();
    s.set_executor(SingleThreadedExecutor::default());
    add(&mut s);
    s
}

fn stages(c: &mut Criterion) {
    use edra::stages::consolidation::{capture_proteins, synthesize_proteins, tag_synapses};
    use edra::stages::homeostasis::{count_domain_spikes, integrate_astrocytes};

    let n = 1_000_000;
    let mut sim = common::simulation("cascade", n, WARM);
    let mut g = c.benchmark_group("stage_alone");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(n as u64));
    let mut list: Vec<(&str, Schedule)> = vec![
        (
            "0_input_neurons",
            stage_schedule(|s| {
                edra::timeline::plugin(s);
                edra::neurons::plugin(s);
            }),
        ),
        ("0_delivery", stage_schedule(edra::delivery::plugin)),
        (
            "1_ca_influx",
            stage_schedule(edra::stages::ca_influx::plugin),
        ),
        (
            "2_modulation",
            stage_schedule(edra::stages::modulation::plugin),
        ),
        (
            "3_plasticity",
            stage_schedule(edra::stages::plasticity::plugin),
        ),
        (
            "4_trafficking",
            stage_schedule(edra::stages::trafficking::plugin),
        ),
        (
            "5_homeostasis",
            // The slow stages are listed by hand: their plugins run them on the slow clock
            // only, and this bench times them on every call.
            stage_schedule(|s| {
                s.add_systems((count_domain_spikes, integrate_astrocytes).chain());
            }),
        ),
        (
            "6_consolidation",
            stage_schedule(|s| {
                s.add_systems((tag_synapses, synthesize_proteins, capture_proteins).chain());
            }),
        ),
        ("record_guard", stage_schedule(edra::record::plugin)),
    ];
    for (name, sched) in &mut list {
        let key = format!("stage/{name}");
        let world = sim.world_mut();
        sched.run(world);
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| common::timed(&key, n as f64, iters, || sched.run(world)))
        });
    }
    g.finish();
}

/// Prints the measured rates and edra's share of the fused limit.
fn summary(_: &mut Criterion) {
    let threads = common::threads();
    println!("\n== cascade summary ({threads} threads; synapse-steps/s) ==");
    for n in SIZES {
        let (Some(e), Some(f)) = (
            common::rate(&format!("edra/{n}")),
            common::rate(&format!("fused_limit/{n}")),
        ) else {
            continue;
        };
        println!(
            "full step n={n:>8}: edra {}  fused limit {}  edra/limit = {:.2}",
            common::mega(e),
            common::mega(f),
            e / f
        );
    }
    let stages: Vec<_> = common::results()
        .into_iter()
        .filter(|m| m.name.starts_with("stage/"))
        .collect();
    if !stages.is_empty() {
        let step_s: f64 = stages
            .iter()
            .map(|m| m.total.as_secs_f64() / m.iters as f64)
            .sum();
        println!(
            "stages alone at 10^6 (share of their sum {:.2} ms):",
            step_s * 1e3
        );
        for m in &stages {
            let t = m.total.as_secs_f64() / m.iters as f64;
            println!(
                "  {:<22} {}  {:6.2} ms  {:4.1} %",
                &m.name[6..],
                common::mega(m.per_s()),
                t * 1e3,
                100.0 * t / step_s
            );
        }
    }
}

criterion_group!(benches, full_step, stages, summary);
criterion_main!(benches);
