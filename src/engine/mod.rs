//! Layer 2, the engine: the spike history and pending neuron input, the processes of a run
//! ([`ranks`], the only module that talks to MPI), and the schedule that runs the
//! [`Stage`](crate::core::stage::Stage) sets of a step in cascade order. It knows no stage:
//! stages hand it their systems.

pub mod ranks;
pub mod schedule;
pub mod spikes;
