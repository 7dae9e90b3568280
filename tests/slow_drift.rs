//! Slow drifts survive small steps and fine slow clocks (science corrections of issue 17).
//!
//! Each test runs a whole scene and compares a slowly drifting variable with the exact solution
//! of its equation, computed here in f64 by another route (Runge–Kutta for ρ, closed forms for
//! h, p and z). Stored as plain f32 and rounded every step, these variables used to stop short:
//! ρ stayed at 0.45 / 0.60 at dt = 0.1 ms, z ended 0.006 low after 8 h on the 10 ms slow clock,
//! and h stopped 7e-4 mV short of h0.

use edra::Simulation;

/// A simulation on one thread (these scenes have a handful of synapses).
fn sim(name: &str, src: &str) -> Simulation {
    edra::sim::init_threads(Some(1));
    Simulation::from_ron(name, src).unwrap_or_else(|e| panic!("{e}"))
}

/// Variable `name` of synapse `id` now.
fn var(sim: &mut Simulation, id: u32, name: &str) -> f64 {
    let snapshot = sim.synapse(id).expect("synapse");
    let v = snapshot.iter().find(|v| v.0 == name).expect("variable");
    v.3.expect("value") as f64
}

/// ρ of the calcium rule (Graupner & Brunel 2012, DP set, τ = 150 s) without calcium:
/// τ dρ/dt = −ρ(1−ρ)(ρ* − ρ), by classical Runge–Kutta with 10 ms steps (error < 1e-12).
fn rho_exact(rho0: f64, t_s: f64) -> f64 {
    let f = |r: f64| -r * (1.0 - r) * (0.5 - r) / 150.0;
    let (n, mut r) = ((t_s / 0.01).round() as usize, rho0);
    let h = t_s / n as f64;
    for _ in 0..n {
        let k1 = f(r);
        let k2 = f(r + 0.5 * h * k1);
        let k3 = f(r + 0.5 * h * k2);
        let k4 = f(r + h * k3);
        r += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
    }
    r
}

/// Issue 17's check: ρ relaxing from 0.45, 0.6 and 0.8 over 600 s at dt = 0.1 ms follows the
/// exact ODE to 0.005 (it reaches 0.368, 0.743 and 0.949). Edra's Euler step in f64 is within
/// 1e-4 (the readout is an f32). The same at dt = 0.01 ms is checked on the kernel in
/// `calcium_rule.rs` (a whole scene would take minutes).
#[test]
fn calcium_rule_rho_drifts_as_the_exact_equation_at_dt_0_1_ms() {
    let starts = [0.45, 0.6, 0.8];
    let mut neurons = String::new();
    let mut synapses = String::new();
    for (i, rho) in starts.iter().enumerate() {
        neurons += &format!(
            "NeuronGroup(name: \"pre{i}\", size: 1, model: SpikeTimes(times_ms: [])),
             NeuronGroup(name: \"post{i}\", size: 1, model: SpikeTimes(times_ms: [])),"
        );
        synapses += &format!(
            "SynapseGroup(name: \"from{i}\", pre: \"pre{i}\", post: \"post{i}\",
                connectivity: OneToOne, ca: Linear(()), rule: CalciumRule((noise: false)),
                init: (rho: {rho})),"
        );
    }
    let src = format!(
        "Scene(name: \"rho_drift\", dt_ms: 0.1, duration_ms: 600000.0,
            neurons: [{neurons}], synapses: [{synapses}])"
    );
    let mut s = sim("rho_drift", &src);
    s.run_until(600_000.0, &mut |_| {}).unwrap();
    for (i, rho0) in starts.iter().enumerate() {
        let (got, exact) = (var(&mut s, i as u32, "rho"), rho_exact(*rho0, 600.0));
        assert!(
            (got - exact).abs() < 1e-4,
            "from {rho0}: ρ {got} after 600 s, exact {exact}"
        );
    }
    // The published values the issue quotes, to their 3 digits.
    assert!((rho_exact(0.45, 600.0) - 0.368).abs() < 5e-4);
    assert!((rho_exact(0.6, 600.0) - 0.743).abs() < 5e-4);
    assert!((rho_exact(0.8, 600.0) - 0.949).abs() < 5e-4);
}

/// Luboeinski & Tetzlaff 2021 constants (MODEL.md step 6; edra's defaults).
const H0: f64 = 4.20075;
const TAU_H_OVER_R_S: f64 = 688.4 / 0.1;
const TAU_P_S: f64 = 3600.0;
const TAU_Z_S: f64 = 3600.0;

