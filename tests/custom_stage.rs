//! A stage declared in one file is a first-class stage: `examples/custom_stage.rs` (CaMKII)
//! registers it with one line, and this checks that its parameters are read from the scene per
//! group and checked with their place, that it runs between Ca influx and plasticity, that its
//! variable is recorded, is a column of `synapses.csv`, appears in `edra show` and on the report
//! page under its stage, and that a checkpoint keeps it: a resumed run is byte-identical.

#[path = "../examples/custom_stage.rs"]
mod custom_stage;

use custom_stage::{CamkiiParams, SCENE, stages};
use edra::Simulation;
use edra::core::registry::GroupParams;
use edra::scene::SceneFile;
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("edra-camkii-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn scene_text() -> String {
    std::fs::read_to_string(SCENE).unwrap()
}

#[test]
fn parameters_are_read_per_group_and_checked_at_their_line() {
    let src = scene_text().replace("(tau_ms: 2000.0)", "(tau_ms: 1500.0, hill: 2.0)");
    let sf = SceneFile::parse_with("camkii.ron", src.clone(), &stages()).unwrap();
    let sim = Simulation::new_with(sf, stages()).unwrap();
    let p = sim.world().resource::<GroupParams<CamkiiParams>>();
    let p = p.0[0].as_ref().expect("group 0 has CaMKII");
    assert_eq!((p.tau_ms, p.hill, p.k_half_um), (1500.0, 2.0, 0.7));

    let bad = src.replace("tau_ms: 1500.0", "tau_ms: -3.0");
    let e = SceneFile::parse_with("camkii.ron", bad.clone(), &stages())
        .err()
        .unwrap()
        .to_string();
    let line = bad.lines().position(|l| l.contains("-3.0")).unwrap() + 1;
    assert!(e.contains("synapses[0].stages.camkii.tau_ms"), "{e}");
    assert!(e.contains(&format!("camkii.ron:{line}:")), "{e}");
    assert!(e.contains("[1, 10000000] ms"), "{e}");

    let typo = src.replace("hill: 2.0", "hil: 2.0");
    let e = SceneFile::parse_with("camkii.ron", typo, &stages())
        .err()
        .unwrap();
    assert!(e.to_string().contains("hil"), "{e}");

    // Without the registration the scene is refused, naming the stage.
    let e = SceneFile::parse("camkii.ron", src)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("unknown stage `camkii`"), "{e}");
}

