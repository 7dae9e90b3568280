//! The non-finite guard covers every state variable (issue 12): a NaN put into an STDP
//! eligibility trace, a dopamine region or an astrocyte stops the run with an error naming the
//! entity, the variable and the time (traces on the slow clock, at most one slow step later).

use edra::Simulation;
use edra::stages::homeostasis::AstrocyteUnit;
use edra::stages::modulation::DopamineCleft;
use edra::stages::plasticity::StdpTraces;

fn sim() -> Simulation {
    Simulation::load("scenes/single_synapse.ron".as_ref()).unwrap()
}

/// Steps until an error (at most `steps`); returns its text and the time it names.
fn run_to_error(sim: &mut Simulation, steps: usize) -> String {
    for _ in 0..steps {
        if let Err(e) = sim.step() {
            return e.to_string();
        }
    }
    panic!("no error in {steps} steps");
}

#[test]
fn a_nan_eligibility_trace_is_named() {
    let mut s = sim();
    s.run_until(100.0, &mut |_| {}).unwrap();
    let world = s.world_mut();
    for mut t in world.query::<&mut StdpTraces>().iter_mut(world) {
        t.eligibility_mv = f32::NAN;
    }
    // The slow clock of this scene is 20 steps of 0.5 ms.
    let e = run_to_error(&mut s, 21);
    assert!(
        e.contains("synapse 0") && e.contains("eligibility_mv"),
        "{e}"
    );
    assert!(e.contains("ms"), "{e}");
}

#[test]
fn a_nan_in_a_region_or_an_astrocyte_is_named() {
    let mut s = sim();
    s.step().unwrap();
    let world = s.world_mut();
    for mut c in world.query::<&mut DopamineCleft>().iter_mut(world) {
        c.dopamine_um = f32::INFINITY;
    }
    let e = run_to_error(&mut s, 1);
    assert!(
        e.contains("dopamine region 0") && e.contains("dopamine_um"),
        "{e}"
    );

    let mut s = sim();
    s.step().unwrap();
    let world = s.world_mut();
    for mut a in world.query::<&mut AstrocyteUnit>().iter_mut(world) {
        a.error_integral_hz_s = f64::NAN;
    }
    let e = run_to_error(&mut s, 1);
    assert!(
        e.contains("astrocyte 0") && e.contains("error_integral_hz_s"),
        "{e}"
    );
}
