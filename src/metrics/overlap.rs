//! Overlap metrics from confusion counts: IoU, Dice (= F1), precision, recall
//! (sensitivity), specificity, pixel accuracy and the all-background baseline, per image
//! and pooled over a dataset, under an explicit [`EmptyPolicy`]. Owns the rules for
//! undefined (0/0) scores. Depends on [`super::confusion`] and [`super::stats`].
//!
//! # Definitions (no smoothing terms)
//! * IoU = TP / (TP + FP + FN); Dice = F1 = 2TP / (2TP + FP + FN)
//! * precision = TP / (TP + FP); recall = TP / (TP + FN); specificity = TN / (TN + FP)
//! * accuracy = (TP + TN) / N; background baseline = (TN + FP) / N, the accuracy a
//!   prediction of *all background* would get. Accuracy is always reported next to it,
//!   because on small lesions accuracy is close to the baseline whatever the model does.
//!
//! # Empty masks
//! * **GT and prediction both empty**: IoU, Dice, precision and recall are 0/0. The
//!   [`EmptyPolicy`] decides: `Exclude` (default) → `None`, `PerfectScore` → 1.0.
//!   Specificity, accuracy and the baseline are 1.0 (all pixels are true negatives).
//! * **GT empty, prediction not** (false alarm): IoU = Dice = precision = 0; recall is
//!   undefined (`None`) under either policy.
//! * **Prediction empty, GT not** (miss): IoU = Dice = recall = 0; precision is
//!   undefined (`None`) under either policy.
//! * specificity is `None` when the GT has no background; an image of zero pixels has
//!   every score `None`.
//!
//! The default is `Exclude` because an empty–empty image says nothing about how well
//! a structure is delineated: scoring it 1.0 lets the share of empty slices in a
//! dataset (large in CT/MRI volumes) drive the mean Dice. Excluded images are counted
//! ([`OverlapReport::n_both_empty`]), and false alarms on empty images are counted
//! separately ([`OverlapReport::n_false_alarm`]), so nothing disappears from view.

use serde::{Deserialize, Serialize};

use super::confusion::Confusion;
use super::mask::MaskPixel;
use super::stats::{Mean, mean};

/// What a per-image score is when both the ground truth and the prediction are empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyPolicy {
    /// The score is undefined (`None`) and left out of means (counted instead). Default.
    #[default]
    Exclude,
    /// The score is 1.0: correctly predicting "nothing here" counts as perfect.
    PerfectScore,
}

/// One overlap metric, for generic access ([`OverlapScores::get`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Intersection over union (Jaccard).
    Iou,
    /// Dice coefficient, identical to F1.
    Dice,
    /// Precision (positive predictive value).
    Precision,
    /// Recall (sensitivity).
    Recall,
    /// Specificity.
    Specificity,
    /// Pixel accuracy.
    Accuracy,
    /// Pixel accuracy of an all-background prediction.
    BackgroundBaseline,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 7] = [
        Metric::Iou,
        Metric::Dice,
        Metric::Precision,
        Metric::Recall,
        Metric::Specificity,
        Metric::Accuracy,
        Metric::BackgroundBaseline,
    ];
}

/// Which of the empty-mask cases an image falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyCase {
    /// Both GT and prediction have foreground.
    BothNonEmpty,
    /// Neither has foreground.
    BothEmpty,
    /// GT empty, prediction not: a false alarm.
    FalseAlarm,
    /// GT has foreground, prediction is empty: a miss.
    Missed,
}

/// Overlap scores of one image, or of pooled counts. `None` means undefined (see the
/// module docs for when); such values are excluded from means.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverlapScores {
    /// The empty-mask policy these scores were computed under.
    pub policy: EmptyPolicy,
    /// The counts the scores come from.
    pub confusion: Confusion,
    /// TP / (TP + FP + FN).
    pub iou: Option<f64>,
    /// 2TP / (2TP + FP + FN), equal to F1.
    pub dice: Option<f64>,
    /// TP / (TP + FP).
    pub precision: Option<f64>,
    /// TP / (TP + FN) (sensitivity).
    pub recall: Option<f64>,
    /// TN / (TN + FP).
    pub specificity: Option<f64>,
    /// (TP + TN) / N.
    pub accuracy: Option<f64>,
    /// (TN + FP) / N: the accuracy of predicting all background.
    pub background_baseline: Option<f64>,
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

