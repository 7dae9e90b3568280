//! What the ranks of a shared run send rank 0 so that its run folder is the one a single
//! process writes: the synapse table, gathered in bounded chunks and put back in id order, and
//! the state of a checkpoint, put together from every rank's share.

use crate::assembly::checkpoint::{capture, capture_own};
use crate::assembly::output::SynapseRow;
use crate::assembly::record::Recorders;
use crate::core::synapse::Synapse;
use crate::engine::partition::Partition;
use crate::engine::ranks::Ranks;
use crate::scene::binary::ColumnMut;
use crate::scene::column::Col;
use crate::scene::recorders::RecordKind;
use crate::scene::state::State;
use bevy_ecs::prelude::*;

/// Rows a rank sends in one gather: 2^18 (a few tens of MB at the cascade's width of about 110
/// bytes), fewer on more than 32 ranks, so that a round of all ranks (at most 2^23 rows, about
/// 0.9 GB) stays below the 2^31 bytes an MPI count can say.
fn chunk_rows(ranks: usize) -> usize {
    ((1usize << 23) / ranks.max(1)).clamp(1, 1 << 18)
}

/// Every rank's `local` rows (each in id order), on rank 0 in id order; empty on the others.
/// Each rank sends its rows a chunk at a time; the number of rounds is agreed first.
pub fn synapse_rows_to_root(ranks: &Ranks, local: Vec<SynapseRow>) -> Vec<SynapseRow> {
    if ranks.size() == 1 {
        return local;
    }
    let chunk_rows = chunk_rows(ranks.size());
    let mut all = Vec::new();
    let mut bytes = Vec::new();
    for k in 0..ranks.rounds(local.len(), chunk_rows) {
        bytes.clear();
        for r in Ranks::piece(&local, k, chunk_rows) {
            encode(r, &mut bytes);
        }
        if let Some(parts) = ranks.gather_bytes_to_root(&bytes) {
            for part in parts {
                decode_all(&part, &mut all);
            }
        }
    }
    // Synapse ids are unique, so the order is total.
    all.sort_unstable_by_key(|r: &SynapseRow| r.id);
    all
}

/// Appends `r` to `out`: the fixed fields little-endian, the number of values, then each value
/// as a presence byte and its bits.
fn encode(r: &SynapseRow, out: &mut Vec<u8>) {
    out.extend(r.id.to_le_bytes());
    out.extend(r.group.to_le_bytes());
    out.extend(r.pre.to_le_bytes());
    out.extend(r.post.to_le_bytes());
    out.extend(r.axonal_delay_steps.to_le_bytes());
    out.extend(r.dendritic_delay_steps.to_le_bytes());
    out.extend((r.values.len() as u32).to_le_bytes());
    for v in &r.values {
        out.push(u8::from(v.is_some()));
        out.extend(v.unwrap_or(0.0).to_bits().to_le_bytes());
    }
}

/// Reads every row [`encode`] wrote into `bytes`.
fn decode_all(bytes: &[u8], out: &mut Vec<SynapseRow>) {
    let mut c = Cursor { bytes, at: 0 };
    while c.at < bytes.len() {
        let (id, group, pre, post) = (c.u32(), c.u16(), c.u32(), c.u32());
        let (axonal_delay_steps, dendritic_delay_steps) = (c.u16(), c.u16());
        let n = c.u32() as usize;
        let values = (0..n)
            .map(|_| {
                let present = c.take::<1>()[0] == 1;
                let v = f32::from_bits(c.u32());
                present.then_some(v)
            })
            .collect();
        out.push(SynapseRow {
            id,
            group,
            pre,
            post,
            axonal_delay_steps,
            dendritic_delay_steps,
            values,
        });
    }
}

/// Little-endian values read one after another from `bytes`.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}
impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let s = self.bytes[self.at..self.at + N]
            .try_into()
            .expect("N bytes");
        self.at += N;
        s
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

