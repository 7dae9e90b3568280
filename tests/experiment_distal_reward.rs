//! Distal reward and retraining (Izhikevich 2007, Cereb Cortex 17:2443, Fig. 1; daspnet.m, the
//! code published with it) on the full scenes `scenes/experiments/distal_reward.ron` (1 h) and
//! `retraining.ron` (2 h), run with `edra run`: the published network, input, dopamine-gated
//! STDP, learning rate and reward rule. Their pair STDP is event-driven, so the two runs take a
//! few minutes together. Values are read from the runs' CSVs.

mod common;
use common::*;
use std::path::Path;

/// w_max of the excitatory synapses, mV (Izhikevich 2007).
const W_MAX_MV: f64 = 4.0;
/// The rewarded synapses by index in group "ee", which is also their id ("ee" is the first group):
/// exc[0] → exc[493] and exc[0] → exc[757] under seed 1, both with a 1 ms delay.
const FIRST: u32 = 39418;
const SECOND: u32 = 60586;

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

/// (t_ms, h_mv) of one synapse in the recorder `rewarded`.
fn trace(dir: &Path, id: u32) -> Vec<(f64, f64)> {
    let (h, rows) = read_csv(&dir.join("rewarded.csv"));
    let (ct, cs, ch) = (col(&h, "t_ms"), col(&h, "synapse"), col(&h, "h_mv"));
    rows.iter()
        .filter(|r| num(&r[cs]) as u32 == id)
        .map(|r| (num(&r[ct]), num(&r[ch])))
        .collect()
}

/// Mean h of the 200 "ee" synapses of the recorder `sample` (every 320th, none rewarded) at its
/// last sample at or before `t_ms` (one sample per 10 s).
fn sample_mean_at(dir: &Path, t_ms: f64) -> f64 {
    let (h, rows) = read_csv(&dir.join("sample.csv"));
    let (ct, ch) = (col(&h, "t_ms"), col(&h, "h_mv"));
    let t = rows
        .iter()
        .map(|r| num(&r[ct]))
        .filter(|t| *t <= t_ms)
        .fold(f64::NAN, f64::max);
    let v: Vec<f64> = rows
        .iter()
        .filter(|r| num(&r[ct]) == t)
        .map(|r| num(&r[ch]))
        .collect();
    assert_eq!(v.len(), 200, "200 sampled synapses at {t} ms");
    v.iter().sum::<f64>() / v.len() as f64
}

/// Times (ms) of the rewards, from the dopamine recorder (one sample per 100 ms; a reward adds
/// 0.5 µM, while between two samples dopamine only decays).
fn rewards(dir: &Path) -> Vec<f64> {
    let (h, rows) = read_csv(&dir.join("dopamine.csv"));
    let (ct, cd) = (col(&h, "t_ms"), col(&h, "dopamine_um"));
    rows.windows(2)
        .filter(|w| num(&w[1][cd]) - num(&w[0][cd]) > 0.25)
        .map(|w| num(&w[1][ct]))
        .collect()
}

/// `edra run` of `scene` on `threads` threads (the results do not depend on it). The two tests
/// run side by side: the 1 h scene on one thread, the 2 h one on two, so that it takes the core
/// the other leaves when it ends.
fn run(scene: &str, name: &str, threads: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    edra_ok(&[
        "run",
        &format!("scenes/experiments/{scene}"),
        "--threads",
        threads,
        "--out",
        dir.to_str().unwrap(),
    ]);
    dir
}

