//! The scene's timeline: rewards at fixed times, reward rules ("when n2 fires within 20 ms after
//! n1, reward 1–3 s later", Izhikevich 2007), and parameter changes at a time (a new stimulus
//! rate, a blocked pathway, another reward contingency: "retraining").

use crate::clock::Clock;
use crate::neurons::NeuronGroups;
use crate::params::Checker;
use crate::rng::{self, Purpose};
use crate::scene::Scene;
use crate::scene::paths::{self, ParamValue};
use crate::spikes::SpikeHistory;
use crate::stages::homeostasis::AstrocyteScaling;
use crate::stages::modulation::RegionLevels;
use crate::world::SynapseGroups;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

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
    pub fn validate(&self, c: &mut Checker, scene: &Scene) {
        let region_known = |c: &mut Checker, field: &str, r: &str| {
            if !scene.dopamine_regions.iter().any(|d| d.name == r) {
                c.fail(field, format!("unknown dopamine region `{r}`"));
            }
        };
        let neuron_known = |c: &mut Checker, field: &str, n: &NeuronRef| match scene
            .neurons
            .iter()
            .find(|g| g.name == n.group)
        {
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
            Event::SetParam { at_ms, path, value } => c.within("SetParam", |c| {
                c.range("at_ms", *at_ms, 0.0, 1e12, "ms");
                let mut probe = scene.clone();
                if let Err(m) = paths::apply(&mut probe, path, value) {
                    c.fail("path", m);
                }
            }),
        }
    }
}

/// A reward rule as it runs (one per replica).
#[derive(Clone, Debug)]
pub struct RuleRt {
    pub pre: u32,
    pub post: u32,
    pub region: u32,
    pub from_step: u64,
    pub until_step: u64,
    pub window_steps: u64,
    pub delay_min_steps: u64,
    pub delay_max_steps: u64,
    pub amount_um: f32,
    /// Last step on which `pre` fired (checkpointed).
    pub last_pre_step: Option<u64>,
}

/// A reward waiting to be released.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingReward {
    pub step: u64,
    pub region: u32,
    pub amount_um: f32,
}

/// A parameter change as it runs.
#[derive(Clone, Debug)]
pub struct ParamChange {
    pub step: u64,
    pub replica: u32,
    pub path: String,
    pub value: ParamValue,
}

/// The timeline resource: fixed rewards and parameter changes in time order with cursors, the
/// reward rules and the rewards they have scheduled.
#[derive(Resource, Clone, Debug, Default)]
pub struct Timeline {
    pub rewards: Vec<PendingReward>,
    pub reward_cursor: usize,
    pub changes: Vec<ParamChange>,
    pub change_cursor: usize,
    pub rules: Vec<RuleRt>,
    pub pending: Vec<PendingReward>,
}

impl Timeline {
    /// Moves the cursors past everything before `step` (when resuming a checkpoint).
    pub fn seek(&mut self, step: u64) {
        self.reward_cursor = self.rewards.partition_point(|r| r.step < step);
        self.change_cursor = self.changes.partition_point(|c| c.step < step);
    }
}

/// System (Input): clears this step's spike row.
pub fn begin_step(mut spikes: ResMut<SpikeHistory>, clock: Res<Clock>) {
    spikes.clear(clock.step);
}

