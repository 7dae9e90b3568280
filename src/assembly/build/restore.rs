//! Checking a checkpoint against its scene before anything is restored: the counts of every
//! column, the version that wrote it, the finiteness and range of every value, and (in
//! `check_rows`, as the build meets each group) that its synapses are the ones the scene's
//! seed connects, with their delays. A refusal names the field (`state.synapses.z[3]`) at its
//! line in the checkpoint file, like any scene error.

use super::*;
use crate::assembly::columns::{SynapseColumn, synapse_columns};
use crate::scene::binary::ColumnRef;

/// An error at `path` of the checkpoint.
fn at(sf: &SceneFile, path: String, message: String) -> EdraError {
    sf.error_at(&path, format!("checkpoint: {message}"))
}

/// Checks that column `name` of `part` has `n` values.
fn count(sf: &SceneFile, part: &str, name: &str, len: usize, n: usize, what: &str) -> Result<()> {
    if len == n {
        return Ok(());
    }
    let path = if part.is_empty() {
        format!("state.{name}")
    } else {
        format!("state.{part}.{name}")
    };
    Err(at(
        sf,
        path,
        format!("{len} values, but the scene builds {n} {what}"),
    ))
}

/// Value `i` of column `name` of `part`, as an error if it is outside `[lo, hi]` or not finite.
#[allow(clippy::too_many_arguments)]
fn value(sf: &SceneFile, part: &str, name: &str, i: usize, v: f64, lo: f64, hi: f64) -> Result<()> {
    if v.is_finite() && v >= lo && v <= hi {
        return Ok(());
    }
    Err(at(
        sf,
        format!("state.{part}.{name}[{i}]"),
        format!("{v} is outside the valid range [{lo}, {hi}]"),
    ))
}

/// Values checked at a time: a chunk is tested without branching (so the compiler can
/// vectorise it), in parallel, and only a chunk that fails is searched for its first bad value.
const CHECK_CHUNK: usize = 1 << 14;

/// The first index of `0..n` whose `ok` is false, checked a chunk at a time in parallel.
fn first_bad(n: usize, ok: impl Fn(usize) -> bool + Sync) -> Option<usize> {
    let chunks = n.div_ceil(CHECK_CHUNK);
    let span = |c: usize| c * CHECK_CHUNK..((c + 1) * CHECK_CHUNK).min(n);
    let c = (0..chunks)
        .into_par_iter()
        .position_first(|c| !span(c).fold(true, |all, i| all & ok(i)))?;
    span(c).find(|&i| !ok(i))
}

/// The index of the first of `values` whose `ok` is false, as [`first_bad`] (a slice's chunks
/// are tested without bounds checks).
fn first_bad_value<T: Copy + Sync>(values: &[T], ok: impl Fn(T) -> bool + Sync) -> Option<usize> {
    let chunks = values.par_chunks(CHECK_CHUNK);
    let c = chunks.position_first(|c| !c.iter().fold(true, |all, &v| all & ok(v)))?;
    let chunk = &values[c * CHECK_CHUNK..];
    chunk
        .iter()
        .position(|&v| !ok(v))
        .map(|i| c * CHECK_CHUNK + i)
}

/// The first value of `values` outside `[lo, hi]` (finite bounds) or not finite, as an error.
fn range<T: Copy + Into<f64> + Sync>(
    sf: &SceneFile,
    part: &str,
    name: &str,
    values: &[T],
    lo: f64,
    hi: f64,
) -> Result<()> {
    let inside = |v: T| {
        let v: f64 = v.into();
        (v >= lo) & (v <= hi)
    };
    match first_bad_value(values, inside) {
        None => Ok(()),
        Some(i) => value(sf, part, name, i, values[i].into(), lo, hi),
    }
}

