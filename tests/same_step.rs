//! The same-step convention of pair STDP against an exact replay (issue 17).
//!
//! When a pre and a post spike reach a synapse on the same step, `same_step` says which pairing
//! sees the other spike: `Neither` (the default, NEST's `stdp_synapse`), `PreFirst` (Brian2,
//! whose `pre` pathway runs before `post`) or `PostFirst`. A network of Poisson sources at 50 Hz
//! on a 1 ms step has about one zero-lag pair per synapse per 400 steps; the replay below
//! recomputes every synapse's additive all-to-all weight change from the spikes, in f64, with
//! the convention's rule for equal arrival times, and edra must agree synapse by synapse.

use edra::Simulation;

const A_PLUS: f64 = 0.01;
const A_MINUS: f64 = 0.0105;
const TAU_PLUS_MS: f64 = 16.8;
const TAU_MINUS_MS: f64 = 33.7;

type Synapses = Vec<(u32, u32, u16, u16, f64)>;

/// Runs 20 s of 10 × 10 Poisson sources connected all-to-all (1 ms axonal, 2 ms dendritic
/// delay) with `same_step` (left out of the scene if `None`) and returns each synapse's (pre,
/// post, delays, h at the end) and each neuron's spike steps.
fn run(same_step: Option<&str>, event_driven: bool) -> (Synapses, Vec<Vec<u64>>) {
    let same_step = same_step.map_or(String::new(), |s| format!(", same_step: {s}"));
    let src = format!(
        "Scene(name: \"same_step\", seed: 7, dt_ms: 1.0, duration_ms: 20000.0,
            neurons: [
                NeuronGroup(name: \"pre\", size: 10, model: Poisson(rate_hz: 50.0)),
                NeuronGroup(name: \"post\", size: 10, model: Poisson(rate_hz: 50.0)),
            ],
            synapses: [SynapseGroup(name: \"syn\", pre: \"pre\", post: \"post\",
                connectivity: AllToAll, axonal_delay_ms: 1.0, dendritic_delay_ms: 2.0, ca: Off,
                rule: PairStdp((tau_plus_ms: {TAU_PLUS_MS}, tau_minus_ms: {TAU_MINUS_MS},
                    a_plus: {A_PLUS}, a_minus: {A_MINUS}, h_min_mv: -1000.0, h_max_mv: 1000.0,
                    event_driven: {event_driven}{same_step})),
                init: (h_mv: 0.0))])"
    );
    edra::sim::init_threads(Some(1));
    let mut sim = Simulation::from_ron("same_step", &src).unwrap_or_else(|e| panic!("{e}"));
    let mut spikes = vec![Vec::new(); 20];
    while sim.t_ms() < 20_000.0 - 1e-9 {
        let step = sim.clock().step;
        sim.step().unwrap();
        for n in sim.fired_last_step() {
            spikes[n as usize].push(step);
        }
    }
    let synapses = (0..100)
        .map(|id| {
            let (pre, post, _, axonal, dendritic) = sim.synapse_links(id).unwrap();
            let h = sim
                .synapse(id)
                .unwrap()
                .iter()
                .find(|v| v.0 == "h_mv")
                .unwrap()
                .3;
            (pre, post, axonal, dendritic, h.unwrap() as f64)
        })
        .collect();
    (synapses, spikes)
}

/// The all-to-all pair rule from arrival steps, with `zero_lag` the change of a pair that
/// arrives on the same step.
fn replay(pre: &[u64], post: &[u64], zero_lag: f64) -> (f64, usize) {
    let (mut dh, mut coincident) = (0.0, 0);
    for &tp in pre {
        for &tq in post {
            let lag = tq as f64 - tp as f64;
            dh += if lag > 0.0 {
                A_PLUS * (-lag / TAU_PLUS_MS).exp()
            } else if lag < 0.0 {
                -A_MINUS * (lag / TAU_MINUS_MS).exp()
            } else {
                coincident += 1;
                zero_lag
            };
        }
    }
    (dh, coincident)
}

/// Checks every synapse against the replay; returns the zero-lag pairs seen.
fn check(same_step: &str, zero_lag: f64, event_driven: bool) -> usize {
    let (synapses, spikes) = run(Some(same_step), event_driven);
    let mut total = 0;
    let shifted = |s: &[u64], d: u16| s.iter().map(|t| t + d as u64).collect::<Vec<_>>();
    for (pre, post, axonal, dendritic, h) in synapses {
        let pre_at = shifted(&spikes[pre as usize], axonal);
        let post_at = shifted(&spikes[post as usize], dendritic);
        // Spikes whose arrival falls after the last step never reached the synapse.
        let (pre_at, post_at): (Vec<_>, Vec<_>) = (
            pre_at.into_iter().filter(|&t| t < 20_000).collect(),
            post_at.into_iter().filter(|&t| t < 20_000).collect(),
        );
        let (dh, coincident) = replay(&pre_at, &post_at, zero_lag);
        total += coincident;
        // f32 traces and weight against f64: 1e-4 mV over ~2 000 updates of 0.01.
        assert!(
            (h - dh).abs() < 1e-4,
            "{same_step}: synapse {pre}→{post}: h {h} mV, replay {dh} mV ({coincident} zero-lag pairs)"
        );
    }
    total
}

#[test]
fn neither_counts_a_zero_lag_pair_as_nest_does() {
    let pairs = check("Neither", 0.0, false);
    assert!(
        pairs > 1000,
        "only {pairs} zero-lag pairs: the test would not see the convention"
    );
    eprintln!("{pairs} zero-lag pairs over 100 synapses");
}

#[test]
fn pre_first_counts_a_zero_lag_pair_for_ltp_as_brian2_does() {
    check("PreFirst", A_PLUS, false);
    check("PreFirst", A_PLUS, true);
}

#[test]
fn post_first_counts_a_zero_lag_pair_for_ltd() {
    check("PostFirst", -A_MINUS, false);
}

/// Without `same_step` a group means `Neither`: the same weights bit for bit. The peers' names
/// are accepted for the two conventions they follow.
#[test]
fn the_default_is_neither_and_the_peers_names_are_accepted() {
    let neither = run(Some("Neither"), false).0;
    assert_eq!(run(None, false).0, neither);
    assert_eq!(run(Some("Nest"), false).0, neither);
    assert_eq!(run(Some("Brian2"), false).0, run(Some("PreFirst"), false).0);
    assert_ne!(run(Some("PreFirst"), false).0, neither);
}
