//! Distal reward and retraining (Izhikevich 2007, Cereb Cortex 17:2443, Fig. 1; daspnet.m, the
//! code published with it) on the fast variants `scenes/experiments/distal_reward_fast.ron` and
//! `retraining_fast.ron`: the published network, input, dopamine-gated STDP and reward rule with
//! the learning rate 3× the published one, run with `edra run` for 3 and 6 simulated minutes
//! instead of 1 h and 2 h. Faster variants lose the published selectivity (at 5× and 10× the
//! others' mean rises above 25 % of w_max within minutes; docs/validation.md), so 3× is the
//! largest speed-up used; the full scenes are on docs/validation.md. Values are read from the
//! runs' CSVs.

mod common;
use common::*;
use std::path::Path;

/// w_max of the excitatory synapses, mV (Izhikevich 2007).
const W_MAX_MV: f64 = 4.0;
/// The rewarded synapses by index in group "ee", which is also their id ("ee" is the first group):
/// exc[0] → exc[493] and exc[0] → exc[757] under seed 1, both with a 1 ms delay.
const FIRST: u32 = 39418;
const SECOND: u32 = 60586;

/// A CSV's header and its rows as text fields.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = String::from_utf8(read(path)).expect("utf-8");
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

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

/// Mean h of the 2000 "ee" synapses of the recorder `sample` (every 32nd, none rewarded) at its
/// last sample at or before `t_ms` (one sample per 1 s).
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
    assert_eq!(v.len(), 2000, "2000 sampled synapses at {t} ms");
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

fn run(scene: &str, name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    edra_ok(&[
        "run",
        &format!("scenes/experiments/{scene}"),
        "--threads",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    dir
}

#[test]
fn rewarded_synapse_reaches_w_max_while_the_others_stay_low() {
    let dir = run("distal_reward_fast.ron", "distal_reward_fast");
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
    // Izhikevich 2007 (Fig. 1), bound from issue 3: while it does, the other synapses stay low,
    // their mean below 25 % of w_max (1 mV, which is also where they start). Read from the 2000
    // sampled "ee" synapses (every 32nd) at the last sample before `reached`: with the weights'
    // spread (SD about 0.8 mV) the sample mean's standard error is 0.018 mV (0.45 % of w_max).
    let mean = sample_mean_at(&dir, reached);
    assert!(
        mean < 0.25 * W_MAX_MV,
        "others' mean {mean} mV ≥ 25 % of w_max when the rewarded synapse reaches 0.95·w_max"
    );
}

/// Retraining: the rule moves from exc[0] → exc[493] to exc[0] → exc[757] at T = 2 min; the run
/// lasts 6 simulated minutes.
#[test]
fn after_the_switch_the_new_synapse_rises_and_the_first_declines() {
    let dir = run("retraining_fast.ron", "retraining_fast");
    let t_switch = 120_000.0;
    let (first, second) = (trace(&dir, FIRST), trace(&dir, SECOND));
    let r = rewards(&dir);
    let after: Vec<f64> = r.iter().copied().filter(|t| *t >= t_switch).collect();
    assert!(!after.is_empty(), "no reward after the switch: {r:?}");
    let at = |tr: &[(f64, f64)], t: f64| tr.iter().rev().find(|q| q.0 <= t).unwrap().1;
    // Before the switch the scene is distal_reward_fast.ron: the first synapse reaches w_max
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
    // ... and the first declines, no longer rewarded (issue 3 gives no amount): lower at the end
    // than at T.
    let (at_t, last) = (at(&first, t_switch), first.last().unwrap().1);
    assert!(
        last < at_t,
        "first synapse {at_t} mV at T, {last} mV at the end"
    )
}
