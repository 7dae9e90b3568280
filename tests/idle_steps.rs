//! Skipping idle steps (`edra::assembly::idle`): in a scene whose every part is event-driven,
//! the steps on which nothing can happen are skipped, and every output is the same, byte for
//! byte, as stepping through each (`edra run --every-step`): spikes, synapses, recorders,
//! checkpoint. The scenes mix what wakes a run: spike times, regular trains and a pairing
//! protocol, axonal, dendritic and Ca delays, a recorder, a timed parameter change, the slow
//! clock, the pair rule's epochs, rolling checkpoints and a resume. A scene with work on every
//! step says why and skips nothing.

mod common;
use common::*;
use std::path::Path;

/// Spike-time, regular and pairing sources; event-driven pair STDP and the event-driven
/// calcium rule with delays of several steps; a recorder every 7 ms; a parameter change.
const MIXED: &str = r#"Scene(
    name: "idle_mixed",
    seed: 3,
    dt_ms: 0.1,
    duration_ms: 4000.0,
    neurons: [
        NeuronGroup(name: "pre", size: 30, model: SpikeTimes(times_ms: [10.0, 250.0, 251.5, 900.0, 1800.0, 2400.0, 3100.0, 3900.0])),
        NeuronGroup(name: "post", size: 20, model: Regular(rate_hz: 3.0, phase_ms: 40.0)),
        NeuronGroup(name: "pair", size: 2, model: Pairing((delta_t_ms: -12.0, pairs: 20, frequency_hz: 5.0, start_ms: 100.0))),
    ],
    synapses: [
        SynapseGroup(name: "stdp", pre: "pre", post: "post", connectivity: FixedInDegree(5),
            axonal_delay_ms: 1.5, dendritic_delay_ms: 0.7, ca: Off,
            rule: PairStdp((tau_plus_ms: 16.8, tau_minus_ms: 33.7, a_plus: 0.01, a_minus: 0.0105, h_max_mv: 10.0, event_driven: true)),
            init: (h_mv: 1.0)),
        SynapseGroup(name: "ca", pre: "pre", post: "post", connectivity: FixedProbability(0.3),
            axonal_delay_ms: 2.0, dendritic_delay_ms: 150.0,
            ca: Linear((tau_ca_ms: 20.0, c_pre: 1.0, c_post: 2.0, delay_ms: 4.6)),
            rule: CalciumRule((tau_ms: 1500.0, theta_d: 1.0, theta_p: 1.3, gamma_d: 200.0, gamma_p: 321.808, sigma: 2.8284, noise: true, event_driven: true))),
        SynapseGroup(name: "pairs", pre: "pair", post: "pair", connectivity: AllToAll, ca: Off,
            rule: PairStdp((tau_plus_ms: 16.8, tau_minus_ms: 33.7, a_plus: 0.01, a_minus: 0.0105, h_max_mv: 10.0, event_driven: true)),
            init: (h_mv: 1.0)),
    ],
    recorders: [
        Recorder(name: "stdp", target: Synapses(group: "stdp", indices: [0, 7]), every_steps: 70),
        Recorder(name: "ca", target: Synapses(group: "ca", indices: [1, 3]), every_steps: 70),
    ],
    timeline: [
        SetParam(at_ms: 2000.0, path: "neurons.post.model.rate_hz", value: 7.0),
    ],
)"#;

/// The files of a run folder that must match (summary.ron holds wall times).
fn outputs(dir: &Path) -> Vec<String> {
    let names = file_names(dir);
    assert!(names.len() >= 4, "{}: {names:?}", dir.display());
    names.into_iter().filter(|n| n != "summary.ron").collect()
}

