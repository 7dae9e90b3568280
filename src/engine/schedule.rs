//! The order of a step, written once.
//!
//! Every step runs one [`Schedule`]; each stage of the cascade is a [`Stage`] set and the sets
//! are chained in cascade order. Stages place their own systems in their set (each module's
//! `plugin`, listed in `stages::BUILT_IN`); within a set a module chains its systems,
//! so the schedule has no ambiguous pairs. A registered stage's systems go in
//! [`Extends`]`(stage)`: after that stage's own systems, before the next stage. The
//! single-threaded executor runs the systems one after another (parallel systems in one chain
//! gain nothing and the multi-threaded executor costs 6–17 µs per step); each system runs in
//! parallel over the population itself.

pub use crate::core::stage::{Extends, Stage};
use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;

/// A function that adds a module's systems to the schedule, in its stage's set.
pub type Plugin = fn(&mut Schedule);

/// The schedule of one step: the [`Stage`] sets in cascade order, each followed by its
/// [`Extends`] set, with the systems of `plugins`.
pub fn cascade_schedule(plugins: &[Plugin]) -> Schedule {
    let mut s = Schedule::default();
    s.set_executor(SingleThreadedExecutor::default());
    for pair in Stage::ALL.windows(2) {
        s.configure_sets(pair[1].after(pair[0]));
    }
    for st in Stage::ALL {
        match st.next() {
            Some(next) => s.configure_sets(Extends(st).after(st).before(next)),
            None => s.configure_sets(Extends(st).after(st)),
        };
    }
    for p in plugins {
        p(&mut s);
    }
    s
}