impl OverlapScores {
    /// Scores from confusion counts under `policy`.
    pub fn from_confusion(c: Confusion, policy: EmptyPolicy) -> Self {
        let total = c.total();
        let both_empty = total > 0 && c.gt_foreground() == 0 && c.pred_foreground() == 0;
        let empty_score = if both_empty {
            match policy {
                EmptyPolicy::Exclude => None,
                EmptyPolicy::PerfectScore => Some(1.0),
            }
        } else {
            None
        };
        let or_empty = |v: Option<f64>| v.or(empty_score);
        Self {
            policy,
            confusion: c,
            iou: or_empty(ratio(c.tp, c.tp + c.fp + c.fn_)),
            dice: or_empty(ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn_)),
            precision: or_empty(ratio(c.tp, c.pred_foreground())),
            recall: or_empty(ratio(c.tp, c.gt_foreground())),
            specificity: ratio(c.tn, c.gt_background()),
            accuracy: ratio(c.tp + c.tn, total),
            background_baseline: ratio(c.gt_background(), total),
        }
    }

    /// Scores of a binary prediction against a binary ground truth.
    pub fn from_masks<P: MaskPixel, G: MaskPixel>(
        pred: &[P],
        gt: &[G],
        policy: EmptyPolicy,
    ) -> Result<Self, String> {
        Ok(Self::from_confusion(
            Confusion::from_masks(pred, gt)?,
            policy,
        ))
    }

    /// Scores of probabilities binarised with `p > threshold` (strict) against a ground truth.
    pub fn from_probabilities<G: MaskPixel>(
        probabilities: &[f32],
        threshold: f32,
        gt: &[G],
        policy: EmptyPolicy,
    ) -> Result<Self, String> {
        Ok(Self::from_confusion(
            Confusion::from_probabilities(probabilities, threshold, gt)?,
            policy,
        ))
    }

    /// One metric by name.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Iou => self.iou,
            Metric::Dice => self.dice,
            Metric::Precision => self.precision,
            Metric::Recall => self.recall,
            Metric::Specificity => self.specificity,
            Metric::Accuracy => self.accuracy,
            Metric::BackgroundBaseline => self.background_baseline,
        }
    }

    /// Which empty-mask case the counts fall in (a zero-pixel image is `BothEmpty`).
    pub fn empty_case(&self) -> EmptyCase {
        let c = &self.confusion;
        match (c.gt_foreground() > 0, c.pred_foreground() > 0) {
            (true, true) => EmptyCase::BothNonEmpty,
            (false, false) => EmptyCase::BothEmpty,
            (false, true) => EmptyCase::FalseAlarm,
            (true, false) => EmptyCase::Missed,
        }
    }
}

/// Per-image (macro) means of every metric; each [`Mean`] says how many images were
/// averaged and how many had the score undefined.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanScores {
    /// Mean IoU.
    pub iou: Mean,
    /// Mean Dice.
    pub dice: Mean,
    /// Mean precision.
    pub precision: Mean,
    /// Mean recall.
    pub recall: Mean,
    /// Mean specificity.
    pub specificity: Mean,
    /// Mean pixel accuracy.
    pub accuracy: Mean,
    /// Mean all-background accuracy, to read next to `accuracy`.
    pub background_baseline: Mean,
}

impl MeanScores {
    /// Means over per-image scores.
    pub fn of(scores: &[OverlapScores]) -> Self {
        let m = |metric: Metric| mean(scores.iter().map(|s| s.get(metric)));
        Self {
            iou: m(Metric::Iou),
            dice: m(Metric::Dice),
            precision: m(Metric::Precision),
            recall: m(Metric::Recall),
            specificity: m(Metric::Specificity),
            accuracy: m(Metric::Accuracy),
            background_baseline: m(Metric::BackgroundBaseline),
        }
    }

    /// One metric's mean by name.
    pub fn get(&self, metric: Metric) -> Mean {
        match metric {
            Metric::Iou => self.iou,
            Metric::Dice => self.dice,
            Metric::Precision => self.precision,
            Metric::Recall => self.recall,
            Metric::Specificity => self.specificity,
            Metric::Accuracy => self.accuracy,
            Metric::BackgroundBaseline => self.background_baseline,
        }
    }
}

/// Overlap over a dataset: per-image (macro) means and pooled (micro) scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OverlapReport {
    /// The empty-mask policy used for every score in this report.
    pub policy: EmptyPolicy,
    /// Number of images.
    pub n_images: usize,
    /// Scores of the counts summed over all images (micro average).
    pub pooled: OverlapScores,
    /// Means of per-image scores (macro average).
    pub mean: MeanScores,
    /// Images with GT and prediction both empty.
    pub n_both_empty: usize,
    /// Images with an empty GT but a non-empty prediction.
    pub n_false_alarm: usize,
    /// Images with a non-empty GT but an empty prediction.
    pub n_missed: usize,
}

/// Streams a dataset image by image, keeping only each image's confusion counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OverlapAccumulator {
    policy: EmptyPolicy,
    per_image: Vec<Confusion>,
}

