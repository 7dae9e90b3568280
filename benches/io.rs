//! Loading a scene and spawning its 10^6 synapses; writing and reading checkpoints
//! (`scenes/bench/cascade.ron`, all six stages): RON and binary at 10^6 synapses, binary at
//! 10^7; and the synapse table (`synapses.csv` against `synapses.parquet`) written and read
//! back at 10^6 and 10^7 synapses. Throughput is synapses per second; at the end the bench
//! prints the times against the targets (load + spawn < 1 s; binary checkpoint write + read
//! < 0.5 s at 10^6) and the MB and seconds of each table.
//!
//! `cargo bench --bench io`.

mod common;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
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
            common::timed_each("load_spawn", N as f64, iters, || {
                Simulation::from_ron("cascade.ron", &text).expect("scene")
            })
        })
    });
    g.finish();
}

/// Writing and reading back a checkpoint of `n` synapses in each of `forms` (`ron`, `ckpt`),
/// recorded as `checkpoint_write/<form>/<n>` and `checkpoint_read/<form>/<n>`. Reading builds
/// the world from it, as resuming does.
fn checkpoints(c: &mut Criterion, n: usize, forms: &[&str]) {
    let mut sim = common::simulation("cascade", n, 50);
    let mut g = c.benchmark_group("io");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(n as u64));
    let paths: Vec<_> = forms
        .iter()
        .map(|f| common::scratch(&format!("checkpoint_{n}.{f}")))
        .collect();
    for (form, path) in forms.iter().zip(&paths) {
        let key = format!("checkpoint_write/{form}/{n}");
        g.bench_function(&key, |b| {
            b.iter_custom(|iters| {
                common::timed(&key, n as f64, iters, || {
                    sim.save_checkpoint(path).expect("write")
                })
            })
        });
    }
    drop(sim);
    for (form, path) in forms.iter().zip(&paths) {
        let key = format!("checkpoint_read/{form}/{n}");
        g.bench_function(&key, |b| {
            b.iter_custom(|iters| {
                common::timed_each(&key, n as f64, iters, || {
                    Simulation::load(path).expect("read")
                })
            })
        });
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        println!(
            "checkpoint.{form} of {n} synapses: {:.1} MB ({:.0} bytes per synapse)",
            size as f64 / 1e6,
            size as f64 / n as f64
        );
        let _ = std::fs::remove_file(path);
    }
    g.finish();
}

fn checkpoint(c: &mut Criterion) {
    checkpoints(c, N, &["ron", "ckpt"]);
}

fn checkpoint_10m(c: &mut Criterion) {
    checkpoints(c, 10 * N, &["ckpt"]);
}

/// Sizes of the synapse tables written by [`synapse_tables`]: (key, bytes).
static SIZES: std::sync::Mutex<Vec<(String, u64)>> = std::sync::Mutex::new(Vec::new());

/// Reads `synapses.csv` as a program would: every field parsed (the group name kept as text).
fn read_csv_table(path: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut n = 0usize;
    for line in text.lines().skip(1) {
        for (k, f) in line.split(',').enumerate() {
            if k != 1 && !f.is_empty() {
                n += f.parse::<f64>().expect("number").is_finite() as usize;
            }
        }
    }
    n
}

/// Reads a Parquet file whole into Arrow arrays.
fn read_parquet_table(path: &std::path::Path) -> usize {
    let file = std::fs::File::open(path).expect("parquet");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .expect("reader");
    reader.map(|b| b.expect("batch").num_rows()).sum()
}

