//! Distal reward and retraining (Izhikevich 2007, Cereb Cortex 17:2443, Fig. 1) on the fast
//! variants `scenes/experiments/distal_reward_fast.ron` and `retraining_fast.ron`: the published
//! network, dopamine-gated STDP and reward rule with the learning rate 30× the published one,
//! run with `edra run` for 30 s and 5 min instead of 1 h and 2 h. The rule fires about once a
//! simulated minute, so these variants see one or a few rewards: they test the mechanism (a
//! reward 1–3 s after an exc[0] → exc[493] pairing takes that synapse to w_max; moving the
//! reward to another synapse moves the growth with it), not the selectivity of the published
//! hour, which docs/validation.md checks on the full scenes. Values are read from the runs' CSVs.

mod common;
use common::*;
use std::path::Path;

/// w_max of the excitatory synapses, mV (Izhikevich 2007).
const W_MAX_MV: f64 = 4.0;
/// The rewarded synapses by index in group "ee", which is also their id ("ee" is the first group):
/// exc[0] → exc[493] and exc[0] → exc[757] under seed 1, both with a 1 ms delay.
const FIRST: u32 = 39418;
const SECOND: u32 = 60586;
/// Size of group "ee" (800 neurons × 80).
const EE: u32 = 64_000;

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

/// Final h of every "ee" synapse, from synapses.csv, by id.
fn final_ee(dir: &Path) -> Vec<f64> {
    let (h, rows) = read_csv(&dir.join("synapses.csv"));
    let (ci, cg, ch) = (col(&h, "id"), col(&h, "group"), col(&h, "h_mv"));
    let mut out = vec![f64::NAN; EE as usize];
    for r in rows.iter().filter(|r| r[cg] == "ee") {
        out[num(&r[ci]) as usize] = num(&r[ch]);
    }
    assert!(out.iter().all(|h| h.is_finite()), "every ee synapse listed");
    out
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

/// Mean final h of the "ee" synapses other than `rewarded`, and how many of them end at
/// ≥ 0.95·w_max.
fn others(h: &[f64], rewarded: &[u32]) -> (f64, usize) {
    let o: Vec<f64> = (0..EE)
        .filter(|i| !rewarded.contains(i))
        .map(|i| h[i as usize])
        .collect();
    let top = o.iter().filter(|h| **h >= 0.95 * W_MAX_MV).count();
    (o.iter().sum::<f64>() / o.len() as f64, top)
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
fn rewarded_synapse_reaches_w_max_after_its_reward() {
    let dir = run("distal_reward_fast.ron", "distal_reward_fast");
    let tr = trace(&dir, FIRST);
    let r = rewards(&dir);
    // The rule rewards once in these 30 s (under seed 1; about one pairing a minute).
    assert_eq!(r.len(), 1, "rewards at {r:?} ms");
    // Izhikevich 2007 (Fig. 1): the rewarded synapse reaches w_max = 4 mV. Tolerance: 5 % below
    // w_max (h is clipped at w_max, so "reaches" = at least 0.95·w_max at some sample).
    let reached = tr
        .iter()
        .find(|q| q.1 >= 0.95 * W_MAX_MV)
        .expect("the rewarded synapse reaches 0.95·w_max")
        .0;
    // ... and it is the reward that takes it there: below 0.95·w_max until the reward, there
    // within 1 s of it.
    assert!(
        reached >= r[0] && reached <= r[0] + 1000.0,
        "reached at {reached} ms, reward at {} ms",
        r[0]
    );
    // Izhikevich 2007 (Fig. 1), issue 3: after learning the other synapses are low, their mean
    // below 25 % of w_max (1 mV; they start at 1 mV). NOT reached by this variant: its one reward,
    // 30× stronger, also lifts the others that were eligible then, and 5 s later their mean is
    // 1.03 mV (25.7 %), with 2791 of the 63 999 (4.4 %) at ≥ 0.95·w_max beside the rewarded
    // one. docs/validation.md gives the full hour's numbers, which are the published check.
    // These two asserts pin the variant's behaviour (so a change shows), not the published
    // claim: mean below 27 % of w_max, fewer than 6 % of the others at w_max.
    let h = final_ee(&dir);
    let (mean, top) = others(&h, &[FIRST]);
    assert!(
        mean < 0.27 * W_MAX_MV,
        "others' mean {mean} mV ≥ 27 % of w_max"
    );
    assert!(
        (top as f64) < 0.06 * (EE - 1) as f64,
        "{top} others at ≥ 0.95·w_max"
    );
}

/// Retraining: the rule moves from exc[0] → exc[493] to exc[0] → exc[757] at T = 1 min. The new
/// synapse's first rewarded pairing comes 2.7 min after T (at 222.6 s), so the variant runs 5
/// simulated minutes (spine Ca off, as the pair rule reads none: about 2 min of wall time).
#[test]
fn after_the_switch_the_new_synapse_rises_and_the_first_declines() {
    let dir = run("retraining_fast.ron", "retraining_fast");
    let t_switch = 60_000.0;
    let (first, second) = (trace(&dir, FIRST), trace(&dir, SECOND));
    let r = rewards(&dir);
    let after: Vec<f64> = r.iter().copied().filter(|t| *t >= t_switch).collect();
    assert!(!after.is_empty(), "no reward after the switch: {r:?}");
    let at = |tr: &[(f64, f64)], t: f64| tr.iter().rev().find(|q| q.0 <= t).unwrap().1;
    // Before the switch: as in distal_reward_fast.ron, the first synapse reaches w_max (5 %
    // tolerance) after its reward at 24.6 s; no second pairing before T keeps it there (3.67 mV
    // at T).
    assert!(
        first
            .iter()
            .any(|q| q.0 < t_switch && q.1 >= 0.95 * W_MAX_MV)
    );
    // Izhikevich 2007 / issue 3: after the switch the new synapse rises to w_max (at least
    // 0.95·w_max at some sample), after its first reward.
    let reached = second
        .iter()
        .find(|q| q.0 >= t_switch && q.1 >= 0.95 * W_MAX_MV)
        .expect("the new synapse reaches 0.95·w_max")
        .0;
    assert!(
        reached >= after[0],
        "reached {reached} ms before its reward"
    );
    // ... and the first declines, no longer rewarded (issue 3 gives no number). Measured: from
    // 3.67 mV at T to 1.14 mV at the end, below 50 % of w_max from 225 s on (the new synapse's
    // reward came while the first's eligibility was negative). Asserted: below 50 % of w_max at
    // the end and below half its value at T.
    let (at_t, last) = (at(&first, t_switch), first.last().unwrap().1);
    assert!(
        last < 0.5 * W_MAX_MV && last < 0.5 * at_t,
        "first synapse {at_t} mV at T, {last} mV at the end"
    );
}
