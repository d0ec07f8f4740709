//! Evaluation that cannot fool its user: per-image and pooled overlap scores at the
//! image's native resolution (predictions resized back) and at model resolution,
//! surface distances, the all-background baseline next to pixel accuracy, 95%
//! bootstrap intervals, per-patient aggregation, the original repository's numbers
//! ("reference" mode, its empty-mask bug included) beside the honest ones, and the
//! threshold sweep with calibration. No UI types.

pub mod compare;
pub mod crossval;
pub mod report;
#[cfg(test)]
pub(crate) mod test_support;

use std::path::PathBuf;

use rayon::prelude::*;
use serde::Serialize;

use crate::data::augment::Augmentation;
use crate::data::mask::MaskRule;
use crate::data::preprocess::{PrepareOptions, prepare_sample};
use crate::data::sample::load_sample;
use crate::data::split::SampleRef;
use crate::data::volume_pairs::VolumeCache;
use crate::infer::{Predictor, sigmoid};
use crate::metrics::{
    BootstrapConfig, CalibrationAccumulator, Connectivity, EmptyPolicy, MeanCi, OverlapAccumulator,
    OverlapReport, OverlapScores, RepoIouScore, RepoScoreMeter, Spacing, SurfaceDistances,
    SweepAccumulator, grouped_mean_ci, mean_ci, repo_iou_score, resize_bilinear, surface_distances,
};

/// How to evaluate.
#[derive(Clone, Debug, Serialize)]
pub struct EvalOptions {
    /// Foreground where `p > threshold`.
    pub threshold: f32,
    /// What a per-image score is when GT and prediction are both empty.
    pub policy: EmptyPolicy,
    /// Bootstrap resamples and seed.
    pub bootstrap: BootstrapConfig,
    /// Images per forward pass.
    pub batch: usize,
    /// Also run the threshold sweep and calibration.
    pub sweep: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            policy: EmptyPolicy::default(),
            bootstrap: BootstrapConfig::default(),
            batch: 4,
            sweep: true,
        }
    }
}

/// One image's results.
#[derive(Clone, Debug, Serialize)]
pub struct ImageResult {
    /// Source dataset.
    pub dataset: String,
    /// Sample id.
    pub id: String,
    /// Patient / case group, when known.
    pub group: Option<String>,
    /// Image file.
    pub image: PathBuf,
    /// Native `(width, height)`.
    pub native_size: (u32, u32),
    /// Foreground fraction of the ground truth.
    pub gt_foreground: f64,
    /// Scores at native resolution (prediction resized back, bilinear, then thresholded).
    pub native: OverlapScores,
    /// Scores at model resolution (GT resized nearest).
    pub model_resolution: OverlapScores,
    /// HD95 and mean surface distance at native resolution, in pixels (None when a mask is empty).
    pub surface: Option<SurfaceDistances>,
    /// The same in millimetres, when the file gives the pixel spacing (NIfTI slices).
    pub surface_mm: Option<SurfaceDistances>,
    /// The original repository's `iou_score` on this image (batch 1, model resolution, threshold 0.5).
    pub reference: RepoIouScore,
    /// Differences between this input and the model's convention.
    pub convention_warnings: Vec<String>,
}

/// A metric's mean with its 95% bootstrap interval.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Dice (F1) per image.
    pub dice: MeanCi,
    /// IoU per image.
    pub iou: MeanCi,
    /// Precision per image.
    pub precision: MeanCi,
    /// Recall per image.
    pub recall: MeanCi,
    /// Pixel accuracy per image.
    pub accuracy: MeanCi,
    /// HD95 per image (pixels), images with an empty mask excluded.
    pub hd95_px: MeanCi,
    /// Mean surface distance per image (pixels).
    pub assd_px: MeanCi,
    /// HD95 per image in mm, over the images whose spacing is known; `None` when none is.
    pub hd95_mm: Option<MeanCi>,
    /// Mean surface distance per image in mm, as `hd95_mm`.
    pub assd_mm: Option<MeanCi>,
}

