//! What a training run reports while it goes: typed events that the command line
//! prints and the window plots. No UI types here.

use std::path::PathBuf;

use serde::Serialize;

/// Which checkpoint was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointKind {
    /// The best epoch so far by validation IoU.
    Best,
    /// The latest state (resumable).
    Last,
}

/// One event of a training run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TrainEvent {
    /// The run started (or resumed at `start_step`).
    Started {
        /// The run folder.
        run_dir: PathBuf,
        /// Steps per epoch.
        steps_per_epoch: usize,
        /// Steps of the whole run.
        total_steps: usize,
        /// First step this session runs (0 for a new run).
        start_step: usize,
        /// Backend and why it was chosen.
        device: String,
    },
    /// One optimiser step finished.
    Step {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based global step.
        step: usize,
        /// Training loss of the batch.
        loss: f64,
        /// Learning rate the step used.
        lr: f64,
        /// Throughput over the recent steps.
        images_per_sec: f64,
        /// Estimated seconds to the end of the run.
        eta_secs: f64,
    },
    /// An epoch ended and was validated.
    Epoch {
        /// 0-based epoch.
        epoch: usize,
        /// Mean training loss of the epoch.
        train_loss: f64,
        /// Mean validation loss.
        val_loss: f64,
        /// Validation IoU at threshold 0.5, pooled over all validation pixels.
        val_iou: f64,
        /// Validation Dice at threshold 0.5, pooled.
        val_dice: f64,
        /// Mean per-image validation Dice (images with empty GT and empty prediction excluded).
        val_dice_per_image: f64,
        /// Pooled validation IoU of each dataset, when the validation set holds several.
        val_iou_per_dataset: Vec<(String, f64)>,
        /// Whether this epoch is the best so far (by the run's selection rule).
        best: bool,
    },
    /// A checkpoint was written.
    CheckpointSaved {
        /// Which one.
        kind: CheckpointKind,
        /// Where.
        path: PathBuf,
    },
    /// Something the user should know that does not stop the run.
    Warning {
        /// What happened.
        message: String,
    },
    /// The run paused (cooperatively, between steps).
    Paused,
    /// The run continued after a pause.
    Continued,
    /// The run stopped on request; it can be resumed from its last checkpoint.
    Cancelled {
        /// Next step to run on resume.
        next_step: usize,
    },
    /// The run finished all epochs.
    Finished {
        /// Best epoch by val IoU.
        best_epoch: usize,
        /// Its val IoU.
        best_val_iou: f64,
    },
    /// The run failed; the last good checkpoint is kept.
    Failed {
        /// Why.
        message: String,
    },
}
