//! The timeline in a scene: rewards at fixed times, reward rules ("when n2 fires within 20 ms
//! after n1, reward 1–3 s later", Izhikevich 2007) and parameter changes at a time (a new
//! stimulus rate, a blocked pathway, another reward contingency: "retraining"), and their checks
//! against the scene. [`crate::stages::timeline`] runs them.

use super::{AstrocyteGroup, DopamineRegion, Names, NeuronGroup, Scene, SynapseGroup};
use crate::core::param_path::{self as paths, At, ParamValue};
use crate::core::params::Checker;
use crate::stages::ca_influx::CaModel;
use crate::stages::timeline::change_target;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A neuron named by its group and its index in the group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronRef {
    pub group: String,
    pub index: u32,
}

/// A scheduled event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// Release `amount_um` of dopamine into `region` at `at_ms`.
    Reward {
        at_ms: f64,
        region: String,
        amount_um: f64,
    },
    /// Reward a spike of `post` that follows a spike of `pre` by at most `window_ms`, after a
    /// random delay in [`delay_min_ms`, `delay_max_ms`], while `from_ms <= t < until_ms`.
    RewardRule(RewardRule),
    /// Set a parameter (a path as in sweeps) at `at_ms`.
    SetParam {
        at_ms: f64,
        path: String,
        value: ParamValue,
    },
}

/// See [`Event::RewardRule`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardRule {
    pub pre: NeuronRef,
    pub post: NeuronRef,
    pub region: String,
    #[serde(default)]
    pub from_ms: f64,
    #[serde(default)]
    pub until_ms: Option<f64>,
    #[serde(default = "default_window")]
    pub window_ms: f64,
    #[serde(default = "default_delay_min")]
    pub delay_min_ms: f64,
    #[serde(default = "default_delay_max")]
    pub delay_max_ms: f64,
    #[serde(default = "default_amount")]
    pub amount_um: f64,
}

fn default_window() -> f64 {
    20.0
}
fn default_delay_min() -> f64 {
    1000.0
}
fn default_delay_max() -> f64 {
    3000.0
}
fn default_amount() -> f64 {
    0.5
}

impl Event {
    pub(crate) fn validate(&self, c: &mut Checker, names: &Names) {
        let region_known = |c: &mut Checker, field: &str, r: &str| {
            if names.region(r).is_none() {
                c.fail(field, format!("unknown dopamine region `{r}`"));
            }
        };
        let neuron_known =
            |c: &mut Checker, field: &str, n: &NeuronRef| match names.neurons(&n.group) {
                None => c.fail(field, format!("unknown neuron group `{}`", n.group)),
                Some(g) if n.index >= g.size => c.fail(
                    field,
                    format!(
                        "index {} is outside group `{}` of {} neurons",
                        n.index, n.group, g.size
                    ),
                ),
                _ => {}
            };
        match self {
            Event::Reward {
                at_ms,
                region,
                amount_um,
            } => {
                c.within("Reward", |c| {
                    c.range("at_ms", *at_ms, 0.0, 1e12, "ms");
                    c.range("amount_um", *amount_um, 0.0, 1e3, "µM");
                    region_known(c, "region", region);
                });
            }
            Event::RewardRule(r) => c.within("RewardRule", |c| {
                neuron_known(c, "pre", &r.pre);
                neuron_known(c, "post", &r.post);
                region_known(c, "region", &r.region);
                c.range("window_ms", r.window_ms, 0.0, 1e4, "ms");
                c.range("delay_min_ms", r.delay_min_ms, 0.0, 1e7, "ms");
                c.range("delay_max_ms", r.delay_max_ms, r.delay_min_ms, 1e7, "ms");
                c.range("amount_um", r.amount_um, 0.0, 1e3, "µM");
            }),
            // The path and the value are checked with the other changes, in the order the
            // run makes them ([`validate_changes`]).
            Event::SetParam { at_ms, .. } => c.within("SetParam", |c| {
                c.range("at_ms", *at_ms, 0.0, 1e12, "ms");
            }),
        }
    }
}

