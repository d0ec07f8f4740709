//! Two models on the same images: per-image differences (A − B) of Dice and IoU with
//! paired-bootstrap 95% intervals, on all images, on the images whose ground truth has
//! foreground, and per patient when patients are known (slices of one patient are not
//! independent, so the per-patient interval is the one to trust).

use std::collections::BTreeMap;

use serde::Serialize;

use super::ImageResult;
use crate::metrics::{BootstrapConfig, MeanCi, PairedComparison, mean_ci, paired_comparison};

/// One image scored by both models.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairedImage {
    /// Source dataset.
    pub dataset: String,
    /// Sample id.
    pub id: String,
    /// Patient / case group, when known.
    pub group: Option<String>,
    /// Foreground fraction of the ground truth.
    pub gt_foreground: f64,
    /// Dice of model A and of model B (native resolution; `None` under the empty-mask policy).
    pub dice: (Option<f64>, Option<f64>),
    /// IoU of model A and of model B.
    pub iou: (Option<f64>, Option<f64>),
}

/// Mean of each model and their paired difference on one set of images: the images both
/// models score, so the two means and A − B describe the same images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparedMetric {
    /// Model A's mean with its interval, over the images both score.
    pub a: MeanCi,
    /// Model B's mean with its interval, over the same images.
    pub b: MeanCi,
    /// A − B, pairs resampled together.
    pub difference: PairedComparison,
    /// Images only one model scores (under the exclude policy, an empty GT that one model
    /// left empty and the other did not): left out of all three, counted here.
    pub scored_by_one: usize,
}

/// The comparison of model A with model B.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelComparison {
    /// Images scored by both models.
    pub n_paired: usize,
    /// Images only one model could score (a file skipped by one run), left out of every number.
    pub unpaired: Vec<String>,
    /// Dice per image, all paired images.
    pub dice: ComparedMetric,
    /// IoU per image, all paired images.
    pub iou: ComparedMetric,
    /// Dice on the images whose ground truth has foreground; `None` when there are none.
    pub dice_foreground: Option<ComparedMetric>,
    /// Dice averaged per patient first (each patient one pair); `None` unless every image has a patient.
    pub dice_per_patient: Option<ComparedMetric>,
    /// The images, in A's order.
    pub images: Vec<PairedImage>,
}