#[test]
fn its_variable_is_recorded_written_shown_and_on_the_page() {
    let dir = tmp("outputs");
    let mut sim = custom_stage::run_into(&dir, 3000.0).unwrap();

    // The recorder: CaMKII rises with the pairings' Ca2+ and decays between them.
    let rec = std::fs::read_to_string(dir.join("camkii.csv")).unwrap();
    let mut lines = rec.lines();
    assert_eq!(lines.next(), Some("t_ms,synapse,ca_um,camkii_active,w_mv"));
    let a: Vec<f64> = lines
        .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
        .collect();
    let peak = a.iter().cloned().fold(0.0, f64::max);
    assert!(peak > 0.01, "CaMKII never activated: peak {peak}");
    assert!(*a.last().unwrap() < peak, "no decay after the peak");
    assert!(
        a[0] < 1e-3 * peak,
        "CaMKII starts near 0 at resting Ca2+: {}",
        a[0]
    );

    // synapses.csv: a column after the built-in ones, with the value the component holds.
    let csv = std::fs::read_to_string(dir.join("synapses.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let k = header.iter().position(|h| *h == "camkii_active").unwrap();
    assert_eq!(k, header.len() - 1);
    let v: f32 = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(k)
        .unwrap()
        .parse()
        .unwrap();
    let snap = sim.synapse(0).unwrap();
    let own = snap.iter().find(|s| s.0 == "camkii_active").unwrap();
    assert_eq!(Some(v), own.3);
    assert_eq!(own.1, edra::Stage::CaInflux);
    assert_eq!(own.2, "Camkii");

    // edra show: a row under stage 1, after the built-in stage-1 rows, before stage 2.
    let mut fresh = Simulation::load_with(SCENE.as_ref(), stages()).unwrap();
    let show = edra::front::show::synapse_report(&mut fresh, 0).unwrap();
    let row = |name: &str| show.lines().position(|l| l.contains(name)).unwrap();
    let camkii = show.lines().nth(row("camkii_active")).unwrap();
    assert!(
        camkii.starts_with("1 Ca influx") && camkii.contains("Camkii"),
        "{show}"
    );
    assert!(row("ca_um") < row("camkii_active"));
    assert!(row("camkii_active") < row("ca_sensitivity"));

    // The report page: the variable in the synapse's table, under stage 1.
    let page = edra::web::report::write_report_with(&dir, &stages()).unwrap();
    let html = std::fs::read_to_string(page).unwrap();
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("page lacks {s}"));
    assert!(at("stage 1 Ca influx") < at("camkii_active"));
    assert!(at("camkii_active") < at("stage 2 Modulation"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The checkpoint holds the stage's state: stopping at 3 s and resuming gives the same bytes at
/// 6 s as running straight through.
#[test]
fn checkpoint_and_resume_are_byte_identical() {
    let dir = tmp("resume");
    std::fs::create_dir_all(&dir).unwrap();
    let straight = dir.join("straight.ron");
    let mut sim = Simulation::load_with(SCENE.as_ref(), stages()).unwrap();
    sim.run_until(6000.0, &mut |_| {}).unwrap();
    sim.save_checkpoint(&straight).unwrap();

    let half = dir.join("half.ron");
    let mut sim = Simulation::load_with(SCENE.as_ref(), stages()).unwrap();
    sim.run_until(3000.0, &mut |_| {}).unwrap();
    sim.save_checkpoint(&half).unwrap();
    let half_binary = dir.join("half.ckpt");
    sim.save_checkpoint(&half_binary).unwrap();
    let text = std::fs::read_to_string(&half).unwrap();
    assert!(
        text.contains("\"camkii_active\":"),
        "the checkpoint lacks the column"
    );
    let mut resumed = Simulation::load_with(&half, stages()).unwrap();
    resumed.run_until(6000.0, &mut |_| {}).unwrap();
    let again = dir.join("resumed.ron");
    resumed.save_checkpoint(&again).unwrap();
    let (a, b) = (
        std::fs::read(&straight).unwrap(),
        std::fs::read(&again).unwrap(),
    );
    assert!(a == b, "a resumed run differs from a straight one");
    // The same from the binary checkpoint, which carries the stage's column by name.
    let mut resumed_binary = Simulation::load_with(&half_binary, stages()).unwrap();
    resumed_binary.run_until(6000.0, &mut |_| {}).unwrap();
    resumed_binary.save_checkpoint(&again).unwrap();
    let c = std::fs::read(&again).unwrap();
    assert!(a == c, "a run resumed from the binary checkpoint differs");
    let active = resumed.synapse(0).unwrap();
    let active = active.iter().find(|s| s.0 == "camkii_active").unwrap().3;
    assert!(active.unwrap() > 0.0, "CaMKII lost on resume: {active:?}");

    // Resuming without the stage is refused, naming it.
    let e = Simulation::load(Path::new(&half))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("unknown stage `camkii`"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// With the stage registered the schedule is still unambiguous: its system and the recording
/// of its variable have their places.
#[test]
fn the_schedule_with_the_stage_has_no_ambiguities() {
    use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings};
    let mut sim = Simulation::load_with(SCENE.as_ref(), stages()).unwrap();
    let mut schedule = edra::sim::step_schedule(&stages());
    schedule.set_build_settings(ScheduleBuildSettings {
        ambiguity_detection: LogLevel::Error,
        ..Default::default()
    });
    schedule
        .initialize(sim.world_mut())
        .expect("no ambiguous system pairs");
}

/// Sweeps and timed changes set the stage's parameters by path through its declaration: a sweep
/// gives each replica its value, also of a field the scene left at its default, each checked
/// against the declared range; a change during a run is refused, since the stage takes its
/// parameters when the world is built.
#[test]
fn sweeps_set_its_parameters_and_a_change_during_a_run_is_refused() {
    let sweep = |axis: &str| {
        scene_text().replace(
            "    timeline: [",
            &format!("    sweep: [{axis}],\n    timeline: ["),
        )
    };
    let src = sweep("(path: \"synapses.syn.stages.camkii.hill\", values: [2.0, 3.0])");
    let sf = SceneFile::parse_with("camkii.ron", src, &stages()).unwrap();
    let sim = Simulation::new_with(sf, stages()).unwrap();
    let p = sim.world().resource::<GroupParams<CamkiiParams>>();
    let hills: Vec<(f64, f64)> = p.0.iter().flatten().map(|p| (p.hill, p.tau_ms)).collect();
    assert_eq!(hills, [(2.0, 2000.0), (3.0, 2000.0)]);

    let src = sweep("(path: \"synapses.syn.stages.camkii.tau_ms\", values: [1000.0, -3.0])");
    let e = SceneFile::parse_with("camkii.ron", src, &stages())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("sweep[0].values"), "{e}");
    assert!(e.contains("[1, 10000000] ms"), "{e}");

    let src = scene_text().replace(
        "    timeline: [",
        "    timeline: [\n        SetParam(at_ms: 100.0, path: \"synapses.syn.stages.camkii.tau_ms\", value: 500.0),",
    );
    let e = SceneFile::parse_with("camkii.ron", src, &stages())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("SetParam.path"), "{e}");
    assert!(e.contains("cannot change during a run"), "{e}");
}
