//! Layer 6, the front ends: `edra show`, the web page and report, the SVG plots. The `edra`
//! command (`src/main.rs`) sits on top of the library; the validation page's helpers are in
//! `examples/validation_parts/helpers.rs`, outside the library.

pub mod nwb;
pub mod plot;
pub mod show;
pub mod web;
