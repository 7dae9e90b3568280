//! Layer 5, assembly: a scene becomes a running world and a world becomes outputs. Build (sweep
//! replicas, connectivity, rows, spawn, resources, the memory estimate), checkpoint capture
//! beside the build's restore, recorders, the run folder writer shared by the CLI, `serve` and
//! the validation page, and [`Simulation`](sim::Simulation), which ties them together.

pub mod build;
pub mod checkpoint;
pub(crate) mod columns;
pub mod gather;
pub mod idle;
pub mod output;
pub mod parquet;
pub mod record;
pub mod sim;
pub mod write_behind;
