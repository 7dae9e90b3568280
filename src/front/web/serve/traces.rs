//! How much of the recorders' samples the live server keeps: a live session may be advanced
//! for hours, and the recorders would grow with every sample. The server keeps each recorder's
//! last `keep_samples` samples, so that they and one chunk's new samples fit in
//! [`TRACE_BUDGET_BYTES`]; the buffers are reserved for that once, and trimmed after every chunk
//! of an advance.

use super::advance::CHUNK_STEPS;
use crate::assembly::build::BuildInfo;
use crate::assembly::record::{RecordKind, RecorderRt};

/// Most bytes of recorder samples the live server holds, chunk under way included.
pub const TRACE_BUDGET_BYTES: usize = 64 << 20;

/// Samples kept per recorder, and the longest chunk of an advance, in steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceBound {
    pub keep_samples: usize,
    pub chunk_steps: u64,
}

/// Values (f64) in one sample of `r`: its entities × (t, id, its columns).
fn sample_values(r: &RecorderRt, info: &BuildInfo) -> usize {
    let entities = match r.kind {
        RecordKind::Synapses | RecordKind::Neurons => r.ids.len() as u64,
        RecordKind::Regions => info.regions,
        RecordKind::Astrocytes => info.astrocytes,
    };
    (entities as usize).saturating_mul(2 + r.columns.len())
}

/// Most samples `r` takes in `steps` steps.
fn samples_in(r: &RecorderRt, steps: u64) -> usize {
    (steps / r.every_steps.max(1) as u64) as usize + 1
}

impl TraceBound {
    /// The bound for `recs` within `budget_bytes`: a chunk's samples take at most a quarter of
    /// it (chunks are shortened for that), the kept samples the rest. At least one sample is
    /// kept, even where one sample of every recorder exceeds the budget.
    pub fn of(recs: &[RecorderRt], info: &BuildInfo, budget_bytes: usize) -> TraceBound {
        let budget = budget_bytes / size_of::<f64>();
        let chunk_values = |steps| -> usize {
            recs.iter()
                .map(|r| samples_in(r, steps).saturating_mul(sample_values(r, info)))
                .fold(0, usize::saturating_add)
        };
        let mut chunk_steps = CHUNK_STEPS;
        while chunk_steps > 1 && chunk_values(chunk_steps) > budget / 4 {
            chunk_steps /= 2;
        }
        let per_sample: usize = recs.iter().map(|r| sample_values(r, info)).sum();
        let keep = budget.saturating_sub(chunk_values(chunk_steps)) / per_sample.max(1);
        TraceBound {
            keep_samples: keep.max(1),
            chunk_steps,
        }
    }

    /// Reserves each recorder's buffer for the kept samples and one chunk (so that sampling
    /// does not reallocate), releasing what the build reserved beyond that.
    pub fn reserve(&self, recs: &mut [RecorderRt], info: &BuildInfo) {
        for r in recs {
            let cap = self
                .keep_samples
                .saturating_add(samples_in(r, self.chunk_steps))
                .saturating_mul(sample_values(r, info));
            if r.rows.capacity() > cap {
                r.rows.shrink_to(cap);
            } else {
                r.rows.reserve_exact(cap - r.rows.len());
            }
        }
    }

    /// Drops each recorder's oldest samples once it holds more than `keep_samples`, down to
    /// 7/8 of that (so that trimming, a move of the kept samples, happens now and then).
    pub fn trim(&self, recs: &mut [RecorderRt], info: &BuildInfo) {
        for r in recs {
            let width = 2 + r.columns.len();
            let entities = sample_values(r, info) / width;
            let keep = self.keep_samples - self.keep_samples / 8;
            if r.rows.len() / width > self.keep_samples.saturating_mul(entities) {
                trim_rows(r, width, keep.saturating_mul(entities));
            }
        }
    }
}

/// Keeps the last `keep` rows of `r` (rows of `width` values), dropping whole samples: the rows
/// of the sample at the cut that have the same time as the row before it go too.
fn trim_rows(r: &mut RecorderRt, width: usize, keep: usize) {
    let rows = r.rows.len() / width;
    if rows <= keep {
        return;
    }
    let mut cut = (rows - keep) * width;
    while cut < r.rows.len() && r.rows[cut] == r.rows[cut - width] {
        cut += width;
    }
    r.rows.drain(..cut);
    r.last_sample = r.last_sample.saturating_sub(cut);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assembly::record::Recorders;
    use crate::front::web::serve::Live;
    use std::path::Path;

    #[test]
    fn trimming_drops_whole_samples_only() {
        let mut live = Live::open(Path::new("scenes/single_synapse.ron")).expect("scene");
        let mut r = live.sim.world_mut().resource_mut::<Recorders>().0[0].clone();
        r.columns = vec![0];
        // Samples at t = 1, 2, 3 of two entities each: (t, id, value).
        r.rows = [
            1., 0., 9., 1., 1., 9., 2., 0., 9., 2., 1., 9., 3., 0., 9., 3., 1., 9.,
        ]
        .to_vec();
        trim_rows(&mut r, 3, 3);
        assert_eq!(r.rows, [3., 0., 9., 3., 1., 9.]);
        trim_rows(&mut r, 3, 2);
        assert_eq!(r.rows.len(), 6);
    }

    #[test]
    fn a_long_advance_keeps_at_most_the_bound_and_never_reallocates() {
        let mut live = Live::open(Path::new("scenes/single_synapse.ron")).expect("scene");
        live.bound_traces(16 << 10);
        let bound = live.bound;
        assert!(bound.keep_samples < 200, "{bound:?}");
        let caps: Vec<usize> = recorders(&live).iter().map(|r| r.rows.capacity()).collect();
        // 6000 steps: 3000 samples of the synapse recorder, far more than it keeps.
        live.advance(3000.0).expect("advance");
        for (r, cap) in recorders(&live).iter().zip(caps) {
            let width = 2 + r.columns.len();
            let rows = r.rows.len() / width;
            assert!(
                rows > 0 && rows <= bound.keep_samples,
                "{}: {rows} rows",
                r.name
            );
            assert_eq!(r.rows.capacity(), cap, "{}: the buffer grew", r.name);
        }
        let syn = &recorders(&live)[0];
        let width = 2 + syn.columns.len();
        let (first, last) = (syn.rows[0], syn.rows[syn.rows.len() - width]);
        assert!(first > 2000.0 && last == 2999.5, "kept t = {first}..{last}");
    }

    fn recorders(live: &Live) -> &[RecorderRt] {
        &live.sim.world().resource::<Recorders>().0
    }

    #[test]
    fn the_budget_of_the_shipped_scene_keeps_minutes_of_traces() {
        let live = Live::open(Path::new("scenes/single_synapse.ron")).expect("scene");
        let b = live.bound;
        assert_eq!(b.chunk_steps, CHUNK_STEPS);
        // One synapse sampled every ms: over 100 s of its traces.
        assert!(b.keep_samples > 100_000, "{b:?}");
    }
}
