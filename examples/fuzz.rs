//! The fuzz campaign of issue 12: N mutants of the shipped scenes and of a checkpoint, each run
//! through the `edra` binary (`check`, then a short `run` of the valid ones), counting panics
//! (exit 101), aborts and crashes (killed by a signal) and hangs (over 60 s). Refusals (exit 2)
//! and every other documented exit code are fine.
//!
//! `cargo build --release && cargo run --release --example fuzz -- 10000 [SEED]`
//!
//! Failing mutants are kept in `target/fuzz/failures/`. Exit 1 if there was any.

#[path = "../tests/common/mutate.rs"]
mod mutate;

use mutate::{EXTREMES, Op, PUNCTUATION, mutate};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one command may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(60);

#[derive(Default, Debug)]
struct Counts {
    refused: u64,
    ran: u64,
    /// Other documented exit codes of `check` (c) or `run` (100 + c), and how often.
    other_error: std::collections::BTreeMap<i32, u64>,
    panics: u64,
    crashes: u64,
    hangs: u64,
}

/// Runs `edra args` with its stdout to `stdout`; `Err` names a panic, crash or hang.
fn edra(bin: &Path, args: &[&str], stdout: &Path) -> Result<i32, &'static str> {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(std::fs::File::create(stdout).expect("stdout file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("edra starts");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return match status.code() {
                Some(101) => Err("panic"),
                Some(c) => Ok(c),
                None => Err("crash"),
            };
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            return Err("hang");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Whether `edra check`'s report (in `log`) is of a scene of at most 2·10^5 synapses and
/// neurons, which builds in a moment (the shipped 10^7 and 10^8 scenes take a minute and GBs).
fn small(log: &Path) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let count = |key: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::INFINITY)
    };
    count("synapses") <= 2e5 && count("neurons") <= 2e5
}

fn random_ops(rng: &mut fastrand::Rng) -> Vec<Op> {
    (0..rng.usize(1..5))
        .map(|_| match rng.u8(0..4) {
            0 => Op::Number(rng.usize(..), rng.usize(..EXTREMES.len())),
            1 => Op::Delete(rng.usize(..), rng.usize(1..40)),
            2 => Op::Duplicate(rng.usize(..), rng.usize(1..80)),
            _ => Op::Insert(rng.usize(..), rng.usize(..PUNCTUATION.len())),
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = root.join("target/release/edra");
    assert!(bin.is_file(), "build edra first: cargo build --release");
    let work = root.join("target/fuzz");
    let failures = work.join("failures");
    std::fs::create_dir_all(&failures).unwrap();

    let mut seeds = mutate::seeds(root);
    let ckpt = work.join("seed-checkpoint.ron");
    let single = root.join("scenes/single_synapse.ron");
    let out = work.join("seed-run");
    let log = work.join("stdout.txt");
    let code = edra(
        &bin,
        &[
            "run",
            single.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--duration-ms",
            "2000",
        ],
        &log,
    );
    assert_eq!(code, Ok(0), "the seed run");
    std::fs::copy(out.join("checkpoint.ron"), &ckpt).unwrap();
    seeds.push((
        "checkpoint.ron".into(),
        std::fs::read_to_string(&ckpt).unwrap(),
    ));

    let mut rng = fastrand::Rng::with_seed(seed);
    let mut c = Counts::default();
    let start = Instant::now();
    for i in 0..n {
        let (name, text) = &seeds[rng.usize(..seeds.len())];
        let ops = random_ops(&mut rng);
        let file: PathBuf = work.join("mutant.ron");
        std::fs::write(&file, mutate(text, &ops)).unwrap();
        let f = file.to_str().unwrap();
        let out = work.join("mutant-out");
        let run_out = out.to_str().unwrap();
        let result = edra(&bin, &["check", f], &log).and_then(|code| match code {
            // Valid mutants small enough to build in a moment are run too.
            0 if small(&log) => edra(
                &bin,
                &[
                    "run",
                    f,
                    "--out",
                    run_out,
                    "--duration-ms",
                    "50",
                    "--threads",
                    "1",
                ],
                &log,
            )
            .map(|code| code + 100),
            0 => Ok(100),
            code => Ok(code),
        });
        match result {
            Ok(2) => c.refused += 1,
            Ok(100) => c.ran += 1,
            Ok(code) => *c.other_error.entry(code).or_default() += 1,
            Err(kind) => {
                match kind {
                    "panic" => c.panics += 1,
                    "crash" => c.crashes += 1,
                    _ => c.hangs += 1,
                }
                let keep = failures.join(format!("{i}-{kind}-{}", name.replace('/', "_")));
                std::fs::copy(&file, &keep).unwrap();
                eprintln!(
                    "{kind}: mutant {i} of {name} ({ops:?}) kept as {}",
                    keep.display()
                );
            }
        }
        if (i + 1) % 1000 == 0 {
            eprintln!(
                "{} mutants, {:.0} s: {c:?}",
                i + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "{n} mutants (seed {seed}) in {:.0} s: {c:?}",
        start.elapsed().as_secs_f64()
    );
    if c.panics + c.crashes + c.hangs > 0 {
        std::process::exit(1);
    }
}