/// A copy of the group a parameter change applies to, as the run keeps it.
#[derive(Clone)]
enum Group {
    Synapses(Box<SynapseGroup>),
    Neurons(NeuronGroup),
    Region(DopamineRegion),
    Astrocytes(AstrocyteGroup),
}

impl Group {
    fn exists(names: &Names, kind: &str, name: &str) -> bool {
        match kind {
            "synapses" => names.synapses(name).is_some(),
            "neurons" => names.neurons(name).is_some(),
            "dopamine_regions" => names.region(name).is_some(),
            "astrocytes" => names.astrocytes(name).is_some(),
            _ => false,
        }
    }

    fn of(names: &Names, kind: &str, name: &str) -> Option<Group> {
        match kind {
            "synapses" => names
                .synapses(name)
                .map(|g| Group::Synapses(Box::new(g.clone()))),
            "neurons" => names.neurons(name).cloned().map(Group::Neurons),
            "dopamine_regions" => names.region(name).cloned().map(Group::Region),
            "astrocytes" => names.astrocytes(name).cloned().map(Group::Astrocytes),
            _ => None,
        }
    }

    /// Sets `field` (as [`change_target`] gives it) the way [`apply_change`] does.
    fn set(
        &mut self,
        field: &str,
        value: &ParamValue,
        checked: bool,
    ) -> Result<(), paths::SetError> {
        let at = match checked {
            true => At::new(field),
            false => At::unchecked(field),
        };
        match self {
            Group::Synapses(g) => paths::set_path(&mut **g, at, value),
            Group::Neurons(g) => paths::set_path(g, at, value),
            Group::Region(g) => paths::set_path(&mut g.params, at, value),
            Group::Astrocytes(g) => paths::set_path(&mut g.params, at, value),
        }
    }

    /// Sets `field` (a path inside the group, as in sweeps) the way a sweep does.
    fn sweep(&mut self, field: &str, value: &ParamValue) -> Result<(), paths::SetError> {
        match self {
            Group::Synapses(g) => paths::set_field(&mut **g, field, value),
            Group::Neurons(g) => paths::set_field(g, field, value),
            Group::Region(g) => paths::set_field(g, field, value),
            Group::Astrocytes(g) => paths::set_field(g, field, value),
        }
    }

    /// The errors of the group's own validation, with paths inside the group.
    fn errors(&self, scene: &Scene, names: &Names) -> Vec<(String, String)> {
        let mut c = Checker::default();
        match self {
            Group::Synapses(g) => scene.validate_synapse_group(&mut c, g, names),
            Group::Neurons(g) => scene.validate_neuron_group(&mut c, g),
            Group::Region(g) => scene.validate_region(&mut c, g),
            Group::Astrocytes(g) => scene.validate_astrocyte_group(&mut c, g, names),
        }
        c.errors
    }