/// The whole evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// The options used.
    pub options: EvalOptions,
    /// Whether the predictions were flip test-time augmented ([`Predictor::tta`]).
    pub tta: bool,
    /// Images evaluated.
    pub n_images: usize,
    /// Files that could not be used, with the reason; they are left out of every number.
    pub skipped: Vec<(PathBuf, String)>,
    /// Pooled (micro) and mean (macro) scores at native resolution; carries its empty-mask policy.
    pub native: OverlapReport,
    /// The same at model resolution.
    pub model_resolution: OverlapReport,
    /// Means with 95% bootstrap intervals over images (native resolution).
    pub per_image: Summary,
    /// Dice mean over patients (each patient's images averaged first), when groups are known.
    pub per_patient_dice: Option<MeanCi>,
    /// The same over each patient's images whose GT has foreground (lesion-bearing
    /// slices), when groups are known: the lesion Dice with patients, not slices, as the
    /// unit. A patient without such slices is left out (counted in `n_excluded`).
    pub per_patient_positive_dice: Option<MeanCi>,
    /// Dice per image over the images whose GT is not empty (lesion-bearing slices), with
    /// its 95% interval; `None` when every GT is empty. False alarms on empty slices are
    /// counted separately (`native.n_false_alarm`).
    pub positive_dice: Option<MeanCi>,
    /// Pixel accuracy an all-background prediction gets (pooled), to read accuracy against.
    pub all_background_accuracy: Option<f64>,
    /// The original repository's numbers (macro over images, its empty-mask bug included),
    /// for comparison with published figures only.
    pub reference_mode: Option<RepoIouScore>,
    /// Threshold sweep (native resolution), when requested.
    pub sweep: Option<crate::metrics::SweepReport>,
    /// Calibration of the probabilities (native resolution), when requested.
    pub calibration: Option<crate::metrics::CalibrationReport>,
}

