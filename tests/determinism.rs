//! A scene and its seed decide the result bit for bit: whatever the thread count, and whether or
//! not the run was stopped at a checkpoint and continued.

mod common;
use common::*;

const SCENE: &str = "scenes/population.ron";

#[test]
fn population_is_identical_with_one_and_two_threads() {
    let dir = scratch("threads");
    let (a, b) = (dir.join("t1"), dir.join("t2"));
    for (out, threads) in [(&a, "1"), (&b, "2")] {
        edra_ok(&[
            "run",
            SCENE,
            "--out",
            out.to_str().unwrap(),
            "--threads",
            threads,
            "--duration-ms",
            "400",
        ]);
    }
    for f in [
        "synapses.csv",
        "spikes.csv",
        "checkpoint.ron",
        "exc_synapses.csv",
    ] {
        assert!(
            read(&a.join(f)) == read(&b.join(f)),
            "{f} differs between 1 and 2 threads"
        );
    }
    // The run did something: spikes were fired and weights moved.
    let spikes = String::from_utf8(read(&a.join("spikes.csv"))).unwrap();
    assert!(
        spikes.lines().count() > 100,
        "only {} spikes",
        spikes.lines().count()
    );
}

#[test]
fn a_run_continued_from_its_checkpoint_equals_a_run_that_never_stopped() {
    let dir = scratch("resume");
    let (full, half, rest) = (dir.join("full"), dir.join("half"), dir.join("rest"));
    let s = |p: &std::path::PathBuf| p.to_str().unwrap().to_string();
    edra_ok(&["run", SCENE, "--out", &s(&full), "--duration-ms", "400"]);
    edra_ok(&["run", SCENE, "--out", &s(&half), "--duration-ms", "200"]);
    let ckpt = s(&half.join("checkpoint.ron"));
    edra_ok(&["run", &ckpt, "--out", &s(&rest), "--duration-ms", "400"]);
    for f in ["synapses.csv", "checkpoint.ron"] {
        assert!(
            read(&full.join(f)) == read(&rest.join(f)),
            "{f}: the continued run differs from the uninterrupted one"
        );
    }
    let spikes = |p: &std::path::PathBuf| String::from_utf8(read(&p.join("spikes.csv"))).unwrap();
    let halves: Vec<String> = spikes(&half)
        .lines()
        .chain(spikes(&rest).lines().skip(1))
        .map(String::from)
        .collect();
    let whole: Vec<String> = spikes(&full).lines().map(String::from).collect();
    assert_eq!(halves, whole, "spike trains differ");
}

#[test]
fn a_checkpoint_cannot_be_continued_backwards() {
    let dir = scratch("backwards");
    let s = dir.to_str().unwrap();
    edra_ok(&[
        "run",
        "scenes/single_synapse.ron",
        "--out",
        s,
        "--duration-ms",
        "1000",
    ]);
    let ckpt = dir.join("checkpoint.ron");
    let out = edra(&[
        "run",
        ckpt.to_str().unwrap(),
        "--out",
        s,
        "--duration-ms",
        "500",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1000 ms"));
}