    /// Why the change from `self` to `next` cannot happen during a run, if it cannot: what it
    /// changes is read only when the world is built, or sizes what is built then.
    fn fixed(&self, next: &Group) -> Option<(&'static str, &'static str)> {
        let changed = |same: bool, field, why| (!same).then_some((field, why));
        let built = "it is read only when the world is built";
        match (self, next) {
            (Group::Synapses(a), Group::Synapses(b)) => {
                let linear_delay = |g: &SynapseGroup| match &g.ca {
                    CaModel::Linear(p) => Some(p.delay_ms),
                    _ => None,
                };
                let receptors =
                    |g: &SynapseGroup| g.trafficking.as_ref().map(|t| t.total_receptors);
                let h0 = |g: &SynapseGroup| g.consolidation.as_ref().map(|c| c.h0_mv);
                let delays = "each synapse's delays are drawn when the world is built, and the \
                              spike history is sized for them";
                [
                    changed(
                        a.connectivity == b.connectivity,
                        "connectivity",
                        "the synapses are made when the world is built",
                    ),
                    changed(
                        a.allow_autapses == b.allow_autapses,
                        "allow_autapses",
                        "the synapses are made when the world is built",
                    ),
                    changed(
                        a.axonal_delay_ms == b.axonal_delay_ms,
                        "axonal_delay_ms",
                        delays,
                    ),
                    changed(
                        a.dendritic_delay_ms == b.dendritic_delay_ms,
                        "dendritic_delay_ms",
                        delays,
                    ),
                    changed(
                        a.inhibitory == b.inhibitory,
                        "inhibitory",
                        "a group's sign is set when the world is built",
                    ),
                    changed(
                        a.init == b.init,
                        "init",
                        "initial values are drawn when the world is built (set them in the \
                         group, or sweep them)",
                    ),
                    changed(
                        linear_delay(a) == linear_delay(b),
                        "ca.delay_ms",
                        "the spike history is sized for the longest delay when the world is \
                         built",
                    ),
                    changed(
                        a.rule.is_event_driven() == b.rule.is_event_driven(),
                        "rule.event_driven",
                        "it decides the synapses' components when the world is built",
                    ),
                    changed(
                        !a.rule.is_event_driven() || a.rule == b.rule,
                        "rule",
                        "the group is event-driven, and its decay tables are computed from its \
                         rule when the world is built",
                    ),
                    changed(
                        !a.rule.is_event_driven() || a.ca == b.ca,
                        "ca",
                        "the group is event-driven, and its Ca between spikes is computed from its \
                         Ca model's constants when the world is built",
                    ),
                    changed(
                        !a.rule.is_event_driven() || a.gating == b.gating,
                        "gating",
                        "the group is event-driven, and its decay tables are computed from its \
                         gating when the world is built",
                    ),
                    changed(
                        !a.rule.is_event_driven() || h0(a) == h0(b),
                        "consolidation.h0_mv",
                        "the group is event-driven, and the h0 of its weight w = h + h0·z is \
                         taken when the world is built",
                    ),
                    changed(
                        a.stages == b.stages,
                        "stages",
                        "registered stages take their parameters when the world is built",
                    ),
                    changed(
                        receptors(a) == receptors(b),
                        "trafficking.total_receptors",
                        "each synapse's receptors are counted when the world is built, and \
                         kept per synapse from then on",
                    ),
                ]
                .into_iter()
                .flatten()
                .next()
            }
            (Group::Neurons(a), Group::Neurons(b)) => [
                changed(
                    a.size == b.size,
                    "size",
                    "the neurons are made when the world is built",
                ),
                changed(
                    a.protein_pool == b.protein_pool,
                    "protein_pool",
                    "the protein pools take their parameters when the world is built",
                ),
            ]
            .into_iter()
            .flatten()
            .next(),
            (Group::Astrocytes(a), Group::Astrocytes(b)) => changed(
                a.params.initial_activity_hz == b.params.initial_activity_hz,
                "params.initial_activity_hz",
                built,
            ),
            _ => None,
        }
    }
}

