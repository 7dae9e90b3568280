//! Layer 6, the front ends: the web page and report, the SVG plots, the validation helpers of
//! the page generator. The `edra` command (`src/main.rs`) sits on top of the library.

pub mod plot;
pub mod show;
pub mod validation;
pub mod web;
