//! The plasticity cascade, one module per stage, in cascade order.

pub mod ca_influx;
pub mod consolidation;
pub mod homeostasis;
pub mod modulation;
pub mod plasticity;
pub mod trafficking;
