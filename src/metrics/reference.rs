//! Reference ("repo-compatible") mode: the original CMUNeXt repository's
//! `utils/metrics.iou_score` and `utils/losses.BCEDiceLoss`, reproduced exactly,
//! bugs included, so that numbers can be compared with published ones. Owns nothing
//! else; use [`super::overlap`] for honest numbers. Plain `f32`/`f64`, no Burn.
//!
//! # What `iou_score` does, on one batch
//! * `P = sigmoid(logit) > 0.5` (strict; the sigmoid is evaluated in `f32` as PyTorch
//!   does, so a logit of exactly 0, or one within ~6e-8 of it, is background) and
//!   `T = target > 0.5`.
//! * IoU = (|P∧T| + 1e-5) / (|P∨T| + 1e-5), pooled over every pixel of the batch;
//!   dice = 2·IoU / (IoU + 1).
//! * `GT := (T == max(T))`. **Bug:** when the batch has no foreground, `max(T)` is
//!   false and GT becomes *all foreground*. SE, PC, SP, ACC and F1 are then scored
//!   against that all-foreground mask.
//! * SE = TP/(TP+FN+1e-6), PC = TP/(TP+FP+1e-6), SP = TN/(TN+FP+1e-6),
//!   ACC = (TP+TN)/#pixels, F1 = 2·SE·PC/(SE+PC+1e-6), all in `f64`.
//!
//! How these mislead: an all-foreground prediction on an empty image gets ACC = 1 and
//! F1 ≈ 1; a perfect empty prediction gets ACC = F1 = 0 but IoU = 1; missing a small
//! lesion keeps ACC near 1; smoothing makes a perfect F1 0.999999. See
//! `shared/design/cmunext.md` §4.

use serde::{Deserialize, Serialize};

use super::mask::check_same_len;

/// Smoothing of the reference IoU (`smooth = 1e-5`).
pub const REPO_IOU_SMOOTH: f64 = 1e-5;
/// Epsilon of the reference SE/PC/SP/F1 denominators.
pub const REPO_EPS: f64 = 1e-6;
/// Smoothing of the reference soft Dice in `BCEDiceLoss`.
pub const REPO_DICE_SMOOTH: f64 = 1e-5;

/// What the reference `iou_score` returns for one batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RepoIouScore {
    /// Smoothed IoU pooled over the batch.
    pub iou: f64,
    /// `2·iou/(iou+1)`.
    pub dice: f64,
    /// Sensitivity against the (possibly all-foreground) `GT`.
    pub se: f64,
    /// Precision against `GT`.
    pub pc: f64,
    /// `2·SE·PC/(SE+PC+1e-6)`.
    pub f1: f64,
    /// Specificity against `GT`.
    pub sp: f64,
    /// Pixel accuracy against `GT`.
    pub acc: f64,
}

/// The logistic sigmoid in `f32`, as PyTorch evaluates it for `f32` tensors.
pub fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The reference `iou_score(logits, target)` on one batch (any layout; every element
/// is pooled). Errors on an empty batch (the original fails on `max` of an empty
/// tensor) or when the lengths differ.
pub fn repo_iou_score(logits: &[f32], target: &[f32]) -> Result<RepoIouScore, String> {
    check_same_len(("logits", logits.len()), ("target", target.len()))?;
    if logits.is_empty() {
        return Err("reference iou_score of an empty batch is undefined".into());
    }
    let pred = |x: f32| sigmoid_f32(x) > 0.5;
    let tgt = |t: f32| t > 0.5;
    let (mut inter, mut union) = (0u64, 0u64);
    let mut any_fg = false;
    for (&x, &t) in logits.iter().zip(target) {
        let (p, t) = (pred(x), tgt(t));
        inter += u64::from(p && t);
        union += u64::from(p || t);
        any_fg |= t;
    }
    let iou = (inter as f64 + REPO_IOU_SMOOTH) / (union as f64 + REPO_IOU_SMOOTH);
    let dice = 2.0 * iou / (iou + 1.0);

    // GT = (T == max(T)): T itself when any pixel is foreground, else all true.
    let (mut tp, mut fp, mut fn_, mut tn) = (0u64, 0u64, 0u64, 0u64);
    for (&x, &t) in logits.iter().zip(target) {
        let gt = if any_fg { tgt(t) } else { true };
        match (pred(x), gt) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => tn += 1,
        }
    }
    let (tp, fp, fn_, tn) = (tp as f64, fp as f64, fn_ as f64, tn as f64);
    let se = tp / (tp + fn_ + REPO_EPS);
    let pc = tp / (tp + fp + REPO_EPS);
    let sp = tn / (tn + fp + REPO_EPS);
    let acc = (tp + tn) / logits.len() as f64;
    let f1 = 2.0 * se * pc / (se + pc + REPO_EPS);
    Ok(RepoIouScore {
        iou,
        dice,
        se,
        pc,
        f1,
        sp,
        acc,
    })
}