/// Runs `scene` with idle steps skipped and stepping every step; asserts the same files and
/// that at most `most` of the steps ran when skipping (from the run's closing line).
fn same_either_way(scene: &Path, dir: &Path, extra: &[&str], most: f64) {
    let (skip, every) = (dir.join("skip"), dir.join("every"));
    let args = ["run", scene.to_str().unwrap(), "--out"];
    let run = |out: &Path, more: &[&str]| {
        let mut a = args.to_vec();
        a.push(out.to_str().unwrap());
        a.extend_from_slice(extra);
        a.extend_from_slice(more);
        edra_ok(&a)
    };
    let said = String::from_utf8(run(&skip, &[]).stderr).unwrap();
    let quiet = String::from_utf8(run(&every, &["--every-step"]).stderr).unwrap();
    assert!(!quiet.contains("skipped"), "{quiet}");
    let numbers: Vec<f64> = said
        .split(['(', ';', ')', ','])
        .filter_map(|p| {
            let p = p.trim();
            let n = p.split(' ').next()?;
            (p.ends_with("steps run") || p.ends_with("idle steps skipped"))
                .then(|| n.parse().ok())?
        })
        .collect();
    let [run_steps, skipped] = numbers[..] else {
        panic!("no step counts in: {said}");
    };
    assert!(
        run_steps <= most * (run_steps + skipped),
        "{run_steps} of {} steps ran: {said}",
        run_steps + skipped
    );
    let files = outputs(&every);
    assert_eq!(outputs(&skip), files);
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    same_files(
        &skip,
        &every,
        &files,
        "skipping idle steps changed an output",
    );
}

/// The Graupner & Brunel window, event-driven (10 trials, 5.4 s): 98 % of its steps are idle.
#[test]
fn the_calcium_window_skips_its_idle_steps_with_the_same_outputs() {
    let dir = scratch("idle-calcium");
    let text =
        String::from_utf8(read(&repo("scenes/experiments/stdp_window_calcium.ron"))).unwrap();
    let text = text
        .replace("h_up_mv: 5.0))", "h_up_mv: 5.0, event_driven: true))")
        .replace("duration_ms: 60400.0", "duration_ms: 5400.0")
        .replace("size: 50", "size: 10");
    assert!(text.contains("event_driven: true") && text.contains("size: 10"));
    let scene = write_scene(&dir, "calcium", &text);
    same_either_way(&scene, &dir, &["--threads", "2"], 0.05);
}

/// Sources of every kind that can skip, both event-driven rules, recorders, a parameter change
/// and rolling checkpoints (the run lands on each checkpoint's step).
#[test]
fn a_mixed_event_driven_scene_gives_the_same_outputs() {
    let dir = scratch("idle-mixed");
    let scene = write_scene(&dir, "mixed", MIXED);
    same_either_way(&scene, &dir, &["--checkpoint-every-ms", "730"], 0.25);
}

/// A checkpoint written by a run that skips, resumed by one that skips, ends where a run that
/// steps every step from the start ends.
#[test]
fn a_resumed_run_that_skips_equals_one_that_never_stopped() {
    let dir = scratch("idle-resume");
    let scene = write_scene(&dir, "mixed", MIXED);
    let s = scene.to_str().unwrap();
    let (first, rest, whole) = (dir.join("first"), dir.join("rest"), dir.join("whole"));
    let out = |p: &Path| p.to_str().unwrap().to_string();
    edra_ok(&["run", s, "--out", &out(&first), "--duration-ms", "1702.5"]);
    let ckpt = first.join("checkpoint.ron");
    let c = ckpt.to_str().unwrap();
    edra_ok(&["run", c, "--out", &out(&rest), "--duration-ms", "4000"]);
    edra_ok(&["run", s, "--out", &out(&whole), "--every-step"]);
    same_files(
        &rest,
        &whole,
        &["synapses.csv", "checkpoint.ron"],
        "resumed with skipping",
    );
}

/// A scene with a membrane model runs every step, and says why.
#[test]
fn a_scene_with_work_on_every_step_skips_nothing_and_says_why() {
    let text = MIXED
        .replace(
            "model: Regular(rate_hz: 3.0, phase_ms: 40.0)",
            "model: Lif(())",
        )
        .replace("SetParam(at_ms: 2000.0", "// SetParam(at_ms: 2000.0");
    let mut sim = edra::Simulation::from_ron("lif", &text).unwrap();
    sim.run_until(50.0, &mut |_| {}).unwrap();
    let (run, skipped, why) = sim.steps_taken();
    assert_eq!((run, skipped), (500, 0));
    let why = why.expect("a reason");
    assert!(why.contains("`post`"), "{why}");
    let mut sim = edra::Simulation::from_ron("mixed", MIXED).unwrap();
    sim.run_until(50.0, &mut |_| {}).unwrap();
    let (run, skipped, why) = sim.steps_taken();
    assert!(
        why.is_none() && run + skipped == 500 && skipped > 400,
        "{run} {skipped}"
    );
}
