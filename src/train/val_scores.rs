//! Validation scores at threshold 0.5, pooled and per image, and per dataset when the
//! validation set mixes several: what the best epoch is chosen by.

use std::collections::BTreeSet;

use super::config::Selection;
use super::source::SampleSource;

/// Pooled and per-image validation scores at threshold 0.5.
#[derive(Clone, Debug, PartialEq)]
pub struct ValScores {
    /// Pooled IoU.
    pub iou: f64,
    /// Pooled Dice.
    pub dice: f64,
    /// Mean per-image Dice, images with empty GT and empty prediction excluded.
    pub dice_per_image: f64,
    /// Pooled IoU of each dataset, by name; empty unless the set holds two or more.
    pub per_dataset: Vec<(String, f64)>,
}

impl ValScores {
    /// The score `selection` picks the best epoch by.
    pub fn selection_score(&self, selection: Selection) -> f64 {
        match selection {
            Selection::MeanDatasetIou => mean_dataset_iou(&self.per_dataset).unwrap_or(self.iou),
            Selection::PooledIou => self.iou,
        }
    }
}

/// The datasets of a validation set, sorted by name, read once per run (the set does
/// not change between epochs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValDatasets {
    /// The datasets scored on their own: those with foreground somewhere in their masks;
    /// empty when there are fewer than two. A dataset whose masks are all empty would
    /// score IoU 1 for predicting nothing and 0 for one false pixel, which says nothing
    /// about segmentation; it still counts in the pooled scores.
    pub scored: Vec<String>,
    /// The named datasets with no foreground in any mask.
    pub without_foreground: Vec<String>,
}

impl ValDatasets {
    /// Reads every sample's dataset and mask once.
    pub fn of(set: &dyn SampleSource) -> Self {
        let (mut all, mut with) = (BTreeSet::new(), BTreeSet::new());
        for i in 0..set.len() {
            let dataset = set.dataset(i);
            if set.sample(i).is_ok_and(|s| s.mask.iter().any(|&m| m > 0.5)) {
                with.insert(dataset.clone());
            }
            all.insert(dataset);
        }
        let without_foreground = all
            .into_iter()
            .filter(|d| !d.is_empty() && !with.contains(d))
            .collect();
        let scored = if with.len() < 2 {
            Vec::new()
        } else {
            with.into_iter().collect()
        };
        Self {
            scored,
            without_foreground,
        }
    }
}

/// The mean of per-dataset IoU, `None` when there are none (one dataset).
pub fn mean_dataset_iou(per_dataset: &[(String, f64)]) -> Option<f64> {
    (!per_dataset.is_empty())
        .then(|| per_dataset.iter().map(|(_, iou)| iou).sum::<f64>() / per_dataset.len() as f64)
}

/// Confusion counts of the foreground.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Counts {
    tp: u64,
    fp: u64,
    fneg: u64,
}

impl Counts {
    fn union(self) -> u64 {
        self.tp + self.fp + self.fneg
    }

    /// IoU; 1 when neither mask nor prediction has a pixel.
    fn iou(self) -> f64 {
        if self.union() == 0 {
            1.0
        } else {
            self.tp as f64 / self.union() as f64
        }
    }

    fn dice(self) -> f64 {
        if self.union() == 0 {
            1.0
        } else {
            2.0 * self.tp as f64 / (2 * self.tp + self.fp + self.fneg) as f64
        }
    }

    fn add(&mut self, other: Counts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fneg += other.fneg;
    }
}

/// Running counts over validation images.
#[derive(Clone, Debug)]
pub struct ValTally {
    pooled: Counts,
    per_dataset: Vec<Counts>,
    dice_sum: f64,
    dice_images: usize,
}

impl ValTally {
    /// A tally for `datasets` datasets (0 when the set has only one).
    pub fn new(datasets: usize) -> Self {
        Self {
            pooled: Counts::default(),
            per_dataset: vec![Counts::default(); datasets],
            dice_sum: 0.0,
            dice_images: 0,
        }
    }