/// Mean final h of every "ee" synapse but `except`, from synapses.csv.
fn final_mean_of_others(dir: &Path, except: &[u32]) -> f64 {
    let (h, rows) = read_csv(&dir.join("synapses.csv"));
    let (ci, cg, ch) = (col(&h, "id"), col(&h, "group"), col(&h, "h_mv"));
    let v: Vec<f64> = rows
        .iter()
        .filter(|r| r[cg] == "ee" && !except.contains(&(num(&r[ci]) as u32)))
        .map(|r| num(&r[ch]))
        .collect();
    assert!(v.len() > 63_000, "{} ee synapses", v.len());
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn rewarded_synapse_reaches_w_max_while_the_others_stay_low() {
    let dir = run("distal_reward.ron", "distal_reward", "1");
    let tr = trace(&dir, FIRST);
    let r = rewards(&dir);
    assert!(!r.is_empty(), "no reward");
    // Izhikevich 2007 (Fig. 1): the rewarded synapse reaches w_max = 4 mV. Tolerance: 5 % below
    // w_max (h is clipped at w_max, so "reaches" = at least 0.95·w_max at some sample, every
    // 100 ms) ...
    let reached = tr
        .iter()
        .find(|q| q.1 >= 0.95 * W_MAX_MV)
        .expect("the rewarded synapse reaches 0.95·w_max")
        .0;
    // ... and rewards take it there: not before the first reward.
    assert!(
        reached > r[0],
        "reached at {reached} ms, first reward at {} ms",
        r[0]
    );
    // Izhikevich 2007 (Fig. 1): within 1 h (the recorder samples every second of the hour).
    assert!(reached <= 3_600_000.0, "reached at {reached} ms");
    // Izhikevich 2007 (Fig. 1), bound from issue 3: while it does, the other synapses stay low,
    // their mean below 25 % of w_max (1 mV, which is also where they start). Read from the 200
    // sampled "ee" synapses (every 320th) at the last sample before `reached` (with the weights'
    // spread, SD about 0.8 mV, the sample mean's standard error is 0.06 mV, 1.4 % of w_max) ...
    let mean = sample_mean_at(&dir, reached);
    assert!(
        mean < 0.25 * W_MAX_MV,
        "others' mean {mean} mV ≥ 25 % of w_max when the rewarded synapse reaches 0.95·w_max"
    );
    // ... and over all 63 999 others at the end of the hour (exact).
    let end = final_mean_of_others(&dir, &[FIRST]);
    assert!(
        end < 0.25 * W_MAX_MV,
        "others' mean {end} mV ≥ 25 % of w_max at 1 h"
    );
}

/// Retraining: the rule moves from exc[0] → exc[493] to exc[0] → exc[757] at T = 1 h; the run
/// lasts 2 h. Issue 3 also expects the first synapse to decline after T. That is not asserted:
/// whether it does depends on the run. In this one it is at 2.96 mV at T, dips once to 1.93 mV
/// (40.6 min after T) and ends at 3.98 mV; in a clock-driven run of the same scene (the same
/// model, different rounding) it fell to 0.24 mV. A strong exc[0] → exc[493] makes exc[493]
/// fire after exc[0], so its eligibility is positive whenever exc[0] fires, and every reward of
/// the new rule follows an exc[0] spike. docs/validation.md reports the numbers.
#[test]
fn after_the_switch_the_new_synapse_rises_to_w_max() {
    let dir = run("retraining.ron", "retraining", "2");
    let t_switch = 3_600_000.0;
    let (first, second) = (trace(&dir, FIRST), trace(&dir, SECOND));
    let r = rewards(&dir);
    let after: Vec<f64> = r.iter().copied().filter(|t| *t >= t_switch).collect();
    assert!(!after.is_empty(), "no reward after the switch: {r:?}");
    // Before the switch the scene is distal_reward.ron: the first synapse reaches w_max
    // (Izhikevich 2007, Fig. 1; 5 % tolerance).
    assert!(
        first
            .iter()
            .any(|q| q.0 < t_switch && q.1 >= 0.95 * W_MAX_MV)
    );
    // Issue 3 (after Izhikevich 2007): after the switch the new synapse rises to w_max (at least
    // 0.95·w_max at some sample), after a reward of the new rule ...
    let reached = second
        .iter()
        .find(|q| q.0 >= t_switch && q.1 >= 0.95 * W_MAX_MV)
        .expect("the new synapse reaches 0.95·w_max")
        .0;
    assert!(
        reached > after[0],
        "reached {reached} ms, before the first reward after T ({} ms)",
        after[0]
    );
}
