//! `edra run` on several MPI ranks gives the same bytes as one process (issue 13), in a build
//! with the `mpi` feature: `scenes/mpi_ranks.ron` (every stage, delays, a reward rule,
//! astrocytes whose domains span the ranks, Poisson input, a sweep) on 1, 2 and 3 ranks, with
//! a spike exchange every step (the reward rule reads the last step's spikes) and, without the
//! rule, every 2 steps (the shortest axonal delay); a checkpoint written by 2 ranks resumed by 3
//! equals an uninterrupted run; and what several ranks refuse.
//!
//! Without `mpirun` the tests are skipped with a message, unless `EDRA_REQUIRE_MPI` is set (CI).
//! `mpirun` runs as root in CI and in containers (`--allow-run-as-root`), with more ranks than
//! the machine has cores (`--oversubscribe`), and kills a hung job instead of waiting for ever
//! (`--timeout`, seconds).
#![cfg(feature = "mpi")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

const MPIRUN_FLAGS: [&str; 4] = ["--allow-run-as-root", "--oversubscribe", "--timeout", "300"];

/// Whether `mpirun` runs; if not, panics when `EDRA_REQUIRE_MPI` is set.
fn have_mpirun() -> bool {
    let ok = Command::new("mpirun")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("EDRA_REQUIRE_MPI").is_none(),
            "EDRA_REQUIRE_MPI is set but `mpirun --version` fails"
        );
        eprintln!("skipped: no `mpirun` (apt-get install openmpi-bin libopenmpi-dev)");
    }
    ok
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("edra-test-mpi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch");
    d
}

/// `edra run SCENE --out OUT --threads 1` on `ranks` processes (1: without `mpirun`), one job
/// at a time (three oversubscribed ranks already fill the machine).
fn run(ranks: usize, scene: &Path, out: &Path) -> Output {
    run_with(ranks, scene, out, &[])
}

/// [`run`] with more arguments.
fn run_with(ranks: usize, scene: &Path, out: &Path, more: &[&str]) -> Output {
    run_in(ranks, scene, out, more, &[])
}

