//! AMPA trafficking under blocked exocytosis or endocytosis, from
//! `scenes/experiments/ampa_trafficking.ron` (the full hour; it takes well under a second).

#[path = "../examples/validation_parts/helpers.rs"]
mod validation;

#[test]
fn blocked_trafficking_matches_earnshaw_and_bressloff() {
    edra::sim::init_threads(Some(1));
    let mut sim = validation::load("ampa_trafficking.ron", |_| {}).unwrap();
    let end = sim.scene().duration_ms;
    let psd = validation::trace(&mut sim, &[0, 1, 2], "psd_receptors", end).unwrap();
    let mut sim2 = validation::load("ampa_trafficking.ron", |_| {}).unwrap();
    let endo = validation::trace(&mut sim2, &[0, 1, 2], "endosome_receptors", end).unwrap();
    let p0 = 100.0; // steady PSD pool of the unblocked synapse (MODEL.md step 4, 250 slots, 200 receptors)
    let min = |t_ms: f64| t_ms / 60_000.0;

    // Receptors are conserved: PSD + endosome = 200 at every step, to 1e-6 relative (issue 3).
    for (a, b) in psd.iter().zip(&endo) {
        for k in 0..3 {
            let total = a.1[k] + b.1[k];
            assert!(
                (total - 200.0).abs() <= 1e-6 * 200.0,
                "t {} ms: total {total}",
                a.0
            );
        }
    }
    // The control synapse stays at its steady state.
    assert!(psd.iter().all(|s| (s.1[0] - p0).abs() < 1e-3 * p0));

    // Earnshaw & Bressloff 2006 (J Neurosci 26:12362): exocytosis blocked, the PSD pool falls to
    // about half in under 10 min. "About half": the half-time lies between 3 and 10 min.
    let half = psd
        .iter()
        .find(|s| s.1[1] <= 0.5 * p0)
        .expect("falls to half")
        .0;
    assert!(
        (3.0..10.0).contains(&min(half)),
        "half-time {} min",
        min(half)
    );

    // Endocytosis blocked: the PSD pool nearly doubles within 1 h (here: 1.8–2.0 × at 60 min).
    let last = psd.last().unwrap();
    let ratio = last.1[2] / p0;
    assert!((min(last.0) - 60.0).abs() < 0.01);
    assert!(
        (1.8..=2.0).contains(&ratio),
        "PSD after 1 h: {ratio} × start"
    );
}
