//! Homeostatic scaling by astrocytes, from `scenes/experiments/homeostatic_scaling.ron` with the
//! astrocytes' time compressed 10× (τa/10, β·10, γ·100: the same dynamics in t/10), run for the
//! equivalent of 3 h. The scene itself runs 4 h with the published constants.

#[path = "../examples/validation_parts/helpers.rs"]
mod validation;

#[test]
fn scaling_restores_the_rate_by_one_common_factor() {
    edra::sim::init_threads(Some(1));
    let k = 10.0;
    let equivalent_h = 3.0;
    let mut sim = validation::load("homeostatic_scaling.ron", |s| {
        validation::compress_astrocyte_time(s, k);
        s.duration_ms = equivalent_h * 3_600_000.0 / k;
    })
    .unwrap();
    let goal = sim.scene().astrocytes[0].params.goal_hz;
    let before = validation::synapse_rows(&mut sim);
    // Mean activity of each astrocyte over the last half hour (equivalent).
    let window_ms = 1_800_000.0 / k;
    let end = sim.scene().duration_ms;
    sim.run_until(end - window_ms, &mut |_| {}).unwrap();
    let mut sums = [0.0; 3];
    let samples = 100;
    for i in 1..=samples {
        sim.run_until(
            end - window_ms + window_ms * i as f64 / samples as f64,
            &mut |_| {},
        )
        .unwrap();
        for (s, a) in sums.iter_mut().zip(validation::astrocytes(&mut sim)) {
            *s += a.0 / samples as f64;
        }
    }
    let after = validation::synapse_rows(&mut sim);
    let astro = validation::astrocytes(&mut sim);
    // Replicas: input 10 Hz (control), 6 Hz (reduced), 15 Hz (raised).
    let scale: Vec<f64> = astro.iter().map(|a| a.1).collect();
    // Turrigiano et al. 1998 (Nature 391:892): blocking activity scales mEPSCs up, raising it
    // scales them down. Control stays within 10 % of 1.
    assert!((scale[0] - 1.0).abs() < 0.1, "control scale {}", scale[0]);
    assert!(scale[1] > 1.2, "reduced input: scale {}", scale[1]);
    assert!(scale[2] < 0.85, "raised input: scale {}", scale[2]);
    // The rate returns to a_goal (van Rossum et al. 2000): the astrocyte's activity averaged
    // over the last half hour within 10 % of the goal (5 Hz) in every domain.
    for (r, a) in sums.iter().enumerate() {
        assert!(
            (a - goal).abs() < 0.1 * goal,
            "replica {r}: rate {a} Hz vs goal {goal}"
        );
    }
    // One common factor per domain: after-vs-before efficacies on a line through the origin
    // (issue 3: R² > 0.99), with slope the domain's scale.
    for r in 0..3u32 {
        let pts: Vec<(f64, f64)> = before
            .iter()
            .zip(&after)
            .filter(|(b, _)| b.replica == r)
            .map(|(b, a)| (b.var("efficacy_mv"), a.var("efficacy_mv")))
            .collect();
        assert_eq!(pts.len(), 500);
        let (slope, r2) = validation::fit_through_origin(&pts);
        assert!(r2 > 0.99, "replica {r}: R² {r2}");
        assert!((slope - scale[r as usize]).abs() < 1e-3 * scale[r as usize]);
    }
}
