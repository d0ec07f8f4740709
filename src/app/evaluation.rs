//! Glue between the viewer and `crate::metrics`: per-entry evaluation computed on the
//! inference thread, and the dataset-level reports the threshold view draws. Every
//! number shown in the UI comes from `crate::metrics` through this module.

use crate::metrics::{
    CalibrationAccumulator, CalibrationReport, EmptyPolicy, OverlapScores, SweepAccumulator,
    SweepCounts, SweepReport, sweep_image,
};

use super::backend::{Mask, Prediction};

/// The empty-mask policy of every score the app shows.
pub const POLICY: EmptyPolicy = EmptyPolicy::Exclude;

/// What one prediction gives against its GT, independent of the slider.
#[derive(Clone, Debug)]
pub struct EntryEval {
    /// Counts at the 19 sweep thresholds.
    pub sweep: SweepCounts,
    /// Reliability bins of this image.
    pub calibration: CalibrationAccumulator,
}

impl EntryEval {
    /// Evaluate a prediction against a GT of the same size; `None` on a size mismatch.
    pub fn new(prediction: &Prediction, gt: &Mask) -> Option<Self> {
        let sweep = sweep_image(&prediction.probabilities, &gt.data).ok()?;
        let mut calibration = CalibrationAccumulator::new();
        calibration.push(&prediction.probabilities, &gt.data).ok()?;
        Some(Self { sweep, calibration })
    }

    /// Scores at sweep index `k`.
    pub fn scores_at(&self, k: usize) -> OverlapScores {
        OverlapScores::from_confusion(self.sweep[k], POLICY)
    }
}

/// Scores of one image at an arbitrary threshold (what the metrics panel shows).
pub fn scores_at(prediction: &Prediction, gt: &Mask, threshold: f32) -> Option<OverlapScores> {
    OverlapScores::from_probabilities(&prediction.probabilities, threshold, &gt.data, POLICY).ok()
}

/// Dataset-level reports of one model.
#[derive(Clone, Debug)]
pub struct DatasetEval {
    /// Images with a GT and a prediction.
    pub n_images: usize,
    /// Threshold sweep (pooled and mean scores, best threshold, stable band).
    pub sweep: SweepReport,
    /// Reliability diagram and ECE.
    pub calibration: CalibrationReport,
}

impl DatasetEval {
    /// Aggregate per-entry evaluations.
    pub fn of<'a>(evals: impl IntoIterator<Item = &'a EntryEval>) -> Option<Self> {
        let mut sweep = SweepAccumulator::new(POLICY);
        let mut calibration = CalibrationAccumulator::new();
        let mut n = 0;
        for e in evals {
            sweep.push_counts(e.sweep);
            calibration.merge(&e.calibration);
            n += 1;
        }
        (n > 0).then(|| Self {
            n_images: n,
            sweep: sweep.report(),
            calibration: calibration.report(),
        })
    }
}

/// How a score is written in the UI: four decimals, "n/a" when undefined.
pub fn format_score(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{v:.4}"),
        None => "n/a".to_owned(),
    }
}
