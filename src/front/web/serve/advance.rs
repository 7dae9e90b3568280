//! Advancing the live simulation in the background: an advance is started by a request and run
//! by the simulation thread in chunks of at most [`CHUNK_STEPS`] steps (fewer where the
//! recorders' samples of a chunk would not fit the trace budget, see `traces`) and about
//! [`CHUNK_WALL`] of work, between which it answers the requests queued meanwhile. Its progress
//! is read at `GET /api/progress`.

use super::live::Live;
use crate::core::error::{EdraError, Result};
use crate::front::web::data::all_values;
use serde_json::json;
use std::time::{Duration, Instant};

/// Most steps in one chunk (also bounds how many samples a recorder takes between trims).
pub const CHUNK_STEPS: u64 = 4096;
/// Wall time after which a chunk ends early, so that reads wait at most about this long (or
/// one step, for a scene whose step takes longer).
pub const CHUNK_WALL: Duration = Duration::from_millis(50);

/// An advance: under way, or finished.
#[derive(Clone, Debug)]
pub struct Run {
    pub from_ms: f64,
    pub target_ms: f64,
    /// The clock step at which it ends.
    end_step: u64,
    pub running: bool,
    /// Synapses whose weight changed, once it has finished.
    weights_changed: Option<u64>,
    /// The error that ended it (e.g. a non-finite value).
    error: Option<String>,
    /// Whether `POST /api/stop` ended it.
    stopped: bool,
}

impl Live {
    /// Whether an advance is under way.
    pub fn running(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.running)
    }

    /// Starts an advance by `ms`, keeping every synapse's values as "before advance"; returns
    /// (from, target) in ms, or a message if one is already under way.
    pub fn start_advance(&mut self, ms: f64) -> std::result::Result<(f64, f64), String> {
        if let Some(r) = self.run.as_ref().filter(|r| r.running) {
            return Err(format!(
                "an advance to t = {} ms is under way (GET /api/progress; POST /api/stop)",
                r.target_ms
            ));
        }
        let from_ms = self.sim.t_ms();
        let end_step = self.sim.clock().steps(from_ms + ms);
        self.previous = Some((from_ms, all_values(&mut self.sim)));
        self.run = Some(Run {
            from_ms,
            target_ms: end_step as f64 * self.sim.clock().dt_ms,
            end_step,
            running: true,
            weights_changed: None,
            error: None,
            stopped: false,
        });
        Ok((from_ms, end_step as f64 * self.sim.clock().dt_ms))
    }

    /// Runs one chunk of the advance under way (if any); finishes it at its end or on an error.
    pub fn run_chunk(&mut self) {
        let Some(run) = self.run.as_mut().filter(|r| r.running) else {
            return;
        };
        let started = Instant::now();
        let mut steps = 0;
        while self.sim.clock().step < run.end_step
            && steps < self.bound.chunk_steps
            && started.elapsed() < CHUNK_WALL
        {
            if let Err(e) = self.sim.step() {
                run.error = Some(e.to_string());
                break;
            }
            steps += 1;
        }
        let done = run.error.is_some() || self.sim.clock().step >= run.end_step;
        self.trim_traces();
        if done {
            self.finish(false);
        }
    }

    /// Ends the advance under way now (between chunks); whether there was one.
    pub fn stop(&mut self) -> bool {
        let running = self.running();
        if running {
            self.finish(true);
        }
        running
    }

    /// Marks the advance finished and counts the synapses whose weight changed since it began.
    fn finish(&mut self, stopped: bool) {
        let changed = self.weights_changed();
        if let Some(run) = self.run.as_mut() {
            run.running = false;
            run.stopped = stopped;
            run.weights_changed = Some(changed);
        }
    }

    fn weights_changed(&mut self) -> u64 {
        let Some((_, before)) = &self.previous else {
            return 0;
        };
        let w = crate::stages::synapse_variables()
            .iter()
            .position(|v| v.name == "w_mv")
            .unwrap_or(0);
        let after = all_values(&mut self.sim);
        before
            .iter()
            .zip(&after)
            .filter(|(a, b)| a[w] != b[w])
            .count() as u64
    }

    /// Advances by `ms` to the end, without answering anything meanwhile; returns (t before,
    /// t after, synapses whose weight changed). For callers without a server.
    pub fn advance(&mut self, ms: f64) -> Result<(f64, f64, u64)> {
        let (from, _) = self.start_advance(ms).map_err(EdraError::other)?;
        while self.running() {
            self.run_chunk();
        }
        let run = self.run.clone();
        match run {
            Some(Run { error: Some(e), .. }) => Err(EdraError::other(e)),
            r => Ok((
                from,
                self.sim.t_ms(),
                r.and_then(|r| r.weights_changed).unwrap_or(0),
            )),
        }
    }

    /// `GET /api/progress`: the advance under way or the last one.
    pub fn progress_json(&self) -> serde_json::Value {
        let t_ms = self.sim.t_ms();
        let Some(r) = &self.run else {
            return json!({ "running": false, "t_ms": t_ms, "from_ms": null, "target_ms": null,
                           "fraction": null, "weights_changed": null, "error": null });
        };
        let span = r.target_ms - r.from_ms;
        let fraction = if span > 0.0 {
            ((t_ms - r.from_ms) / span).clamp(0.0, 1.0)
        } else {
            1.0
        };
        json!({
            "running": r.running, "from_ms": r.from_ms, "t_ms": t_ms, "target_ms": r.target_ms,
            "fraction": fraction, "weights_changed": r.weights_changed, "error": r.error,
            "stopped": r.stopped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::plasticity::StdpTraces;
    use std::path::Path;

    #[test]
    fn a_non_finite_value_ends_the_advance_with_its_error() {
        let mut live = Live::open(Path::new("scenes/single_synapse.ron")).expect("scene");
        let world = live.sim.world_mut();
        for mut t in world.query::<&mut StdpTraces>().iter_mut(world) {
            t.eligibility_mv = f32::NAN;
        }
        live.start_advance(100.0).expect("starts");
        while live.running() {
            live.run_chunk();
        }
        let p = live.progress_json();
        let error = p["error"].as_str().unwrap_or("");
        assert!(error.contains("eligibility_mv"), "{p}");
        assert!(p["t_ms"].as_f64().is_some_and(|t| t < 100.0), "{p}");
        assert_eq!(p["running"], false);
        assert!(
            live.advance(1.0).is_err(),
            "the next advance meets the same value"
        );
    }
}
