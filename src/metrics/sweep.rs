//! Threshold sweep: confusion counts at 19 thresholds (0.05, 0.10, …, 0.95) per image
//! and pooled over a dataset, the best threshold by pooled Dice and the *stable band*
//! of thresholds around it. Streams image by image: only 19 confusion counts per image
//! are kept, never the probabilities. Depends on [`super::confusion`], [`super::overlap`].
//!
//! # Rules
//! * Threshold `i` (1..=19) is `i / 20` as one correctly rounded `f32` division, which
//!   equals the `f32` literal (`0.05`, `0.1`, …), never an accumulated sum of 0.05 steps.
//! * A pixel is foreground at threshold `t` when `p > t` (strict, as everywhere).
//! * **Best threshold**: the highest pooled Dice; ties (equal Dice, i.e. the same
//!   rational value) go to the threshold closest to 0.5, then to the lower one.
//! * **Stable band**: the contiguous run of thresholds containing the best one whose
//!   pooled Dice is defined and `≥ best − tolerance` (default 0.02). A wide band means
//!   the choice of threshold hardly matters; a narrow one means it was tuned to a peak.

use serde::{Deserialize, Serialize};

use super::confusion::{Confusion, is_foreground_at};
use super::mask::{MaskPixel, check_same_len};
use super::overlap::{EmptyPolicy, OverlapScores};
use super::stats::{Mean, mean};

/// Number of thresholds in a sweep.
pub const SWEEP_STEPS: usize = 19;

/// Default stable-band tolerance on Dice.
pub const STABLE_BAND_TOLERANCE: f64 = 0.02;

/// Index of threshold 0.5 in [`sweep_thresholds`].
const HALF_INDEX: usize = 9;

/// The sweep thresholds 0.05, 0.10, …, 0.95 (`i / 20` for `i` in 1..=19).
pub fn sweep_thresholds() -> [f32; SWEEP_STEPS] {
    std::array::from_fn(|k| (k + 1) as f32 / 20.0)
}

/// Counts of one image at every sweep threshold.
pub type SweepCounts = [Confusion; SWEEP_STEPS];

/// Counts of one image at every threshold, in one pass over its pixels.
pub fn sweep_image<G: MaskPixel>(probabilities: &[f32], gt: &[G]) -> Result<SweepCounts, String> {
    check_same_len(
        ("probability map", probabilities.len()),
        ("ground truth", gt.len()),
    )?;
    let thresholds = sweep_thresholds();
    // levels[k] = pixels that are foreground at exactly the thresholds 0..k (p > t for
    // a prefix of the ascending thresholds), split by GT class.
    let mut fg_levels = [0u64; SWEEP_STEPS + 1];
    let mut bg_levels = [0u64; SWEEP_STEPS + 1];
    for (&p, &g) in probabilities.iter().zip(gt) {
        let level = thresholds.partition_point(|&t| is_foreground_at(p, t));
        if g.is_foreground() {
            fg_levels[level] += 1;
        } else {
            bg_levels[level] += 1;
        }
    }
    let (fg_total, bg_total): (u64, u64) = (fg_levels.iter().sum(), bg_levels.iter().sum());
    let mut out = [Confusion::default(); SWEEP_STEPS];
    // Pixels foreground at threshold i are those with level > i.
    let (mut tp, mut fp) = (0u64, 0u64);
    for i in (0..SWEEP_STEPS).rev() {
        tp += fg_levels[i + 1];
        fp += bg_levels[i + 1];
        out[i] = Confusion {
            tp,
            fp,
            fn_: fg_total - tp,
            tn: bg_total - fp,
        };
    }
    Ok(out)
}

/// The best threshold of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestThreshold {
    /// Index into [`sweep_thresholds`].
    pub index: usize,
    /// The threshold.
    pub threshold: f32,
    /// Pooled Dice at that threshold.
    pub dice: f64,
}

/// The contiguous range of thresholds around the best whose Dice is within `tolerance`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StableBand {
    /// Index of the lowest threshold in the band.
    pub lo_index: usize,
    /// Index of the highest threshold in the band.
    pub hi_index: usize,
    /// Lowest threshold in the band.
    pub lo: f32,
    /// Highest threshold in the band.
    pub hi: f32,
    /// `hi − lo`, computed from the indices (`(hi_index − lo_index)/20`); 0 for a
    /// single-threshold band.
    pub width: f32,
    /// The Dice tolerance used.
    pub tolerance: f64,
}