/// Checks the timeline's parameter changes as the run will make them: in the order it applies
/// them (by step, then as listed), each on its group as the changes before it left it, with the
/// same validation as the scene's own groups, and in every sweep replica whose values reach the
/// group. A change is refused at its `SetParam` event: a path that names no parameter, or a
/// parameter that cannot change during a run, at `path`; a value that does not fit the
/// parameter or makes its group invalid, at `value`.
pub(crate) fn validate_changes(c: &mut Checker, scene: &Scene, names: &Names) {
    let dt = scene.dt_ms;
    let step = |ms: f64| match dt > 0.0 {
        true => (ms / dt).round().max(0.0) as u64,
        false => 0,
    };
    let mut changes = Vec::new();
    for (i, e) in scene.timeline.iter().enumerate() {
        let Event::SetParam { at_ms, path, value } = e else {
            continue;
        };
        if !(at_ms.is_finite() && (0.0..=1e12).contains(at_ms)) {
            continue; // refused at `at_ms`
        }
        let at = format!("timeline[{i}].SetParam");
        let target = change_target(path).and_then(|(kind, group, field)| {
            match Group::exists(names, kind, group) {
                true => Ok((kind, group, field)),
                false => Err(format!("no {kind} group named `{group}`")),
            }
        });
        match target {
            Ok((kind, group, field)) => {
                changes.push((step(*at_ms), i, *at_ms, kind, group, field, value))
            }
            Err(m) => c.fail(&format!("{at}.path"), m),
        }
    }
    if changes.is_empty() {
        return;
    }
    changes.sort_by_key(|ch| ch.0);
    // The sweep axes that reach a changed group, and every combination of their values.
    let axes: Vec<(&str, &str, &str, &[f64])> = scene
        .sweep
        .iter()
        .filter_map(|a| {
            paths::split(&a.path)
                .ok()
                .map(|(k, g, f)| (k, g, f, &a.values[..]))
        })
        .filter(|(k, g, _, _)| changes.iter().any(|ch| (ch.3, ch.4) == (*k, *g)))
        .collect();
    let mut replicas: Vec<Vec<f64>> = vec![Vec::new()];
    for (_, _, _, values) in &axes {
        replicas = replicas
            .iter()
            .flat_map(|r| values.iter().map(move |v| [&r[..], &[*v]].concat()))
            .collect();
    }
    let mut refused = vec![false; scene.timeline.len()];
    for replica in &replicas {
        let mut groups: HashMap<(&str, &str), Group> = HashMap::new();
        for &(_, i, at_ms, kind, group, field, value) in &changes {
            if refused[i] {
                continue;
            }
            let at = format!("timeline[{i}].SetParam");
            let before = groups.entry((kind, group)).or_insert_with(|| {
                let mut g = Group::of(names, kind, group).expect("checked above");
                for ((k, gr, f, _), v) in axes.iter().zip(replica) {
                    if (*k, *gr) == (kind, group) {
                        // A value that does not fit is refused at the sweep.
                        let _ = g.sweep(f, &(*v).into());
                    }
                }
                g
            });
            let mut after = before.clone();
            let param = format!("{kind}.{group}.{}", scene_field(kind, field));
            let set = after.set(field, value, true);
            // A parameter the run cannot change is refused as such, whatever its value.
            let fixed = match &set {
                Ok(()) => before.fixed(&after),
                Err(paths::SetError::Value(_)) => {
                    let mut probe = before.clone();
                    let unchecked = probe.set(field, value, false);
                    unchecked.ok().and_then(|()| before.fixed(&probe))
                }
                Err(paths::SetError::Path(_)) => None,
            };
            if let (None, Err(e)) = (fixed, set) {
                let (f, m) = match e {
                    paths::SetError::Path(m) => ("path", m),
                    paths::SetError::Value(m) => ("value", m),
                };
                c.fail(&format!("{at}.{f}"), format!("`{param}`: {m}"));
                refused[i] = true;
                continue;
            }
            if let Some((f, why)) = fixed {
                let f = format!("{kind}.{group}.{f}");
                let msg = if param == f || param.starts_with(&format!("{f}.")) {
                    format!("`{param}` cannot change during a run: {why}")
                } else {
                    format!("`{param}` cannot change during a run: it changes `{f}`, and {why}")
                };
                c.fail(&format!("{at}.path"), msg);
                refused[i] = true;
                continue;
            }
            let old = before.errors(scene, names);
            let new = after.errors(scene, names);
            if let Some((p, m)) = new.iter().find(|e| !old.contains(e)) {
                let p = format!("{kind}.{group}.{p}");
                let what = match p == param {
                    true => String::new(),
                    false => format!(" makes `{p}` invalid"),
                };
                let sweep = axes
                    .iter()
                    .zip(replica)
                    .map(|((k, g, f, _), v)| format!("{k}.{g}.{f} = {v}"))
                    .collect::<Vec<_>>();
                let sweep = match sweep.is_empty() {
                    true => String::new(),
                    false => format!(" (in the sweep replica with {})", sweep.join(", ")),
                };
                c.fail(
                    &format!("{at}.value"),
                    format!("`{param}` = {value} at {at_ms} ms{what}{sweep}: {m}"),
                );
                refused[i] = true;
                continue;
            }
            *before = after;
        }
    }
}

/// The path of `field` (as [`change_target`] gives it) inside its group.
fn scene_field(kind: &str, field: &str) -> String {
    match kind {
        "dopamine_regions" | "astrocytes" => format!("params.{field}"),
        _ => field.to_string(),
    }
}
