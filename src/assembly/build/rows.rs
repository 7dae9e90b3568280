//! Build phase 3, rows: the initial values of each synapse (sampled from the scene's seed), or
//! its values restored from a checkpoint (`StateRows`, the counterpart of
//! [`crate::assembly::checkpoint::capture`]), computed in parallel a chunk at a time.

use super::*;
use crate::assembly::columns::{SynapseValues, synapse_columns};
use crate::scene::binary::ColumnRef;
use crate::stages::components::NewSynapse;

/// Initial (or restored) values of one synapse.
pub(super) type Row = SynapseValues;
/// Salt of each sampled field in the init stream.
pub(super) const SALT_AXONAL: u64 = 1;
pub(super) const SALT_DENDRITIC: u64 = 2;
pub(super) const SALT_H: u64 = 3;
pub(super) const SALT_Z: u64 = 4;
pub(super) const SALT_RHO: u64 = 5;
/// Delay steps of a sampled delay, or why it does not fit in a `u16`.
pub(super) fn steps_of(
    d: &Dist,
    seed: u64,
    id: u32,
    salt: u64,
    dt: f64,
) -> std::result::Result<u16, String> {
    let ms = d.sample(seed, id as u64, salt, 0.0, 1000.0);
    let steps = (ms / dt).round();
    if steps > u16::MAX as f64 {
        return Err(format!(
            "a delay of {ms} ms is more than 65535 steps of {dt} ms"
        ));
    }
    Ok(steps as u16)
}
/// Checks that the delays of the `n` synapses from `first_id` fit in 65535 steps. Sampled delays
/// are at most 1000 ms, so this only samples them when the step is shorter than 1000/65535 ms.
pub(super) fn check_delays(
    g: &SynapseGroupRt,
    first_id: u32,
    n: usize,
    scene: &Scene,
) -> std::result::Result<(), (String, String)> {
    let (seed, dt) = (scene.seed, scene.dt_ms);
    for (field, d, salt) in [
        ("axonal_delay_ms", &g.spec.axonal_delay_ms, SALT_AXONAL),
        (
            "dendritic_delay_ms",
            &g.spec.dendritic_delay_ms,
            SALT_DENDRITIC,
        ),
    ] {
        if (d.max_in(0.0, 1000.0) / dt).round() <= u16::MAX as f64 {
            continue;
        }
        let bad = (0..n as u32)
            .into_par_iter()
            .find_map_first(|k| steps_of(d, seed, first_id + k, salt, dt).err());
        if let Some(m) = bad {
            return Err((field.to_string(), m));
        }
    }
    Ok(())
}
/// The initial values of synapse `id` of group `g` from neuron `pre` to neuron `post`. The
/// delays were checked by [`check_delays`].
pub(super) fn fresh_row(
    g: &SynapseGroupRt,
    group: u16,
    (pre, post, id): (u32, u32, u32),
    h0: f32,
    scene: &Scene,
) -> Row {
    let (seed, dt, s) = (scene.seed, scene.dt_ms, &g.spec);
    let steps = |d: &Dist, salt| steps_of(d, seed, id, salt, dt).unwrap_or(u16::MAX);
    let rho = s.init.rho.sample(seed, id as u64, SALT_RHO, 0.0, 1.0) as f32 as f64;
    let h = match &s.rule {
        Rule::CalciumRule(p) => (p.h_down_mv + rho * (p.h_up_mv - p.h_down_mv)) as f32,
        _ => s.init.h_mv.sample(seed, id as u64, SALT_H, -1e3, 1e3) as f32,
    };
    let z = s.init.z.sample(seed, id as u64, SALT_Z, -1.0, 1.0) as f32;
    let synapse = Synapse {
        id,
        pre,
        post,
        group,
        axonal_delay_steps: steps(&s.axonal_delay_ms, SALT_AXONAL),
        dendritic_delay_steps: steps(&s.dendritic_delay_ms, SALT_DENDRITIC),
        arrivals: 0,
    };
    Row::fresh(&NewSynapse {
        group: g,
        synapse,
        rho,
        h_mv: h,
        z,
        w_mv: h + h0 * z,
    })
}
/// The synapse columns of a checkpoint, found once by the names their components declare
/// ([`crate::core::columns`]), to make rows from ([`StateRows::row`]).
pub(super) struct StateRows<'a> {
    step: u64,
    columns: Vec<Option<ColumnRef<'a>>>,
}

impl<'a> StateRows<'a> {
    pub(super) fn of(st: &'a State) -> Self {
        let mut named = Vec::new();
        st.columns(&mut |name, col| named.push((name, col)));
        // A column left out of the checkpoint (an optional one) keeps the fresh value.
        let column = |name| named.iter().find(|(n, _)| *n == name).map(|(_, col)| *col);
        let columns = synapse_columns()
            .iter()
            .map(|c| column(c.name).filter(|col| !col.is_empty()))
            .collect();
        StateRows {
            step: st.step,
            columns,
        }
    }

