//! # edra — synaptic plasticity in large synapse populations
//!
//! Every synapse is a `bevy_ecs` entity whose components model its biochemistry, and every step
//! of the plasticity cascade is a system, run over the whole population in parallel:
//!
//! 1. Ca2+ influx — cleft glutamate, NMDA receptors with Mg2+ block, spine membrane
//!    ([`stages::ca_influx`]);
//! 2. dopamine → D1 receptor → cAMP/PKA → spine Ca2+ sensitivity ([`stages::modulation`]);
//! 3. STDP or the calcium rule → early-phase weight ([`stages::plasticity`]);
//! 4. AMPA receptor trafficking between endosome and PSD ([`stages::trafficking`]);
//! 5. astrocyte homeostatic scaling ([`stages::homeostasis`]);
//! 6. synaptic tagging, protein synthesis and capture ([`stages::consolidation`]).
//!
//! The crate is in six layers, each a folder; a layer imports only from the layers below it
//! (`tests/layers.rs` reads every `use` and checks it):
//!
//! | layer | folder | what it holds |
//! |---|---|---|
//! | 1 | [`core`] | synapse and neuron identity, weight, markers, [`Stage`] sets, parameters, rng, clock |
//! | 2 | [`engine`] | spike history, neuron input, the schedule |
//! | 3 | [`stages`] | one module per cascade stage, neuron models, delivery, timeline, group tables |
//! | 4 | [`scene`] | the RON schema of a scene and of a checkpoint's state, and its validation |
//! | 5 | [`assembly`] | build, checkpoint, recorders, outputs, [`Simulation`] |
//! | 6 | [`front`] | the web page and report, plots |
//!
//! The order of a step is written once, in [`engine::schedule`]. [`Simulation`] loads a scene,
//! steps it and saves checkpoints. A scene and its seed decide the result bit for bit, whatever
//! the thread count: randomness is counter-based ([`core::rng`]) and every reduction across
//! synapses is an integer sum ([`engine::spikes`]).

pub mod assembly;
pub mod core;
pub mod engine;
pub mod front;
pub mod scene;
pub mod stages;

// The paths of the modules before the crate was split into layers, kept for users' code.
pub use assembly::{build, checkpoint, output, record, sim};
pub use core::{clock, error, fine, params, prefetch, rng, synapse};
pub use engine::{schedule, spikes};
pub use front::{plot, web};
pub use scene::state;
pub use stages::{delivery, groups as world, guard, neurons, timeline};

pub use assembly::sim::Simulation;
pub use core::error::{EdraError, Result};
pub use core::stage::Stage;
