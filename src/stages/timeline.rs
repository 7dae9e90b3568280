//! The timeline as it runs: rewards due now, reward rules watching spikes, and parameter changes
//! applied to the runtime group tables (the scene's side is `scene::timeline`).

use crate::core::clock::Clock;
use crate::core::param_path::{self as paths, ParamValue};
use crate::core::rng::{self, Purpose};
use crate::engine::spikes::SpikeHistory;
use crate::stages::groups::SynapseGroups;
use crate::stages::homeostasis::AstrocyteScaling;
use crate::stages::modulation::RegionLevels;
use crate::stages::neurons::NeuronGroups;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// Where a parameter change applies at run time ([`apply_change`]): the kind of group, the
/// group, and the field set in the run's copy of it (the whole group for synapses and neurons,
/// its `params` for dopamine regions and astrocytes, which are all a run keeps of them).
pub fn change_target(path: &str) -> Result<(&str, &str, &str), String> {
    let (kind, group, field) = paths::split(path)?;
    let what = match kind {
        "synapses" | "neurons" => return Ok((kind, group, field)),
        "dopamine_regions" => "a dopamine region",
        "astrocytes" => "an astrocyte group",
        _ => {
            return Err(format!(
                "`{path}`: a parameter path starts with synapses., neurons., dopamine_regions. \
                 or astrocytes."
            ));
        }
    };
    match field.strip_prefix("params.") {
        Some(f) => Ok((kind, group, f)),
        None => Err(format!(
            "`{path}` cannot change during a run: only the `params.` of {what} can (the rest \
             is laid out when the world is built)"
        )),
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
    let (kind, group, field) = change_target(&c.path)?;
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
            for (i, (name, rep)) in levels.names.iter().enumerate() {
                if name == group && *rep == r {
                    paths::set_field(&mut levels.params[i], field, &c.value)?;
                }
            }
        }
        "astrocytes" => {
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

/// Registers the timeline in [`Stage::Input`](crate::engine::schedule::Stage::Input).
pub fn plugin(s: &mut Schedule) {
    use crate::engine::schedule::Stage;
    s.add_systems((begin_step, run_timeline).chain().in_set(Stage::Input));
}