impl OverlapAccumulator {
    /// An empty accumulator scoring under `policy`.
    pub fn new(policy: EmptyPolicy) -> Self {
        Self {
            policy,
            per_image: Vec::new(),
        }
    }

    /// Adds one image's counts and returns its scores.
    pub fn push(&mut self, c: Confusion) -> OverlapScores {
        self.per_image.push(c);
        OverlapScores::from_confusion(c, self.policy)
    }

    /// Adds one image given as masks and returns its scores.
    pub fn push_masks<P: MaskPixel, G: MaskPixel>(
        &mut self,
        pred: &[P],
        gt: &[G],
    ) -> Result<OverlapScores, String> {
        Ok(self.push(Confusion::from_masks(pred, gt)?))
    }

    /// Per-image scores, in push order.
    pub fn per_image(&self) -> Vec<OverlapScores> {
        self.per_image
            .iter()
            .map(|&c| OverlapScores::from_confusion(c, self.policy))
            .collect()
    }

    /// The dataset report. With no images, pooled scores are all `None` and means are empty.
    pub fn report(&self) -> OverlapReport {
        let per_image = self.per_image();
        let count = |case: EmptyCase| per_image.iter().filter(|s| s.empty_case() == case).count();
        OverlapReport {
            policy: self.policy,
            n_images: per_image.len(),
            pooled: OverlapScores::from_confusion(self.per_image.iter().sum(), self.policy),
            mean: MeanScores::of(&per_image),
            n_both_empty: count(EmptyCase::BothEmpty),
            n_false_alarm: count(EmptyCase::FalseAlarm),
            n_missed: count(EmptyCase::Missed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn overlap_values_by_hand() {
        // tp 6, fp 2, fn 4, tn 88 (N = 100):
        // IoU = 6/12 = 0.5; Dice = 12/18 = 2/3; precision = 6/8 = 0.75; recall = 6/10 = 0.6;
        // specificity = 88/90; accuracy = 94/100; baseline = 90/100.
        let c = Confusion {
            tp: 6,
            fp: 2,
            fn_: 4,
            tn: 88,
        };
        let s = OverlapScores::from_confusion(c, EmptyPolicy::Exclude);
        assert!(close(s.iou, 0.5));
        assert!(close(s.dice, 2.0 / 3.0));
        assert!(close(s.precision, 0.75));
        assert!(close(s.recall, 0.6));
        assert!(close(s.specificity, 88.0 / 90.0));
        assert!(close(s.accuracy, 0.94));
        assert!(close(s.background_baseline, 0.9));
        assert_eq!(s.empty_case(), EmptyCase::BothNonEmpty);
        // Dice = F1 = 2PR/(P+R) = 2·0.75·0.6/1.35 = 2/3.
        assert!(close(s.dice, 2.0 * 0.75 * 0.6 / 1.35));
    }

    #[test]
    fn both_empty_follows_policy() {
        let c = Confusion {
            tp: 0,
            fp: 0,
            fn_: 0,
            tn: 16,
        };
        let ex = OverlapScores::from_confusion(c, EmptyPolicy::Exclude);
        assert_eq!(
            (ex.iou, ex.dice, ex.precision, ex.recall),
            (None, None, None, None)
        );
        assert_eq!(
            (ex.specificity, ex.accuracy, ex.background_baseline),
            (Some(1.0), Some(1.0), Some(1.0))
        );
        assert_eq!(ex.policy, EmptyPolicy::Exclude);
        let pf = OverlapScores::from_confusion(c, EmptyPolicy::PerfectScore);
        assert_eq!(
            (pf.iou, pf.dice, pf.precision, pf.recall),
            (Some(1.0), Some(1.0), Some(1.0), Some(1.0))
        );
        assert_eq!(pf.policy, EmptyPolicy::PerfectScore);
        assert_eq!(pf.empty_case(), EmptyCase::BothEmpty);
        assert_eq!(EmptyPolicy::default(), EmptyPolicy::Exclude);
    }

    #[test]
    fn false_alarm_and_miss() {
        // GT empty, 3 predicted pixels out of 16: IoU = Dice = precision = 0, recall undefined
        // under both policies; specificity = 13/16; accuracy 13/16; baseline 16/16.
        let fa = Confusion {
            tp: 0,
            fp: 3,
            fn_: 0,
            tn: 13,
        };
        for policy in [EmptyPolicy::Exclude, EmptyPolicy::PerfectScore] {
            let s = OverlapScores::from_confusion(fa, policy);
            assert_eq!(
                (s.iou, s.dice, s.precision, s.recall),
                (Some(0.0), Some(0.0), Some(0.0), None)
            );
            assert!(close(s.specificity, 13.0 / 16.0));
            assert!(close(s.accuracy, 13.0 / 16.0));
            assert_eq!(s.background_baseline, Some(1.0));
            assert_eq!(s.empty_case(), EmptyCase::FalseAlarm);
        }
        // 5-pixel lesion missed in 1024 pixels: Dice 0, precision undefined, yet
        // accuracy = 1019/1024 = 0.9951, exactly the all-background baseline.
        let miss = Confusion {
            tp: 0,
            fp: 0,
            fn_: 5,
            tn: 1019,
        };
        let s = OverlapScores::from_confusion(miss, EmptyPolicy::PerfectScore);
        assert_eq!(
            (s.iou, s.dice, s.recall, s.precision),
            (Some(0.0), Some(0.0), Some(0.0), None)
        );
        assert!(close(s.accuracy, 1019.0 / 1024.0));
        assert_eq!(s.accuracy, s.background_baseline);
        assert_eq!(s.empty_case(), EmptyCase::Missed);
    }

    #[test]
    fn zero_pixels_is_all_undefined() {
        let s = OverlapScores::from_confusion(Confusion::default(), EmptyPolicy::PerfectScore);
        assert!(Metric::ALL.iter().all(|&m| s.get(m).is_none()));
    }

    #[test]
    fn dataset_macro_vs_micro() {
        // Image 1: tp 8, fp 0, fn 0, tn 8 → Dice 1. Image 2: tp 0, fp 0, fn 2, tn 14 → Dice 0.
        // Image 3: empty/empty (tn 16). Image 4: false alarm, fp 4, tn 12 → Dice 0.
        // Exclude: mean Dice = (1 + 0 + 0)/3 = 1/3 over 3 images, 1 excluded.
        // PerfectScore: (1 + 0 + 1 + 0)/4 = 0.5.
        // Pooled: tp 8, fp 4, fn 2 → Dice = 16/22 under both policies.
        let images = [
            Confusion {
                tp: 8,
                fp: 0,
                fn_: 0,
                tn: 8,
            },
            Confusion {
                tp: 0,
                fp: 0,
                fn_: 2,
                tn: 14,
            },
            Confusion {
                tp: 0,
                fp: 0,
                fn_: 0,
                tn: 16,
            },
            Confusion {
                tp: 0,
                fp: 4,
                fn_: 0,
                tn: 12,
            },
        ];
        let mut ex = OverlapAccumulator::new(EmptyPolicy::Exclude);
        let mut pf = OverlapAccumulator::new(EmptyPolicy::PerfectScore);
        for c in images {
            ex.push(c);
            pf.push(c);
        }
        let r = ex.report();
        assert_eq!(r.policy, EmptyPolicy::Exclude);
        assert_eq!(r.pooled.policy, EmptyPolicy::Exclude);
        assert!(close(r.mean.dice.value, 1.0 / 3.0));
        assert_eq!((r.mean.dice.n, r.mean.dice.n_excluded), (3, 1));
        assert!(close(r.pooled.dice, 16.0 / 22.0));
        assert_eq!(
            (r.n_images, r.n_both_empty, r.n_false_alarm, r.n_missed),
            (4, 1, 1, 1)
        );
        // Recall is undefined on images 3 and 4: (1 + 0)/2.
        assert!(close(r.mean.recall.value, 0.5));
        assert_eq!(r.mean.recall.n_excluded, 2);
        let r = pf.report();
        assert!(close(r.mean.dice.value, 0.5));
        assert!(close(r.pooled.dice, 16.0 / 22.0));
        // Pooled accuracy = (8 + 8+14+16+12)/64 = 58/64; baseline = (tn + fp)/64 = (8+14+16+16)/64 = 54/64.
        assert!(close(r.pooled.accuracy, 58.0 / 64.0));
        assert!(close(r.pooled.background_baseline, 54.0 / 64.0));
    }

    #[test]
    fn empty_dataset_and_mask_inputs() {
        let r = OverlapAccumulator::new(EmptyPolicy::Exclude).report();
        assert_eq!(r.n_images, 0);
        assert_eq!(r.pooled.dice, None);
        assert_eq!(r.mean.dice.value, None);
        let mut acc = OverlapAccumulator::default();
        // pred 1100, gt 1010 → tp 1, fp 1, fn 1, tn 1 → Dice = 2/4.
        let s = acc
            .push_masks(&[1u8, 1, 0, 0], &[true, false, true, false])
            .expect("same length");
        assert!(close(s.dice, 0.5));
        assert!(acc.push_masks(&[1u8], &[true, false]).is_err());
        let s = OverlapScores::from_probabilities(
            &[0.9, 0.5, 0.1],
            0.5,
            &[1u8, 1, 0],
            EmptyPolicy::Exclude,
        )
        .expect("same length");
        // 0.5 is not > 0.5: tp 1, fn 1, tn 1 → recall 0.5.
        assert!(close(s.recall, 0.5));
    }
}
