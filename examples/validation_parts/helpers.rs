#![allow(dead_code)]
//! Validation against published experiments: helpers that load the scenes under
//! `scenes/experiments/`, run them, and reduce their final state to the numbers the papers
//! report. The tests under `tests/experiment_*.rs` assert those numbers; the example
//! `validation` writes the tables and figures of `docs/validation.md` from the same functions.
//!
//! Also here: the analytic readout of the Graupner & Brunel (2012) calcium rule ([`gb`]), which
//! predicts the outcome of a pairing protocol from the time the calcium trace spends above the
//! two thresholds, and least-squares fits of exponential STDP windows ([`fit_exponential`]).

use edra::assembly::record::SynapseData;
use edra::assembly::sim::Simulation;
use edra::core::clock::Clock;
use edra::core::error::Result;
use edra::scene::{Scene, SceneFile};
use edra::stages::SYNAPSE_VARIABLE_COUNT;
use edra::stages::groups::{Replicas, SynapseGroups};
use edra::stages::plasticity::event_stdp::CaughtUp;
use std::path::{Path, PathBuf};

/// Path of an experiment scene, `scenes/experiments/<name>`.
pub fn scene_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenes/experiments")
        .join(name)
}

/// Loads an experiment scene, lets `edit` change it (a shorter duration, fewer sweep values,
/// faster time constants for a test variant), and builds it.
pub fn load(name: &str, edit: impl FnOnce(&mut Scene)) -> Result<Simulation> {
    let mut sf = SceneFile::load(&scene_path(name))?;
    edit(&mut sf.scene);
    Simulation::new(sf)
}

/// Runs a simulation to the end of its scene.
pub fn run_to_end(sim: &mut Simulation) -> Result<()> {
    let end = sim.scene().duration_ms;
    sim.run_until(end, &mut |_| {})
}

/// One synapse's final state, as in `synapses.csv`.
#[derive(Clone, Debug)]
pub struct SynapseRow {
    pub id: u32,
    pub group: String,
    /// Sweep replica and its sweep values (one per axis).
    pub replica: u32,
    pub sweep: Vec<f64>,
    pub pre: u32,
    pub post: u32,
    pub values: [Option<f32>; SYNAPSE_VARIABLE_COUNT],
}

impl SynapseRow {
    /// The value of variable `name` (a [`edra::stages::synapse_variables`] name such as `h_mv` or `rho`).
    pub fn get(&self, name: &str) -> Option<f32> {
        let k = edra::stages::synapse_variables()
            .iter()
            .position(|v| v.name == name)?;
        self.values[k]
    }

    /// `get(name)`, panicking with the variable's name if the synapse lacks it.
    pub fn var(&self, name: &str) -> f64 {
        self.get(name)
            .unwrap_or_else(|| panic!("synapse {} has no `{name}`", self.id)) as f64
    }
}

/// Every synapse's current state, in id order.
pub fn synapse_rows(sim: &mut Simulation) -> Vec<SynapseRow> {
    let world = sim.world_mut();
    let groups = world.resource::<SynapseGroups>().clone();
    let replicas = world.resource::<Replicas>().clone();
    let mut q = world.query::<SynapseData>();
    let now = CaughtUp::of(world, world.resource::<Clock>().step);
    let mut rows: Vec<SynapseRow> = q
        .iter(world)
        .map(|s| {
            let g = &groups.0[s.synapse.group as usize];
            SynapseRow {
                id: s.synapse.id,
                group: g.spec.name.clone(),
                replica: g.replica,
                sweep: replicas
                    .values
                    .get(g.replica as usize)
                    .cloned()
                    .unwrap_or_default(),
                pre: s.synapse.pre,
                post: s.synapse.post,
                values: s.values(&now),
            }
        })
        .collect();
    rows.sort_by_key(|r| r.id);
    rows
}

