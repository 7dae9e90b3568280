//! Event-driven calcium rule (`event_driven: true` in `CalciumRule`, module
//! `edra::stages::plasticity::event_calcium`) on the Graupner & Brunel 2012 protocol of
//! `scenes/experiments/stdp_window_calcium.ron`:
//!
//! - without noise it is the limit the clock-driven path converges to as dt shrinks: the
//!   clock-driven ρ differs from it by about 2e-3 at dt 0.1 ms and ten times less at 0.01 ms (the
//!   clock-driven path holds each Ca value over a whole step, so every threshold crossing lasts
//!   up to one step longer), while the event-driven ρ is the same at both dt;
//! - with noise its transition fractions and strength change match Graupner & Brunel's analytic
//!   readout and published window within their statistical error, over many more trials than the
//!   clock-driven test can afford;
//! - 1 and 2 threads, recording while running, and stopping at a checkpoint within the
//!   milliseconds a spike's Ca is above threshold and continuing, give the same bits.

mod common;
use common::*;

#[path = "../examples/validation_parts/helpers.rs"]
mod validation;
use edra::stages::ca_influx::CaModel;
use edra::stages::plasticity::Rule;
use validation::gb;

const SCENE: &str = "scenes/experiments/stdp_window_calcium.ron";

/// The scene with `trials` synapses per (Δt, start), dendritic delays `d_ms` (Δt = d − 100
/// ms), `pairs` pre/post pairs, at `dt_ms`, with the rule's noise and event-driven flags.
fn variant(
    trials: usize,
    d_ms: &[f64],
    pairs: u32,
    dt_ms: f64,
    noise: bool,
    event: bool,
) -> String {
    let text = String::from_utf8(read(&repo(SCENE))).unwrap();
    let (start, end) = (
        text.find("values: [0.0, 5.0").unwrap(),
        text.find("200.0]),").unwrap(),
    );
    let values: Vec<String> = d_ms.iter().map(|d| format!("{d:.1}")).collect();
    let text = format!(
        "{}values: [{}]),{}",
        &text[..start],
        values.join(", "),
        &text[end + "200.0]),".len()..]
    );
    for needed in [
        "size: 50",
        "duration_ms: 60400.0",
        "dt_ms: 0.1,",
        "noise: true",
        "h_up_mv: 5.0))",
    ] {
        assert!(text.contains(needed), "the scene changed: {needed}");
    }
    let flag = if event {
        ", event_driven: true))"
    } else {
        "))"
    };
    text.replace("size: 50", &format!("size: {trials}"))
        .replace(
            "duration_ms: 60400.0",
            &format!("duration_ms: {:.1}", 1000.0 * pairs as f64 + 400.0),
        )
        .replace("dt_ms: 0.1,", &format!("dt_ms: {dt_ms},"))
        .replace("noise: true", &format!("noise: {noise}"))
        .replace("h_up_mv: 5.0))", &format!("h_up_mv: 5.0{flag}"))
}

use common::{run_scene as run, write_scene as write};

fn largest_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Without noise, three pairs at five Δt, from DOWN and from UP. Tolerances: the clock-driven
/// path's first-order error (measured 2.0e-3 at dt 0.1 ms over ten pairs, 1.5e-4 at 0.01 ms);
/// a phase misplaced by the event-driven path would not shrink with the clock's dt, and a missed
/// phase gives errors of 1e-2 and more.
#[test]
fn event_driven_is_the_limit_of_the_clock_driven_path_as_dt_shrinks() {
    let dir = scratch("evca-limit");
    let d = [75.0, 95.0, 105.0, 125.0, 200.0];
    let rho = |dt: f64, event: bool| {
        let name = format!("{}-{dt}", if event { "event" } else { "clock" });
        let scene = write(&dir, &name, &variant(1, &d, 3, dt, false, event));
        run(&scene, &dir.join(&name), &[]);
        synapse_column(&dir.join(&name), "rho")
    };
    let (event, event_fine) = (rho(0.1, true), rho(0.01, true));
    let (clock, clock_fine) = (rho(0.1, false), rho(0.01, false));
    let start = [0.0, 1.0].repeat(d.len());
    let moved = largest_difference(&event, &start);
    assert!(
        moved > 0.05,
        "ρ hardly moved ({moved}): the protocol did nothing"
    );
    let coarse = largest_difference(&event, &clock);
    let fine = largest_difference(&event, &clock_fine);
    assert!(coarse < 5e-3, "event vs clock at dt 0.1 ms: {coarse}");
    assert!(
        fine < coarse / 5.0 && fine < 5e-4,
        "event vs clock at 0.01 ms: {fine} (0.1 ms: {coarse})"
    );
    let own = largest_difference(&event, &event_fine);
    assert!(own < 1e-9, "the event-driven path moved with dt: {own}");
}