/// Checks a synapse column `col` of a checkpoint against its declaration `d`: `n` values (or
/// none, if it may be left out), each in the declared range.
fn check_column(sf: &SceneFile, d: &SynapseColumn, col: ColumnRef, n: usize) -> Result<()> {
    let name = d.name.trim_start_matches("synapses.");
    if !(d.optional && col.is_empty()) {
        count(sf, "synapses", name, col.len(), n, "synapses here")?;
    }
    let Some((lo, hi)) = d.range else {
        return Ok(());
    };
    match col {
        ColumnRef::U8(v) => range(sf, "synapses", name, v, lo, hi),
        ColumnRef::U16(v) => range(sf, "synapses", name, v, lo, hi),
        ColumnRef::U32(v) => range(sf, "synapses", name, v, lo, hi),
        ColumnRef::F32(v) => range(sf, "synapses", name, v, lo, hi),
        ColumnRef::F64(v) => range(sf, "synapses", name, v, lo, hi),
        _ => unreachable!("{}: no range for a column of this type", d.name),
    }
}

/// Checks the synapse columns of a checkpoint against the components' declarations
/// `declared`: each declared column present once (or left out, if it may be), with `n` values
/// in its range; the columns of [`SynapseColumns::more`](crate::scene::state::SynapseColumns::more)
/// (those the state's fields do not name) declared by a component.
fn check_synapse_columns(
    sf: &SceneFile,
    st: &State,
    declared: &[SynapseColumn],
    n: usize,
) -> Result<()> {
    let mut checked = Ok(());
    let mut seen = Vec::new();
    st.columns(&mut |name, col| {
        if !name.starts_with("synapses.") || checked.is_err() {
            return;
        }
        let field = || format!("state.{name}");
        checked = match declared.iter().find(|c| c.name == name) {
            _ if seen.contains(&name) => Err(at(sf, field(), "given twice".into())),
            None => Err(at(sf, field(), "is not a column of edra's state".into())),
            Some(d) => check_column(sf, d, col, n),
        };
        seen.push(name);
    });
    checked?;
    match declared
        .iter()
        .find(|d| !d.optional && !seen.contains(&d.name))
    {
        Some(d) => Err(at(
            sf,
            format!("state.{}", d.name),
            "missing: the checkpoint has no values of this column".into(),
        )),
        None => Ok(()),
    }
}