/// Runs `sim` to `t_ms`, sampling variable `name` of synapses `ids` every step; returns the
/// samples as (t_ms, one value per id). For small scenes (a lookup per synapse per step).
pub fn trace(
    sim: &mut Simulation,
    ids: &[u32],
    name: &str,
    t_ms: f64,
) -> Result<Vec<(f64, Vec<f64>)>> {
    let k = edra::stages::synapse_variables()
        .iter()
        .position(|v| v.name == name)
        .unwrap_or_else(|| panic!("unknown synapse variable `{name}`"));
    let end = sim.clock().steps(t_ms);
    let mut out = Vec::new();
    while sim.clock().step < end {
        sim.step()?;
        let vals = ids
            .iter()
            .map(|&id| {
                sim.synapse(id)
                    .and_then(|s| s[k].3)
                    .map_or(f64::NAN, |v| v as f64)
            })
            .collect();
        out.push((sim.t_ms(), vals));
    }
    Ok(out)
}

/// Least-squares fit of |y| = A·exp(−|x|/τ) (a straight line through ln|y| against |x|).
/// Returns (A, τ, R² of the log-linear fit). Points with y = 0 are skipped.
pub fn fit_exponential(points: &[(f64, f64)]) -> (f64, f64, f64) {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.1 != 0.0)
        .map(|&(x, y)| (x.abs(), y.abs().ln()))
        .collect();
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let r2 = if syy > 0.0 {
        sxy * sxy / (sxx * syy)
    } else {
        1.0
    };
    (intercept.exp(), -1.0 / slope, r2)
}

/// R² of the least-squares line through the origin y = k·x, and k.
pub fn fit_through_origin(points: &[(f64, f64)]) -> (f64, f64) {
    let sxy: f64 = points.iter().map(|p| p.0 * p.1).sum();
    let sxx: f64 = points.iter().map(|p| p.0 * p.0).sum();
    let k = sxy / sxx;
    let my = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    let ss_res: f64 = points.iter().map(|p| (p.1 - k * p.0).powi(2)).sum();
    let ss_tot: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    (k, 1.0 - ss_res / ss_tot)
}

/// The pair-STDP window of `stdp_window_pair.ron`: (Δt ms, Δw/w) of each replica's pre → post
/// synapse (the one whose presynaptic neuron is the Pairing group's neuron 0), from initial
/// weight `h_start_mv`.
pub fn stdp_pair_window(rows: &[SynapseRow], h_start_mv: f64) -> Vec<(f64, f64)> {
    rows.iter()
        .filter(|r| r.pre < r.post)
        .map(|r| (r.sweep[0], (r.var("h_mv") - h_start_mv) / h_start_mv))
        .collect()
}

/// One point of the calcium-rule window from noisy trials: Δt, the fraction of DOWN-started
/// synapses that end UP (D), of UP-started ones that end DOWN (U), and trials per start state.
#[derive(Clone, Copy, Debug)]
pub struct TrialPoint {
    pub delta_t_ms: f64,
    pub d: f64,
    pub u: f64,
    pub trials: usize,
}

/// The calcium-rule window of `stdp_window_calcium.ron`: sweep axis 0 is the dendritic delay
/// (Δt = delay − `offset_ms`), axis 1 the initial ρ (0 or 1); a synapse is UP if ρ > ρ*.
pub fn calcium_window_trials(
    rows: &[SynapseRow],
    offset_ms: f64,
    rho_star: f64,
) -> Vec<TrialPoint> {
    let mut keys: Vec<f64> = rows.iter().map(|r| r.sweep[0]).collect();
    keys.sort_by(f64::total_cmp);
    keys.dedup();
    keys.iter()
        .map(|&d| {
            let frac = |start: f64, up: bool| {
                let v: Vec<bool> = rows
                    .iter()
                    .filter(|r| r.sweep[0] == d && r.sweep[1] == start)
                    .map(|r| (r.var("rho") > rho_star) == up)
                    .collect();
                (
                    v.iter().filter(|&&x| x).count() as f64 / v.len() as f64,
                    v.len(),
                )
            };
            let (dd, n) = frac(0.0, true);
            let (u, _) = frac(1.0, false);
            TrialPoint {
                delta_t_ms: d - offset_ms,
                d: dd,
                u,
                trials: n,
            }
        })
        .collect()
}