    /// Adds one image: its logits and {0, 1} mask, and the index of its dataset.
    pub fn add(&mut self, logits: &[f32], mask: &[f32], dataset: Option<usize>) {
        let mut c = Counts::default();
        for (&x, &t) in logits.iter().zip(mask) {
            // sigmoid(x) > 0.5 ⇔ x > 0.
            match (x > 0.0, t > 0.5) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fneg += 1,
                _ => {}
            }
        }
        self.pooled.add(c);
        if let Some(d) = dataset.and_then(|d| self.per_dataset.get_mut(d)) {
            d.add(c);
        }
        if c.union() > 0 {
            self.dice_sum += c.dice();
            self.dice_images += 1;
        }
    }

    /// The scores, the per-dataset ones named by `names` (as passed to [`Self::new`]).
    pub fn finish(self, names: Vec<String>) -> ValScores {
        ValScores {
            iou: self.pooled.iou(),
            dice: self.pooled.dice(),
            dice_per_image: if self.dice_images == 0 {
                f64::NAN
            } else {
                self.dice_sum / self.dice_images as f64
            },
            per_dataset: names
                .into_iter()
                .zip(self.per_dataset)
                .map(|(n, c)| (n, c.iou()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logits from a {0, 1} prediction.
    fn logits(pred: &[u8]) -> Vec<f32> {
        pred.iter()
            .map(|&p| if p == 1 { 3.0 } else { -3.0 })
            .collect()
    }

    fn mask(m: &[u8]) -> Vec<f32> {
        m.iter().map(|&v| f32::from(v)).collect()
    }

    #[test]
    fn a_mix_is_scored_per_dataset_as_well_as_pooled() {
        let mut tally = ValTally::new(2);
        // "lungs": a large mask, nearly all found: tp 7, fp 1, fn 1 → IoU 7/9.
        tally.add(
            &logits(&[1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
            &mask(&[1, 1, 1, 1, 1, 1, 1, 0, 1, 0]),
            Some(0),
        );
        // "tumour": small, half missed: tp 1, fp 0, fn 1 → IoU 1/2; and an empty, correct image.
        tally.add(&logits(&[1, 0, 0, 0]), &mask(&[1, 1, 0, 0]), Some(1));
        tally.add(&logits(&[0, 0, 0, 0]), &mask(&[0, 0, 0, 0]), Some(1));
        let scores = tally.finish(vec!["lungs".into(), "tumour".into()]);
        // Pooled: tp 8, fp 1, fn 2 → IoU 8/11, Dice 16/19; per image Dice 14/16 and 2/3, the empty image left out.
        assert!((scores.iou - 8.0 / 11.0).abs() < 1e-12);
        assert!((scores.dice - 16.0 / 19.0).abs() < 1e-12);
        assert!((scores.dice_per_image - (14.0 / 16.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(scores.per_dataset.len(), 2);
        assert!(
            (scores.per_dataset[0].1 - 7.0 / 9.0).abs() < 1e-12
                && (scores.per_dataset[1].1 - 0.5).abs() < 1e-12
        );
        // Pooled selection follows the lungs; the mean gives the tumours equal weight.
        assert!((scores.selection_score(Selection::PooledIou) - 8.0 / 11.0).abs() < 1e-12);
        assert!(
            (scores.selection_score(Selection::MeanDatasetIou) - (7.0 / 9.0 + 0.5) / 2.0).abs()
                < 1e-12
        );
    }

    #[test]
    fn one_dataset_falls_back_to_pooled_iou() {
        let mut tally = ValTally::new(0);
        tally.add(&logits(&[1, 1, 0]), &mask(&[1, 0, 0]), None);
        let scores = tally.finish(Vec::new());
        assert!(scores.per_dataset.is_empty());
        assert_eq!(scores.selection_score(Selection::MeanDatasetIou), 0.5);
    }
}
