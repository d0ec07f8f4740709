//! Training: configuration, the loop, its events and sample sources. No UI types.

pub mod augment;
pub mod config;
pub mod event;
pub mod prepared;
pub mod run;
pub mod source;

pub use config::{OptimizerConfig, TrainConfig};
pub use event::{CheckpointKind, TrainEvent};
pub use run::{EpochRecord, RunConfig, RunState, TrainControl, TrainOutcome, files, train, validate};
pub use prepared::PreparedSource;
pub use source::{InMemorySource, Sample, SampleSource};