/// The reference `BCEDiceLoss` value, in `f64`:
/// `0.5 · mean(BCEWithLogits) + (1 − mean_n (2Σpt + 1e-5)/(Σp + Σt + 1e-5))`, `p = sigmoid`,
/// the Dice sums running over each of the `n_samples` equal, contiguous samples.
/// Errors when the lengths differ, the batch is empty, or it does not split into `n_samples`.
pub fn repo_bce_dice_loss(logits: &[f32], target: &[f32], n_samples: usize) -> Result<f64, String> {
    check_same_len(("logits", logits.len()), ("target", target.len()))?;
    if logits.is_empty() || n_samples == 0 || !logits.len().is_multiple_of(n_samples) {
        return Err(format!(
            "a batch of {} elements does not split into {n_samples} non-empty samples",
            logits.len()
        ));
    }
    // Numerically stable BCE on logits: max(x, 0) − x·t + ln(1 + e^{−|x|}).
    let bce: f64 = logits
        .iter()
        .zip(target)
        .map(|(&x, &t)| {
            let (x, t) = (f64::from(x), f64::from(t));
            x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()
        })
        .sum::<f64>()
        / logits.len() as f64;
    let per = logits.len() / n_samples;
    let dice_sum: f64 = logits
        .chunks(per)
        .zip(target.chunks(per))
        .map(|(xs, ts)| {
            let (mut pt, mut p_sum, mut t_sum) = (0.0, 0.0, 0.0);
            for (&x, &t) in xs.iter().zip(ts) {
                let p = 1.0 / (1.0 + (-f64::from(x)).exp());
                pt += p * f64::from(t);
                p_sum += p;
                t_sum += f64::from(t);
            }
            (2.0 * pt + REPO_DICE_SMOOTH) / (p_sum + t_sum + REPO_DICE_SMOOTH)
        })
        .sum();
    Ok(0.5 * bce + (1.0 - dice_sum / n_samples as f64))
}

/// The reference `AverageMeter` over batches: each batch's score weighted by its batch
/// size. With batch size 1 this is the per-image mean the CMUNeXt repo reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RepoScoreMeter {
    sum: RepoIouScore,
    count: u64,
}

impl RepoScoreMeter {
    /// Adds one batch's score with weight `batch_size`.
    pub fn update(&mut self, score: &RepoIouScore, batch_size: u64) {
        let w = batch_size as f64;
        let s = &mut self.sum;
        s.iou += score.iou * w;
        s.dice += score.dice * w;
        s.se += score.se * w;
        s.pc += score.pc * w;
        s.f1 += score.f1 * w;
        s.sp += score.sp * w;
        s.acc += score.acc * w;
        self.count += batch_size;
    }

    /// Weighted averages, `None` before any weight was added.
    pub fn average(&self) -> Option<RepoIouScore> {
        if self.count == 0 {
            return None;
        }
        let n = self.count as f64;
        let s = &self.sum;
        Some(RepoIouScore {
            iou: s.iou / n,
            dice: s.dice / n,
            se: s.se / n,
            pc: s.pc / n,
            f1: s.f1 / n,
            sp: s.sp / n,
            acc: s.acc / n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cmunext/metric_cases.safetensors"
    );
    const EXPECTED: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cmunext/metric_cases_expected.json"
    );

    /// Every tensor of the fixture as (shape, f32 data).
    fn load_fixture() -> HashMap<String, (Vec<usize>, Vec<f32>)> {
        let bytes = std::fs::read(FIXTURE).expect("fixture present");
        let st = safetensors::SafeTensors::deserialize(&bytes).expect("valid safetensors");
        st.tensors()
            .into_iter()
            .map(|(name, view)| {
                assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
                let data = view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                (name, (view.shape().to_vec(), data))
            })
            .collect()
    }

    #[test]
    fn reproduces_fixture_exactly() {
        let tensors = load_fixture();
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(EXPECTED).expect("expected json present"),
        )
        .expect("valid json");
        let cases = json["expected_repo_iou_score"]
            .as_object()
            .expect("cases object");
        assert_eq!(cases.len(), 9, "fixture cases changed");
        for (name, exp) in cases {
            let (shape, logits) = &tensors[&format!("{name}.logits")];
            let (tshape, target) = &tensors[&format!("{name}.target")];
            assert_eq!(shape, tshape);
            let got = repo_iou_score(logits, target).expect("non-empty batch");
            let tol = if name == "soft_random_logits" {
                1e-6
            } else {
                1e-9
            };
            let want = |k: &str| {
                exp[k]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{name}.{k} missing"))
            };
            for (k, v) in [
                ("iou", got.iou),
                ("dice", got.dice),
                ("SE", got.se),
                ("PC", got.pc),
                ("F1", got.f1),
                ("SP", got.sp),
                ("ACC", got.acc),
            ] {
                assert!(
                    (v - want(k)).abs() <= tol,
                    "{name}.{k}: got {v}, expected {}",
                    want(k)
                );
            }
            let loss = repo_bce_dice_loss(logits, target, shape[0]).expect("valid batch");
            let want_loss = want("bce_dice_loss");
            assert!(
                (loss - want_loss).abs() <= 1e-5,
                "{name}.loss: got {loss}, expected {want_loss}"
            );
        }
    }