/// Evaluates `predictor` on `samples`; `progress(done, total)` is called as it goes.
pub fn evaluate(
    predictor: &Predictor,
    samples: &[SampleRef],
    options: &EvalOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<(EvalReport, Vec<ImageResult>)> {
    let scored = score_images(predictor, samples, options, progress)?;
    let report = scored.summarise(options)?;
    Ok((report, scored.results))
}

/// Images scored, before they are summarised into a report: what is needed to put
/// several scorings together (the folds of a cross-validation, each by its own model)
/// into one report, threshold sweep and calibration included.
#[derive(Clone, Debug)]
pub struct ScoredImages {
    /// Each image's results.
    pub results: Vec<ImageResult>,
    /// Files that could not be used, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Threshold sweep counts (native resolution), when the options asked for a sweep.
    pub sweep: SweepAccumulator,
    /// Calibration sums (native resolution), when the options asked for a sweep.
    pub calibration: CalibrationAccumulator,
    /// Whether the predictions were flip test-time augmented.
    pub tta: bool,
}

impl ScoredImages {
    /// Adds another scoring's images (scored under the same options).
    pub fn extend(&mut self, other: Self) {
        self.results.extend(other.results);
        self.skipped.extend(other.skipped);
        for counts in other.sweep.per_image() {
            self.sweep.push_counts(*counts);
        }
        self.calibration.merge(&other.calibration);
        self.tta |= other.tta;
    }

    /// The report: pooled counts, per-image means with intervals, per patient, the
    /// reference mode and, when `options.sweep`, the sweep and calibration.
    pub fn summarise(&self, options: &EvalOptions) -> anyhow::Result<EvalReport> {
        let results = self.results.as_slice();
        anyhow::ensure!(!results.is_empty(), "no image results to summarise");
        let mut native = OverlapAccumulator::new(options.policy);
        let mut model_resolution = OverlapAccumulator::new(options.policy);
        let mut reference = RepoScoreMeter::default();
        for r in results {
            native.push(r.native.confusion);
            model_resolution.push(r.model_resolution.confusion);
            reference.update(&r.reference, 1);
        }
        let (native, model_resolution) = (native.report(), model_resolution.report());
        let b = &options.bootstrap;
        let ci = |f: &dyn Fn(&ImageResult) -> Option<f64>| {
            mean_ci(results.iter().map(f), b).map_err(anyhow::Error::msg)
        };
        let per_image = Summary {
            dice: ci(&|r| r.native.dice)?,
            iou: ci(&|r| r.native.iou)?,
            precision: ci(&|r| r.native.precision)?,
            recall: ci(&|r| r.native.recall)?,
            accuracy: ci(&|r| r.native.accuracy)?,
            hd95_px: ci(&|r| r.surface.as_ref().map(|s| s.hd95))?,
            assd_px: ci(&|r| r.surface.as_ref().map(|s| s.assd))?,
            hd95_mm: None,
            assd_mm: None,
        };
        let per_image = if results.iter().any(|r| r.surface_mm.is_some()) {
            Summary {
                hd95_mm: Some(ci(&|r| r.surface_mm.as_ref().map(|s| s.hd95))?),
                assd_mm: Some(ci(&|r| r.surface_mm.as_ref().map(|s| s.assd))?),
                ..per_image
            }
        } else {
            per_image
        };
        // Keyed with the dataset: two datasets of a MIX may use the same patient codes. On
        // lesion-bearing slices only, an image without foreground counts as undefined, so a
        // patient without any is left out rather than scored.
        let per_patient = |lesions_only: bool| -> anyhow::Result<Option<MeanCi>> {
            if !results.iter().all(|r| r.group.is_some()) {
                return Ok(None);
            }
            let items = results.iter().map(|r| {
                let key = (r.dataset.clone(), r.group.clone().unwrap_or_default());
                let dice = r
                    .native
                    .dice
                    .filter(|_| !lesions_only || r.gt_foreground > 0.0);
                (key, dice)
            });
            Ok(Some(
                grouped_mean_ci(items, b)
                    .map_err(anyhow::Error::msg)?
                    .overall,
            ))
        };
        let per_patient_dice = per_patient(false)?;
        let per_patient_positive_dice = per_patient(true)?;
        let positive_dice = lesion_dice_ci(results, b)?;
        let all_background_accuracy = native.pooled.background_baseline;
        Ok(EvalReport {
            tta: self.tta,
            positive_dice,
            options: options.clone(),
            n_images: results.len(),
            skipped: self.skipped.clone(),
            native,
            model_resolution,
            per_image,
            per_patient_dice,
            per_patient_positive_dice,
            all_background_accuracy,
            reference_mode: reference.average(),
            sweep: options.sweep.then(|| self.sweep.report()),
            calibration: options.sweep.then(|| self.calibration.report()),
        })
    }
}

/// Scores `predictor` on `samples`, image by image; `progress(done, total)` is called as
/// it goes. Errors when no image could be scored.
pub fn score_images(
    predictor: &Predictor,
    samples: &[SampleRef],
    options: &EvalOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<ScoredImages> {
    let convention = predictor.loaded.meta.input.clone();
    let mut results = Vec::new();
    let mut skipped = Vec::new();
    let mut sweep = SweepAccumulator::new(options.policy);
    let mut calibration = CalibrationAccumulator::new();
    let mut done = 0;
    let volumes = VolumeCache::for_threads();
    for chunk in samples.chunks(options.batch.max(1)) {
        // Decode and prepare in parallel; a bad file is skipped and reported.
        let prepared: Vec<_> = chunk
            .par_iter()
            .map(|s| {
                let pair = load_sample(s, &MaskRule::default(), &volumes)?;
                let opts = PrepareOptions {
                    input_modality: s.modality.clone(),
                    ..PrepareOptions::default()
                };
                let input =
                    prepare_sample(&pair, &s.image, &convention, &opts, Augmentation::NONE)?;
                Ok::<_, crate::data::DataError>((s, pair, input))
            })
            .collect();
        let mut ok = Vec::new();
        for (s, p) in chunk.iter().zip(prepared) {
            match p {
                Ok(v) => ok.push(v),
                Err(e) => skipped.push((s.image.clone(), s.note(e))),
            }
        }
        let inputs: Vec<&[f32]> = ok
            .iter()
            .map(|(_, _, input)| input.image.as_slice())
            .collect();
        let logits = predictor.logits(&inputs)?;
        for ((s, pair, input), logits) in ok.into_iter().zip(logits) {
            let size = input.size;
            let (w, h) = (pair.mask.width as usize, pair.mask.height as usize);
            let probs = sigmoid(&logits);
            let native_probs =
                resize_bilinear(&probs, (size, size), (w, h)).map_err(anyhow::Error::msg)?;
            let gt = &pair.mask.data;
            let native = OverlapScores::from_probabilities(
                &native_probs,
                options.threshold,
                gt,
                options.policy,
            )
            .map_err(anyhow::Error::msg)?;
            let model_gt = input.mask.clone().unwrap_or_default();
            let model_res = OverlapScores::from_probabilities(
                &probs,
                options.threshold,
                &model_gt
                    .iter()
                    .map(|v| u8::from(*v > 0.5))
                    .collect::<Vec<_>>(),
                options.policy,
            )
            .map_err(anyhow::Error::msg)?;
            let pred_mask: Vec<bool> = native_probs
                .iter()
                .map(|&p| p > options.threshold)
                .collect();
            let surface = surface_distances(&pred_mask, gt, (w, h), None, Connectivity::default())
                .map_err(anyhow::Error::msg)?;
            let surface_mm = match pair.spacing_mm() {
                Some([col_mm, row_mm]) => surface_distances(
                    &pred_mask,
                    gt,
                    (w, h),
                    Some(Spacing { row_mm, col_mm }),
                    Connectivity::default(),
                )
                .map_err(anyhow::Error::msg)?,
                None => None,
            };
            let reference_score = repo_iou_score(&logits, &model_gt).map_err(anyhow::Error::msg)?;
            if options.sweep {
                sweep.push(&native_probs, gt).map_err(anyhow::Error::msg)?;
                calibration
                    .push(&native_probs, gt)
                    .map_err(anyhow::Error::msg)?;
            }
            let gt_foreground =
                gt.iter().filter(|&&v| v > 0).count() as f64 / gt.len().max(1) as f64;
            results.push(ImageResult {
                dataset: s.dataset.clone(),
                id: s.id.clone(),
                group: s.group.clone(),
                image: s.image.clone(),
                native_size: (pair.mask.width, pair.mask.height),
                gt_foreground,
                native,
                model_resolution: model_res,
                surface,
                surface_mm,
                reference: reference_score,
                convention_warnings: input.mismatches.iter().map(ToString::to_string).collect(),
            });
        }
        done += chunk.len();
        progress(done, samples.len());
    }
    anyhow::ensure!(
        !results.is_empty(),
        "no image could be evaluated ({} skipped):\n  {}",
        skipped.len(),
        report::skipped_lines(&skipped)
            .into_iter()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    Ok(ScoredImages {
        results,
        skipped,
        sweep,
        calibration,
        tta: predictor.tta,
    })
}

/// Dice per image over the images whose GT has foreground (lesion-bearing slices), with
/// its 95% interval; `None` when every GT is empty.
pub(crate) fn lesion_dice_ci<'a>(
    results: impl IntoIterator<Item = &'a ImageResult>,
    bootstrap: &BootstrapConfig,
) -> anyhow::Result<Option<MeanCi>> {
    let lesion: Vec<Option<f64>> = results
        .into_iter()
        .filter(|r| r.gt_foreground > 0.0)
        .map(|r| r.native.dice)
        .collect();
    if lesion.is_empty() {
        return Ok(None);
    }
    mean_ci(lesion, bootstrap)
        .map(Some)
        .map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::test_support::result;

    #[test]
    fn per_patient_lesion_dice_averages_each_patients_lesion_slices_first() {
        // p1: lesion slices at Dice 1.0 and 0.5, and an empty slice with a false alarm
        // (Dice 0): all images 0.5, lesion slices 0.75. p2: one lesion slice at 0.5 → 0.5.
        // p3: only an empty slice with a false alarm: no lesion slice, left out.
        let scored = ScoredImages {
            results: vec![
                result("a", Some("p1"), 10, 0, 0, 90),
                result("b", Some("p1"), 5, 5, 5, 85),
                result("c", Some("p1"), 0, 1, 0, 99),
                result("d", Some("p2"), 5, 5, 5, 85),
                result("e", Some("p3"), 0, 2, 0, 98),
            ],
            skipped: Vec::new(),
            sweep: SweepAccumulator::new(EmptyPolicy::Exclude),
            calibration: CalibrationAccumulator::new(),
            tta: false,
        };
        let options = EvalOptions {
            sweep: false,
            ..EvalOptions::default()
        };
        let report = scored.summarise(&options).unwrap();
        let all = report.per_patient_dice.unwrap();
        // (0.5 + 0.5 + 0.0) / 3 patients.
        assert!((all.mean.unwrap() - 1.0 / 3.0).abs() < 1e-12, "{all:?}");
        let lesions = report.per_patient_positive_dice.unwrap();
        assert!((lesions.mean.unwrap() - 0.625).abs() < 1e-12, "{lesions:?}");
        assert_eq!((lesions.n, lesions.n_excluded), (2, 1));
        // Per slice, the lesion slices' mean is (1 + 0.5 + 0.5) / 3.
        let slices = report.positive_dice.unwrap();
        assert!((slices.mean.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    }
}