/// After a step on which recorders sampled, on a run shared among ranks: rank 0's buffers get
/// every rank's rows of that sample, in the order one process samples them (by id), and the
/// other ranks' buffers are emptied; recorders of regions and astrocytes, which every rank
/// samples alike, are kept on rank 0 only. One gather per recorder that sampled, so that rank
/// 0 streams the recorders as one process does ([`crate::assembly::sim::Simulation::stream_recorders`]).
pub fn recorder_rows_to_root(ranks: &Ranks, recs: &mut Recorders, step: u64) {
    for r in recs.0.iter_mut().filter(|r| r.due(step)) {
        let from = r.last_sample.min(r.rows.len());
        if !matches!(r.kind, RecordKind::Synapses | RecordKind::Neurons) {
            if !ranks.is_root() {
                r.rows.clear();
            }
            continue;
        }
        let local: &[u8] = bytemuck::cast_slice(&r.rows[from..]);
        let Some(shares) = ranks.gather_bytes_to_root(local) else {
            r.rows.clear();
            continue;
        };
        let width = 2 + r.columns.len();
        let mut sample: Vec<f64> = Vec::new();
        for share in &shares {
            sample.extend(
                share
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))),
            );
        }
        // Rows of one sample share their time: order them by id (column 1).
        let mut order: Vec<usize> = (0..sample.len() / width).collect();
        order.sort_unstable_by(|&a, &b| sample[a * width + 1].total_cmp(&sample[b * width + 1]));
        r.rows.truncate(from);
        for k in order {
            r.rows
                .extend_from_slice(&sample[k * width..(k + 1) * width]);
        }
    }
}

/// The complete state of a run shared among ranks, on rank 0 (`None` on the others; every
/// rank calls it, once its spikes are complete, [`crate::assembly::sim::Simulation::complete_spikes`]).
///
/// Rank 0 captures the whole state, its own values in place. Every other rank captures its
/// share ([`capture_own`]: its synapses' columns only, in id order) and sends rank 0 its
/// synapses' ids, those values and its neurons' (components, pending input and Poisson clocks);
/// rank 0 puts them in place. What belongs to no neuron is the same on every rank (the spike
/// history, regions, astrocytes, the timeline) but the astrocytes' spike counts of the open
/// window, which are each rank's own spikes: they are summed. One sum, then one gather in
/// rounds of at most 2^30 bytes. Rank 0 holds the whole state, as one process does when it
/// writes a checkpoint, and the shares it came in; the other ranks hold their share.
pub fn state_to_root(world: &mut World) -> Option<State> {
    let ranks = world.resource::<Ranks>().clone();
    let part = *world.resource::<Partition>();
    let mut state = if ranks.is_root() {
        capture(world)
    } else {
        capture_own(world)
    };
    let mut windows: Vec<u64> = (state.astrocytes.iter())
        .map(|a| a.spikes_in_window as u64)
        .collect();
    ranks.all_reduce_sum_u64(&mut windows);
    let mut bytes = Vec::new();
    if !ranks.is_root() {
        let mut synapses: Vec<u32> = world
            .query::<&Synapse>()
            .iter(world)
            .map(|s| s.id)
            .collect();
        synapses.sort_unstable();
        let neurons = neurons_of(part, state.neuron_input.len());
        put_u32s(&mut bytes, &synapses);
        state.visit_columns(&mut |name, col| match ids_of(name, &synapses, &neurons) {
            // Already this rank's synapses only, in id order.
            Some(_) if name.starts_with("synapses.") => compact(col, None, &mut bytes),
            Some(ids) => compact(col, Some(ids), &mut bytes),
            None => {}
        });
    }
    let shares = ranks.gather_all_bytes_to_root(&bytes)?;
    for (rank, share) in shares.iter().enumerate().skip(1) {
        let from = Partition::new(rank as u32, part.ranks);
        let mut at = 0;
        let synapses = take_u32s(share, &mut at);
        let neurons: Vec<u32> = neurons_of(from, state.neuron_input.len());
        state.visit_columns(&mut |name, col| {
            if let Some(ids) = ids_of(name, &synapses, &neurons) {
                scatter(col, ids, share, &mut at);
            }
        });
    }
    for (a, &n) in state.astrocytes.iter_mut().zip(&windows) {
        a.spikes_in_window = n as u32;
    }
    Some(state)
}

/// The neurons of `0..n` that `part` owns.
fn neurons_of(part: Partition, n: usize) -> Vec<u32> {
    (0..n as u32).filter(|&i| part.owns(i)).collect()
}

/// Whose values a column holds: the synapses' (by synapse id), the neurons' (by neuron id: their
/// components, pending input and Poisson clocks), or `None` for a column every rank has whole
/// (the spike history) or that is empty (a column the scene does not use).
fn ids_of<'a>(name: &str, synapses: &'a [u32], neurons: &'a [u32]) -> Option<&'a [u32]> {
    if name.starts_with("synapses.") {
        Some(synapses)
    } else if name.starts_with("neurons.") || name == "neuron_input" {
        Some(neurons)
    } else {
        None
    }
}