    #[test]
    fn empty_target_bug_is_reproduced() {
        // 4 pixels, empty target, all-foreground prediction: IoU = 1e-5/(4 + 1e-5),
        // but GT becomes all true, so SE = PC = 4/(4 + 1e-6) and ACC = 4/4 = 1.
        let logits = [10.0f32; 4];
        let target = [0.0f32; 4];
        let s = repo_iou_score(&logits, &target).expect("non-empty");
        assert!((s.iou - 1e-5 / (4.0 + 1e-5)).abs() < 1e-15);
        assert!((s.se - 4.0 / (4.0 + 1e-6)).abs() < 1e-15);
        assert_eq!(s.acc, 1.0);
        assert_eq!(s.sp, 0.0);
        // A perfect empty prediction: IoU = 1e-5/1e-5 = 1, but ACC = 0 and F1 = 0.
        let s = repo_iou_score(&[-10.0; 4], &target).expect("non-empty");
        assert_eq!((s.iou, s.acc, s.f1), (1.0, 0.0, 0.0));
    }

    #[test]
    fn zero_logit_is_background_and_errors_are_defined() {
        assert!(sigmoid_f32(0.0) <= 0.5);
        assert!(sigmoid_f32(1e-3) > 0.5);
        // Logit 0 on a foreground pixel: TP = 0 → IoU = 1e-5/(1 + 1e-5).
        let s = repo_iou_score(&[0.0], &[1.0]).expect("non-empty");
        assert!((s.iou - 1e-5 / (1.0 + 1e-5)).abs() < 1e-15);
        assert!(repo_iou_score(&[], &[]).is_err());
        assert!(repo_iou_score(&[1.0], &[1.0, 0.0]).is_err());
        assert!(repo_bce_dice_loss(&[1.0; 3], &[1.0; 3], 2).is_err());
        assert!(repo_bce_dice_loss(&[], &[], 1).is_err());
    }

    #[test]
    fn loss_by_hand() {
        // One sample, logits [0, 0], targets [1, 0]: BCE = ln 2 per element; p = 0.5, 0.5;
        // Dice = (2·0.5 + 1e-5)/(1 + 1 + 1e-5). Loss = 0.5·ln 2 + 1 − Dice.
        let loss = repo_bce_dice_loss(&[0.0, 0.0], &[1.0, 0.0], 1).expect("valid");
        let dice = (1.0 + 1e-5) / (2.0 + 1e-5);
        assert!((loss - (0.5 * std::f64::consts::LN_2 + 1.0 - dice)).abs() < 1e-12);
    }

    #[test]
    fn meter_weights_by_batch_size() {
        // Batch of 3 with iou 0.2 and batch of 1 with iou 0.6: (0.6 + 0.6)/4 = 0.3.
        let mut m = RepoScoreMeter::default();
        assert_eq!(m.average(), None);
        m.update(
            &RepoIouScore {
                iou: 0.2,
                ..Default::default()
            },
            3,
        );
        m.update(
            &RepoIouScore {
                iou: 0.6,
                ..Default::default()
            },
            1,
        );
        let avg = m.average().expect("weights added");
        assert!((avg.iou - 0.3).abs() < 1e-12);
    }
}
