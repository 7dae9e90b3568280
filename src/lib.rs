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
//! The order of a step is written once, in [`schedule`]. Scenes are RON files ([`scene`]);
//! [`Simulation`] loads one, steps it and saves checkpoints. A scene and its seed decide the
//! result bit for bit, whatever the thread count: randomness is counter-based ([`rng`]) and
//! every reduction across synapses is an integer sum ([`spikes`]).

pub mod build;
pub mod checkpoint;
pub mod clock;
pub mod delivery;
pub mod error;
pub mod fine;
pub mod guard;
pub mod neurons;
pub mod output;
pub mod params;
pub mod plot;
pub mod prefetch;
pub mod record;
pub mod rng;
pub mod scene;
pub mod schedule;
pub mod sim;
pub mod spikes;
pub mod stages;
pub mod state;
pub mod synapse;
pub mod timeline;
pub mod validation;
pub mod web;
pub mod world;

pub use error::{EdraError, Result};
pub use schedule::Stage;
pub use sim::Simulation;
