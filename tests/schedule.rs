//! The schedule is the cascade, in order, with no ambiguous system pairs.

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings};
use edra::Simulation;

#[test]
fn schedule_has_no_ambiguities() {
    let mut sim = Simulation::load("scenes/population.ron".as_ref()).unwrap();
    let mut schedule = edra::sim::step_schedule(&edra::stages::registered());
    schedule.set_build_settings(ScheduleBuildSettings {
        ambiguity_detection: LogLevel::Error,
        ..Default::default()
    });
    schedule
        .initialize(sim.world_mut())
        .expect("no ambiguous system pairs");
}

/// The check above can fail: two unordered systems writing one component are reported.
#[test]
fn ambiguity_detection_catches_unordered_writers() {
    #[derive(Component)]
    struct X(f32);
    fn a(mut q: Query<&mut X>) {
        q.iter_mut().for_each(|mut x| x.0 += 1.0);
    }
    fn b(mut q: Query<&mut X>) {
        q.iter_mut().for_each(|mut x| x.0 *= 2.0);
    }
    let mut world = World::new();
    let mut schedule = Schedule::default();
    schedule.set_build_settings(ScheduleBuildSettings {
        ambiguity_detection: LogLevel::Error,
        ..Default::default()
    });
    schedule.add_systems((a, b));
    assert!(schedule.initialize(&mut world).is_err());
}