/// Graupner & Brunel 2012 (PNAS 109:3991, Fig. 2, DP set, 60 pairs at 1 Hz, β = 0.5, b = 5):
/// 400 noisy trials per Δt and start state at Δt = −25, +5 and +100 ms. The fractions D and U
/// agree with the analytic readout within 3 binomial standard errors, and the strength change
/// with the published 0.72, 1.24 and 1.0 within 3 standard errors plus 0.02 (the precision of
/// reading the figure).
#[test]
fn event_driven_window_matches_graupner_brunel_within_statistical_error() {
    edra::sim::init_threads(Some(2));
    let trials = 400;
    let mut sim = validation::load("stdp_window_calcium.ron", |s| {
        for n in &mut s.neurons {
            n.size = trials;
        }
        s.sweep[0].values = vec![75.0, 105.0, 200.0];
        let Rule::CalciumRule(p) = &mut s.synapses[0].rule else {
            panic!("the scene uses the calcium rule");
        };
        p.event_driven = true;
    })
    .unwrap();
    let g = &sim.scene().synapses[0];
    let (CaModel::Linear(ca), Rule::CalciumRule(rule)) = (g.ca.clone(), g.rule.clone()) else {
        panic!("the scene uses the linear Ca model and the calcium rule");
    };
    validation::run_to_end(&mut sim).unwrap();
    let rows = validation::synapse_rows(&mut sim);
    let points = validation::calcium_window_trials(&rows, 100.0, rule.rho_star);
    assert_eq!(points.len(), 3);
    for (p, published) in points.iter().zip([0.72, 1.24, 1.0]) {
        assert_eq!(p.trials, trials as usize);
        let n = p.trials as f64;
        let (_, _, u, d, _) = gb::readout(&ca, &rule, p.delta_t_ms, 60, 1.0, 0.5, 5.0);
        let se = |q: f64| (q * (1.0 - q) / n).sqrt().max(0.5 / n);
        let at = p.delta_t_ms;
        assert!(
            (p.d - d).abs() < 3.0 * se(d),
            "Δt {at}: D {} vs analytic {d}",
            p.d
        );
        assert!(
            (p.u - u).abs() < 3.0 * se(u),
            "Δt {at}: U {} vs analytic {u}",
            p.u
        );
        let ratio = gb::strength_ratio(p.u, p.d, 0.5, 5.0);
        let se_ratio = 2.0 / 3.0 * (se(d).powi(2) + se(u).powi(2)).sqrt();
        assert!(
            (ratio - published).abs() < 3.0 * se_ratio + 0.02,
            "Δt {at}: ratio {ratio} vs published {published}"
        );
    }
}

/// With noise: 1 and 2 threads give the same bits; recording ρ and Ca on every step (which
/// brings synapses up to date without writing them) leaves the run as it is; a run stopped at
/// 2.215 s, 1.3 ms after the pre spikes' Ca arrived and while it is above both thresholds, and
/// continued from its checkpoint (RON or binary) ends as one that never stopped.
#[test]
fn threads_reading_and_checkpoints_do_not_change_an_event_driven_calcium_run() {
    let dir = scratch("evca-same");
    let text = variant(2, &[95.0, 105.0, 200.0], 3, 0.1, true, true);
    let recorded = text.replacen(
        "    sweep: [",
        "    recorders: [\n        Recorder(name: \"spine\", target: Synapses(group: \"syn\", \
         indices: [0, 1]), variables: [\"ca_um\", \"rho\", \"w_mv\"], every_steps: 1),\n    ],\n    sweep: [",
        1,
    );
    assert_ne!(recorded, text);
    let (plain, recorded) = (
        write(&dir, "plain", &text),
        write(&dir, "recorded", &recorded),
    );
    let [t1, t2, rec] = ["t1", "t2", "rec"].map(|n| dir.join(n));
    run(&plain, &t1, &["--threads", "1"]);
    run(&plain, &t2, &["--threads", "2"]);
    run(&recorded, &rec, &["--threads", "2"]);
    same_files(
        &t1,
        &t2,
        &["synapses.csv", "checkpoint.ron"],
        "1 vs 2 threads",
    );
    same_files(&t1, &rec, &["synapses.csv"], "with vs without a recorder");
    let moved = largest_difference(&synapse_column(&t1, "rho"), &[0.0, 0.0, 1.0, 1.0].repeat(3));
    assert!(moved > 0.01, "ρ hardly moved ({moved})");

    let both = ["synapses.csv", "checkpoint.ron"];
    resumes_as_uninterrupted(&plain, &dir, ("2215", "3400"), &t1, &both);
}

/// The event-driven calcium rule is refused, at its field, with the NMDA Ca model and with
/// trafficking, which reads the synapse on every step (consolidation, which reads it on slow
/// steps, brings it up to date first: `tests/event_consolidation.rs`).
#[test]
fn event_driven_calcium_rule_is_refused_where_it_cannot_hold() {
    let dir = scratch("evca-refuse");
    let text = variant(1, &[95.0], 1, 0.1, true, true);
    let linear = "ca: Linear((tau_ca_ms: 20.0, c_pre: 1.0, c_post: 2.0, delay_ms: 13.7)),";
    assert!(text.contains(linear));
    for (name, edit, field) in [
        ("nmda", "ca: Nmda(()),", "ca"),
        (
            "trafficking",
            "ca: Linear(()), trafficking: Some(()),",
            "trafficking",
        ),
    ] {
        let scene = write(&dir, name, &text.replace(linear, edit));
        let out = edra(&["check", scene.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(field) && err.contains("event-driven calcium rule"),
            "{name}: {err}"
        );
    }
}
