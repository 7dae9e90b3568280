//! Bad input gets a clear error with file, line, column and field, exit code 2, and nothing is
//! written. A run that goes non-finite stops naming the synapse, the variable and the time.

mod common;
use common::*;
use std::path::Path;

const GOOD: &str = include_str!("../scenes/single_synapse.ron");

/// Writes `scene` to a file, runs it, and returns (exit code, stderr, whether the out dir exists).
fn run_scene(name: &str, scene: &str) -> (i32, String, bool) {
    let dir = scratch(name);
    let file = dir.join("scene.ron");
    std::fs::write(&file, scene).unwrap();
    let out_dir = dir.join("out");
    let out = edra(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.code().unwrap_or(-1), err, out_dir.exists())
}

fn assert_refused(name: &str, scene: &str, line: usize, needles: &[&str]) {
    let (code, err, wrote) = run_scene(name, scene);
    assert_eq!(code, 2, "exit code, stderr: {err}");
    assert!(!wrote, "an output folder was created for a refused scene");
    assert!(
        err.contains(&format!("scene.ron:{line}:")),
        "no file:line:col for line {line} in: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "`{n}` missing from: {err}");
    }
}

fn line_of(src: &str, needle: &str) -> usize {
    src.lines()
        .position(|l| l.contains(needle))
        .expect("needle in scene")
        + 1
}

#[test]
fn syntax_error_is_refused_with_its_position() {
    let bad = GOOD.replacen("connectivity: OneToOne,", "connectivity: OneToOne,,", 1);
    assert_refused("syntax", &bad, line_of(&bad, "OneToOne,,"), &[]);
}

#[test]
fn unknown_field_is_refused_with_its_path() {
    let bad = GOOD.replacen(
        "axonal_delay_ms: 1.0,",
        "axonal_delay_ms: 1.0, axon_speed: 3.0,",
        1,
    );
    assert_refused(
        "unknown-field",
        &bad,
        line_of(&bad, "axon_speed"),
        &["axon_speed", "synapses[0]"],
    );
}

#[test]
fn unknown_group_is_refused_with_its_path() {
    let bad = GOOD.replacen("post: \"post\",", "post: \"postt\",", 1);
    assert_refused(
        "unknown-group",
        &bad,
        line_of(&bad, "\"postt\""),
        &["synapses[0].post", "postt"],
    );
}

#[test]
fn out_of_range_value_is_refused_with_its_path_and_range() {
    let bad = GOOD.replacen("release_probability: 1.0", "release_probability: 1.5", 1);
    assert_refused(
        "range",
        &bad,
        line_of(&bad, "release_probability: 1.5"),
        &["synapses[0].ca.release_probability", "[0, 1]"],
    );
}

#[test]
fn calcium_rule_without_calcium_is_refused() {
    let bad = GOOD
        .replacen("ca: Nmda((release_probability: 1.0)),", "ca: Off,", 1)
        .replacen(
            "rule: PairStdp((a_plus: 0.5, a_minus: 0.5, h_max_mv: 4.0)),",
            "rule: CalciumRule(()),",
            1,
        );
    assert_refused(
        "ca-off",
        &bad,
        line_of(&bad, "ca: Off"),
        &["synapses[0].ca", "calcium rules read spine Ca2+"],
    );
    // Pair STDP needs no calcium: the same scene with the pair rule runs.
    let ok = GOOD.replacen("ca: Nmda((release_probability: 1.0)),", "ca: Off,", 1);
    let (code, err, wrote) = run_scene("ca-off-stdp", &ok);
    assert!(code == 0 && wrote, "exit {code}: {err}");
}

/// A group integrated at its events cannot also have a stage that runs on every step (here the
/// NMDA spine Ca of the good scene).
#[test]
fn event_driven_stdp_with_spine_calcium_is_refused() {
    let bad = GOOD.replacen(
        "rule: PairStdp((a_plus: 0.5, a_minus: 0.5, h_max_mv: 4.0)),",
        "rule: PairStdp((a_plus: 0.5, a_minus: 0.5, h_max_mv: 4.0, event_driven: true)),",
        1,
    );
    assert_refused(
        "event-driven-ca",
        &bad,
        line_of(&bad, "ca: Nmda"),
        &["synapses[0].ca", "event_driven"],
    );
}

