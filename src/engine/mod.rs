//! Layer 2, the engine: the spike history and pending neuron input, the processes of a run
//! ([`ranks`], the only module that talks to MPI), which neurons a rank steps ([`partition`])
//! and the spike exchange between ranks ([`exchange`]), and the schedule that runs the
//! [`Stage`](crate::core::stage::Stage) sets of a step in cascade order. It knows no stage:
//! stages hand it their systems.

pub mod exchange;
pub mod partition;
pub mod ranks;
pub mod schedule;
pub mod spikes;