/// Appends the values of `col` at `ids`, or all of them for `None` (none if the column is
/// empty).
fn compact(col: ColumnMut<'_>, ids: Option<&[u32]>, out: &mut Vec<u8>) {
    fn pod<T: bytemuck::Pod>(c: &Col<T>, ids: Option<&[u32]>, out: &mut Vec<u8>) {
        match ids {
            _ if c.is_empty() => {}
            None => out.extend_from_slice(bytemuck::cast_slice(&c[..])),
            Some(ids) => {
                for &i in ids {
                    out.extend_from_slice(bytemuck::bytes_of(&c[i as usize]));
                }
            }
        }
    }
    match col {
        ColumnMut::U8(c) => pod(c, ids, out),
        ColumnMut::U16(c) => pod(c, ids, out),
        ColumnMut::U32(c) => pod(c, ids, out),
        ColumnMut::U64(c) => pod(c, ids, out),
        ColumnMut::I64(c) => pod(c, ids, out),
        ColumnMut::F32(c) => pod(c, ids, out),
        ColumnMut::F64(c) => pod(c, ids, out),
        ColumnMut::Bool(c) => match ids {
            _ if c.is_empty() => {}
            None => out.extend(c.iter().map(|&b| u8::from(b))),
            Some(ids) => out.extend(ids.iter().map(|&i| u8::from(c[i as usize]))),
        },
    }
}

/// Puts the values [`compact`] wrote at `bytes[*at..]` into `col` at `ids`.
fn scatter(col: ColumnMut<'_>, ids: &[u32], bytes: &[u8], at: &mut usize) {
    fn pod<T: bytemuck::Pod>(c: &mut Col<T>, ids: &[u32], bytes: &[u8], at: &mut usize) {
        if c.is_empty() {
            return;
        }
        let size = std::mem::size_of::<T>();
        for &i in ids {
            c[i as usize] = bytemuck::pod_read_unaligned(&bytes[*at..*at + size]);
            *at += size;
        }
    }
    match col {
        ColumnMut::U8(c) => pod(c, ids, bytes, at),
        ColumnMut::U16(c) => pod(c, ids, bytes, at),
        ColumnMut::U32(c) => pod(c, ids, bytes, at),
        ColumnMut::U64(c) => pod(c, ids, bytes, at),
        ColumnMut::I64(c) => pod(c, ids, bytes, at),
        ColumnMut::F32(c) => pod(c, ids, bytes, at),
        ColumnMut::F64(c) => pod(c, ids, bytes, at),
        ColumnMut::Bool(c) => {
            if !c.is_empty() {
                for &i in ids {
                    c[i as usize] = bytes[*at] == 1;
                    *at += 1;
                }
            }
        }
    }
}

fn put_u32s(out: &mut Vec<u8>, v: &[u32]) {
    out.extend((v.len() as u64).to_le_bytes());
    out.extend(v.iter().flat_map(|x| x.to_le_bytes()));
}

fn take_u32s(bytes: &[u8], at: &mut usize) -> Vec<u32> {
    let mut c = Cursor { bytes, at: *at };
    let n = c.u64() as usize;
    let v = (0..n).map(|_| c.u32()).collect();
    *at = c.at;
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_bit_for_bit() {
        let rows = [
            SynapseRow {
                id: 7,
                group: 2,
                pre: 3,
                post: 9,
                axonal_delay_steps: 10,
                dendritic_delay_steps: 0,
                values: vec![Some(1.5), None, Some(f32::MIN_POSITIVE), Some(-0.0)],
            },
            SynapseRow {
                id: 8,
                group: 0,
                pre: 0,
                post: u32::MAX,
                axonal_delay_steps: u16::MAX,
                dendritic_delay_steps: 1,
                values: vec![],
            },
        ];
        let mut bytes = Vec::new();
        rows.iter().for_each(|r| encode(r, &mut bytes));
        let mut back = Vec::new();
        decode_all(&bytes, &mut back);
        assert_eq!(back.len(), 2);
        for (a, b) in rows.iter().zip(&back) {
            assert_eq!(
                (a.id, a.group, a.pre, a.post),
                (b.id, b.group, b.pre, b.post)
            );
            assert_eq!(a.axonal_delay_steps, b.axonal_delay_steps);
            assert_eq!(a.dendritic_delay_steps, b.dendritic_delay_steps);
            let bits =
                |v: &[Option<f32>]| v.iter().map(|x| x.map(f32::to_bits)).collect::<Vec<_>>();
            assert_eq!(bits(&a.values), bits(&b.values));
        }
    }
}