/// The analytic readout of the calcium rule (Graupner & Brunel 2012, PNAS 109:3991, "Materials
/// and Methods" and SI): during a protocol of duration T the calcium trace spends fractions
/// αd, αp of the time above θd, θp. Neglecting the cubic term, ρ is then an Ornstein–Uhlenbeck
/// process
///
/// τ dρ/dt = −(Γp + Γd)(ρ − ρ̄) + σ√τ·√(αp + αd)·η,  Γp = γp·αp, Γd = γd·αd, ρ̄ = Γp/(Γp + Γd),
///
/// so ρ(T) is Gaussian with mean ρ̄ + (ρ0 − ρ̄)·e^(−T/τeff), τeff = τ/(Γp + Γd), and variance
/// σρ²·(1 − e^(−2T/τeff)), σρ² = σ²(αp + αd)/(2(Γp + Γd)) (the stationary variance of the SDE
/// as edra integrates it, see [`rho_step`](edra::stages::plasticity::calcium_rule::rho_step)).
/// A synapse starting UP (ρ0 = 1) ends DOWN with probability U = P(ρ(T) < ρ*), one starting
/// DOWN ends UP with probability D = P(ρ(T) > ρ*). With a fraction β of synapses UP before and
/// b = w_UP/w_DOWN, the change of synaptic strength is
///
/// [(1 − β)(1 − D) + β·U + b·((1 − β)·D + β·(1 − U))] / [(1 − β) + β·b].
pub mod gb {
    use edra::stages::ca_influx::{LinearCaParams, linear_step};
    use edra::stages::plasticity::CalciumRuleParams;

    /// Fractions of the protocol time (αd, αp) that the linear calcium trace spends above θd
    /// and θp, for `pairs` pre/post pairs at `frequency_hz` with post − pre = `delta_t_ms`;
    /// integrated with step `dt_ms` over T = pairs/frequency (the protocol's duration, as in
    /// Graupner & Brunel 2012) plus the decay after the last pair.
    pub fn alphas(
        ca: &LinearCaParams,
        rule: &CalciumRuleParams,
        delta_t_ms: f64,
        pairs: u32,
        frequency_hz: f64,
        dt_ms: f64,
    ) -> (f64, f64) {
        let period = 1000.0 / frequency_hz;
        let t_total = pairs as f64 * period;
        let first = 200.0f64; // the first spike, well after t = 0
        let (t_pre, t_post) = if delta_t_ms >= 0.0 {
            (first, first + delta_t_ms)
        } else {
            (first - delta_t_ms, first)
        };
        let step_of = |t: f64| (t / dt_ms).round() as i64;
        let (pre0, post0, per) = (
            step_of(t_pre + ca.delay_ms),
            step_of(t_post),
            step_of(period),
        );
        let decay = (-dt_ms / ca.tau_ca_ms).exp();
        let steps = step_of(first + t_total + 10.0 * ca.tau_ca_ms + delta_t_ms.abs());
        let is_spike =
            |s: i64, s0: i64| s >= s0 && (s - s0) % per == 0 && (s - s0) / per < pairs as i64;
        let (mut c, mut above_d, mut above_p) = (0.0f32, 0u64, 0u64);
        for s in 0..steps {
            linear_step(
                decay,
                ca.c_pre,
                ca.c_post,
                is_spike(s, pre0),
                is_spike(s, post0),
                &mut c,
            );
            above_d += (c as f64 >= rule.theta_d) as u64;
            above_p += (c as f64 >= rule.theta_p) as u64;
        }
        let t_steps = t_total / dt_ms;
        (above_d as f64 / t_steps, above_p as f64 / t_steps)
    }