/// [`run_with`] with environment variables (which local ranks inherit from `mpirun`).
fn run_in(ranks: usize, scene: &Path, out: &Path, more: &[&str], env: &[(&str, &str)]) -> Output {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let edra = env!("CARGO_BIN_EXE_edra");
    let mut cmd = if ranks == 1 {
        Command::new(edra)
    } else {
        let mut c = Command::new("mpirun");
        c.args(MPIRUN_FLAGS)
            .args(["-n", &ranks.to_string()])
            .arg(edra);
        c
    };
    cmd.envs(env.iter().copied())
        .arg("run")
        .arg(scene)
        .arg("--out")
        .arg(out)
        .args(["--threads", "1"])
        .args(more)
        .output()
        .expect("runs")
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: {:?}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `summary.ron` without the lines that are timings or the run's own settings.
fn summary(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("summary.ron")).expect("summary.ron");
    text.lines()
        .filter(|l| {
            ![
                "wall_s",
                "synapse_steps_per_s",
                "threads",
                "ranks",
                "exchange_",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every output of `one` (a one-process run) is in `many` with the same bytes (the summary
/// but for timings).
fn same_outputs(one: &Path, many: &Path, what: &str) {
    let mut names: Vec<String> = std::fs::read_dir(one)
        .expect("run folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".csv") || n.ends_with(".ron") && n != "summary.ron")
        .collect();
    names.sort();
    assert!(
        names.len() >= 8,
        "synapses, spikes, five recorders and the checkpoint: {names:?}"
    );
    for n in &names {
        let a = std::fs::read(one.join(n)).expect("one");
        let b = std::fs::read(many.join(n)).unwrap_or_else(|e| panic!("{what}: {n}: {e}"));
        assert!(a == b, "{what}: {n} differs from one process's");
    }
    assert_eq!(summary(one), summary(many), "{what}: summary.ron");
    let spikes = std::fs::read_to_string(one.join("spikes.csv")).expect("spikes");
    assert!(spikes.lines().count() > 1000, "the network fires");
}

#[test]
fn two_and_three_ranks_write_the_bytes_of_one_process() {
    if !have_mpirun() {
        return;
    }
    let dir = scratch("same");
    let scene = root().join("scenes/mpi_ranks.ron");
    // Without the reward rule, the ranks exchange spikes every 2 steps instead of every step.
    let text = std::fs::read_to_string(&scene).expect("scene");
    let (start, end) = (
        text.find("        RewardRule((").expect("a reward rule"),
        text.find("        Reward(at_ms").expect("a reward"),
    );
    let no_rule = dir.join("no_rule.ron");
    std::fs::write(&no_rule, format!("{}{}", &text[..start], &text[end..])).expect("write");
    for (scene, label) in [(scene.as_path(), "every step"), (&no_rule, "every 2 steps")] {
        let one = dir.join(format!("{label}-1"));
        ok(&run(1, scene, &one), label);
        for ranks in [2, 3] {
            let many = dir.join(format!("{label}-{ranks}"));
            ok(
                &run(ranks, scene, &many),
                &format!("{label}, {ranks} ranks"),
            );
            same_outputs(&one, &many, &format!("{label}, {ranks} ranks"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A checkpoint written by 2 ranks halfway, resumed by 3, ends where one process that ran
/// the whole way does: the same synapses, recorders and final checkpoint.
#[test]
fn a_checkpoint_of_two_ranks_resumes_on_three_as_one_uninterrupted_run() {
    if !have_mpirun() {
        return;
    }
    let dir = scratch("resume");
    let scene = root().join("scenes/mpi_ranks.ron");
    let (half, whole) = (dir.join("half"), dir.join("whole"));
    // Its state comes to rank 0 in many rounds of 4 kB each.
    let small_rounds = [("EDRA_MPI_GATHER_BYTES", "4096")];
    ok(
        &run_in(2, &scene, &half, &["--duration-ms", "700"], &small_rounds),
        "2 ranks, first half",
    );
    let resumed = dir.join("resumed");
    let ckpt = half.join("checkpoint.ron");
    // With rolling checkpoints on the way, which the ranks write together.
    let more = ["--duration-ms", "1500", "--checkpoint-every-ms", "300"];
    ok(&run_with(3, &ckpt, &resumed, &more), "3 ranks, second half");
    ok(&run(1, &scene, &whole), "one process, whole");
    for n in ["synapses.csv", "checkpoint.ron"] {
        let a = std::fs::read(whole.join(n)).expect("whole");
        let b = std::fs::read(resumed.join(n)).expect("resumed");
        assert!(
            a == b,
            "{n}: the resumed run differs from the uninterrupted one"
        );
    }
    // The second half's spikes are the uninterrupted run's from 700 ms on.
    let tail = |p: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(p.join("spikes.csv")).expect("spikes");
        text.lines()
            .skip(1)
            .filter(|l| l.split(',').next().and_then(|t| t.parse::<f64>().ok()) >= Some(700.0))
            .map(String::from)
            .collect()
    };
    let (a, b) = (tail(&whole), tail(&resumed));
    assert!(
        a.len() > 100 && a == b,
        "spikes after 700 ms: {} vs {}",
        a.len(),
        b.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scene whose axonal delay can be 0 steps is refused by every rank alike, at its field,
/// with exit code 2 and no run folder: a spike could not reach another rank in time.
#[test]
fn several_ranks_refuse_a_zero_axonal_delay_at_its_field() {
    if !have_mpirun() {
        return;
    }
    let dir = scratch("refuse");
    let text = std::fs::read_to_string(root().join("scenes/mpi_ranks.ron")).expect("scene");
    let scene = dir.join("zero_delay.ron");
    std::fs::write(
        &scene,
        text.replacen("axonal_delay_ms: 1.0,", "axonal_delay_ms: 0.0,", 1),
    )
    .expect("write");
    let out = dir.join("out");
    let o = run(2, &scene, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("synapses[2].axonal_delay_ms"), "{err}");
    let said = err.lines().filter(|l| l.starts_with("error:")).count();
    assert_eq!(said, 1, "said once, by rank 0: {err}");
    assert!(!out.exists(), "no run folder");
    ok(&run(1, &scene, &out), "the same scene on one process");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A rank whose synapses go non-finite stops the whole job, not only itself: every rank
/// returns its error (the synapse, the variable and the time, said once, by rank 0) with exit
/// code 4, and no run folder is left. Trafficking far too fast for its 100 ms step on the one
/// neuron that rank 1 owns (`lone`, neuron 5 of 6; ownership is round-robin) overflows its PSD
/// pool; the other neuron's synapses are sound.
#[test]
fn a_rank_that_goes_non_finite_stops_the_job_with_its_message() {
    if !have_mpirun() {
        return;
    }
    let dir = scratch("nonfinite");
    let scene = dir.join("rank_fails.ron");
    std::fs::write(&scene, RANK_FAILS).expect("write");
    let alone = run(1, &scene, &dir.join("one"));
    let one = String::from_utf8_lossy(&alone.stderr).to_string();
    assert_eq!(alone.status.code(), Some(4), "{one}");
    let out = dir.join("two");
    let o = run(2, &scene, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    let said: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(said.len(), 1, "said once: {err}");
    let first = one
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("one process's error");
    assert_eq!(
        said[0],
        format!("{first} (rank 1)"),
        "the same error, from rank 1"
    );
    assert!(!out.exists() && !dir.join("one").exists(), "no run folder");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two LIF neurons fed by four Poisson sources; the synapses onto `lone` traffic AMPA
/// receptors at 10^4/min on a 100 ms step (k·dt = 16.7, forward Euler needs < 2).
const RANK_FAILS: &str = r#"Scene(
    name: "rank_fails",
    seed: 3,
    dt_ms: 100.0,
    duration_ms: 60000.0,
    neurons: [
        NeuronGroup(name: "input", size: 4, model: Poisson(rate_hz: 5.0)),
        NeuronGroup(name: "steady", size: 1, model: Lif(())),
        NeuronGroup(name: "lone", size: 1, model: Lif(())),
    ],
    synapses: [
        SynapseGroup(name: "stable", pre: "input", post: "steady", connectivity: AllToAll,
            axonal_delay_ms: 100.0, dendritic_delay_ms: 0.0, ca: Linear(()), rule: Static,
            trafficking: Some(()), init: (h_mv: 2.0)),
        SynapseGroup(name: "unstable", pre: "input", post: "lone", connectivity: AllToAll,
            axonal_delay_ms: 100.0, dendritic_delay_ms: 0.0, ca: Linear(()), rule: Static,
            trafficking: Some((k_endo_per_min: 10000.0)), init: (h_mv: 2.0)),
    ],
)"#;