/// Best threshold by `dice[i]` (undefined entries skipped): highest value, ties to the
/// threshold closest to 0.5, then to the lower. `None` when no entry is defined.
pub fn best_threshold(dice: &[Option<f64>; SWEEP_STEPS]) -> Option<BestThreshold> {
    let thresholds = sweep_thresholds();
    let mut best: Option<(usize, f64)> = None;
    for (i, d) in dice.iter().enumerate() {
        let Some(d) = d.filter(|d| d.is_finite()) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((j, b)) => d > b || (d == b && i.abs_diff(HALF_INDEX) < j.abs_diff(HALF_INDEX)),
        };
        if better {
            best = Some((i, d));
        }
    }
    best.map(|(index, dice)| BestThreshold {
        index,
        threshold: thresholds[index],
        dice,
    })
}

/// The stable band around threshold index `best_index`: extend left and right while
/// Dice is defined and `≥ dice[best_index] − tolerance`. `None` when the index is out of
/// range or Dice is undefined there.
pub fn stable_band(
    dice: &[Option<f64>; SWEEP_STEPS],
    best_index: usize,
    tolerance: f64,
) -> Option<StableBand> {
    let thresholds = sweep_thresholds();
    let best = dice.get(best_index).copied().flatten()?;
    let floor = best - tolerance;
    let ok = |i: usize| dice[i].is_some_and(|d| d >= floor);
    let (mut lo, mut hi) = (best_index, best_index);
    while lo > 0 && ok(lo - 1) {
        lo -= 1;
    }
    while hi + 1 < SWEEP_STEPS && ok(hi + 1) {
        hi += 1;
    }
    Some(StableBand {
        lo_index: lo,
        hi_index: hi,
        lo: thresholds[lo],
        hi: thresholds[hi],
        width: (hi - lo) as f32 / 20.0,
        tolerance,
    })
}

/// Scores at one threshold of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdScores {
    /// The threshold.
    pub threshold: f32,
    /// Scores of the counts pooled over all images.
    pub pooled: OverlapScores,
    /// Mean of per-image Dice under the report's policy.
    pub mean_dice: Mean,
    /// Mean of per-image IoU under the report's policy.
    pub mean_iou: Mean,
}

/// A dataset's threshold sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// The empty-mask policy of every score in this report.
    pub policy: EmptyPolicy,
    /// Number of images swept.
    pub n_images: usize,
    /// One entry per threshold, ascending.
    pub per_threshold: Vec<ThresholdScores>,
    /// Best threshold by pooled Dice; `None` when pooled Dice is undefined everywhere.
    pub best: Option<BestThreshold>,
    /// Stable band around `best`.
    pub band: Option<StableBand>,
}

/// Streams a dataset into a sweep, one image at a time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepAccumulator {
    policy: EmptyPolicy,
    pooled: SweepCounts,
    per_image: Vec<SweepCounts>,
}