/// The late protocol after its tetanus, in closed form from the state (h1, p1, z1) at t1: no
/// calcium, so h − h0 = a1·e^(−(t − t1)·r/τh); the cell's pool synthesises (target 1) while
/// |h − h0| > θpro = 0.5·h0 and decays after; z → 1 with rate p/τz while h − h0 > θtag =
/// 0.2·h0, and stays after. Returns (h, p, z) at t.
fn late_exact(t1: f64, (h1, p1, z1): (f64, f64, f64), t: f64) -> (f64, f64, f64) {
    let a1 = h1 - H0;
    let h = H0 + a1 * (-(t - t1) / TAU_H_OVER_R_S).exp();
    let t_pro = t1 + TAU_H_OVER_R_S * (a1 / (0.5 * H0)).ln();
    let t_tag = t1 + TAU_H_OVER_R_S * (a1 / (0.2 * H0)).ln();
    assert!(
        t1 < t_pro && t_pro < t_tag,
        "a tetanus that tags and synthesises"
    );
    // p while synthesising: 1 + (p1 − 1)e^(−s/τp); its integral over [t1, t1 + s].
    let p_on = |s: f64| 1.0 + (p1 - 1.0) * (-s / TAU_P_S).exp();
    let int_on = |s: f64| s + (p1 - 1.0) * TAU_P_S * (1.0 - (-s / TAU_P_S).exp());
    let p_pro = p_on(t_pro - t1);
    let p_off = |s: f64| p_pro * (-s / TAU_P_S).exp();
    let int_off = |s: f64| p_pro * TAU_P_S * (1.0 - (-s / TAU_P_S).exp());
    let p = if t < t_pro {
        p_on(t - t1)
    } else {
        p_off(t - t_pro)
    };
    let tagged_until = t.min(t_tag);
    let integral = if tagged_until < t_pro {
        int_on(tagged_until - t1)
    } else {
        int_on(t_pro - t1) + int_off(tagged_until - t_pro)
    };
    let z = 1.0 - (1.0 - z1) * (-integral / TAU_Z_S).exp();
    (h, p, z)
}

/// Issue 17's check: over the 8 h late protocol (strong tetanus, 101 pulses at 100 Hz, as in
/// `scenes/experiments/tag_and_capture.ron`) on the default 10 ms slow clock, p and z match
/// the exact solution to 1e-4 and h relaxes to 1e-5 mV; a second synapse that starts 0.01 mV
/// above h0 relaxes all the way (the f32 relaxation stopped 7e-4 mV short of h0).
#[test]
fn late_protocol_z_and_p_match_the_exact_solution_on_the_default_slow_clock() {
    let times: Vec<String> = (0..101).map(|k| format!("{}.0", 100 + 10 * k)).collect();
    let linear = "Linear((tau_ca_ms: 48.8, c_pre: 1.0, c_post: 0.2758, delay_ms: 18.8))";
    let src = format!(
        "Scene(name: \"late_protocol\", seed: 3, dt_ms: 1.0, duration_ms: 28801100.0,
            neurons: [
                NeuronGroup(name: \"strong\", size: 1, model: SpikeTimes(times_ms: [{}])),
                NeuronGroup(name: \"cell\", size: 1, model: SpikeTimes(times_ms: [])),
                NeuronGroup(name: \"quiet\", size: 1, model: SpikeTimes(times_ms: [])),
                NeuronGroup(name: \"cell2\", size: 1, model: SpikeTimes(times_ms: [])),
            ],
            synapses: [
                SynapseGroup(name: \"strong\", pre: \"strong\", post: \"cell\", connectivity: OneToOne,
                    axonal_delay_ms: 1.0, ca: {linear}, rule: EarlyCalcium(()),
                    consolidation: Some(()), init: (h_mv: {H0})),
                SynapseGroup(name: \"near\", pre: \"quiet\", post: \"cell2\", connectivity: OneToOne,
                    axonal_delay_ms: 1.0, ca: {linear}, rule: EarlyCalcium(()),
                    consolidation: Some(()), init: (h_mv: {})),
            ])",
        times.join(", "),
        H0 + 0.01
    );
    let mut s = sim("late_protocol", &src);
    let t1_ms = 60_000.0;
    s.run_until(t1_ms, &mut |_| {}).unwrap();
    let protein = |s: &mut Simulation| s.neuron(1).unwrap()[2].unwrap() as f64;
    let start = (var(&mut s, 0, "h_mv"), protein(&mut s), var(&mut s, 0, "z"));
    assert!(
        start.0 > H0 + 3.0,
        "the tetanus potentiated: h = {}",
        start.0
    );
    let (t1, mut worst) = (t1_ms / 1000.0, (0.0f64, 0.0f64, 0.0f64));
    for k in 1..=16 {
        let t_ms = 100.0 + 1100.0 + k as f64 * 1_800_000.0;
        s.run_until(t_ms, &mut |_| {}).unwrap();
        let (h, p, z) = late_exact(t1, start, t_ms / 1000.0);
        let got = (var(&mut s, 0, "h_mv"), protein(&mut s), var(&mut s, 0, "z"));
        worst.0 = worst.0.max((got.0 - h).abs());
        worst.1 = worst.1.max((got.1 - p).abs());
        worst.2 = worst.2.max((got.2 - z).abs());
        assert!(
            (got.0 - h).abs() < 1e-5 && (got.1 - p).abs() < 1e-4 && (got.2 - z).abs() < 1e-4,
            "t = {t_ms} ms: (h, p, z) = {got:?}, exact ({h}, {p}, {z})"
        );
    }
    // Consolidated: z is well above 0.5 at the end (it would end at 0 without capture).
    let (_, _, z_end) = late_exact(t1, start, 28801.1);
    assert!(z_end > 0.5, "z {z_end}");
    eprintln!(
        "late protocol: worst |Δh| {:.1e} mV, |Δp| {:.1e}, |Δz| {:.1e}",
        worst.0, worst.1, worst.2
    );
    // The synapse near h0 relaxes like any other: 0.01·e^(−t·r/τh) above h0, to 1e-6 mV.
    let near = var(&mut s, 1, "h_mv") - H0;
    let exact = 0.01 * (-28801.1 / TAU_H_OVER_R_S).exp();
    assert!(
        (near - exact).abs() < 1e-6,
        "near h0: h − h0 = {near} mV, exact {exact}"
    );
}
