//! Slow stages (homeostasis, consolidation) may run every k steps with dt·k; the result must
//! match the fine clock. Tolerance: 2 % relative on the late weight z and on the astrocyte's
//! scaling change, for k = 20 steps of 0.5 ms (10 ms) against time constants of seconds.

use edra::Simulation;

fn run(slow_every: u32) -> (f32, f64) {
    let src = include_str!("../scenes/single_synapse.ron").replace(
        "slow_every_steps: 20,",
        &format!("slow_every_steps: {slow_every},"),
    );
    let mut sim = Simulation::from_ron("single_synapse (slow clock test)", &src).unwrap();
    sim.run_until(20_000.0, &mut |_| {}).unwrap();
    let z = sim
        .synapse(0)
        .unwrap()
        .iter()
        .find(|v| v.0 == "z")
        .unwrap()
        .3
        .unwrap();
    let world = sim.world_mut();
    let scale = world
        .query::<&edra::stages::homeostasis::AstrocyteUnit>()
        .iter(world)
        .next()
        .unwrap()
        .scale;
    (z, scale)
}

#[test]
fn coarse_slow_clock_matches_the_fine_clock() {
    let (z_fine, s_fine) = run(1);
    let (z_coarse, s_coarse) = run(20);
    assert!(z_fine > 0.05, "consolidation did not happen: z = {z_fine}");
    assert!(
        (z_coarse - z_fine).abs() < 0.02 * z_fine,
        "z {z_coarse} vs {z_fine}"
    );
    let (d_fine, d_coarse) = (s_fine - 1.0, s_coarse - 1.0);
    assert!(d_fine.abs() > 1e-5, "the astrocyte did not scale: {s_fine}");
    assert!(
        (d_coarse - d_fine).abs() < 0.02 * d_fine.abs(),
        "scale {s_coarse} vs {s_fine}"
    );
}
