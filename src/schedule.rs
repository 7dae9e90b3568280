//! The order of a step, written once.
//!
//! Every step runs one [`Schedule`]; each stage of the cascade is a [`Stage`] set, the sets are
//! chained in cascade order, and each module places its own systems in its set with its
//! `plugin` function. Within a set a module chains its systems, so the schedule has no ambiguous
//! pairs. The single-threaded executor runs the systems one after another (parallel systems in
//! one chain gain nothing and the multi-threaded executor costs 6–17 µs per step); each system
//! runs in parallel over the population itself.

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;

/// The stages of a step, in order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// The schedule of one step, with every built-in stage registered.
pub fn cascade_schedule() -> Schedule {
    let mut s = Schedule::default();
    s.set_executor(SingleThreadedExecutor::default());
    s.configure_sets(
        (
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
        )
            .chain(),
    );
    crate::timeline::plugin(&mut s);
    crate::neurons::plugin(&mut s);
    crate::delivery::plugin(&mut s);
    crate::stages::ca_influx::plugin(&mut s);
    crate::stages::modulation::plugin(&mut s);
    crate::stages::plasticity::plugin(&mut s);
    crate::stages::trafficking::plugin(&mut s);
    crate::stages::homeostasis::plugin(&mut s);
    crate::stages::consolidation::plugin(&mut s);
    crate::record::plugin(&mut s);
    s
}