    /// Transition probabilities (U: UP → DOWN, D: DOWN → UP) after a protocol of duration
    /// `t_ms` with threshold fractions (αd, αp).
    pub fn transitions(
        rule: &CalciumRuleParams,
        alpha_d: f64,
        alpha_p: f64,
        t_ms: f64,
    ) -> (f64, f64) {
        let gp = rule.gamma_p * alpha_p;
        let gd = rule.gamma_d * alpha_d;
        if gp + gd <= 0.0 {
            return (0.0, 0.0);
        }
        let rho_bar = gp / (gp + gd);
        let tau_eff = rule.tau_ms / (gp + gd);
        let var_inf = rule.sigma * rule.sigma * (alpha_p + alpha_d) / (2.0 * (gp + gd));
        let e = (-t_ms / tau_eff).exp();
        let sd = (var_inf * (1.0 - e * e)).sqrt().max(1e-12);
        let p_below = |rho0: f64| {
            let mean = rho_bar + (rho0 - rho_bar) * e;
            0.5 * (1.0 + erf((rule.rho_star - mean) / (sd * std::f64::consts::SQRT_2)))
        };
        (p_below(1.0), 1.0 - p_below(0.0))
    }

    /// Change in synaptic strength (after/before) from U and D, with a fraction `beta` of
    /// synapses initially UP and `b` = w_UP/w_DOWN.
    pub fn strength_ratio(u: f64, d: f64, beta: f64, b: f64) -> f64 {
        ((1.0 - beta) * (1.0 - d) + beta * u + b * ((1.0 - beta) * d + beta * (1.0 - u)))
            / ((1.0 - beta) + beta * b)
    }

    /// The readout for one protocol: (αd, αp, U, D, ratio).
    #[allow(clippy::too_many_arguments)]
    pub fn readout(
        ca: &LinearCaParams,
        rule: &CalciumRuleParams,
        delta_t_ms: f64,
        pairs: u32,
        frequency_hz: f64,
        beta: f64,
        b: f64,
    ) -> (f64, f64, f64, f64, f64) {
        let (ad, ap) = alphas(ca, rule, delta_t_ms, pairs, frequency_hz, 0.01);
        let t_ms = pairs as f64 * 1000.0 / frequency_hz;
        let (u, d) = transitions(rule, ad, ap, t_ms);
        (ad, ap, u, d, strength_ratio(u, d, beta, b))
    }

    /// The error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
    pub fn erf(x: f64) -> f64 {
        let t = 1.0 / (1.0 + 0.3275911 * x.abs());
        let y = 1.0
            - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
                + 0.254829592)
                * t
                * (-x * x).exp();
        if x >= 0.0 { y } else { -y }
    }
}

/// Every astrocyte's (activity Hz, scale), in id order.
pub fn astrocytes(sim: &mut Simulation) -> Vec<(f64, f64)> {
    use edra::stages::homeostasis::AstrocyteUnit;
    let world = sim.world_mut();
    let mut q = world.query::<&AstrocyteUnit>();
    let mut v: Vec<&AstrocyteUnit> = q.iter(world).collect();
    v.sort_by_key(|a| a.id);
    v.iter().map(|a| (a.activity_hz, a.scale)).collect()
}

/// Compresses the astrocytes' time scale by `k` (τa/k, β·k, γ·k²): the scaling dynamics are the
/// same in t/k, so a test covers hours of the published rule in minutes of simulated time.
pub fn compress_astrocyte_time(scene: &mut Scene, k: f64) {
    for a in &mut scene.astrocytes {
        a.params.tau_activity_s /= k;
        a.params.beta_per_s_hz *= k;
        a.params.gamma_per_s2_hz *= k * k;
    }
}

/// One point of `frequency_dependence.ron`: pairing frequency, Δt, ρ right after the protocol of
/// the synapse started DOWN and of the one started UP, and the mean-weight ratio.
#[derive(Clone, Copy, Debug)]
pub struct FrequencyPoint {
    pub frequency_hz: f64,
    pub delta_t_ms: f64,
    pub rho_from_down: f64,
    pub rho_from_up: f64,
    pub ratio: f64,
}

