//! Layer 2, the engine: the spike history and pending neuron input, and the
//! schedule that runs the [`Stage`](crate::core::stage::Stage) sets of a step in cascade order.
//! It knows no stage: stages hand it their systems.

pub mod schedule;
pub mod spikes;
