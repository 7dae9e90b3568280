//! The stages of a step: one system set each, in cascade order, with the number and label the
//! outputs show them under.

use bevy_ecs::prelude::*;

/// The stages of a step, in order (the derived `Ord` is the cascade order).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Timeline events due now: rewards, reward rules, parameter changes.
    Input,
    /// Spike sources and model neurons; who fired goes into the spike history.
    Neurons,
    /// Spikes reach synapses after their delays; efficacy goes to postsynaptic neurons.
    Delivery,
    /// Step 1: cleft glutamate, NMDA Mg block, spine membrane, Ca2+ influx.
    CaInflux,
    /// Step 2: dopamine → receptor → modulatory cascade → Ca sensitivity.
    Modulation,
    /// Step 3: STDP / calcium rule → early-phase weight.
    Plasticity,
    /// Step 4: AMPA receptors between endosome and PSD; efficacy.
    Trafficking,
    /// Step 5: astrocyte homeostatic scaling (slow clock).
    Homeostasis,
    /// Step 6: tags, protein synthesis, capture (slow clock).
    Consolidation,
    /// Recorders and the non-finite check.
    Record,
}

impl Stage {
    /// Every stage, in cascade order.
    pub const ALL: [Stage; 10] = [
        Stage::Input,
        Stage::Neurons,
        Stage::Delivery,
        Stage::CaInflux,
        Stage::Modulation,
        Stage::Plasticity,
        Stage::Trafficking,
        Stage::Homeostasis,
        Stage::Consolidation,
        Stage::Record,
    ];

    /// The number of a cascade stage (1 Ca influx … 6 Consolidation), 0 for the others.
    pub fn number(self) -> u8 {
        match self {
            Stage::CaInflux => 1,
            Stage::Modulation => 2,
            Stage::Plasticity => 3,
            Stage::Trafficking => 4,
            Stage::Homeostasis => 5,
            Stage::Consolidation => 6,
            _ => 0,
        }
    }

    /// Its name in outputs: `Ca influx`, `Plasticity`, …
    pub fn name(self) -> &'static str {
        match self {
            Stage::Input => "Input",
            Stage::Neurons => "Neurons",
            Stage::Delivery => "Delivery",
            Stage::CaInflux => "Ca influx",
            Stage::Modulation => "Modulation",
            Stage::Plasticity => "Plasticity",
            Stage::Trafficking => "Trafficking",
            Stage::Homeostasis => "Homeostasis",
            Stage::Consolidation => "Consolidation",
            Stage::Record => "Record",
        }
    }

    /// Its label in outputs: `1 Ca influx` for a cascade stage, the name for the others.
    pub fn label(self) -> String {
        match self.number() {
            0 => self.name().to_string(),
            n => format!("{n} {}", self.name()),
        }
    }

    /// The stage after this one (`None` after `Record`).
    pub fn next(self) -> Option<Stage> {
        Stage::ALL.get(self as usize + 1).copied()
    }
}

/// The place of a registered stage's systems: after the built-in systems of its [`Stage`] and
/// before the next stage. CaMKII, which reads spine Ca2+, runs in `Extends(Stage::CaInflux)`.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Extends(pub Stage);

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels order as the cascade, also past a ninth stage (they were sorted as text).
    #[test]
    fn stages_order_by_the_cascade_not_by_their_labels() {
        let mut s = Stage::ALL.to_vec();
        s.reverse();
        s.sort();
        assert_eq!(s, Stage::ALL);
        assert_eq!(Stage::CaInflux.label(), "1 Ca influx");
        assert_eq!(Stage::Consolidation.label(), "6 Consolidation");
        assert_eq!(Stage::Record.next(), None);
        assert_eq!(Stage::CaInflux.next(), Some(Stage::Modulation));
    }
}
