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
    resumes_the_same_from_binary(&half.join("checkpoint.ron"), &rest, "400");
    let spikes = |p: &std::path::PathBuf| String::from_utf8(read(&p.join("spikes.csv"))).unwrap();
    let halves: Vec<String> = spikes(&half)
        .lines()
        .chain(spikes(&rest).lines().skip(1))
        .map(String::from)
        .collect();
    let whole: Vec<String> = spikes(&full).lines().map(String::from).collect();
    assert_eq!(halves, whole, "spike trains differ");
}

/// The same for the state kept finer than an f32 (the residuals of h and z, the f64 protein
/// pool): a tag-and-capture synapse (early calcium rule, fast consolidation) stopped in the
/// middle of capture resumes bit for bit, and its checkpoint does carry the residuals.
#[test]
fn fine_state_survives_a_checkpoint() {
    let dir = scratch("resume-fine");
    let times: Vec<String> = (0..101).map(|k| format!("{}.0", 100 + 10 * k)).collect();
    let scene = dir.join("capture.ron");
    std::fs::write(
        &scene,
        format!(
            "Scene(name: \"capture\", seed: 5, dt_ms: 0.5, duration_ms: 30000.0,
                neurons: [
                    NeuronGroup(name: \"pre\", size: 1, model: SpikeTimes(times_ms: [{}])),
                    NeuronGroup(name: \"cell\", size: 1, model: SpikeTimes(times_ms: []),
                        protein_pool: (tau_p_s: 10.0)),
                ],
                synapses: [SynapseGroup(name: \"syn\", pre: \"pre\", post: \"cell\",
                    connectivity: OneToOne, ca: Linear((tau_ca_ms: 48.8, c_pre: 1.0,
                    c_post: 0.2758, delay_ms: 18.8)), rule: EarlyCalcium((tau_h_s: 60.0)),
                    consolidation: Some((tau_z_s: 20.0)), init: (h_mv: 4.20075))])",
            times.join(", ")
        ),
    )
    .unwrap();
    let (full, half, rest) = (dir.join("full"), dir.join("half"), dir.join("rest"));
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    edra_ok(&["run", &s(&scene), "--out", &s(&full)]);
    edra_ok(&[
        "run",
        &s(&scene),
        "--out",
        &s(&half),
        "--duration-ms",
        "12345",
    ]);
    let ckpt = String::from_utf8(read(&half.join("checkpoint.ron"))).unwrap();
    assert!(ckpt.contains("z_residual") && ckpt.contains("h_residual_mv"));
    let ckpt = s(&half.join("checkpoint.ron"));
    edra_ok(&["run", &ckpt, "--out", &s(&rest), "--duration-ms", "30000"]);
    for f in ["synapses.csv", "checkpoint.ron"] {
        assert!(
            read(&full.join(f)) == read(&rest.join(f)),
            "{f}: the continued run differs from the uninterrupted one"
        );
    }
    resumes_the_same_from_binary(&half.join("checkpoint.ron"), &rest, "30000");
}

/// The RON checkpoint `ron`, converted to the binary form and back, is the same text; and the
/// run continued from the binary form to `until_ms` writes the same files as the run in `rest`
/// continued from the text.
fn resumes_the_same_from_binary(ron: &std::path::Path, rest: &std::path::Path, until_ms: &str) {
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let dir = ron.parent().unwrap().with_extension("binary");
    std::fs::create_dir_all(&dir).unwrap();
    let (bin, back, out) = (dir.join("c.ckpt"), dir.join("back.ron"), dir.join("out"));
    edra_ok(&["checkpoint", "convert", &s(ron), &s(&bin)]);
    edra_ok(&["checkpoint", "convert", &s(&bin), &s(&back)]);
    assert!(
        read(ron) == read(&back),
        "RON → binary → RON changed the text"
    );
    edra_ok(&[
        "run",
        &s(&bin),
        "--out",
        &s(&out),
        "--duration-ms",
        until_ms,
    ]);
    for f in ["synapses.csv", "spikes.csv", "checkpoint.ron"] {
        assert!(
            read(&rest.join(f)) == read(&out.join(f)),
            "{f}: the run continued from the binary checkpoint differs"
        );
    }
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
