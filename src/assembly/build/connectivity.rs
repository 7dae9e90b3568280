//! Build phase 2, connectivity: the (pre, post) pairs of a synapse group, drawn from the
//! connectivity stream of the scene's seed in a fixed order.

use super::*;

/// Uniform integer in `0..n` from the connectivity stream.
pub(super) fn draw(seed: u64, stream: u64, k: u64, n: u64) -> u64 {
    (rng::uniform_f64(seed, stream, k, Purpose::Connectivity) * n as f64) as u64 % n.max(1)
}
/// `k` distinct values of `0..n` (Floyd's algorithm), ascending. There are only `n` of them:
/// a `k` above `n` (which scene validation refuses) gives all `n`, never fewer.
pub(super) fn choose(seed: u64, stream: u64, n: u64, k: u64) -> Vec<u64> {
    let k = k.min(n);
    let mut chosen: Vec<u64> = Vec::with_capacity(k as usize);
    for (draws, i) in (n - k..n).enumerate() {
        let t = draw(seed, stream, draws as u64, i + 1);
        chosen.push(if chosen.contains(&t) { i } else { t });
    }
    chosen.sort_unstable();
    chosen
}
/// The (pre, post) pairs of a group, as indices within the two neuron groups, in a fixed order.
pub(super) fn connect(
    g: &SynapseGroup,
    n_pre: u32,
    n_post: u32,
    seed: u64,
    group: u64,
) -> Vec<(u32, u32)> {
    let no_self = g.pre == g.post && !g.allow_autapses;
    let stream = |row: u32| (group << 32) | row as u64;
    // Maps a choice among the n−1 partners that are not `me` to a neuron index.
    let skip = |c: u64, me: u32| {
        if no_self && c >= me as u64 {
            c as u32 + 1
        } else {
            c as u32
        }
    };
    let n_other = |n: u32| {
        if no_self {
            (n as u64).saturating_sub(1)
        } else {
            n as u64
        }
    };
    match g.connectivity {
        Connectivity::OneToOne => (0..n_pre.min(n_post)).map(|i| (i, i)).collect(),
        Connectivity::AllToAll => (0..n_post)
            .flat_map(|j| {
                (0..n_pre)
                    .filter(move |&i| !(no_self && i == j))
                    .map(move |i| (i, j))
            })
            .collect(),
        Connectivity::FixedProbability(p) => (0..n_post)
            .into_par_iter()
            .flat_map_iter(|j| {
                let mut out = Vec::new();
                if p <= 0.0 {
                    return out;
                }
                // ln(1 − p); below 2^-53, 1 − p rounds to 1 and its log to 0, so ln_1p then
                // (a p that small used to make every gap −∞ and the loop endless).
                let log_q = if 1.0 - p == 1.0 {
                    (-p).ln_1p()
                } else {
                    (1.0 - p).ln()
                };
                let (mut i, mut k) = (-1i64, 0u64);
                loop {
                    let u = rng::uniform_f64(seed, stream(j), k, Purpose::Connectivity);
                    k += 1;
                    let gap = if p >= 1.0 {
                        0
                    } else {
                        ((1.0 - u).ln() / log_q).floor() as i64
                    };
                    // Gaps of a tiny p can reach i64::MAX: saturate, they end the row.
                    i = i.saturating_add(gap).saturating_add(1);
                    if i >= n_pre as i64 {
                        break;
                    }
                    if !(no_self && i as u32 == j) {
                        out.push((i as u32, j));
                    }
                }
                out
            })
            .collect(),
        Connectivity::FixedInDegree(k) => (0..n_post)
            .into_par_iter()
            .flat_map_iter(|j| {
                choose(seed, stream(j), n_other(n_pre), k as u64)
                    .into_iter()
                    .map(move |c| (skip(c, j), j))
            })
            .collect(),
        Connectivity::FixedOutDegree(k) => {
            let mut pairs: Vec<(u32, u32)> = (0..n_pre)
                .into_par_iter()
                .flat_map_iter(|i| {
                    choose(seed, stream(i), n_other(n_post), k as u64)
                        .into_iter()
                        .map(move |c| (i, skip(c, i)))
                })
                .collect();
            pairs.par_sort_unstable_by_key(|&(i, j)| (j, i));
            pairs
        }
    }
}

/// Each group's synapses, as (pre, post) pairs from the seed or as rows of the checkpoint;
/// sets the groups' id ranges and returns the sources with the number of synapses.
pub(super) fn synapse_sources(
    sf: &SceneFile,
    groups: &mut SynapseGroups,
    neurons: &NeuronGroups,
) -> Result<(Vec<RowSource>, u32)> {
    let scene = &sf.scene;
    let mut next_id = 0u32;
    let mut sources = Vec::with_capacity(groups.0.len());
    for (gi, g) in groups.0.iter_mut().enumerate() {
        let pre = neurons.find(g.replica, &g.spec.pre);
        let post = neurons.find(g.replica, &g.spec.post);
        let mut source = match &scene.state {
            Some(st) => {
                let group = &st.synapses.group[..];
                let idx: Vec<u32> = (0..group.len() as u32)
                    .into_par_iter()
                    .filter(|&i| group[i as usize] == gi as u16)
                    .collect();
                let (pre, post) = ((pre.first, pre.spec.size), (post.first, post.spec.size));
                restore::check_rows(sf, st, g, gi, &idx, next_id, pre, post)?;
                RowSource::State(idx)
            }
            None => {
                let (n_pre, n_post) = (pre.spec.size, post.spec.size);
                let pairs = connect(&g.spec, n_pre, n_post, scene.seed, gi as u64);
                if pairs.len() as u64 + next_id as u64 > u32::MAX as u64 {
                    return Err(EdraError::other("more than 2^32 synapses"));
                }
                check_delays(g, next_id, pairs.len(), scene).map_err(|(field, m)| {
                    let group = gi % scene.synapses.len();
                    sf.error_at(&format!("synapses[{group}].{field}"), m)
                })?;
                RowSource::Fresh {
                    pairs,
                    pre_first: pre.first,
                    post_first: post.first,
                }
            }
        };
        source.reverse();
        g.first_id = next_id;
        g.count = source.len() as u32;
        next_id += g.count;
        sources.push(source);
    }
    Ok((sources, next_id))
}
