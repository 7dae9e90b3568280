//! Events and sweeps: fixed rewards release dopamine when scheduled, a reward rule rewards
//! post-after-pre timing 1–3 s later, a parameter change at a time takes effect then ("retraining"),
//! and a sweep replicates the scene once per value with the value in synapses.csv.

mod common;
use common::*;
use edra::Simulation;

const BASE: &str = r#"Scene(
    name: "events",
    seed: 3,
    dt_ms: 1.0,
    duration_ms: 6000.0,
    neurons: [
        NeuronGroup(name: "src", size: 50, model: Poisson(rate_hz: 5.0)),
        NeuronGroup(name: "pair", size: 2, model: Pairing((delta_t_ms: 5.0, pairs: 3, frequency_hz: 1.0, start_ms: 100.0))),
    ],
    synapses: [
        SynapseGroup(name: "s", pre: "src", post: "src", connectivity: FixedProbability(0.1), ca: Linear(()), rule: Static),
    ],
    dopamine_regions: [DopamineRegion(name: "da")],
    timeline: [
        Reward(at_ms: 500.0, region: "da", amount_um: 0.5),
        RewardRule((pre: (group: "pair", index: 0), post: (group: "pair", index: 1), region: "da", window_ms: 10.0)),
        SetParam(at_ms: 3000.0, path: "neurons.src.model.rate_hz", value: 40.0),
    ],
    recorders: [Recorder(name: "da", target: Regions)],
)"#;

#[test]
fn rewards_rules_and_parameter_changes_happen_on_time() {
    let mut sim = Simulation::from_ron("events", BASE).unwrap();
    let mut spikes_before = 0;
    let mut spikes_after = 0;
    let mut trace = Vec::new();
    for _ in 0..6000 {
        sim.step().unwrap();
        let n = sim.write_spikes_of_last_step(&mut std::io::sink()).unwrap();
        if sim.t_ms() <= 3000.0 {
            spikes_before += n;
        } else {
            spikes_after += n;
        }
        let world = sim.world_mut();
        let da = world
            .query::<&edra::stages::modulation::DopamineCleft>()
            .iter(world)
            .next()
            .unwrap()
            .dopamine_um;
        trace.push((sim.t_ms(), da));
    }
    // The fixed reward: nothing before 500 ms, 0.5 µM right after.
    let at = |t: f64| trace.iter().find(|(s, _)| *s >= t).unwrap().1;
    assert_eq!(at(499.0), 0.0);
    assert!((at(501.0) - 0.5).abs() < 0.01, "{}", at(501.0));
    // The rule: three pairings (post 5 ms after pre, within the 10 ms window) at 0.1, 1.1 and
    // 2.1 s, each rewarded 1–3 s later: three more jumps of 0.5 µM after 1.1 s.
    let jumps = trace
        .windows(2)
        .filter(|w| w[0].0 > 1000.0 && w[1].1 - w[0].1 > 0.4)
        .count();
    assert_eq!(jumps, 3, "rule rewards");
    // The rate change at 3 s: 50 sources at 5 Hz then 40 Hz (expected 750 vs 6000 spikes, plus
    // the pairing neurons' 6).
    assert!((600..900).contains(&spikes_before), "{spikes_before}");
    assert!((5500..6500).contains(&spikes_after), "{spikes_after}");
}

#[test]
fn a_sweep_replicates_the_scene_and_labels_synapses() {
    let swept = BASE.replace(
        "    recorders:",
        "    sweep: [SweepAxis(path: \"synapses.s.init.h_mv\", values: [0.5, 2.0, 3.5])],\n    recorders:",
    );
    let dir = scratch("sweep");
    let scene = dir.join("sweep.ron");
    std::fs::write(&scene, swept).unwrap();
    edra_ok(&[
        "run",
        scene.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--duration-ms",
        "10",
    ]);
    let csv = String::from_utf8(read(&dir.join("synapses.csv"))).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[2], "synapses.s.init.h_mv");
    let h = header.iter().position(|c| *c == "h_mv").unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        *seen
            .entry((f[2].to_string(), f[h].to_string()))
            .or_insert(0) += 1;
    }
    // Three replicas, each with its own initial weight, of about 245 synapses (50·49·0.1).
    let keys: Vec<_> = seen.keys().cloned().collect();
    assert_eq!(
        keys,
        vec![
            ("0.5".into(), "0.5".into()),
            ("2".into(), "2".into()),
            ("3.5".into(), "3.5".into())
        ]
    );
    assert!(seen.values().all(|&n| (150..350).contains(&n)), "{seen:?}");
}
