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
/// How a group chooses partners: which neuron is `me` (no autapses) and the draws of its rule.
#[derive(Clone, Copy)]
struct Rule {
    no_self: bool,
    seed: u64,
    group: u64,
}
impl Rule {
    fn of(g: &SynapseGroup, seed: u64, group: u64) -> Self {
        Rule {
            no_self: g.pre == g.post && !g.allow_autapses,
            seed,
            group,
        }
    }
    /// The connectivity stream of row `row` (a post neuron's, or for fixed out-degree a pre's).
    fn stream(self, row: u32) -> u64 {
        (self.group << 32) | row as u64
    }
    /// Maps a choice among the n−1 partners that are not `me` to a neuron index.
    fn skip(self, c: u64, me: u32) -> u32 {
        if self.no_self && c >= me as u64 {
            c as u32 + 1
        } else {
            c as u32
        }
    }
    /// Partners to choose among in a group of `n`: all but `me` without autapses.
    fn others(self, n: u32) -> u64 {
        if self.no_self {
            (n as u64).saturating_sub(1)
        } else {
            n as u64
        }
    }
    /// Calls `f` with the pre neurons of post `j` under connection probability `p`, ascending:
    /// geometric gaps between successes (the draws are keyed by `j`, so any rank draws a
    /// post's row alike, and may count it without keeping it).
    fn probability_row(self, p: f64, n_pre: u32, j: u32, mut f: impl FnMut(u32)) {
        if p <= 0.0 {
            return;
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
            let u = rng::uniform_f64(self.seed, self.stream(j), k, Purpose::Connectivity);
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
            if !(self.no_self && i as u32 == j) {
                f(i as u32);
            }
        }
    }
    /// The pre neurons of post `j` in the rules drawn by post (all but fixed out-degree), in
    /// the group's order.
    fn pres_of(self, c: &Connectivity, n_pre: u32, j: u32) -> Vec<u32> {
        match *c {
            Connectivity::OneToOne => {
                if j < n_pre {
                    vec![j]
                } else {
                    Vec::new()
                }
            }
            Connectivity::AllToAll => (0..n_pre).filter(|&i| !(self.no_self && i == j)).collect(),
            Connectivity::FixedProbability(p) => {
                let mut out = Vec::new();
                self.probability_row(p, n_pre, j, |i| out.push(i));
                out
            }
            Connectivity::FixedInDegree(k) => {
                choose(self.seed, self.stream(j), self.others(n_pre), k as u64)
                    .into_iter()
                    .map(|c| self.skip(c, j))
                    .collect()
            }
            Connectivity::FixedOutDegree(_) => unreachable!("drawn by pre"),
        }
    }
    /// The number of pre neurons of post `j` ([`Rule::pres_of`]), drawing only where it must.
    fn count_of(self, c: &Connectivity, n_pre: u32, j: u32) -> u32 {
        match *c {
            Connectivity::OneToOne => u32::from(j < n_pre),
            Connectivity::AllToAll => n_pre - u32::from(self.no_self && j < n_pre),
            Connectivity::FixedProbability(p) => {
                let mut n = 0;
                self.probability_row(p, n_pre, j, |_| n += 1);
                n
            }
            Connectivity::FixedInDegree(k) => (k as u64).min(self.others(n_pre)) as u32,
            Connectivity::FixedOutDegree(_) => unreachable!("drawn by pre"),
        }
    }
    /// The post neurons of pre `i` under fixed out-degree `k`, ascending.
    fn posts_of(self, k: u32, n_post: u32, i: u32) -> impl Iterator<Item = u32> {
        choose(self.seed, self.stream(i), self.others(n_post), k as u64)
            .into_iter()
            .map(move |c| self.skip(c, i))
    }
}

/// The (pre, post) pairs of a group, as indices within the two neuron groups, in a fixed order:
/// by post neuron, and for each post by pre neuron (ascending, or in the order of the draws).
pub(super) fn connect(
    g: &SynapseGroup,
    n_pre: u32,
    n_post: u32,
    seed: u64,
    group: u64,
) -> Vec<(u32, u32)> {
    let rule = Rule::of(g, seed, group);
    match g.connectivity {
        Connectivity::FixedOutDegree(k) => {
            let mut pairs: Vec<(u32, u32)> = (0..n_pre)
                .into_par_iter()
                .flat_map_iter(|i| rule.posts_of(k, n_post, i).map(move |j| (i, j)))
                .collect();
            pairs.par_sort_unstable_by_key(|&(i, j)| (j, i));
            pairs
        }
        ref c => (0..n_post)
            .into_par_iter()
            .flat_map_iter(|j| rule.pres_of(c, n_pre, j).into_iter().map(move |i| (i, j)))
            .collect(),
    }
}

/// The pairs of one rank: those of [`connect`] onto the post neurons `owns` keeps (by index in
/// the post group), each with its index in [`connect`]'s order, and how many pairs the whole
/// group has.
pub(super) struct OwnedPairs {
    pub(super) pairs: Vec<(u32, u32)>,
    pub(super) ids: Vec<u32>,
    pub(super) count: u64,
}

