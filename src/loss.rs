//! The training loss of the reference recipe (`utils/losses.py`, `BCEDiceLoss`):
//! `0.5 · BCEWithLogits(mean over all elements) + (1 − mean_n Dice_n)`, with soft Dice
//! per sample `(2Σpt + 1e-5) / (Σp + Σt + 1e-5)` and `p = sigmoid(logits)`.

use burn::tensor::Tensor;
use burn::tensor::activation::{relu, sigmoid};

/// Smoothing term of the reference soft Dice.
pub const DICE_SMOOTH: f64 = 1e-5;

/// Numerically stable binary cross-entropy on logits, averaged over every element.
///
/// # Shapes
/// `logits`, `target`: `[N, C, H, W]` → scalar `[1]`
pub fn bce_with_logits(logits: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    // max(x, 0) − x·t + log(1 + e^{−|x|})
    let loss = relu(logits.clone()) - logits.clone() * target + logits.abs().neg().exp().log1p();
    loss.mean()
}

/// Soft Dice loss `1 − mean_n Dice_n` over samples.
///
/// # Shapes
/// `logits`, `target`: `[N, C, H, W]` → scalar `[1]`
pub fn soft_dice_loss(logits: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    let [n, c, h, w] = logits.dims();
    let p = sigmoid(logits).reshape([n, c * h * w]);
    let t = target.reshape([n, c * h * w]);
    let intersection = (p.clone() * t.clone()).sum_dim(1);
    let dice = (intersection.mul_scalar(2.0).add_scalar(DICE_SMOOTH))
        / (p.sum_dim(1) + t.sum_dim(1)).add_scalar(DICE_SMOOTH);
    dice.mean().neg().add_scalar(1.0)
}

/// The reference BCE+Dice loss.
///
/// # Shapes
/// `logits`, `target`: `[N, C, H, W]` → scalar `[1]`
pub fn bce_dice_loss(logits: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    bce_with_logits(logits.clone(), target.clone()).mul_scalar(0.5) + soft_dice_loss(logits, target)
}
