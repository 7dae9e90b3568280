//! Fuzzing in the test suite (issue 12): mutants of every shipped scene and of a checkpoint
//! never make edra panic or hang. Each mutant (1 to 4 edits: a number set to an extreme, bytes
//! deleted or repeated, punctuation inserted) is parsed and checked; one small enough to build
//! here (≤ 20 000 synapses and neurons) is built and stepped 30 times. Every stage may refuse
//! it with an error; none may panic, and each case must finish within 20 s. The mutation
//! strategy is proptest's (shrinking a failure to a minimal edit list); 300 cases run in
//! `cargo test`. The campaign of 10^4 mutants through the `edra` binary, which also catches
//! aborts, is `cargo run --release --example fuzz -- 10000` (see `examples/fuzz.rs`).

#[path = "common/mutate.rs"]
mod mutate;

use edra::Simulation;
use edra::scene::SceneFile;
use mutate::{EXTREMES, Op, PUNCTUATION, mutate};
use proptest::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The texts mutated: every shipped scene and the checkpoint of the single-synapse scene.
fn seeds() -> &'static [(String, String)] {
    static SEEDS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut s = mutate::seeds(root);
        let mut sim = Simulation::load(&root.join("scenes/single_synapse.ron")).unwrap();
        sim.run_until(2000.0, &mut |_| {}).unwrap();
        let path = std::env::temp_dir().join(format!("edra-fuzz-{}.ron", std::process::id()));
        sim.save_checkpoint(&path).unwrap();
        s.push((
            "checkpoint.ron".into(),
            std::fs::read_to_string(&path).unwrap(),
        ));
        let _ = std::fs::remove_file(&path);
        s
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<usize>(), 0..EXTREMES.len()).prop_map(|(p, k)| Op::Number(p, k)),
        (any::<usize>(), 1usize..40).prop_map(|(p, n)| Op::Delete(p, n)),
        (any::<usize>(), 1usize..80).prop_map(|(p, n)| Op::Duplicate(p, n)),
        (any::<usize>(), 0..PUNCTUATION.len()).prop_map(|(p, k)| Op::Insert(p, k)),
    ]
}

/// Parses, checks and (if small) builds and steps `text`; errors are fine.
fn exercise(name: &str, text: String) {
    let Ok(sf) = SceneFile::parse(name, text) else {
        return;
    };
    let e = edra::build::estimate(&sf.scene);
    let small = e.synapses <= 2e4 && e.neurons <= 20_000 && e.bytes <= 1e9 && e.replicas <= 100;
    if !small || edra::build::refusal(&e, None, false).is_some() {
        return;
    }
    let Ok(mut sim) = Simulation::new(sf) else {
        return;
    };
    for _ in 0..30 {
        if sim.step().is_err() {
            return;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutants_never_panic_or_hang(
        which in any::<prop::sample::Index>(),
        ops in prop::collection::vec(op(), 1..5),
    ) {
        let seeds = seeds();
        let (name, text) = &seeds[which.index(seeds.len())];
        let mutant = mutate(text, &ops);
        let start = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| exercise(name, mutant.clone())));
        prop_assert!(result.is_ok(), "panic on a mutant of {name} ({ops:?})");
        prop_assert!(start.elapsed() < Duration::from_secs(20), "{name} ({ops:?}) took {:?}", start.elapsed());
    }
}

/// The mutations do change the text, and a number becomes the extreme asked for.
#[test]
fn mutations_edit_the_text() {
    let t = "Scene(dt_ms: 0.5, n: [1, 2])";
    assert_eq!(
        mutate(t, &[Op::Number(0, 4)]),
        "Scene(dt_ms: NaN, n: [1, 2])"
    );
    assert_eq!(mutate(t, &[Op::Delete(0, 6)]), "dt_ms: 0.5, n: [1, 2])");
    assert_eq!(
        mutate(t, &[Op::Insert(5, 0)]),
        "Scene((dt_ms: 0.5, n: [1, 2])"
    );
    assert_eq!(
        mutate(t, &[Op::Duplicate(22, 3)]),
        "Scene(dt_ms: 0.5, n: [1, 1, 2])"
    );
}
