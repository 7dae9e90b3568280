//! Layer 1, the core: what every other layer speaks of. The identity of a synapse and of a
//! neuron, the synaptic weight and the event-driven marker, the [`Stage`](stage::Stage) sets of
//! a step and their labels, parameters with units and ranges, the declarations of a component's
//! checkpoint columns and output variables, counter-based random numbers,
//! the clock, errors. The core imports nothing from the layers above it.

pub mod clock;
pub mod columns;
pub mod error;
pub mod fine;
pub mod locate;
pub mod param_path;
pub mod params;
pub mod prefetch;
pub mod registry;
pub mod rng;
pub mod stage;
pub mod synapse;
pub mod weight;