/// The synapse table of `scenes/bench/cascade.ron` at `n` synapses written and read as CSV and
/// as Parquet (Snappy).
fn synapse_tables_at(c: &mut Criterion, n: usize) {
    let mut sim = common::simulation("cascade", n, 5);
    let csv = common::scratch(&format!("synapses_{n}.csv"));
    let pq = common::scratch(&format!("synapses_{n}.parquet"));
    let mut g = c.benchmark_group("io");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(n as u64));
    let write_csv = |sim: &mut Simulation| edra::output::write_synapses(sim, &csv).expect("csv");
    let write_pq = |sim: &mut Simulation| {
        edra::assembly::parquet::write_synapses(sim, &pq, None).expect("parquet")
    };
    for (what, path) in [("csv", &csv), ("parquet", &pq)] {
        let key = format!("{what}_write/{n}");
        g.bench_function(&key, |b| {
            b.iter_custom(|iters| {
                common::timed(&key, n as f64, iters, || match what {
                    "csv" => write_csv(&mut sim),
                    _ => write_pq(&mut sim),
                })
            })
        });
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        SIZES
            .lock()
            .expect("sizes")
            .push((format!("{what}/{n}"), size));
    }
    drop(sim);
    for (what, path) in [("csv", &csv), ("parquet", &pq)] {
        let key = format!("{what}_read/{n}");
        g.bench_function(&key, |b| {
            b.iter_custom(|iters| {
                common::timed(&key, n as f64, iters, || {
                    let k = match what {
                        "csv" => read_csv_table(path),
                        _ => read_parquet_table(path),
                    };
                    std::hint::black_box(k);
                })
            })
        });
    }
    g.finish();
    let _ = std::fs::remove_file(&csv);
    let _ = std::fs::remove_file(&pq);
}

fn synapse_tables_1e6(c: &mut Criterion) {
    synapse_tables_at(c, N);
}

fn synapse_tables_1e7(c: &mut Criterion) {
    synapse_tables_at(c, 10 * N);
}

fn summary(_: &mut Criterion) {
    println!(
        "\n== io summary (10^6 synapses, {} threads) ==",
        common::threads()
    );
    let keys = [
        ("load_spawn".to_string(), "load + spawn", N),
        ("checkpoint_write/ron/1000000".into(), "RON write", N),
        ("checkpoint_read/ron/1000000".into(), "RON read", N),
        ("checkpoint_write/ckpt/1000000".into(), "binary write", N),
        ("checkpoint_read/ckpt/1000000".into(), "binary read", N),
        (
            "checkpoint_write/ckpt/10000000".into(),
            "binary write 10^7",
            10 * N,
        ),
        (
            "checkpoint_read/ckpt/10000000".into(),
            "binary read 10^7",
            10 * N,
        ),
    ];
    for (key, what, n) in &keys {
        if let Some(r) = common::rate(key) {
            println!("{what:<18} {:7.3} s  {}", *n as f64 / r, common::mega(r));
        }
    }
    let secs = |k: &str| common::rate(k).map(|r| N as f64 / r);
    if let Some(s) = secs("load_spawn") {
        println!("load + spawn 10^6: {s:.3} s (target < 1 s)");
    }
    let binary = ["write", "read"].map(|w| secs(&format!("checkpoint_{w}/ckpt/1000000")));
    if let [Some(w), Some(r)] = binary {
        println!(
            "binary checkpoint write + read of 10^6: {:.3} s (target < 0.5 s)",
            w + r
        );
    }
    println!("\nsynapse table   format    size MB   write s   read s");
    let sizes = SIZES.lock().expect("sizes").clone();
    for n in [N, 10 * N] {
        for what in ["csv", "parquet"] {
            let s = |k: &str| {
                common::rate(&format!("{what}_{k}/{n}")).map_or(f64::NAN, |r| n as f64 / r)
            };
            let mb = sizes
                .iter()
                .find(|(k, _)| *k == format!("{what}/{n}"))
                .map_or(f64::NAN, |(_, b)| *b as f64 / 1e6);
            println!(
                "10^{:<12} {what:<8} {mb:8.1} {:9.3} {:8.3}",
                (n as f64).log10().round(),
                s("write"),
                s("read")
            );
        }
    }
}

criterion_group!(
    benches,
    load_and_spawn,
    checkpoint,
    checkpoint_10m,
    synapse_tables_1e6,
    synapse_tables_1e7,
    summary
);
criterion_main!(benches);