/// Runs `frequency_dependence.ron` (or a variant) and reads every replica's pre → post synapses
/// at the end of its own protocol (start + pairs/f). The ratio is the mean early weight after
/// over before, with a fraction `beta` of synapses UP before:
/// ((1 − β)·h(ρ_from_down) + β·h(ρ_from_up)) / ((1 − β)·h_down + β·h_up).
pub fn frequency_dependence(sim: &mut Simulation, beta: f64) -> Result<Vec<FrequencyPoint>> {
    use edra::stages::neurons::NeuronModel;
    use edra::stages::plasticity::Rule;
    let scene = sim.scene().clone();
    let NeuronModel::Pairing(p) = &scene.neurons[0].model else {
        panic!("the first neuron group is a Pairing protocol");
    };
    let Rule::CalciumRule(rule) = &scene.synapses[0].rule else {
        panic!("the synapses follow the calcium rule");
    };
    let (h_lo, h_hi) = (rule.h_down_mv, rule.h_up_mv);
    let h = |rho: f64| h_lo + rho * (h_hi - h_lo);
    let axis = |name: &str| scene.sweep.iter().position(|a| a.path.ends_with(name));
    let (fa, da) = (axis("frequency_hz").unwrap(), axis("delta_t_ms").unwrap());
    let mut ends: Vec<f64> = scene.sweep[fa]
        .values
        .iter()
        .map(|f| p.start_ms + p.pairs as f64 * 1000.0 / f)
        .collect();
    ends.sort_by(f64::total_cmp);
    ends.dedup();
    let mut out = Vec::new();
    for end in ends {
        sim.run_until(end, &mut |_| {})?;
        let rows = synapse_rows(sim);
        let mut reps: Vec<u32> = rows.iter().map(|r| r.replica).collect();
        reps.dedup();
        for rep in reps {
            let of = |g: &str| {
                rows.iter()
                    .find(|r| r.replica == rep && r.group == g && r.pre < r.post)
                    .expect("one pre → post synapse per group and replica")
            };
            let (down, up) = (of("from_down"), of("from_up"));
            let f = down.sweep[fa];
            if (p.start_ms + p.pairs as f64 * 1000.0 / f - end).abs() > 1e-9 {
                continue;
            }
            let (rd, ru) = (down.var("rho"), up.var("rho"));
            out.push(FrequencyPoint {
                frequency_hz: f,
                delta_t_ms: down.sweep[da],
                rho_from_down: rd,
                rho_from_up: ru,
                ratio: ((1.0 - beta) * h(rd) + beta * h(ru)) / ((1.0 - beta) * h_lo + beta * h_hi),
            });
        }
    }
    out.sort_by(|a, b| {
        (a.delta_t_ms, a.frequency_hz)
            .partial_cmp(&(b.delta_t_ms, b.frequency_hz))
            .unwrap()
    });
    Ok(out)
}

/// Compresses the slow time scales of tag-and-capture by `k`: the relaxation of h (r·k), the
/// protein pools (τp/k) and the late weight (τz/k), and moves every explicit spike train so that
/// its first spike at T is at T/k (the tetanus itself keeps its timing). The tetanus phase
/// (seconds) is unchanged; hours of consolidation run in minutes of simulated time.
pub fn compress_consolidation_time(scene: &mut Scene, k: f64) {
    use edra::stages::neurons::NeuronModel;
    use edra::stages::plasticity::Rule;
    for g in &mut scene.synapses {
        if let Rule::EarlyCalcium(p) = &mut g.rule {
            p.relaxation *= k;
        }
        if let Some(c) = &mut g.consolidation {
            c.tau_z_s /= k;
        }
    }
    for n in &mut scene.neurons {
        n.protein_pool.tau_p_s /= k;
        if let NeuronModel::SpikeTimes { times_ms } = &mut n.model
            && let Some(&first) = times_ms.first()
        {
            let shift = first / k - first;
            for t in times_ms.iter_mut() {
                *t += shift;
            }
        }
    }
    scene.duration_ms /= k;
}

/// The final state of `tag_and_capture.ron`'s synapses by group name.
pub fn by_group<'a>(rows: &'a [SynapseRow], group: &str) -> &'a SynapseRow {
    rows.iter()
        .find(|r| r.group == group)
        .unwrap_or_else(|| panic!("no synapse group `{group}`"))
}