    /// Synapse `i` of the checkpoint, of group `group`: each component restored from its
    /// columns.
    pub(super) fn row(&self, group: u16, i: u32) -> Row {
        let fresh = Row {
            event: EventDriven {
                next_step: self.step,
            },
            ..Row::default()
        };
        let mut row = fresh.restored(&self.columns, i as usize);
        (row.synapse.id, row.synapse.group) = (i, group);
        row
    }
}
/// What a group's synapses are made from: its connectivity, or the checkpoint's synapses. Kept
/// in reverse order, so that the part already spawned can be cut off the end and freed.
pub(super) enum RowSource {
    /// (pre, post) pairs as indices within the two neuron groups, each pair's index in the
    /// group (`ids`; empty when the pairs are all the group's, in order), and the groups'
    /// first ids.
    Fresh {
        pairs: Vec<(u32, u32)>,
        ids: Vec<u32>,
        pre_first: u32,
        post_first: u32,
    },
    /// Indices of the group's synapses in the checkpoint.
    State(Vec<u32>),
}
impl RowSource {
    pub(super) fn len(&self) -> usize {
        match self {
            RowSource::Fresh { pairs, .. } => pairs.len(),
            RowSource::State(idx) => idx.len(),
        }
    }

    pub(super) fn reverse(&mut self) {
        match self {
            RowSource::Fresh { pairs, ids, .. } => {
                pairs.reverse();
                ids.reverse();
            }
            RowSource::State(idx) => idx.reverse(),
        }
    }

    /// Keeps the first `n` (the rows not yet spawned) and frees the rest.
    pub(super) fn keep(&mut self, n: usize) {
        match self {
            RowSource::Fresh { pairs, ids, .. } => {
                pairs.truncate(n);
                pairs.shrink_to_fit();
                ids.truncate(n);
                ids.shrink_to_fit();
            }
            RowSource::State(idx) => {
                idx.truncate(n);
                idx.shrink_to_fit();
            }
        }
    }
}
/// The rows of a group, computed in parallel a chunk at a time as the spawner takes them, so
/// that all of them are never held at once; the source of the rows already taken is freed as
/// it goes. Keeps the largest axonal and dendritic delay.
pub(super) struct Rows<'a> {
    pub(super) source: RowSource,
    /// Row `k`, or `None` for a synapse onto a neuron another rank owns.
    pub(super) row: &'a (dyn Fn(&RowSource, usize) -> Option<Row> + Sync),
    pub(super) n: usize,
    pub(super) next: usize,
    pub(super) freed: usize,
    pub(super) buf: Vec<Row>,
    pub(super) pos: usize,
    pub(super) max_axonal: u64,
    pub(super) max_dendritic: u64,
    /// The shortest axonal delay of the rows taken (`u64::MAX` before the first).
    pub(super) min_axonal: u64,
    /// Rows left are divided by this for the lower bound of the size hint (the ranks the
    /// synapses are shared among), so that a spawner reserves about what it will get.
    pub(super) share: usize,
}
impl<'a> Rows<'a> {
    const CHUNK: usize = 1 << 15;

    pub(super) fn new(
        source: RowSource,
        row: &'a (dyn Fn(&RowSource, usize) -> Option<Row> + Sync),
    ) -> Self {
        let n = source.len();
        Rows {
            source,
            row,
            n,
            next: 0,
            freed: 0,
            buf: Vec::with_capacity(Self::CHUNK.min(n)),
            pos: 0,
            max_axonal: 0,
            max_dendritic: 0,
            min_axonal: u64::MAX,
            share: 1,
        }
    }
}
impl Rows<'_> {
    /// Computes the next chunk of rows in parallel (those this rank keeps: possibly none).
    fn fill(&mut self) {
        let end = (self.next + Rows::CHUNK).min(self.n);
        let (source, row) = (&self.source, self.row);
        let ks = (self.next..end).into_par_iter();
        if self.share == 1 {
            // Every row is kept: written in place, without the gathering of a filter.
            let all = |k| row(source, k).expect("one rank keeps every row");
            ks.map(all).collect_into_vec(&mut self.buf);
        } else {
            self.buf.clear();
            self.buf.par_extend(ks.filter_map(|k| row(source, k)));
        }
        for r in &self.buf {
            let axonal = r.synapse.axonal_delay_steps as u64;
            self.max_axonal = self.max_axonal.max(axonal);
            self.min_axonal = self.min_axonal.min(axonal);
            self.max_dendritic = self
                .max_dendritic
                .max(r.synapse.dendritic_delay_steps as u64);
        }
        self.next = end;
        self.pos = 0;
        if end - self.freed >= (self.n / 16).max(Rows::CHUNK) {
            self.source.keep(self.n - end);
            self.freed = end;
        }
    }
}
impl Iterator for &mut Rows<'_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        while self.pos == self.buf.len() {
            if self.next == self.n {
                return None;
            }
            self.fill();
        }
        self.pos += 1;
        Some(self.buf[self.pos - 1])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (held, left) = (self.buf.len() - self.pos, self.n - self.next);
        (held + left / self.share, Some(held + left))
    }
}