/// [`connect`] for one of several ranks, without holding the other ranks' pairs: as every rule
/// orders its pairs by post, a pair's index is the number of pairs onto the posts before its
/// own plus its place among its post's. Each post's count is known without drawing (one-to-one,
/// all-to-all, fixed in-degree) or is drawn and not kept (fixed probability, fixed out-degree:
/// every rank makes every draw of these two and keeps its share).
pub(super) fn connect_owned(
    g: &SynapseGroup,
    (n_pre, n_post): (u32, u32),
    seed: u64,
    group: u64,
    owns: &(dyn Fn(u32) -> bool + Sync),
) -> OwnedPairs {
    let rule = Rule::of(g, seed, group);
    let c = &g.connectivity;
    let counts: Vec<u32> = match *c {
        Connectivity::FixedOutDegree(k) => (0..n_pre)
            .into_par_iter()
            .fold(
                || vec![0u32; n_post as usize],
                |mut n, i| {
                    rule.posts_of(k, n_post, i).for_each(|j| n[j as usize] += 1);
                    n
                },
            )
            .reduce(
                || vec![0u32; n_post as usize],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                    a
                },
            ),
        _ => (0..n_post)
            .into_par_iter()
            .map(|j| rule.count_of(c, n_pre, j))
            .collect(),
    };
    let mut offsets = Vec::with_capacity(counts.len());
    let mut count = 0u64;
    for &n in &counts {
        offsets.push(count);
        count += n as u64;
    }
    let at = |j: u32, r: usize| (offsets[j as usize] + r as u64) as u32;
    let (pairs, ids) = match *c {
        Connectivity::FixedOutDegree(k) => {
            let mut pairs: Vec<(u32, u32)> = (0..n_pre)
                .into_par_iter()
                .flat_map_iter(|i| {
                    rule.posts_of(k, n_post, i)
                        .filter(|&j| owns(j))
                        .map(move |j| (i, j))
                })
                .collect();
            pairs.par_sort_unstable_by_key(|&(i, j)| (j, i));
            // Every pair of a kept post is kept: its place is its place in the post's run.
            let mut ids = Vec::with_capacity(pairs.len());
            let mut run = 0;
            for (k, &(_, j)) in pairs.iter().enumerate() {
                run = if k > 0 && pairs[k - 1].1 == j {
                    run + 1
                } else {
                    0
                };
                ids.push(at(j, run));
            }
            (pairs, ids)
        }
        _ => (0..n_post)
            .into_par_iter()
            .filter(|&j| owns(j))
            .flat_map_iter(|j| {
                rule.pres_of(c, n_pre, j)
                    .into_iter()
                    .enumerate()
                    .map(move |(r, i)| ((i, j), at(j, r)))
            })
            .unzip(),
    };
    OwnedPairs { pairs, ids, count }
}

/// Each group's synapses, as (pre, post) pairs from the seed or as rows of the checkpoint;
/// sets the groups' id ranges and returns the sources with the number of synapses.
pub(super) fn synapse_sources(
    sf: &SceneFile,
    groups: &mut SynapseGroups,
    neurons: &NeuronGroups,
    part: Partition,
) -> Result<(Vec<RowSource>, u32)> {
    let scene = &sf.scene;
    let mut next_id = 0u32;
    let mut sources = Vec::with_capacity(groups.0.len());
    for (gi, g) in groups.0.iter_mut().enumerate() {
        let pre = neurons.find(g.replica, &g.spec.pre);
        let post = neurons.find(g.replica, &g.spec.post);
        let count;
        let mut source = match &scene.state {
            Some(st) => {
                let group = &st.synapses.group[..];
                let idx: Vec<u32> = (0..group.len() as u32)
                    .into_par_iter()
                    .filter(|&i| group[i as usize] == gi as u16)
                    .collect();
                let (pre, post) = ((pre.first, pre.spec.size), (post.first, post.spec.size));
                restore::check_rows(sf, st, g, gi, &idx, next_id, pre, post)?;
                count = idx.len() as u32;
                RowSource::State(idx)
            }
            None => {
                let sizes = (pre.spec.size, post.spec.size);
                let (seed, post_first) = (scene.seed, post.first);
                let owned = if part.ranks == 1 {
                    let pairs = connect(&g.spec, sizes.0, sizes.1, seed, gi as u64);
                    let count = pairs.len() as u64;
                    OwnedPairs {
                        pairs,
                        ids: Vec::new(),
                        count,
                    }
                } else {
                    let owns = |j: u32| part.owns(post_first + j);
                    connect_owned(&g.spec, sizes, seed, gi as u64, &owns)
                };
                if owned.count + next_id as u64 > u32::MAX as u64 {
                    return Err(EdraError::other("more than 2^32 synapses"));
                }
                check_delays(g, next_id, owned.count as usize, scene).map_err(|(field, m)| {
                    let group = gi % scene.synapses.len();
                    sf.error_at(&format!("synapses[{group}].{field}"), m)
                })?;
                count = owned.count as u32;
                RowSource::Fresh {
                    pairs: owned.pairs,
                    ids: owned.ids,
                    pre_first: pre.first,
                    post_first: post.first,
                }
            }
        };
        source.reverse();
        g.first_id = next_id;
        g.count = count;
        next_id += g.count;
        sources.push(source);
    }
    Ok((sources, next_id))
}
