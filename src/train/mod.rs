//! Training: configuration, run set-up, the loop, its events and sample sources, and
//! the runs found on disk. No UI types.

pub mod augment;
pub mod config;
pub mod event;
pub mod event_log;
pub mod prepared;
pub mod report;
pub mod run;
pub mod runs;
pub mod setup;
pub mod source;
pub mod val_scores;

pub use config::{AugmentationSet, InitWeights, OptimizerConfig, Selection, TrainConfig};
pub use event::{CheckpointKind, TrainEvent};
pub use event_log::EventLog;
pub use prepared::PreparedSource;
pub use run::{
    EpochRecord, RunConfig, RunState, TrainControl, TrainOutcome, files, measure_step_seconds,
    train, validate,
};
pub use source::{InMemorySource, Sample, SampleSource};
pub use val_scores::ValScores;
