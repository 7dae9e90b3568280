//! Simulated time.

use bevy_ecs::prelude::*;

/// The simulation clock. Time is always `step * dt_ms`, never accumulated, so it carries no
/// rounding drift over hours of simulated time.
#[derive(Resource, Clone, Debug)]
pub struct Clock {
    /// Steps completed so far; the step being computed has this index.
    pub step: u64,
    /// Integration step, ms.
    pub dt_ms: f64,
    /// Slow stages (homeostasis, consolidation) run every `slow_every` steps with `dt_ms * slow_every`.
    pub slow_every: u32,
    /// Seed of every random stream in the run.
    pub seed: u64,
}

impl Clock {
    /// Simulated time at the start of the current step, ms.
    pub fn t_ms(&self) -> f64 {
        self.step as f64 * self.dt_ms
    }

    /// The time step of the slow stages, ms.
    pub fn slow_dt_ms(&self) -> f64 {
        self.dt_ms * self.slow_every as f64
    }

    /// Whether the slow stages run on this step.
    pub fn is_slow_step(&self) -> bool {
        self.step.is_multiple_of(self.slow_every as u64)
    }

    /// Converts a time in ms to the nearest step.
    pub fn steps(&self, ms: f64) -> u64 {
        (ms / self.dt_ms).round().max(0.0) as u64
    }
}

/// Run condition for systems of the slow stages.
pub fn on_slow_step(clock: Res<Clock>) -> bool {
    clock.is_slow_step()
}