#[test]
fn missing_file_is_refused() {
    let dir = scratch("missing");
    let out_dir = dir.join("out");
    let out = edra(&[
        "run",
        "no/such/scene.ron",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/scene.ron"));
    assert!(!out_dir.exists());
}

#[test]
fn check_reports_counts_and_memory() {
    let out = edra_ok(&["check", "scenes/population.ron"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("synapses      100000"), "{text}");
    assert!(text.contains("bytes per synapse"), "{text}");
}

/// An unstable integration (endocytosis rate × dt far above 2) overflows the PSD pool; the run
/// stops with the synapse, a variable and the time, exit code 4 (non-finite), and leaves no
/// output folder and nothing beside it (no staging folder, no lock).
#[test]
fn non_finite_values_stop_the_run_and_name_the_culprit() {
    let bad = GOOD
        .replacen("dt_ms: 0.5,", "dt_ms: 100.0,", 1)
        .replacen(
            "trafficking: Some(()),",
            "trafficking: Some((k_endo_per_min: 10000.0)),",
            1,
        )
        .replacen("dendritic_delay_ms: 0.5,", "dendritic_delay_ms: 0.0,", 1)
        .replacen("axonal_delay_ms: 1.0,", "axonal_delay_ms: 0.0,", 1)
        .replace("every_steps: 2", "every_steps: 1")
        .replace("every_steps: 200", "every_steps: 1");
    let (code, err, wrote) = run_scene("nonfinite", &bad);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("synapse 0"), "{err}");
    assert!(
        err.contains("efficacy_mv") || err.contains("psd_receptors"),
        "{err}"
    );
    assert!(err.contains("at t = "), "{err}");
    let dir = Path::new(&std::env::temp_dir())
        .join(format!("edra-test-{}-nonfinite", std::process::id()));
    let leftovers = file_names(&dir);
    assert!(
        !wrote && leftovers == ["scene.ron"],
        "files left after a failed run: {leftovers:?}"
    );
}

/// The scene's name picks the default output folder `out/<name>/`: a name that is a path (here
/// absolute, or climbing out of `out/`) is refused at its position before anything is written.
#[test]
fn scene_name_cannot_choose_a_folder_outside_out() {
    let dir = scratch("name-escape");
    let escaped = dir.join("escaped");
    for (i, name) in [escaped.to_str().unwrap(), "../edra-escaped-name"]
        .into_iter()
        .enumerate()
    {
        let bad = GOOD.replacen("name: \"single_synapse\"", &format!("name: \"{name}\""), 1);
        let file = dir.join(format!("scene{i}.ron"));
        std::fs::write(&file, &bad).unwrap();
        // No --out: the default folder is the one the name would pick.
        let out = edra(&["run", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        let line = line_of(&bad, name);
        assert!(
            err.contains(&format!("scene{i}.ron:{line}:")) && err.contains("field `name`"),
            "{name}: {err}"
        );
        assert!(err.contains("is not a valid name"), "{err}");
    }
    assert!(!escaped.exists());
    assert!(!repo("edra-escaped-name").exists());
    assert!(!repo("out/../edra-escaped-name").exists());
}

/// Every name from the file — scene, neuron group, synapse group, dopamine region, astrocyte
/// group, recorder — is 1 to 64 ASCII letters, digits, `_`, `-` or `.`, not starting with `.`.
#[test]
fn names_that_are_not_names_are_refused_with_their_path() {
    let fields = [
        ("name: \"single_synapse\"", "name"),
        ("name: \"pre\"", "neurons[0].name"),
        ("name: \"syn\"", "synapses[0].name"),
        ("name: \"vta\"", "dopamine_regions[0].name"),
        ("name: \"astro\"", "astrocytes[0].name"),
        ("name: \"synapse\"", "recorders[0].name"),
    ];
    // As written in RON: a path, `..`, a hidden name, an empty name, a newline, a quote, a
    // space, a non-ASCII letter, 65 characters.
    let long = "x".repeat(65);
    let names = [
        "/tmp/anywhere",
        "../../x",
        "..",
        ".hidden",
        "",
        "a\\nb",
        "a\\\"b",
        "a b",
        "é",
        long.as_str(),
    ];
    for (k, (original, field)) in fields.iter().enumerate() {
        for (i, name) in names.iter().enumerate() {
            let written = format!("name: \"{name}\"");
            let bad = GOOD.replacen(original, &written, 1);
            assert_refused(
                &format!("bad-name-{k}-{i}"),
                &bad,
                line_of(&bad, &written),
                &[&format!("field `{field}`"), "is not a valid name"],
            );
        }
    }
    // Letters, digits, `_`, `-` and `.` inside a name are fine.
    let dir = scratch("good-name");
    let file = dir.join("scene.ron");
    let good = GOOD.replacen(
        "name: \"single_synapse\"",
        "name: \"Single-synapse_2.v1\"",
        1,
    );
    std::fs::write(&file, good).unwrap();
    edra_ok(&["check", file.to_str().unwrap()]);
}

/// A recurrent group of 10 neurons without autapses (the default).
fn recurrent(connectivity: &str, autapses: bool) -> String {
    format!(
        "Scene(\n    name: \"recurrent\", dt_ms: 1.0, duration_ms: 1.0,\n    \
         neurons: [NeuronGroup(name: \"g\", size: 10, model: SpikeTimes(times_ms: []))],\n    \
         synapses: [SynapseGroup(name: \"s\", pre: \"g\", post: \"g\", allow_autapses: {autapses},\n        \
         connectivity: {connectivity})],\n)\n"
    )
}

/// Without autapses each neuron of a recurrent group has n − 1 partners: a degree of n is
/// refused (it used to pass `check` and build no synapse at all); n − 1 builds n (n − 1).
#[test]
fn recurrent_degree_above_n_minus_1_is_refused() {
    for conn in ["FixedOutDegree(10)", "FixedInDegree(10)"] {
        let bad = recurrent(conn, false);
        assert_refused(
            "recurrent-degree",
            &bad,
            line_of(&bad, conn),
            &["synapses[0].connectivity", "[0, 9]", "allow_autapses"],
        );
        let with_autapses = edra::Simulation::from_ron("autapses", &recurrent(conn, true)).unwrap();
        assert_eq!(with_autapses.info().synapses, 100, "{conn} with autapses");
    }
    for conn in ["FixedOutDegree(9)", "FixedInDegree(9)"] {
        let sim = edra::Simulation::from_ron("recurrent", &recurrent(conn, false)).unwrap();
        assert_eq!(sim.info().synapses, 90, "{conn}");
    }
}

/// `edra check SCENE | head` and `edra show ... | head`: a reader that closes stdout early ends
/// the command quietly (exit 0, nothing on stderr), where it used to panic.
#[test]
fn a_closed_stdout_ends_check_and_show_quietly() {
    for args in [
        &["check", "scenes/population.ron"][..],
        &[
            "show",
            "scenes/single_synapse.ron",
            "--synapse",
            "0",
            "--duration-ms",
            "100",
        ],
    ] {
        let out = edra_into_closed_pipe(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "edra {args:?}: {err}");
        assert!(err.is_empty(), "edra {args:?} wrote to stderr: {err}");
    }
}

/// `--threads` takes 1 to 1024 (100000 used to abort the process while starting threads): any
/// other value is refused with exit code 2, naming the option, before anything is written.
#[test]
fn threads_outside_1_to_1024_are_refused() {
    let dir = scratch("threads");
    let out_dir = dir.join("out");
    for n in ["100000", "1025", "0", "1.5", "many"] {
        for args in [
            vec![
                "run",
                "scenes/single_synapse.ron",
                "--out",
                out_dir.to_str().unwrap(),
                "--threads",
                n,
            ],
            vec![
                "show",
                "scenes/single_synapse.ron",
                "--synapse",
                "0",
                "--threads",
                n,
            ],
        ] {
            let out = edra(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains("--threads") && err.contains("from 1 to 1024"),
                "{err}"
            );
            assert!(!err.contains("panicked"), "{err}");
            assert!(out.stdout.is_empty());
        }
    }
    assert!(!out_dir.exists());
}

/// `GOOD` with `events` added to its timeline after the last reward (line 46 on).
fn with_events(scene: &str, events: &[&str]) -> String {
    let last = "        Reward(at_ms: 18000.0, region: \"vta\", amount_um: 0.5),\n";
    let added: String = events.iter().map(|e| format!("        {e},\n")).collect();
    scene.replacen(last, &format!("{last}{added}"), 1)
}

/// A `SetParam` value goes through the same ranges as the scene itself, in the order the run
/// applies the changes, and a parameter a run cannot change is refused: each at the event's
/// line and column, with the field, the parameter and its range (exit 2, nothing written).
/// They used to panic in `f32::clamp` (h_max_mv = -5), in the spike history (ca.delay_ms = 1e6)
/// or in the timeline (neurons_per_astrocyte), write `inf` with exit 0 (tau_plus_ms = -1), or
/// pass silently (negative rates, zero time constants, init.h_mv = 1e30).
#[test]
fn set_param_values_are_checked_like_the_scene() {
    let linear = GOOD.replacen(
        "ca: Nmda((release_probability: 1.0)),",
        "ca: Linear(()),",
        1,
    );
    let value = "timeline[5].SetParam.value";
    let path = "timeline[5].SetParam.path";
    let cases: [(&str, &str, &[&str]); 9] = [
        (
            GOOD,
            "SetParam(at_ms: 1000.0, path: \"synapses.syn.rule.h_max_mv\", value: -5.0)",
            &[
                value,
                "`synapses.syn.rule.h_max_mv` = -5 at 1000 ms",
                "[0, 1000] mV",
            ],
        ),
        (
            GOOD,
            "SetParam(at_ms: 1000.0, path: \"synapses.syn.rule.tau_plus_ms\", value: -1.0)",
            &[value, "synapses.syn.rule.tau_plus_ms", "[0.1, 10000] ms"],
        ),
        (
            GOOD,
            "SetParam(at_ms: 1000.0, path: \"synapses.syn.trafficking.k_exo_per_min\", value: -3.0)",
            &[
                value,
                "synapses.syn.trafficking.k_exo_per_min",
                "[0, 10000] 1/min",
            ],
        ),
        (
            GOOD,
            "SetParam(at_ms: 1000.0, path: \"dopamine_regions.vta.params.tau_dopamine_ms\", value: 0.0)",
            &[
                value,
                "dopamine_regions.vta.params.tau_dopamine_ms",
                "[1, 1000000] ms",
            ],
        ),
        (
            GOOD,
            "SetParam(at_ms: 1000.0, path: \"astrocytes.astro.params.goal_hz\", value: -2.0)",
            &[value, "astrocytes.astro.params.goal_hz", "[0, 1000] Hz"],
        ),
        (
            GOOD,
            "SetParam(at_ms: 1000.0, path: \"synapses.syn.init.h_mv\", value: 1e30)",
            &[path, "`synapses.syn.init.h_mv` cannot change during a run"],
        ),
        (
            GOOD,
            "SetParam(at_ms: 1000.0, path: \"astrocytes.astro.neurons_per_astrocyte\", value: 3.0)",
            &[path, "cannot change during a run", "params."],
        ),
        (
            &linear,
            "SetParam(at_ms: 1000.0, path: \"synapses.syn.ca.delay_ms\", value: 1e6)",
            &[path, "cannot change during a run", "spike history"],
        ),
        (
            GOOD,
            "SetParam(at_ms: 1000.0, path: \"neurons.post.size\", value: 2.0)",
            &[path, "`neurons.post.size` cannot change during a run"],
        ),
    ];
    for (k, (scene, event, needles)) in cases.iter().enumerate() {
        let bad = with_events(scene, &[event]);
        assert_refused(&format!("set-param-{k}"), &bad, 46, needles);
    }
    // The position is the value's (or the path's) own.
    let bad = with_events(GOOD, &[cases[0].1]);
    let (_, err, _) = run_scene("set-param-position", &bad);
    assert!(err.contains("scene.ron:46:76:"), "{err}");

    // Changes are checked in the order the run makes them (by time, not as listed): h_max_mv
    // = 2 at 500 ms is fine, and then h_min_mv = 3 at 1000 ms is not.
    let bad = with_events(
        GOOD,
        &[
            "SetParam(at_ms: 1000.0, path: \"synapses.syn.rule.h_min_mv\", value: 3.0)",
            "SetParam(at_ms: 500.0, path: \"synapses.syn.rule.h_max_mv\", value: 2.0)",
        ],
    );
    assert_refused(
        "set-param-order",
        &bad,
        46,
        &[
            value,
            "h_min_mv` = 3 at 1000 ms makes `synapses.syn.rule.h_max_mv` invalid",
            "[3, 1000] mV",
        ],
    );
    // In a sweep, in the replica whose value the change does not fit.
    let swept = bad.replacen(
        "    recorders: [",
        "    sweep: [SweepAxis(path: \"synapses.syn.rule.h_max_mv\", values: [2.0, 8.0])],\n    recorders: [",
        1,
    );
    let swept = swept.replacen(
        "        SetParam(at_ms: 500.0, path: \"synapses.syn.rule.h_max_mv\", value: 2.0),\n",
        "",
        1,
    );
    assert_refused(
        "set-param-sweep",
        &swept,
        46,
        &[
            value,
            "in the sweep replica with synapses.syn.rule.h_max_mv = 2",
            "[3, 1000] mV",
        ],
    );

    // An event-driven group computes its decay tables from its rule when it is built.
    let event_driven = GOOD
        .replacen("ca: Nmda((release_probability: 1.0)),", "ca: Off,", 1)
        .replacen("trafficking: Some(()),", "", 1)
        .replacen(
            "consolidation: Some((h0_mv: 1.0, theta_tag_rel: 0.2, tau_z_s: 20.0)),",
            "",
            1,
        )
        .replacen(
            "h_max_mv: 4.0)),",
            "h_max_mv: 4.0, event_driven: true)),",
            1,
        );
    let bad = with_events(
        &event_driven,
        &["SetParam(at_ms: 1000.0, path: \"synapses.syn.rule.a_plus\", value: 0.1)"],
    );
    assert_refused(
        "set-param-event-driven",
        &bad,
        46,
        &[path, "cannot change during a run", "event-driven"],
    );

    // Changes that fit, in order, run: h_max_mv up, then h_min_mv up to below it, and a switch.
    let ok = with_events(
        GOOD,
        &[
            "SetParam(at_ms: 1000.0, path: \"synapses.syn.rule.h_max_mv\", value: 20.0)",
            "SetParam(at_ms: 2000.0, path: \"synapses.syn.rule.h_min_mv\", value: 5.0)",
            "SetParam(at_ms: 3000.0, path: \"synapses.syn.trafficking.exocytosis_blocked\", value: true)",
        ],
    );
    let (code, err, wrote) = run_scene("set-param-ok", &ok);
    assert!(code == 0 && wrote, "exit {code}: {err}");
}

/// `--duration-ms` takes a time from 0 to 1e10 ms (the range of a scene's `duration_ms`) that is
/// at most 1e12 steps of the scene's dt, and `--seed` a whole number from 0 to 2^64 − 1: other
/// values are refused with exit code 2, naming the option, before anything is written.
/// `--duration-ms 1e300` used to panic ("capacity overflow") and 1e9 to abort while reserving
/// the recorders.
#[test]
fn absurd_durations_and_seeds_are_refused() {
    let dir = scratch("absurd-options");
    let out_dir = dir.join("out");
    let out = out_dir.to_str().unwrap();
    let fine = dir.join("fine.ron");
    std::fs::write(&fine, GOOD.replacen("dt_ms: 0.5,", "dt_ms: 0.001,", 1)).unwrap();
    let fine = fine.to_str().unwrap();
    let scene = "scenes/single_synapse.ron";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["run", scene, "--out", out, "--duration-ms", "1e300"],
            "--duration-ms",
        ),
        (
            vec!["run", scene, "--out", out, "--duration-ms", "inf"],
            "--duration-ms",
        ),
        (
            vec!["run", scene, "--out", out, "--duration-ms", "NaN"],
            "--duration-ms",
        ),
        (
            vec!["run", scene, "--out", out, "--duration-ms=-5"],
            "--duration-ms",
        ),
        (
            vec!["run", scene, "--out", out, "--duration-ms", "1e11"],
            "--duration-ms",
        ),
        (
            vec!["run", scene, "--out", out, "--duration-ms", "long"],
            "--duration-ms",
        ),
        (
            vec!["show", scene, "--synapse", "0", "--duration-ms", "1e300"],
            "--duration-ms",
        ),
        // 1e10 ms at dt = 0.001 ms is 1e13 steps.
        (
            vec!["run", fine, "--out", out, "--duration-ms", "1e10"],
            "1e12",
        ),
        (vec!["run", scene, "--out", out, "--seed=-1"], "--seed"),
        (vec!["run", scene, "--out", out, "--seed", "1e3"], "--seed"),
        (
            vec!["run", scene, "--out", out, "--seed", "18446744073709551616"],
            "--seed",
        ),
    ];
    for (args, needle) in &cases {
        let o = edra(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: `{needle}` missing from {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(o.stdout.is_empty());
        assert!(!out_dir.exists(), "{args:?} wrote {out}");
    }
    // A scene's own duration is held to the same number of steps.
    let bad = GOOD.replacen("dt_ms: 0.5,", "dt_ms: 0.001,", 1).replacen(
        "duration_ms: 25000.0,",
        "duration_ms: 1e10,",
        1,
    );
    assert_refused(
        "too-many-steps",
        &bad,
        line_of(&bad, "duration_ms: 1e10"),
        &["field `duration_ms`", "1e13 steps", "1e12"],
    );
}

/// A long run (1e9 ms, 2e9 steps) starts: its recorders reserve a bounded amount and grow as
/// they go, where reserving every sample (144 GB here) aborted the process.
#[test]
fn a_long_run_with_recorders_starts() {
    let long = GOOD.replacen("duration_ms: 25000.0,", "duration_ms: 1e9,", 1);
    let mut sim = edra::Simulation::from_ron("long", &long).unwrap();
    for _ in 0..10 {
        sim.step().unwrap();
    }
}

/// A variable listed twice in a recorder would be two CSV columns of one name: the repeat is
/// refused at its position, naming both entries (it used to write duplicate columns).
#[test]
fn a_repeated_recorder_variable_is_refused() {
    let bad = GOOD.replacen(
        "target: Synapses(group: \"syn\", indices: [0]), every_steps: 2)",
        "target: Synapses(group: \"syn\", indices: [0]),\n            variables: [\"h_mv\", \"ca_um\", \"h_mv\"], every_steps: 2)",
        1,
    );
    assert_refused(
        "repeated-variable",
        &bad,
        line_of(&bad, "variables: [\"h_mv\""),
        &[
            "field `recorders[0].variables[2]`",
            "`h_mv` is listed twice: variables[0] and variables[2]",
        ],
    );
    let (_, err, _) = run_scene("repeated-variable-col", &bad);
    let col = line_of_col(&bad, "\"h_mv\"]");
    assert!(
        err.contains(&format!(":{col}: field")),
        "column {col}: {err}"
    );
}

/// The 1-based line and column of the first `needle` in `src`, as `line:col`.
fn line_of_col(src: &str, needle: &str) -> String {
    let at = src.find(needle).expect("needle in scene");
    let line = src[..at].matches('\n').count() + 1;
    let col = src[..at].rsplit('\n').next().unwrap().chars().count() + 1;
    format!("{line}:{col}")
}

/// A UTF-8 byte-order mark at the start of a scene is accepted (and positions after it are
/// unchanged); bytes that are not UTF-8 are refused at the line and column of the first of them
/// (exit 2). Both used to be refused without a position.
#[test]
fn a_byte_order_mark_is_accepted_and_bad_bytes_are_located() {
    let dir = scratch("utf8");
    let check = |name: &str, bytes: &[u8]| {
        let file = dir.join(name);
        std::fs::write(&file, bytes).unwrap();
        let out = edra(&["check", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        (out.status.code(), err)
    };
    let bom = |text: &str| [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat();
    let (code, err) = check("bom.ron", &bom(GOOD));
    assert_eq!(code, Some(0), "{err}");
    // An error after the mark is at the same line and column as without it.
    let bad = GOOD.replacen("connectivity: OneToOne,", "connectivity: OneToOne,,", 1);
    let (_, plain) = check("syntax.ron", bad.as_bytes());
    let (code, err) = check("syntax-bom.ron", &bom(&bad));
    assert_eq!(code, Some(2), "{err}");
    let at = plain
        .split("syntax.ron:")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert!(
        at.starts_with(&format!("{}:", line_of(&bad, ",,"))),
        "{plain}"
    );
    assert!(err.contains(&format!("syntax-bom.ron:{at}")), "{at}: {err}");

    // `pre` with its `e` in Latin-1: 0xE9 is not UTF-8.
    let mut latin1 = GOOD.as_bytes().to_vec();
    latin1[GOOD.find("name: \"pre\"").unwrap() + "name: \"pr".len()] = 0xE9;
    let (code, err) = check("latin1.ron", &latin1);
    assert_eq!(code, Some(2), "{err}");
    let want = line_of_col(GOOD, "e\", size: 1, model: SpikeTimes");
    assert!(
        err.contains(&format!("latin1.ron:{want}:")),
        "{want}: {err}"
    );
    assert!(err.contains("0xE9") && err.contains("UTF-8"), "{err}");
    // A sequence cut short by the end of the file.
    let mut cut = GOOD.as_bytes().to_vec();
    cut.extend_from_slice(b"\n\xe2\x82");
    let (code, err) = check("cut.ron", &cut);
    assert_eq!(code, Some(2), "{err}");
    let lines = GOOD.matches('\n').count() + 2;
    assert!(err.contains(&format!("cut.ron:{lines}:1:")), "{err}");
}

/// Only a regular file is read as a scene, and at most 32 GiB of it: /dev/zero (which `check`
/// read for 2 GB before failing), a folder or a named pipe is refused at once, as is a larger
/// file (here a sparse one), with exit code 2 and nothing written.
#[test]
fn only_regular_files_up_to_the_limit_are_read() {
    let dir = scratch("not-a-file");
    let out_dir = dir.join("out");
    let huge = dir.join("huge.ron");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(edra::scene::MAX_SCENE_BYTES + 1).unwrap();
    drop(f);
    let fifo = dir.join("fifo.ron");
    let have_fifo = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let mut cases = vec![
        (
            dir.to_str().unwrap().to_string(),
            "is a folder, not a regular file",
        ),
        (huge.to_str().unwrap().to_string(), "is larger than 32 GiB"),
    ];
    if cfg!(unix) {
        cases.push(("/dev/zero".into(), "not a regular file"));
    }
    if have_fifo {
        cases.push((fifo.to_str().unwrap().to_string(), "not a regular file"));
    }
    for (file, needle) in &cases {
        for args in [
            vec!["check", file.as_str()],
            vec!["run", file.as_str(), "--out", out_dir.to_str().unwrap()],
        ] {
            let start = std::time::Instant::now();
            let out = edra(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains(&format!("{file}: ")) && err.contains(needle),
                "{err}"
            );
            assert!(
                start.elapsed().as_secs() < 10,
                "{args:?} took {:?}",
                start.elapsed()
            );
            assert!(!out_dir.exists());
        }
    }
}

/// Checking is linear in the size of the scene, and a refusal reports the first 20 errors and
/// counts the rest: 100 000 dopamine regions named alike took 592 s and printed 13 MB, each
/// error listing every name; 100 000 synapse groups naming missing neuron groups likewise.
#[test]
fn many_errors_are_found_in_linear_time_and_reported_briefly() {
    let dir = scratch("many-errors");
    let n = 100_000;
    let regions: String = (0..n)
        .map(|_| "        DopamineRegion(name: \"vta\"),\n")
        .collect();
    let neurons: String = (0..n)
        .map(|i| {
            format!("        NeuronGroup(name: \"n{i}\", size: 1, model: Poisson(rate_hz: 1.0)),\n")
        })
        .collect();
    let synapses: String = (0..n)
        .map(|i| format!("        SynapseGroup(name: \"s{i}\", pre: \"x{i}\", post: \"n0\", connectivity: OneToOne, ca: Off, rule: Static),\n"))
        .collect();
    let head = "Scene(name: \"many\", dt_ms: 1.0, duration_ms: 10.0,\n";
    let scenes = [
        (
            "regions.ron",
            format!("{head}    dopamine_regions: [\n{regions}    ],\n)\n"),
            "field `dopamine_regions[1].name`: the name `vta` is used twice (first by dopamine_regions[0])",
            "… and 99979 more errors",
        ),
        (
            "unknown.ron",
            format!(
                "{head}    neurons: [\n{neurons}    ],\n    synapses: [\n{synapses}    ],\n)\n"
            ),
            "unknown neuron group `x0` (the scene has: n0, n1, n2, n3, n4, n5, n6, n7, n8, n9, … (100000 in all))",
            "… and 99980 more errors",
        ),
    ];
    for (name, text, first, last) in &scenes {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let start = std::time::Instant::now();
        let out = edra(&["check", file.to_str().unwrap()]);
        let took = start.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(took.as_secs() < 30, "{name}: check took {took:?}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 21, "{name}: {} lines", lines.len());
        assert!(lines[0].contains(first), "{name}: {}", lines[0]);
        assert!(lines[1].starts_with("  also: "), "{name}: {}", lines[1]);
        assert_eq!(lines[20], format!("  {last}"), "{name}");
        assert!(err.len() < 10_000, "{name}: {} bytes", err.len());
    }
    // The same scene with its names fixed passes, also quickly.
    let fixed = scenes[1].1.replace("pre: \"x", "pre: \"n");
    let file = dir.join("fixed.ron");
    std::fs::write(&file, fixed).unwrap();
    let start = std::time::Instant::now();
    edra_ok(&["check", file.to_str().unwrap()]);
    assert!(
        start.elapsed().as_secs() < 30,
        "check took {:?}",
        start.elapsed()
    );
}

/// Two recorders of one name would write one CSV, two astrocyte groups of one name would make a
/// parameter path ambiguous: both are refused at the second name (issue 12).
#[test]
fn recorder_and_astrocyte_names_are_unique() {
    let scene = |body: &str| {
        format!(
            "Scene(name: \"dup\", dt_ms: 1.0, duration_ms: 10.0,\n    neurons: [NeuronGroup(name: \"n\", size: 4, model: Poisson(rate_hz: 1.0))],\n{body})\n"
        )
    };
    let rec = scene(
        "    recorders: [\n        Recorder(name: \"r\", target: Regions),\n        Recorder(name: \"r\", target: Astrocytes),\n    ],\n",
    );
    let e = edra::scene::SceneFile::parse("dup.ron", rec)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("dup.ron:5:") && e.contains("recorders[1].name"),
        "{e}"
    );
    assert!(e.contains("the name `r` is used twice"), "{e}");
    let astro = scene(
        "    astrocytes: [\n        AstrocyteGroup(name: \"a\", covers: \"n\", neurons_per_astrocyte: 2),\n        AstrocyteGroup(name: \"a\", covers: \"n\", neurons_per_astrocyte: 2),\n    ],\n",
    );
    let e = edra::scene::SceneFile::parse("dup.ron", astro)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("astrocytes[1].name") && e.contains("used twice"),
        "{e}"
    );
}

/// The memory guard (issue 12, reproducer 6): a scene beyond 32-bit ids, or needing more memory
/// than the machine has, is refused before anything is built, exit 2, with the figures (its
/// recorders count one chunk each: `edra run` streams them to disk); a
/// scene beyond the machine's memory runs with --force (not tried here); beyond 32-bit ids it
/// does not run at all. Each refusal is immediate.
#[test]
fn scenes_that_cannot_fit_are_refused_before_the_build() {
    let dir = scratch("memory-guard");
    let head = "Scene(name: \"big\", dt_ms: 1.0, duration_ms: 10.0,\n";
    let group = |n: u64| {
        format!(
            "    neurons: [NeuronGroup(name: \"n\", size: {n}, model: Poisson(rate_hz: 1.0))],\n"
        )
    };
    let all_to_all = "    synapses: [SynapseGroup(name: \"s\", pre: \"n\", post: \"n\", connectivity: AllToAll, ca: Off, rule: Static)],\n";
    let values: Vec<String> = (0..10_000).map(|i| format!("{}", i as f64 * 0.1)).collect();
    let sweep = format!(
        "    sweep: [(path: \"neurons.n.model.rate_hz\", values: [{v}]), (path: \"neurons.n.model.rate_hz\", values: [{v}])],\n",
        v = values.join(", ")
    );
    let recorder = "    recorders: [Recorder(name: \"r\", target: Synapses(group: \"s\", indices: [0]), every_steps: 1)],\n";
    let cases = [
        (
            "ids_neurons.ron",
            format!(
                "{head}    neurons: [{}],\n)\n",
                ["a", "b", "c", "d", "e"]
                    .map(|n| format!(
                        "NeuronGroup(name: \"{n}\", size: 1000000000, model: Poisson(rate_hz: 1.0))"
                    ))
                    .join(", ")
            ),
            "32-bit id",
        ),
        (
            "ids_synapses.ron",
            format!("{head}{}{all_to_all})\n", group(1_000_000)),
            "32-bit id",
        ),
        (
            "memory.ron",
            format!("{head}{}{all_to_all})\n", group(60_000)),
            "GiB available",
        ),
        (
            "sweep.ron",
            format!("{head}{}{sweep})\n", group(10)),
            "GiB available",
        ),
    ];
    for (name, text, needle) in &cases {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let out_dir = dir.join(format!("out-{name}"));
        let start = std::time::Instant::now();
        let out = edra(&[
            "run",
            file.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(needle) && err.contains(name), "{name}: {err}");
        assert!(
            start.elapsed().as_secs() < 30,
            "{name} took {:?}",
            start.elapsed()
        );
        assert!(!out_dir.exists(), "{name}: an output folder was made");
    }
    // Beyond 32-bit ids even --force is refused, and `check` says so too.
    let ids = dir.join("ids_neurons.ron");
    let out = edra(&["run", ids.to_str().unwrap(), "--force"]);
    assert_eq!(out.status.code(), Some(2));
    let out = edra(&["check", ids.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    // Beyond the machine's memory, `check` calls the scene valid and says it cannot run here.
    let out = edra(&["check", dir.join("memory.ron").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("cannot run here"), "{text}");
    recorders_beyond_memory_stream_to_disk(&dir, group(2), all_to_all, recorder);
}

/// Recorders whose samples over the whole run exceed the machine's memory (2 synapses every
/// step for an hour at dt = 1 µs: about 1 TB of samples, 1.3 TB of CSV) used to be refused;
/// `edra run` streams them to disk, holding one chunk each, so `check` gives the disk figure and
/// no refusal, and `run` starts (stopped here by SIGTERM: exit 5, the rows so far written).
fn recorders_beyond_memory_stream_to_disk(
    dir: &std::path::Path,
    group: String,
    all_to_all: &str,
    recorder: &str,
) {
    let file = dir.join("recorder.ron");
    let text = format!(
        "Scene(name: \"big\", dt_ms: 0.001, duration_ms: 3600000.0,\n{group}{}{recorder})\n",
        all_to_all.replace("AllToAll", "OneToOne")
    )
    .replace("indices: [0]", "indices: [0, 1]");
    std::fs::write(&file, text).unwrap();
    let out = edra(&["check", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("cannot run here"), "{text}");
    let disk_mib: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("recorders"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .expect("a disk figure for the recorders");
    assert!(disk_mib > 1e6, "{text}");
    let out_dir = dir.join("out-recorder");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_edra"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rows = dir
        .join(format!(".out-recorder.partial-{}", child.id()))
        .join(".r.csv.partial");
    for _ in 0..600 {
        if std::fs::metadata(&rows).is_ok_and(|m| m.len() > 0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(5), "{err}");
    assert!(out_dir.join("r.csv").is_file(), "{err}");
}

/// `edra checkpoint convert` refuses, with exit code 2 and without leaving an output: an
/// output that is neither `.ron` nor `.ckpt`, a scene that is not a checkpoint, and a binary
/// checkpoint with one byte changed (its checksum), a cut one and one of another version.
#[test]
fn checkpoint_convert_refuses_bad_input_and_writes_nothing() {
    let dir = scratch("convert-errors");
    std::fs::create_dir_all(&dir).unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (ron, bin) = (dir.join("c.ron"), dir.join("c.ckpt"));
    let mut sim = edra::Simulation::load(&repo("scenes/single_synapse.ron")).unwrap();
    sim.run_until(100.0, &mut |_| {}).unwrap();
    sim.save_checkpoint(&ron).unwrap();
    sim.save_checkpoint(&bin).unwrap();
    let good = std::fs::read(&bin).unwrap();
    let mut damaged = good.clone();
    damaged[good.len() / 2] ^= 0x10;
    let mut other_version = good.clone();
    other_version[8] = 9;
    let cases: [(&str, Option<Vec<u8>>, &str, &str); 5] = [
        ("txt", None, "c.txt", ".ron (text) or .ckpt (binary)"),
        ("scene", None, "o.ckpt", "is a scene, not a checkpoint"),
        ("damaged", Some(damaged), "o.ron", "the file is damaged"),
        (
            "cut",
            Some(good[..good.len() - 100].to_vec()),
            "o.ron",
            "truncated",
        ),
        (
            "version",
            Some(other_version),
            "o.ron",
            "is 9; this edra reads",
        ),
    ];
    for (what, bytes, out, needle) in cases {
        let input = match (what, bytes) {
            ("txt", _) => ron.clone(),
            ("scene", _) => repo("scenes/single_synapse.ron"),
            (_, Some(b)) => {
                let p = dir.join(format!("{what}.ckpt"));
                std::fs::write(&p, b).unwrap();
                p
            }
            _ => unreachable!(),
        };
        let out = dir.join(out);
        let o = edra(&["checkpoint", "convert", &s(&input), &s(&out)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(needle), "{what}: {err}");
        assert!(!out.exists(), "{what}: an output was left");
    }
}

/// A build without the `nwb` feature refuses `edra export nwb` with exit 2, saying how to get
/// it (tests/nwb.rs covers the export itself, in a build with the feature).
#[cfg(not(feature = "nwb"))]
#[test]
fn export_nwb_without_the_feature_says_how_to_build_it() {
    let dir = scratch("export-nwb-unbuilt");
    let out = edra(&["export", "nwb", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--features nwb") && err.contains("libhdf5-dev"),
        "{err}"
    );
}