impl SweepAccumulator {
    /// An empty sweep scoring under `policy`.
    pub fn new(policy: EmptyPolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// Adds one image's probability map and ground truth.
    pub fn push<G: MaskPixel>(&mut self, probabilities: &[f32], gt: &[G]) -> Result<(), String> {
        self.push_counts(sweep_image(probabilities, gt)?);
        Ok(())
    }

    /// Adds one image's precomputed counts (from [`sweep_image`]).
    pub fn push_counts(&mut self, counts: SweepCounts) {
        for (p, c) in self.pooled.iter_mut().zip(&counts) {
            *p += *c;
        }
        self.per_image.push(counts);
    }

    /// Per-image counts, in push order.
    pub fn per_image(&self) -> &[SweepCounts] {
        &self.per_image
    }

    /// Scores of image `image` at threshold index `index`.
    pub fn image_scores(&self, image: usize, index: usize) -> Option<OverlapScores> {
        let c = *self.per_image.get(image)?.get(index)?;
        Some(OverlapScores::from_confusion(c, self.policy))
    }

    /// The report with the default band tolerance (0.02).
    pub fn report(&self) -> SweepReport {
        self.report_with_tolerance(STABLE_BAND_TOLERANCE)
    }

    /// The report with a given band tolerance.
    pub fn report_with_tolerance(&self, tolerance: f64) -> SweepReport {
        let thresholds = sweep_thresholds();
        let per_threshold: Vec<ThresholdScores> = (0..SWEEP_STEPS)
            .map(|i| {
                let per_image = || {
                    self.per_image
                        .iter()
                        .map(|c| OverlapScores::from_confusion(c[i], self.policy))
                };
                ThresholdScores {
                    threshold: thresholds[i],
                    pooled: OverlapScores::from_confusion(self.pooled[i], self.policy),
                    mean_dice: mean(per_image().map(|s| s.dice)),
                    mean_iou: mean(per_image().map(|s| s.iou)),
                }
            })
            .collect();
        let dice: [Option<f64>; SWEEP_STEPS] =
            std::array::from_fn(|i| per_threshold[i].pooled.dice);
        let best = best_threshold(&dice);
        let band = best.and_then(|b| stable_band(&dice, b.index, tolerance));
        SweepReport {
            policy: self.policy,
            n_images: self.per_image.len(),
            per_threshold,
            best,
            band,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_exact_literals() {
        let t = sweep_thresholds();
        let literals = [
            0.05f32, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75,
            0.8, 0.85, 0.9, 0.95,
        ];
        assert_eq!(t, literals);
        assert_eq!(t[HALF_INDEX], 0.5);
        // Summing 0.05 ten times in f32 drifts to 0.50000006, so "0.5" would no longer
        // be the reference threshold 0.5; i/20 is exact.
        let summed = (0..10).fold(0.0f32, |a, _| a + 0.05);
        assert_ne!(summed, 0.5);
        assert_eq!(t[HALF_INDEX], 0.5);
    }

    /// 240 pixels: 100 GT pixels at p = 0.72; background: 4 at 0.6, 10 at 0.3, 126 at 0.
    fn constructed() -> (Vec<f32>, Vec<bool>) {
        let mut p = vec![0.72f32; 100];
        let mut g = vec![true; 100];
        p.extend([0.6f32; 4]);
        p.extend([0.3f32; 10]);
        p.extend([0.0f32; 126]);
        g.extend([false; 140]);
        (p, g)
    }

    #[test]
    fn sweep_counts_match_direct_thresholding() {
        let (p, g) = constructed();
        let counts = sweep_image(&p, &g).expect("same length");
        for (i, &t) in sweep_thresholds().iter().enumerate() {
            assert_eq!(
                counts[i],
                Confusion::from_probabilities(&p, t, &g).expect("same length"),
                "t = {t}"
            );
        }
        // At t = 0.30 the p = 0.3 pixels are background (strict): fp = 4, not 14.
        assert_eq!(
            counts[5],
            Confusion {
                tp: 100,
                fp: 4,
                fn_: 0,
                tn: 136
            }
        );
        assert_eq!(
            counts[4],
            Confusion {
                tp: 100,
                fp: 14,
                fn_: 0,
                tn: 126
            }
        );
    }

    #[test]
    fn best_threshold_and_band_on_constructed_map() {
        // Dice by threshold: t ≤ 0.25: 200/214 = 0.9346; 0.30 ≤ t ≤ 0.55: 200/204 = 0.98039;
        // 0.60 ≤ t ≤ 0.70: 200/200 = 1; t ≥ 0.75: 0 (all GT pixels are 0.72).
        // Best = 1 at 0.60, 0.65, 0.70 → the one closest to 0.5 is 0.60.
        // Band: 0.98039 ≥ 1 − 0.02 = 0.98, 0.9346 is not → [0.30, 0.70], width 0.40.
        let (p, g) = constructed();
        // Split into two "images" to check streaming gives the pooled counts.
        let mut acc = SweepAccumulator::new(EmptyPolicy::Exclude);
        acc.push(&p[..120], &g[..120]).expect("same length");
        acc.push(&p[120..], &g[120..]).expect("same length");
        let r = acc.report();
        let best = r.best.expect("defined");
        assert_eq!((best.index, best.threshold, best.dice), (11, 0.6, 1.0));
        let band = r.band.expect("defined");
        assert_eq!(
            (band.lo, band.hi, band.lo_index, band.hi_index),
            (0.3, 0.7, 5, 13)
        );
        assert!((band.width - 0.4).abs() < 1e-7);
        assert!((r.per_threshold[5].pooled.dice.expect("defined") - 200.0 / 204.0).abs() < 1e-12);
        assert!((r.per_threshold[0].pooled.dice.expect("defined") - 200.0 / 214.0).abs() < 1e-12);
        assert_eq!(r.per_threshold[14].pooled.dice, Some(0.0));
        assert_eq!(r.policy, EmptyPolicy::Exclude);
        assert_eq!(r.per_threshold[11].pooled.policy, EmptyPolicy::Exclude);
        // Image 2 (pixels 120..240) has no GT and, at t ≥ 0.60, no prediction: excluded.
        assert_eq!(
            r.per_threshold[11].mean_dice,
            Mean {
                value: Some(1.0),
                n: 1,
                n_excluded: 1
            }
        );
        // Tighter tolerance 0.01: 0.98039 < 0.99 → the band is only [0.60, 0.70].
        let r = acc.report_with_tolerance(0.01);
        let band = r.band.expect("defined");
        assert_eq!((band.lo, band.hi), (0.6, 0.7));
    }

    #[test]
    fn symmetric_tie_goes_to_lower_and_band_stops_at_dip() {
        // GT: 4 pixels at 0.9 and 2 at 0.48; background: 3 at 0.52, 11 at 0.
        // t ≤ 0.45: tp 6, fp 3 → 12/15 = 0.8. t = 0.50: tp 4, fp 3, fn 2 → 8/13.
        // 0.55 ≤ t ≤ 0.85: tp 4, fn 2 → 8/10 = 0.8. t ≥ 0.90: 0.
        // Ties at 0.8 closest to 0.5 are 0.45 and 0.55 → the lower, 0.45.
        // Band from 0.45: left down to 0.05; right stops at the 0.50 dip → [0.05, 0.45].
        let mut p = vec![0.9f32; 4];
        p.extend([0.48f32; 2]);
        p.extend([0.52f32; 3]);
        p.extend([0.0f32; 11]);
        let g: Vec<u8> = (0..20).map(|i| u8::from(i < 6)).collect();
        let mut acc = SweepAccumulator::new(EmptyPolicy::Exclude);
        acc.push(&p, &g).expect("same length");
        let r = acc.report();
        let best = r.best.expect("defined");
        assert_eq!((best.threshold, best.index), (0.45, 8));
        assert!((best.dice - 0.8).abs() < 1e-12);
        assert!((r.per_threshold[9].pooled.dice.expect("defined") - 8.0 / 13.0).abs() < 1e-12);
        let band = r.band.expect("defined");
        assert_eq!((band.lo, band.hi), (0.05, 0.45));
        assert!((band.width - 0.4).abs() < 1e-7);
        assert_eq!(acc.image_scores(0, 10).and_then(|s| s.dice), Some(0.8));
        assert_eq!(acc.image_scores(1, 0), None);
    }

    #[test]
    fn empty_sweeps_are_defined() {
        let r = SweepAccumulator::new(EmptyPolicy::Exclude).report();
        assert_eq!((r.n_images, r.best, r.band), (0, None, None));
        assert_eq!(r.per_threshold.len(), SWEEP_STEPS);
        // All-empty GT and all-zero probabilities: Dice undefined everywhere under Exclude,
        // 1.0 everywhere under PerfectScore (best → 0.5 by the tie rule).
        let p = [0.0f32; 9];
        let g = [false; 9];
        let mut ex = SweepAccumulator::new(EmptyPolicy::Exclude);
        ex.push(&p, &g).expect("same length");
        assert_eq!(ex.report().best, None);
        let mut pf = SweepAccumulator::new(EmptyPolicy::PerfectScore);
        pf.push(&p, &g).expect("same length");
        let r = pf.report();
        assert_eq!(r.best.map(|b| b.threshold), Some(0.5));
        assert_eq!(r.band.map(|b| (b.lo, b.hi)), Some((0.05, 0.95)));
        assert!(sweep_image(&p, &g[..3]).is_err());
        // A band asked for at an undefined or out-of-range index is None.
        let dice = [None; SWEEP_STEPS];
        assert_eq!(stable_band(&dice, 3, 0.02), None);
        assert_eq!(
            stable_band(&[Some(1.0); SWEEP_STEPS], SWEEP_STEPS, 0.02),
            None
        );
    }
}
