//! Stage 3 — plasticity rules → early-phase synaptic weight.
//!
//! Each rule is a marker component with its own system: [`pair_stdp`] (optionally gated by
//! dopamine through an eligibility trace) and [`calcium_rule`]. Every rule writes the early
//! weight `h` and the total `w = h + h0·z`, where `z` is the late (consolidated) weight of stage 6
//! and `h0` its baseline (0 without consolidation).

pub mod calcium_rule;
pub mod early_calcium;
pub mod event_arrivals;
pub mod event_calcium;
pub mod event_stdp;
pub mod pair_stdp;

use crate::core::param_path::{At, ParamValue, SetError, SetPath};
use crate::core::rng::{self, Purpose};
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::core::weight::SynapticWeight;
pub use calcium_rule::{CaRuleState, CalciumRuleParams};
pub use early_calcium::{EarlyCalciumParams, EarlyCalciumRule};
pub use pair_stdp::{DopamineGating, SameStep, StdpParams, StdpTraces};

use crate::core::registry::{Observed, Read, Variable};
use crate::core::stage::Stage;
use crate::core::weight::{EventDriven, direct_efficacy_mv};
use crate::stages::components::{NewSynapse, SynapseComponent};
use crate::stages::groups::SynapseGroup;
use crate::stages::trafficking::AmpaPools;

/// The traces of pair STDP.
impl Observed for StdpTraces {
    const VARIABLES: &'static [Read<Self>] = &[
        Read {
            variable: Variable {
                name: "x_pre",
                unit: "",
                stage: Stage::Plasticity,
                component: "StdpTraces",
                doc: "presynaptic STDP trace",
            },
            read: |t| t.x_pre,
        },
        Read {
            variable: Variable {
                name: "y_post",
                unit: "",
                stage: Stage::Plasticity,
                component: "StdpTraces",
                doc: "postsynaptic STDP trace",
            },
            read: |t| t.y_post,
        },
        Read {
            variable: Variable {
                name: "eligibility_mv",
                unit: "mV",
                stage: Stage::Plasticity,
                component: "StdpTraces",
                doc: "eligibility trace of dopamine-gated STDP",
            },
            read: |t| t.eligibility_mv,
        },
    ];
}

/// The efficacy of the calcium rule.
impl Observed for CaRuleState {
    const VARIABLES: &'static [Read<Self>] = &[Read {
        variable: Variable {
            name: "rho",
            unit: "",
            stage: Stage::Plasticity,
            component: "CaRuleState",
            doc: "efficacy of the calcium rule (0..1)",
        },
        read: |r| r.rho as f32,
    }];
}

/// The standard normal draw of a calcium rule's noise term for synapse `id` on `step`, drawn
/// only while calcium `ca` is above the lower threshold `theta` (below it the term is zero).
#[inline(always)]
pub fn rule_noise(on: bool, ca: f64, theta: f64, seed: u64, id: u32, step: u64) -> f64 {
    if on && ca >= theta {
        rng::normal(seed, id as u64, step, Purpose::RuleNoise)
    } else {
        0.0
    }
}

/// Which plasticity rule a synapse group follows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Rule {
    PairStdp(StdpParams),
    CalciumRule(CalciumRuleParams),
    /// Calcium rule on the early weight h (Luboeinski & Tetzlaff 2021), for tag-and-capture.
    EarlyCalcium(EarlyCalciumParams),
    /// No plasticity: the weight stays at its initial value.
    Static,
}

impl Default for Rule {
    fn default() -> Self {
        Rule::PairStdp(StdpParams::default())
    }
}

impl Rule {
    /// Whether the rule takes a synapse's steps only when spikes reach it (`event_driven:
    /// true` of pair STDP or of a calcium rule).
    pub fn is_event_driven(&self) -> bool {
        match self {
            Rule::PairStdp(p) => p.event_driven,
            Rule::CalciumRule(p) => p.event_driven,
            Rule::EarlyCalcium(p) => p.event_driven,
            Rule::Static => false,
        }
    }
}

/// `rule.a_plus` sets a field of the group's rule (`rule.PairStdp.a_plus` also names it).
impl SetPath for Rule {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        match self {
            Rule::PairStdp(p) => p.set_at(at.variant("PairStdp"), value),
            Rule::CalciumRule(p) => p.set_at(at.variant("CalciumRule"), value),
            Rule::EarlyCalcium(p) => p.set_at(at.variant("EarlyCalcium"), value),
            Rule::Static => Err(at.no_such(&[])),
        }
    }
}

impl crate::core::params::Validate for Rule {
    fn validate(&self, c: &mut crate::core::params::Checker) {
        match self {
            Rule::PairStdp(p) => p.validate(c),
            Rule::CalciumRule(p) => p.validate(c),
            Rule::EarlyCalcium(p) => p.validate(c),
            Rule::Static => {}
        }
    }
}

/// Registers every rule in [`Stage::Plasticity`].
pub fn plugin(s: &mut Schedule) {
    use crate::engine::schedule::Stage;
    s.add_systems(
        (
            pair_stdp::pair_stdp_direct,
            pair_stdp::pair_stdp_trafficked,
            event_stdp::event_stdp,
            calcium_rule::calcium_rule,
            event_calcium::event_calcium::<CaRuleState>,
            early_calcium::early_calcium_rule,
            event_calcium::event_calcium::<EarlyCalciumRule>,
        )
            .chain()
            .in_set(Stage::Plasticity),
    );
}

impl SynapseComponent for StdpTraces {
    fn in_group(g: &SynapseGroup) -> bool {
        matches!(g.rule, Rule::PairStdp(_))
    }
}

impl SynapseComponent for CaRuleState {
    fn in_group(g: &SynapseGroup) -> bool {
        matches!(g.rule, Rule::CalciumRule(_))
    }

    /// ρ as sampled from the group's `init`.
    fn fresh(new: &NewSynapse) -> Self {
        CaRuleState { rho: new.rho }
    }
}

impl SynapseComponent for EarlyCalciumRule {
    fn in_group(g: &SynapseGroup) -> bool {
        matches!(g.rule, Rule::EarlyCalcium(_))
    }
}
impl Observed for EarlyCalciumRule {}

impl SynapseComponent for EventDriven {
    /// Synapses of a group whose rule is event-driven.
    fn in_group(g: &SynapseGroup) -> bool {
        g.rule.is_event_driven()
    }
}

impl SynapseComponent for SynapticWeight {
    /// h, z and w as sampled; the efficacy of the PSD's receptors where AMPA receptors are
    /// trafficked, of w itself otherwise.
    fn fresh(new: &NewSynapse) -> Self {
        let g = new.group;
        let efficacy_mv = match &g.spec.trafficking {
            Some(p) => AmpaPools::fresh(new).psd * p.mv_per_receptor as f32 * g.sign,
            None => direct_efficacy_mv(g.sign, new.w_mv, 1.0),
        };
        SynapticWeight {
            h_mv: new.h_mv,
            z: new.z,
            w_mv: new.w_mv,
            efficacy_mv,
        }
    }
}