/// Pairs `a` and `b` by (dataset, id) and compares them.
pub fn compare_models(
    a: &[ImageResult],
    b: &[ImageResult],
    config: &BootstrapConfig,
) -> Result<ModelComparison, String> {
    let key = |r: &ImageResult| (r.dataset.clone(), r.id.clone());
    let b_by_key: BTreeMap<(String, String), &ImageResult> =
        b.iter().map(|r| (key(r), r)).collect();
    let a_keys: std::collections::BTreeSet<(String, String)> = a.iter().map(key).collect();
    let images: Vec<PairedImage> = a
        .iter()
        .filter_map(|ra| {
            let rb = b_by_key.get(&key(ra))?;
            Some(PairedImage {
                dataset: ra.dataset.clone(),
                id: ra.id.clone(),
                group: ra.group.clone(),
                gt_foreground: ra.gt_foreground,
                dice: (ra.native.dice, rb.native.dice),
                iou: (ra.native.iou, rb.native.iou),
            })
        })
        .collect();
    let mut unpaired: Vec<String> = a
        .iter()
        .filter(|r| !b_by_key.contains_key(&key(r)))
        .map(|r| format!("{}/{} (only A)", r.dataset, r.id))
        .collect();
    unpaired.extend(
        b.iter()
            .filter(|r| !a_keys.contains(&key(r)))
            .map(|r| format!("{}/{} (only B)", r.dataset, r.id)),
    );
    if images.is_empty() {
        return Err("the two models share no scored image".into());
    }
    let compared = |pairs: &[(Option<f64>, Option<f64>)]| -> Result<ComparedMetric, String> {
        let scored_by_one = pairs
            .iter()
            .filter(|(x, y)| x.is_some() != y.is_some())
            .count();
        let both: Vec<(Option<f64>, Option<f64>)> = pairs
            .iter()
            .copied()
            .filter(|(x, y)| x.is_some() && y.is_some())
            .collect();
        let (xs, ys): (Vec<Option<f64>>, Vec<Option<f64>>) = both.into_iter().unzip();
        let mut difference = paired_comparison(&xs, &ys, config)?;
        // Pairs neither model scores count as excluded, as before the filter.
        difference.difference.n_excluded += pairs.len() - xs.len();
        Ok(ComparedMetric {
            a: mean_ci(xs.iter().copied(), config)?,
            b: mean_ci(ys.iter().copied(), config)?,
            difference,
            scored_by_one,
        })
    };
    let dice: Vec<_> = images.iter().map(|p| p.dice).collect();
    let iou: Vec<_> = images.iter().map(|p| p.iou).collect();
    let foreground: Vec<_> = images
        .iter()
        .filter(|p| p.gt_foreground > 0.0)
        .map(|p| p.dice)
        .collect();
    let dice_per_patient = if images.iter().all(|p| p.group.is_some()) {
        let mut by_patient: BTreeMap<(String, String), Vec<(Option<f64>, Option<f64>)>> =
            BTreeMap::new();
        for p in &images {
            by_patient
                .entry((p.dataset.clone(), p.group.clone().unwrap_or_default()))
                .or_default()
                .push(p.dice);
        }
        // A patient's mean over the images both models score; a patient with none is left out.
        let means: Vec<(Option<f64>, Option<f64>)> = by_patient
            .values()
            .map(|pairs| {
                let both: Vec<(f64, f64)> =
                    pairs.iter().filter_map(|&(x, y)| Some((x?, y?))).collect();
                let n = both.len() as f64;
                if both.is_empty() {
                    (None, None)
                } else {
                    (
                        Some(both.iter().map(|p| p.0).sum::<f64>() / n),
                        Some(both.iter().map(|p| p.1).sum::<f64>() / n),
                    )
                }
            })
            .collect();
        Some(compared(&means)?)
    } else {
        None
    };
    Ok(ModelComparison {
        n_paired: images.len(),
        unpaired,
        dice: compared(&dice)?,
        iou: compared(&iou)?,
        dice_foreground: if foreground.is_empty() {
            None
        } else {
            Some(compared(&foreground)?)
        },
        dice_per_patient,
        images,
    })
}

