//! Input to neurons does the same at any dt (issue 17). Synaptic input to an Izhikevich or LIF
//! neuron is a jump of v by the synapse's efficacy (it used to enter I for one step, so a 5 mV
//! synapse moved v by 4.4 mV at dt = 1 ms and by 0.49 mV at dt = 0.1 ms); Izhikevich's random
//! kicks and uniform noise are currents held for 1 ms (they used to last one step).
//!
//! Each jump scene has a presynaptic source that fires once at 20 ms, a 5 mV synapse (1 ms axonal
//! delay) onto a neuron at rest, and an identical neuron without input; the jump is the
//! difference of their membrane potentials on the step the input reaches the soma.

use edra::Simulation;

const W_MV: f64 = 5.0;

/// The model line of the two neurons.
const IZHIKEVICH: &str = "Izhikevich(())";
const LIF: &str = "Lif((e_l_mv: -70.0, v_th_mv: -50.0, v_reset_mv: -70.0))";

/// v of the neuron with input minus v of its twin, at every step of 40 ms, and the time of
/// each sample (ms).
fn difference(model: &str, dt: f64) -> Vec<(f64, f64)> {
    let src = format!(
        "Scene(name: \"jump\", dt_ms: {dt}, duration_ms: 40.0,
            neurons: [
                NeuronGroup(name: \"pre\", size: 1, model: SpikeTimes(times_ms: [20.0])),
                NeuronGroup(name: \"post\", size: 1, model: {model}),
                NeuronGroup(name: \"twin\", size: 1, model: {model}),
            ],
            synapses: [
                SynapseGroup(name: \"syn\", pre: \"pre\", post: \"post\", connectivity: OneToOne,
                    axonal_delay_ms: 1.0, ca: Off, rule: Static, init: (h_mv: {W_MV})),
            ])"
    );
    edra::sim::init_threads(Some(1));
    let mut sim = Simulation::from_ron("jump", &src).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    while sim.t_ms() < 40.0 - 1e-9 {
        sim.step().unwrap();
        let v = |sim: &mut Simulation, id| sim.neuron(id).unwrap()[0].unwrap() as f64;
        out.push((sim.t_ms(), v(&mut sim, 1) - v(&mut sim, 2)));
    }
    out
}

/// The jump (first non-zero difference) and when it happened.
fn jump(diff: &[(f64, f64)]) -> (f64, f64) {
    let &(t, d) = diff
        .iter()
        .find(|(_, d)| *d != 0.0)
        .expect("the input arrived");
    (t, d)
}

/// Issue 17's check: at dt = 1, 0.5 and 0.1 ms the jump is the same to 5 % (it is the
/// efficacy to f32 rounding of v, 4e-6 mV), on the step after the input reached the synapse
/// (spike at 20 ms + 1 ms delay: the sample at the end of that step is at 21 ms + 2 steps). It
/// used to be 4.4, about 2.3 and 0.49 mV.
#[test]
fn izhikevich_jump_is_the_efficacy_at_any_dt() {
    for dt in [1.0, 0.5, 0.1] {
        let (t, d) = jump(&difference(IZHIKEVICH, dt));
        assert!((d - W_MV).abs() < 0.05 * W_MV, "dt {dt}: jump {d} mV");
        assert!(
            (d - W_MV).abs() < 1e-4,
            "dt {dt}: jump {d} mV, not the efficacy"
        );
        assert!(
            (t - (21.0 + 2.0 * dt)).abs() < 1e-9,
            "dt {dt}: jump at {t} ms"
        );
    }
}

/// The jump then decays along the model's own dynamics, which converge as dt shrinks: the
/// postsynaptic potential's area over the 18 ms after it (trapezoid rule from the jump) agrees
/// between dt = 0.5 and 0.1 ms to 5 % (seen: 3 %, Euler's error at 0.5 ms; at dt = 1 ms,
/// Izhikevich's own step, it is 5–6 % smaller, as the resting membrane's perturbations decay
/// at 0.6/ms).
#[test]
fn izhikevich_psp_converges_with_dt() {
    let area = |dt: f64| -> f64 {
        let diff = difference(IZHIKEVICH, dt);
        let (t0, d0) = jump(&diff);
        let sum: f64 = diff
            .iter()
            .filter(|(t, _)| *t >= t0 && *t < t0 + 18.0)
            .map(|(_, d)| d * dt)
            .sum();
        sum - 0.5 * d0 * dt
    };
    let (a1, a05, a01) = (area(1.0), area(0.5), area(0.1));
    eprintln!("PSP area over 18 ms: {a1:.3} / {a05:.3} / {a01:.3} mV·ms at dt 1 / 0.5 / 0.1");
    assert!(
        a01 > 0.0 && (a05 - a01).abs() < 0.05 * a01,
        "areas {a05} vs {a01} mV·ms"
    );
}

/// The same for a LIF neuron (its input was always a jump): W_MV at any dt.
#[test]
fn lif_jump_is_the_efficacy_at_any_dt() {
    for dt in [1.0, 0.5, 0.1] {
        let (_, d) = jump(&difference(LIF, dt));
        assert!((d - W_MV).abs() < 1e-4, "dt {dt}: jump {d} mV");
    }
}

/// Izhikevich's thalamic input (Izhikevich 2007, daspnet.m: uniform noise ±6.5 each ms; here
/// with kicks of 20 at 2 Hz per neuron) drives 500 unconnected RS neurons at the same rate at
/// dt = 1, 0.5 and 0.1 ms, to 5 % (about 11 000 spikes in 10 s; Poisson-like counting error
/// 1 %). Drawn per step, the same input gave 11 052, 1 054 and 0 spikes.
#[test]
fn izhikevich_noise_and_kicks_drive_the_same_rate_at_any_dt() {
    let spikes = |dt: f64| -> usize {
        let src = format!(
            "Scene(name: \"noise\", dt_ms: {dt}, duration_ms: 10000.0, neurons: [
                NeuronGroup(name: \"n\", size: 500, model: Izhikevich((
                    noise: Some((min: -6.5, max: 6.5)),
                    kick: Some((rate_hz: 2.0, amplitude: 20.0)))))])"
        );
        edra::sim::init_threads(Some(1));
        let mut sim = Simulation::from_ron("noise", &src).unwrap_or_else(|e| panic!("{e}"));
        let mut n = 0;
        while sim.t_ms() < 10_000.0 - 1e-9 {
            sim.step().unwrap();
            n += sim.fired_last_step().len();
        }
        n
    };
    let (n1, n05, n01) = (spikes(1.0), spikes(0.5), spikes(0.1));
    assert!(n1 > 5000, "{n1} spikes");
    for n in [n05, n01] {
        assert!(
            (n as f64 - n1 as f64).abs() < 0.05 * n1 as f64,
            "{n1} / {n05} / {n01}"
        );
    }
}
