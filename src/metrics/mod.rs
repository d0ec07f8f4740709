//! Segmentation metrics in plain Rust: overlap scores, the reference repository's
//! metric (bug-compatible), surface distances, threshold sweeps, calibration and the
//! statistics to report them honestly. Pure functions and small accumulators on
//! `&[bool]` / `&[u8]` masks and `&[f32]` probabilities; no Burn, no UI types.
//!
//! # Layout
//! | file | owns |
//! |---|---|
//! | [`mask`] | what a mask pixel is ([`MaskPixel`]) |
//! | [`confusion`] | TP/FP/FN/TN counts and the threshold rule |
//! | [`overlap`] | IoU, Dice, precision, recall, specificity, accuracy, the empty-mask policy |
//! | [`mod@reference`] | the CMUNeXt repo's `iou_score` and `BCEDiceLoss`, exactly |
//! | [`edt`] | exact Euclidean distance transform with pixel spacing |
//! | [`surface`] | boundaries, HD95, Hausdorff, ASSD |
//! | [`sweep`] | 19-threshold sweep, best threshold, stable band |
//! | [`calibration`] | reliability bins, ECE, entropy |
//! | [`stats`] | means, percentiles, bootstrap intervals, per-group and paired statistics |
//! | [`resize`] | nearest and bilinear resizing to score at any resolution |
//!
//! # Policies, in one place
//! * Binarisation is **strict**: foreground when `p > threshold` ([`confusion`]).
//! * Per-image scores of an image whose GT and prediction are both empty are
//!   **excluded** by default ([`EmptyPolicy::Exclude`]); every report carries its policy.
//! * Boundaries use **4-connectivity** by default ([`Connectivity::Four`]); HD95 is the
//!   95th percentile of both directed distance sets together, **linear interpolation**
//!   ([`stats::percentile_sorted`]); distances of an empty mask are `None`.
//! * Entropy is in **bits**. Bootstrap intervals are seeded percentile intervals.
//! * Sizes are `(width, height)`, buffers row-major. Everything is deterministic.
//!
//! Size mismatches and invalid settings are `Err(String)`; empty inputs never panic
//! and give documented results (`None` where a value is undefined).

pub mod calibration;
pub mod confusion;
pub mod edt;
pub mod mask;
pub mod overlap;
pub mod reference;
pub mod resize;
pub mod stats;
pub mod surface;
pub mod sweep;

pub use calibration::{
    CALIBRATION_BINS, CalibrationAccumulator, CalibrationReport, ReliabilityBin,
    binary_entropy_bits, calibration_bin, entropy_map,
};
pub use confusion::{Confusion, binarize, is_foreground_at};
pub use edt::{Spacing, distance_transform, squared_distance_transform};
pub use mask::MaskPixel;
pub use overlap::{
    EmptyCase, EmptyPolicy, MeanScores, Metric, OverlapAccumulator, OverlapReport, OverlapScores,
};
pub use reference::{
    RepoIouScore, RepoScoreMeter, repo_bce_dice_loss, repo_iou_score, sigmoid_f32,
};
pub use resize::{resize_bilinear, resize_nearest};
pub use stats::{
    BootstrapConfig, DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, GroupMean, GroupedMeanCi, Mean, MeanCi,
    PairedComparison, grouped_mean_ci, mean, mean_ci, paired_comparison, percentile,
    percentile_sorted,
};
pub use surface::{
    Connectivity, DistanceUnit, SurfaceDistances, boundary, directed_surface_distances,
    surface_distances,
};
pub use sweep::{
    BestThreshold, STABLE_BAND_TOLERANCE, SWEEP_STEPS, StableBand, SweepAccumulator, SweepCounts,
    SweepReport, ThresholdScores, best_threshold, stable_band, sweep_image, sweep_thresholds,
};
