//! The web views of a run: `edra report DIR` writes one self-contained page about a finished
//! run ([`report`]); `edra serve SCENE|DIR` serves the same views for a live simulation that can
//! be advanced from the browser ([`serve`](fn@serve)).
//!
//! Both show the run summary, the population (groups, counts, a histogram of total weights
//! before and after) and, for a synapse, every variable grouped by cascade stage in cascade
//! order with its unit, in each state, and plots of its recorded traces. The plots come from
//! [`crate::front::plot`]; pages carry their CSS, scripts and SVG inline and load nothing.

pub mod data;
pub mod html;
pub mod report;
pub mod serve;

pub use report::write_report;
pub use serve::serve;