/// Whether version `a` ("major.minor.patch") is later than `b`.
fn later(a: &str, b: &str) -> bool {
    let parse = |s: &str| -> Vec<u64> { s.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parse(a) > parse(b)
}

/// The bounds of a group's synapses that depend on its models: z (wider with consolidation's
/// own limits) and, with trafficking, a positive receptor total.
struct SynapseBounds {
    z_lo: f64,
    z_hi: f64,
    total_lo: f64,
}

impl SynapseBounds {
    fn of(g: &SynapseGroupRt) -> Self {
        let (z_lo, z_hi) = g
            .spec
            .consolidation
            .as_ref()
            .map_or((-1.0, 1.0), |c| (c.z_min.min(-1.0), c.z_max.max(1.0)));
        let total_lo = match g.spec.trafficking {
            Some(_) => f64::MIN_POSITIVE,
            None => 0.0,
        };
        SynapseBounds {
            z_lo,
            z_hi,
            total_lo,
        }
    }

    /// Whether a synapse's z, receptor total and PSD receptors (at most the total) hold. The
    /// total was checked against [0, 10^9] already.
    fn hold(&self, z: f32, total: f32, psd: f32) -> bool {
        let (z, total, psd) = (z as f64, total as f64, psd as f64);
        (z >= self.z_lo && z <= self.z_hi) & (total >= self.total_lo) & (psd >= 0.0 && psd <= total)
    }

    /// The error of synapse `i`, whose values do not [`hold`](Self::hold).
    fn explain(&self, sf: &SceneFile, i: usize, z: f32, total: f32, psd: f32) -> Result<()> {
        let (z, total, psd) = (z as f64, total as f64, psd as f64);
        value(sf, "synapses", "z", i, z, self.z_lo, self.z_hi)?;
        value(
            sf,
            "synapses",
            "total_receptors",
            i,
            total,
            self.total_lo,
            1e9,
        )?;
        value(sf, "synapses", "psd_receptors", i, psd, 0.0, total)
    }
}

/// Checks every column of a checkpoint's state against the counts the scene builds.
pub(super) fn check_state(
    sf: &SceneFile,
    st: &State,
    n_neurons: usize,
    n_regions: usize,
    n_astrocytes: usize,
    groups: &SynapseGroups,
    neurons: &NeuronGroups,
) -> Result<()> {
    let ours = env!("CARGO_PKG_VERSION");
    if later(&st.edra_version, ours) {
        return Err(at(
            sf,
            "state.edra_version".into(),
            format!(
                "written by edra {}, later than this edra {ours}",
                st.edra_version
            ),
        ));
    }
    let s = &st.synapses;
    let n = s.pre.len();
    check_synapse_columns(sf, st, &synapse_columns(), n)?;
    let big = 1e9;
    if let Some(g) = s.group.iter().position(|&g| g as usize >= groups.0.len()) {
        return Err(at(
            sf,
            format!("state.synapses.group[{g}]"),
            format!(
                "group {} does not exist ({} groups)",
                s.group[g],
                groups.0.len()
            ),
        ));
    }
    let (z, total, psd, group) = (
        &s.z[..],
        &s.total_receptors[..],
        &s.psd_receptors[..],
        &s.group[..],
    );
    let bounds: Vec<SynapseBounds> = groups.0.iter().map(SynapseBounds::of).collect();
    let ok = |i: usize| bounds[group[i] as usize].hold(z[i], total[i], psd[i]);
    if let Some(i) = first_bad(n, ok) {
        bounds[group[i] as usize].explain(sf, i, z[i], total[i], psd[i])?;
    }
    if !s.next_step.is_empty() {
        let next = &s.next_step[..];
        if let Some(i) = first_bad_value(next, |k| k <= st.step) {
            let (k, last) = (next[i] as f64, st.step as f64);
            value(sf, "synapses", "next_step", i, k, 0.0, last)?;
        }
    }

    let nc = &st.neurons;
    let neu = |name: &str, len: usize| count(sf, "neurons", name, len, n_neurons, "neurons");
    for (name, len) in [
        ("v_mv", nc.v_mv.len()),
        ("u", nc.u.len()),
        ("refractory_steps", nc.refractory_steps.len()),
        ("spike_cursor", nc.spike_cursor.len()),
        ("protein", nc.protein.len()),
    ] {
        neu(name, len)?;
    }
    if !nc.poisson_next_step.is_empty() {
        neu("poisson_next_step", nc.poisson_next_step.len())?;
    }
    range(sf, "neurons", "v_mv", &nc.v_mv, -1e4, 1e4)?;
    range(sf, "neurons", "u", &nc.u, -1e4, 1e4)?;
    range(sf, "neurons", "protein", &nc.protein, 0.0, big)?;
    for g in &neurons.0 {
        let times = match &g.spec.model {
            NeuronModel::SpikeTimes { times_ms } => times_ms.len(),
            _ => 0,
        };
        let cursors = &nc.spike_cursor[g.first as usize..(g.first + g.spec.size) as usize];
        if let Some(k) = first_bad_value(cursors, |c| c as usize <= times) {
            let (i, cursor) = (g.first as usize + k, cursors[k] as f64);
            value(sf, "neurons", "spike_cursor", i, cursor, 0.0, times as f64)?;
        }
    }

    count(
        sf,
        "",
        "regions",
        st.regions.len(),
        n_regions,
        "dopamine regions",
    )?;
    for (i, r) in st.regions.iter().enumerate() {
        for (name, v, hi) in [
            ("dopamine_um", r.dopamine_um, big),
            ("occupancy", r.occupancy, 1.0),
            ("pka", r.pka, big),
        ] {
            if !(v.is_finite() && (0.0..=hi).contains(&(v as f64))) {
                return Err(at(
                    sf,
                    format!("state.regions[{i}].{name}"),
                    format!("{v} is outside [0, {hi}]"),
                ));
            }
        }
    }
    count(
        sf,
        "",
        "astrocytes",
        st.astrocytes.len(),
        n_astrocytes,
        "astrocytes",
    )?;
    for (i, a) in st.astrocytes.iter().enumerate() {
        for (name, v) in [
            ("activity_hz", a.activity_hz),
            ("error_integral_hz_s", a.error_integral_hz_s),
            ("scale", a.scale),
        ] {
            if !v.is_finite() {
                return Err(at(
                    sf,
                    format!("state.astrocytes[{i}].{name}"),
                    format!("{v} is not finite"),
                ));
            }
        }
    }
    for (i, r) in st.pending_rewards.iter().enumerate() {
        if r.region as usize >= n_regions || !r.amount_um.is_finite() {
            return Err(at(
                sf,
                format!("state.pending_rewards[{i}]"),
                format!(
                    "a reward of {} µM to region {} ({n_regions} regions)",
                    r.amount_um, r.region
                ),
            ));
        }
    }
    if let Some(e) = &st.event_epoch
        && (e.start_step > st.step || e.prefix.iter().flatten().any(|v| !v.is_finite()))
    {
        return Err(at(
            sf,
            "state.event_epoch".into(),
            format!(
                "an epoch starting at step {} (the checkpoint is at step {}) or with a \
                 non-finite dopamine sum",
                e.start_step, st.step
            ),
        ));
    }
    Ok(())
}

/// Checks that the checkpoint's synapses of group `gi` (`idx`, their indices in the checkpoint)
/// are the ones the scene's seed connects: the same ids, neurons and delays.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_rows(
    sf: &SceneFile,
    st: &State,
    g: &SynapseGroupRt,
    gi: usize,
    idx: &[u32],
    first_id: u32,
    (pre_first, pre_size): (u32, u32),
    (post_first, post_size): (u32, u32),
) -> Result<()> {
    let scene = &sf.scene;
    let pairs = connect(&g.spec, pre_size, post_size, scene.seed, gi as u64);
    let s = &st.synapses;
    if pairs.len() != idx.len() {
        return Err(at(
            sf,
            "state.synapses.group".into(),
            format!(
                "group `{}` has {} synapses here, but the scene connects {}",
                g.spec.name,
                idx.len(),
                pairs.len()
            ),
        ));
    }
    let (seed, dt) = (scene.seed, scene.dt_ms);
    let steps = |d: &Dist, id: u32, salt| steps_of(d, seed, id, salt, dt).unwrap_or(u16::MAX);
    // Plain slices, taken once (a mapped column is found again on every index otherwise).
    let (pre, post) = (&s.pre[..], &s.post[..]);
    let (axonal, dendritic) = (&s.axonal_delay_steps[..], &s.dendritic_delay_steps[..]);
    let bad = (0..idx.len()).into_par_iter().find_first(|&k| {
        let (i, id) = (idx[k] as usize, first_id + k as u32);
        let (p, q) = pairs[k];
        i != id as usize
            || pre[i] != pre_first + p
            || post[i] != post_first + q
            || axonal[i] != steps(&g.spec.axonal_delay_ms, id, SALT_AXONAL)
            || dendritic[i] != steps(&g.spec.dendritic_delay_ms, id, SALT_DENDRITIC)
    });
    match bad {
        None => Ok(()),
        Some(k) => {
            let (i, id) = (idx[k] as usize, first_id + k as u32);
            let (p, q) = (pre_first + pairs[k].0, post_first + pairs[k].1);
            let axonal = steps(&g.spec.axonal_delay_ms, id, SALT_AXONAL);
            let dendritic = steps(&g.spec.dendritic_delay_ms, id, SALT_DENDRITIC);
            let (field, has, should) = if i != id as usize {
                ("group", format!("synapse {i}"), format!("synapse {id}"))
            } else if s.pre[i] != p {
                ("pre", s.pre[i].to_string(), p.to_string())
            } else if s.post[i] != q {
                ("post", s.post[i].to_string(), q.to_string())
            } else if s.axonal_delay_steps[i] != axonal {
                (
                    "axonal_delay_steps",
                    s.axonal_delay_steps[i].to_string(),
                    axonal.to_string(),
                )
            } else {
                let d = s.dendritic_delay_steps[i].to_string();
                ("dendritic_delay_steps", d, dendritic.to_string())
            };
            Err(at(
                sf,
                format!("state.synapses.{field}[{i}]"),
                format!(
                    "{has}, but synapse {k} of group `{}` as the scene's seed connects it has \
                     {should} (was the scene or its seed edited?)",
                    g.spec.name
                ),
            ))
        }
    }
}

