//! Pixel confusion counts (TP, FP, FN, TN) and how probabilities become a mask.
//! Owns [`Confusion`] and the binarisation rule; every other metric is computed from
//! these counts. Depends only on [`super::mask`].
//!
//! # Threshold rule
//! A probability `p` is foreground when **`p > threshold`, strictly** (so `p == 0.5`
//! at threshold 0.5 is background). This matches the reference code, which binarises
//! with `sigmoid(x) > 0.5`, so a logit of exactly 0 is background there and here.
//! A NaN probability is never `> threshold`, so it counts as background.

use std::iter::Sum;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

use super::mask::{MaskPixel, check_same_len};

/// Pixel counts of a prediction against a ground truth. Counts add up, so a dataset is
/// pooled by summing the counts of its images.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Confusion {
    /// Predicted foreground, truly foreground.
    pub tp: u64,
    /// Predicted foreground, truly background.
    pub fp: u64,
    /// Predicted background, truly foreground.
    pub fn_: u64,
    /// Predicted background, truly background.
    pub tn: u64,
}

/// Whether probability `p` is foreground at `threshold`: `p > threshold`, strictly.
pub fn is_foreground_at(p: f32, threshold: f32) -> bool {
    p > threshold
}

/// A binary mask from probabilities with the strict rule `p > threshold`.
pub fn binarize(probabilities: &[f32], threshold: f32) -> Vec<bool> {
    probabilities
        .iter()
        .map(|&p| is_foreground_at(p, threshold))
        .collect()
}

impl Confusion {
    /// Counts of a binary prediction against a binary ground truth of the same length.
    pub fn from_masks<P: MaskPixel, G: MaskPixel>(pred: &[P], gt: &[G]) -> Result<Self, String> {
        check_same_len(("prediction", pred.len()), ("ground truth", gt.len()))?;
        let mut c = Self::default();
        for (&p, &g) in pred.iter().zip(gt) {
            c.count(p.is_foreground(), g.is_foreground());
        }
        Ok(c)
    }

    /// Counts of probabilities binarised with `p > threshold` (strict) against a ground truth.
    pub fn from_probabilities<G: MaskPixel>(
        probabilities: &[f32],
        threshold: f32,
        gt: &[G],
    ) -> Result<Self, String> {
        check_same_len(
            ("probability map", probabilities.len()),
            ("ground truth", gt.len()),
        )?;
        let mut c = Self::default();
        for (&p, &g) in probabilities.iter().zip(gt) {
            c.count(is_foreground_at(p, threshold), g.is_foreground());
        }
        Ok(c)
    }

    /// Adds one pixel.
    pub fn count(&mut self, pred: bool, gt: bool) {
        match (pred, gt) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
    }

    /// Adds another set of counts (pooling two images).
    pub fn merge(&mut self, other: &Self) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
        self.tn += other.tn;
    }

    /// Number of pixels counted.
    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.fn_ + self.tn
    }

    /// Ground-truth foreground pixels (`tp + fn`).
    pub fn gt_foreground(&self) -> u64 {
        self.tp + self.fn_
    }

    /// Ground-truth background pixels (`tn + fp`).
    pub fn gt_background(&self) -> u64 {
        self.tn + self.fp
    }

    /// Predicted foreground pixels (`tp + fp`).
    pub fn pred_foreground(&self) -> u64 {
        self.tp + self.fp
    }
}

impl Add for Confusion {
    type Output = Self;
    fn add(mut self, rhs: Self) -> Self {
        self.merge(&rhs);
        self
    }
}

impl AddAssign for Confusion {
    fn add_assign(&mut self, rhs: Self) {
        self.merge(&rhs);
    }
}

impl Sum for Confusion {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), Add::add)
    }
}

impl<'a> Sum<&'a Confusion> for Confusion {
    fn sum<I: Iterator<Item = &'a Confusion>>(iter: I) -> Self {
        iter.fold(Self::default(), |a, b| a + *b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_cell() {
        // pred: 1 1 0 0 1 ; gt: 1 0 1 0 1 → tp = 2 (idx 0, 4), fp = 1 (idx 1), fn = 1 (idx 2), tn = 1 (idx 3).
        let pred = [true, true, false, false, true];
        let gt = [1u8, 0, 1, 0, 1];
        let c = Confusion::from_masks(&pred, &gt).expect("same length");
        assert_eq!(
            c,
            Confusion {
                tp: 2,
                fp: 1,
                fn_: 1,
                tn: 1
            }
        );
        assert_eq!(c.total(), 5);
        assert_eq!(c.gt_foreground(), 3);
        assert_eq!(c.gt_background(), 2);
        assert_eq!(c.pred_foreground(), 3);
    }

    #[test]
    fn threshold_is_strict() {
        // 0.5 at threshold 0.5 is background; 0.50001 is foreground; NaN is background.
        let p = [0.5f32, 0.500_01, 0.2, f32::NAN, 1.0];
        assert_eq!(binarize(&p, 0.5), vec![false, true, false, false, true]);
        let gt = [true, true, false, true, true];
        // pred F T F F T vs gt T T F T T → tp 2, fp 0, fn 2, tn 1.
        let c = Confusion::from_probabilities(&p, 0.5, &gt).expect("same length");
        assert_eq!(
            c,
            Confusion {
                tp: 2,
                fp: 0,
                fn_: 2,
                tn: 1
            }
        );
    }

    #[test]
    fn pooling_adds_counts() {
        let a = Confusion {
            tp: 1,
            fp: 2,
            fn_: 3,
            tn: 4,
        };
        let b = Confusion {
            tp: 10,
            fp: 20,
            fn_: 30,
            tn: 40,
        };
        let s = Confusion {
            tp: 11,
            fp: 22,
            fn_: 33,
            tn: 44,
        };
        assert_eq!(a + b, s);
        assert_eq!([a, b].iter().sum::<Confusion>(), s);
        let mut m = a;
        m += b;
        assert_eq!(m, s);
    }

    #[test]
    fn empty_and_mismatched_inputs() {
        let empty: [bool; 0] = [];
        assert_eq!(
            Confusion::from_masks(&empty, &empty),
            Ok(Confusion::default())
        );
        assert!(Confusion::from_masks(&[true], &[true, false]).is_err());
        assert!(Confusion::from_probabilities(&[0.1], 0.5, &[0u8, 1]).is_err());
    }
}