/// A few lines for the console.
pub fn summary_text(c: &ModelComparison, name: &str) -> String {
    let ci = |m: &MeanCi, signed: bool| match (m.mean, m.lo, m.hi) {
        (Some(v), Some(lo), Some(hi)) if signed => format!("{v:+.4} [{lo:+.4}, {hi:+.4}]"),
        (Some(v), Some(lo), Some(hi)) => format!("{v:.4} [{lo:.4}, {hi:.4}]"),
        (Some(v), _, _) => format!("{v:.4}"),
        _ => "-".into(),
    };
    let line = |label: &str, m: &ComparedMetric| {
        let d = &m.difference;
        format!(
            "  {label} (n={}{}): A {}  B {}  A − B {}  (A better on {}, B on {}, ties {}){}\n",
            d.difference.n,
            super::report::few_values_warning(d.difference.n),
            ci(&m.a, false),
            ci(&m.b, false),
            ci(&d.difference, true),
            d.a_better,
            d.b_better,
            d.ties,
            match m.scored_by_one {
                0 => String::new(),
                k => format!(
                    "; {k} scored by one model only (empty GT left empty by the other), left out"
                ),
            }
        )
    };
    let mut s = format!(
        "{name}: {} images scored by both models{}\n",
        c.n_paired,
        if c.unpaired.is_empty() {
            String::new()
        } else {
            format!(", {} by one only (left out)", c.unpaired.len())
        }
    );
    s += &line("Dice per image", &c.dice);
    s += &line("IoU per image", &c.iou);
    if let Some(m) = &c.dice_foreground {
        s += &line("Dice, images with GT foreground", m);
    }
    if let Some(m) = &c.dice_per_patient {
        s += &line("Dice per patient", m);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::test_support::result;

    #[test]
    fn pairs_by_id_and_differences_are_a_minus_b() {
        // Dice = 2tp / (2tp + fp + fn). A: x 1.0, y 0.5, z (empty GT, 1 false pixel) 0.0, w both empty → None.
        let a = [
            result("x", Some("p1"), 10, 0, 0, 90),
            result("y", Some("p1"), 5, 5, 5, 85),
            result("z", Some("p2"), 0, 1, 0, 99),
            result("w", Some("p2"), 0, 0, 0, 100),
        ];
        // B in another order, with x at 0.5 and y at 1.0, z empty (None), and an image A lacks.
        let b = [
            result("y", Some("p1"), 10, 0, 0, 90),
            result("x", Some("p1"), 5, 5, 5, 85),
            result("z", Some("p2"), 0, 0, 0, 100),
            result("w", Some("p2"), 0, 0, 0, 100),
            result("v", Some("p3"), 1, 0, 0, 99),
        ];
        let c = compare_models(&a, &b, &BootstrapConfig::with_seed(3)).expect("comparable");
        assert_eq!(c.n_paired, 4);
        assert_eq!(c.unpaired, vec!["d/v (only B)".to_string()]);
        assert_eq!(
            c.images.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["x", "y", "z", "w"]
        );
        assert_eq!(c.images[0].dice, (Some(1.0), Some(0.5)));
        // Only x and y have both Dice defined: differences +0.5 and −0.5.
        assert_eq!(c.dice.difference.difference.n, 2);
        assert_eq!(c.dice.difference.difference.n_excluded, 2);
        assert!(c.dice.difference.difference.mean.expect("mean").abs() < 1e-12);
        assert_eq!(
            (
                c.dice.difference.a_better,
                c.dice.difference.b_better,
                c.dice.difference.ties
            ),
            (1, 1, 0)
        );
        // Both means are over x and y, the images both score: A (1 + 0.5) / 2, B (0.5 + 1) / 2;
        // z (A's false alarm, B empty like its GT) is scored by A only and counted apart.
        assert_eq!(
            (c.dice.a.mean, c.dice.b.mean, c.dice.a.n, c.dice.b.n),
            (Some(0.75), Some(0.75), 2, 2)
        );
        assert_eq!(c.dice.scored_by_one, 1);
        assert!(
            summary_text(&c, "d").contains("; 1 scored by one model only"),
            "{}",
            summary_text(&c, "d")
        );
        // Foreground images are x and y.
        let fg = c.dice_foreground.as_ref().expect("x and y have foreground");
        assert_eq!(fg.difference.difference.n, 2);
        // Per patient: p1 means A 0.75, B 0.75 → 0; p2 has no image both define → left out.
        let pp = c
            .dice_per_patient
            .as_ref()
            .expect("every image has a patient");
        assert_eq!(pp.difference.difference.n, 1);
        assert_eq!(pp.difference.difference.n_excluded, 1);
        assert_eq!(pp.difference.ties, 1);
        assert!(
            summary_text(&c, "d")
                .contains("Dice per patient (n=1; only 1 value: the interval means little)"),
            "{}",
            summary_text(&c, "d")
        );
    }

    #[test]
    fn a_consistent_gain_has_an_interval_above_zero() {
        // A is 0.2 better on every image (Dice 1.0 vs 0.8: tp 8, fp 2, fn 2 → 16/20).
        let a: Vec<_> = (0..12)
            .map(|i| result(&format!("i{i}"), None, 10, 0, 0, 90))
            .collect();
        let b: Vec<_> = (0..12)
            .map(|i| result(&format!("i{i}"), None, 8, 2, 2, 88))
            .collect();
        let c = compare_models(&a, &b, &BootstrapConfig::with_seed(1)).expect("comparable");
        let d = &c.dice.difference.difference;
        assert!((d.mean.expect("mean") - 0.2).abs() < 1e-12);
        assert!(
            (d.lo.expect("lo") - 0.2).abs() < 1e-12 && (d.hi.expect("hi") - 0.2).abs() < 1e-12,
            "every resample gives 0.2: {d:?}"
        );
        assert_eq!(c.dice.difference.a_better, 12);
        assert!(c.dice_per_patient.is_none(), "no patients known");
        let text = summary_text(&c, "set");
        assert!(
            text.contains("A − B +0.2000 [+0.2000, +0.2000]") && text.contains("A better on 12"),
            "{text}"
        );
    }

    #[test]
    fn disjoint_sets_are_an_error() {
        let err = compare_models(
            &[result("x", None, 1, 0, 0, 99)],
            &[result("y", None, 1, 0, 0, 99)],
            &BootstrapConfig::default(),
        )
        .expect_err("nothing shared");
        assert!(err.contains("share no scored image"), "{err}");
    }
}