/// System (Input): releases due rewards, runs reward rules on the previous step's spikes, and
/// applies due parameter changes.
pub fn run_timeline(
    mut tl: ResMut<Timeline>,
    mut levels: ResMut<RegionLevels>,
    mut synapses: ResMut<SynapseGroups>,
    mut neurons: ResMut<NeuronGroups>,
    mut astro: ResMut<AstrocyteScaling>,
    spikes: Res<SpikeHistory>,
    clock: Res<Clock>,
) {
    let step = clock.step;
    let tl = &mut *tl;
    while let Some(r) = tl.rewards.get(tl.reward_cursor).filter(|r| r.step <= step) {
        levels.pending_release_um[r.region as usize] += r.amount_um;
        tl.reward_cursor += 1;
    }
    tl.pending.retain(|r| {
        let due = r.step <= step;
        if due {
            levels.pending_release_um[r.region as usize] += r.amount_um;
        }
        !due
    });
    if step > 0 {
        for (i, rule) in tl.rules.iter_mut().enumerate() {
            if let Some(reward) = apply_rule(rule, i as u64, &spikes, step - 1, clock.seed) {
                tl.pending.push(reward);
            }
        }
    }
    while let Some(c) = tl.changes.get(tl.change_cursor).filter(|c| c.step <= step) {
        // Validated at load: a failure here would be a bug, and is reported as such.
        apply_change(c, &mut synapses, &mut neurons, &mut levels, &mut astro)
            .unwrap_or_else(|e| panic!("validated parameter change failed: {e}"));
        tl.change_cursor += 1;
    }
}

/// Checks a reward rule against the spikes of `step`; returns the reward it schedules.
pub fn apply_rule(
    rule: &mut RuleRt,
    index: u64,
    spikes: &SpikeHistory,
    step: u64,
    seed: u64,
) -> Option<PendingReward> {
    if spikes.fired(step, 0, rule.pre) {
        rule.last_pre_step = Some(step);
    }
    let active = step >= rule.from_step && step < rule.until_step;
    let paired = rule
        .last_pre_step
        .is_some_and(|p| step - p <= rule.window_steps);
    if !(active && paired && spikes.fired(step, 0, rule.post)) {
        return None;
    }
    let span = rule.delay_max_steps - rule.delay_min_steps;
    let u = rng::uniform_f64(seed, index, step, Purpose::RewardDelay);
    let delay = rule.delay_min_steps + (u * (span + 1) as f64) as u64;
    Some(PendingReward {
        step: step + delay.max(1),
        region: rule.region,
        amount_um: rule.amount_um,
    })
}

/// Applies one parameter change to the runtime group tables of its replica.
pub fn apply_change(
    c: &ParamChange,
    synapses: &mut SynapseGroups,
    neurons: &mut NeuronGroups,
    levels: &mut RegionLevels,
    astro: &mut AstrocyteScaling,
) -> Result<(), String> {
    let (kind, group, field) = paths::split(&c.path)?;
    let r = c.replica;
    match kind {
        "synapses" => {
            for g in synapses
                .0
                .iter_mut()
                .filter(|g| g.replica == r && g.spec.name == group)
            {
                paths::set_field(&mut g.spec, field, &c.value)?;
            }
        }
        "neurons" => {
            for g in neurons
                .0
                .iter_mut()
                .filter(|g| g.replica == r && g.spec.name == group)
            {
                paths::set_field(&mut g.spec, field, &c.value)?;
            }
        }
        "dopamine_regions" => {
            let field = field
                .strip_prefix("params.")
                .ok_or("region parameters live under params.")?;
            for (i, (name, rep)) in levels.names.iter().enumerate() {
                if name == group && *rep == r {
                    paths::set_field(&mut levels.params[i], field, &c.value)?;
                }
            }
        }
        "astrocytes" => {
            let field = field
                .strip_prefix("params.")
                .ok_or("astrocyte parameters live under params.")?;
            for (i, (name, rep)) in astro.names.iter().enumerate() {
                if name == group && *rep == r {
                    paths::set_field(&mut astro.params[i], field, &c.value)?;
                }
            }
        }
        _ => return Err(format!("unknown path kind `{kind}`")),
    }
    Ok(())
}

/// Registers the timeline in [`Stage::Input`](crate::schedule::Stage::Input).
pub fn plugin(s: &mut Schedule) {
    use crate::schedule::Stage;
    s.add_systems((begin_step, run_timeline).chain().in_set(Stage::Input));
}