/// Restores what was in flight at the checkpoint: spikes on their way, pending neuron input,
/// the reward rules' memory and the rewards they scheduled.
pub(super) fn in_flight(
    st: &State,
    spikes: &mut SpikeHistory,
    input: &mut NeuronInput,
    timeline: &mut Timeline,
) -> Result<()> {
    let bad = |what: &str| EdraError::other(format!("checkpoint: {what} does not match the scene"));
    if !spikes.import(st.step, &st.spike_history) {
        return Err(bad("spike_history"));
    }
    if !input.import(&st.neuron_input) {
        return Err(bad("neuron_input"));
    }
    if st.rule_last_pre.len() != timeline.rules.len() {
        return Err(bad("rule_last_pre"));
    }
    for (r, last) in timeline.rules.iter_mut().zip(&st.rule_last_pre) {
        r.last_pre_step = *last;
    }
    timeline.pending = st.pending_rewards.clone();
    timeline.seek(st.step);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assembly::columns::Get;
    use crate::assembly::sim::Simulation;
    use crate::scene::binary::Column;

    /// The state of a small run, its scene file, and the declared columns with one more: a
    /// component's column that no field of the state names (`synapses.kinase_um`, 0 to 10).
    fn fixture() -> (SceneFile, State, Vec<SynapseColumn>) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sim = Simulation::load(&root.join("scenes/population.ron")).unwrap();
        let scene = sim.checkpoint();
        let state = scene.state.clone().unwrap();
        let sf = SceneFile {
            scene,
            file: "checkpoint.ron".into(),
            src: String::new(),
        };
        let mut declared = synapse_columns();
        declared.push(SynapseColumn {
            name: "synapses.kinase_um",
            range: Some((0.0, 10.0)),
            optional: false,
            get: Get::F32(|_, _| {}),
        });
        (sf, state, declared)
    }

    fn refusal(sf: &SceneFile, st: &State, declared: &[SynapseColumn]) -> String {
        let n = st.synapses.pre.len();
        match check_synapse_columns(sf, st, declared, n) {
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    /// A declared column that no field of the state names is read from `more`: checked for
    /// its count and range, refused when missing; a column of `more` that no component
    /// declares, or that a field already holds, is refused by name.
    #[test]
    fn columns_without_a_field_are_checked_against_their_declaration() {
        let (sf, mut st, declared) = fixture();
        let n = st.synapses.pre.len();
        assert!(n > 1);
        let more = |v: f32| Column::F32(vec![v; n].into());
        assert!(refusal(&sf, &st, &declared).contains("state.synapses.kinase_um"));
        assert!(refusal(&sf, &st, &declared).contains("missing"));
        st.synapses
            .more
            .insert("synapses.kinase_um".into(), more(2.5));
        assert_eq!(refusal(&sf, &st, &declared), "");
        st.synapses
            .more
            .insert("synapses.kinase_um".into(), more(12.0));
        assert!(refusal(&sf, &st, &declared).contains("state.synapses.kinase_um[0]"));
        let short = Column::F32(vec![1.0; n - 1].into());
        st.synapses.more.insert("synapses.kinase_um".into(), short);
        assert!(refusal(&sf, &st, &declared).contains("values, but the scene builds"));
        st.synapses
            .more
            .insert("synapses.kinase_um".into(), more(2.5));
        st.synapses.more.insert("synapses.bogus".into(), more(0.0));
        let e = refusal(&sf, &st, &declared);
        assert!(
            e.contains("state.synapses.bogus") && e.contains("not a column"),
            "{e}"
        );
        st.synapses.more.remove("synapses.bogus");
        let pre = Column::U32(st.synapses.pre.clone());
        st.synapses.more.insert("synapses.pre".into(), pre);
        assert!(refusal(&sf, &st, &declared).contains("given twice"));
    }
}
