//! Training configuration: the original recipe by default, every knob explicit and
//! serialised into the run folder so a result can be traced and repeated.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::convention::InputConvention;
use crate::model::Variant;

/// The optimiser and its hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OptimizerConfig {
    /// SGD with (PyTorch-style, dampening 0) momentum and coupled L2 weight decay.
    Sgd {
        /// Base learning rate.
        lr: f64,
        /// Momentum factor.
        momentum: f64,
        /// L2 penalty, applied to every parameter (BN and biases included), as the reference.
        weight_decay: f64,
    },
    /// AdamW with decoupled weight decay.
    Adamw {
        /// Base learning rate.
        lr: f64,
        /// Decoupled weight decay.
        weight_decay: f64,
    },
}

impl OptimizerConfig {
    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerConfig::Sgd { lr, .. } | OptimizerConfig::Adamw { lr, .. } => *lr,
        }
    }
}

/// How the best epoch is chosen on the validation split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// IoU pooled over every validation pixel (the rule of runs made before the choice
    /// was recorded).
    #[default]
    PooledIou,
    /// The mean over datasets of each dataset's pooled val IoU: pooled over a MIX, the
    /// dataset with the large masks (lungs) outweighs the small ones (tumours), and an
    /// epoch that has not yet learned the tumours can win.
    MeanDatasetIou,
}

impl Selection {
    /// What the score is, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Selection::PooledIou => "val IoU",
            Selection::MeanDatasetIou => "mean of per-dataset val IoU",
        }
    }
}

/// Which train-time augmentations are drawn when augmentation is on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum AugmentationSet {
    /// The recipe's: rot90 and flips (p = 0.5 each).
    #[default]
    Recipe,
    /// The recipe's, then a small rotation (±15°) and zoom (±10%), a per-channel
    /// contrast/brightness change (±10%), and, with p = 0.1 on 3-channel images, the
    /// pre- or post-contrast channel replaced by FLAIR as lgg-flair-mri's source does for
    /// missing sequences: for small sets whose validation patients look unlike the
    /// training ones.
    Extended,
}

impl AugmentationSet {
    /// What it draws, for the window and messages.
    pub fn label(self) -> &'static str {
        match self {
            AugmentationSet::Recipe => "rot90/flip (recipe)",
            AugmentationSet::Extended => "recipe + rotate/zoom, intensity, channel copy",
        }
    }
}

/// Weights a run starts from instead of a seeded random initialisation: fine-tuning a
/// trained model (a bundled one, say) on other data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitWeights {
    /// The seglens checkpoint or PyTorch weights, as an absolute path.
    pub path: PathBuf,
    /// SHA-256 of the file when the run was planned: a run that starts later refuses a
    /// file that has changed since, so config.json names the weights really used.
    pub sha256: String,
}

/// Everything that defines a training run besides the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Which CMUNeXt.
    pub variant: Variant,
    /// Epochs to train.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Optimiser.
    pub optimizer: OptimizerConfig,
    /// Exponent of the poly schedule `lr · (1 − it/max_it)^power`.
    pub poly_power: f64,
    /// Seed of initialisation, shuffling and augmentation.
    pub seed: u64,
    /// Train-time augmentation (rot90 and flips, p = 0.5 each, as the recipe).
    pub augment: bool,
    /// Which augmentations, when `augment` is on (absent in older runs: the recipe's).
    #[serde(default)]
    pub augmentation: AugmentationSet,
    /// How images are turned into model input (also stored in every checkpoint).
    pub input: InputConvention,
    /// Also save the last checkpoint every this many steps (0: only at epoch ends and on stop).
    #[serde(default)]
    pub save_every_steps: usize,
    /// How the best epoch is chosen (absent in older runs: pooled IoU, which they used).
    #[serde(default)]
    pub selection: Selection,
    /// Start from these weights rather than the seeded initialisation (absent: random).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<InitWeights>,
}

impl TrainConfig {
    /// The original recipe (`main.py`): 256², batch 8, SGD lr 0.01 momentum 0.9 weight
    /// decay 1e-4, poly 0.9, 300 epochs, seed 41, rot90/flip augmentation, reference
    /// normalisation.
    pub fn reference_recipe(variant: Variant) -> Self {
        Self {
            variant,
            epochs: 300,
            batch_size: 8,
            optimizer: OptimizerConfig::Sgd {
                lr: 0.01,
                momentum: 0.9,
                weight_decay: 1e-4,
            },
            poly_power: 0.9,
            seed: 41,
            augment: true,
            augmentation: AugmentationSet::Recipe,
            input: InputConvention::reference(),
            save_every_steps: 0,
            selection: Selection::PooledIou,
            init: None,
        }
    }

    /// Learning rate used at 0-based optimiser step `step` of `max_steps`.
    ///
    /// The reference updates the rate *after* each step from the pre-increment counter,
    /// so steps 0 and 1 both use the base rate and step `s ≥ 1` uses
    /// `base · (1 − (s − 1)/max_steps)^power`.
    pub fn lr_at(&self, step: usize, max_steps: usize) -> f64 {
        let base = self.optimizer.lr();
        if step == 0 || max_steps == 0 {
            return base;
        }
        let progress = ((step - 1) as f64 / max_steps as f64).min(1.0);
        base * (1.0 - progress).powf(self.poly_power)
    }

    /// Checks the values a run cannot start with.
    pub fn validate(&self) -> Result<(), String> {
        if self.epochs == 0 {
            return Err("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("batch size must be at least 1".into());
        }
        if self.input.size == 0 || self.input.size % crate::model::SIZE_MULTIPLE != 0 {
            return Err(format!(
                "image size must be a positive multiple of 16, got {}",
                self.input.size
            ));
        }
        if !(self.optimizer.lr() > 0.0 && self.optimizer.lr().is_finite()) {
            return Err(format!(
                "learning rate must be positive, got {}",
                self.optimizer.lr()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poly_schedule_matches_the_reference_update_order() {
        let c = TrainConfig::reference_recipe(Variant::S);
        let max = 17_100;
        assert_eq!(c.lr_at(0, max), 0.01);
        assert_eq!(c.lr_at(1, max), 0.01);
        // Step 2 uses (1 − 1/17100)^0.9 · 0.01.
        assert!((c.lr_at(2, max) - 0.01 * (1.0f64 - 1.0 / 17_100.0).powf(0.9)).abs() < 1e-15);
        assert!(c.lr_at(max, max) > 0.0 && c.lr_at(max, max) < 1e-5);
    }

    #[test]
    fn runs_without_a_recorded_rule_keep_pooled_selection() {
        let mut json = serde_json::to_value(TrainConfig::reference_recipe(Variant::S)).unwrap();
        json.as_object_mut().unwrap().remove("selection");
        let old: TrainConfig = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(old.selection, Selection::PooledIou);
        json.as_object_mut().unwrap().remove("augmentation");
        let old: TrainConfig = serde_json::from_value(json).unwrap();
        assert_eq!(old.augmentation, AugmentationSet::Recipe);
        let mix = TrainConfig {
            selection: Selection::MeanDatasetIou,
            ..TrainConfig::reference_recipe(Variant::S)
        };
        let text = serde_json::to_string(&mix).unwrap();
        assert!(text.contains(r#""selection":"mean_dataset_iou""#), "{text}");
    }

    #[test]
    fn bad_values_are_refused() {
        let mut c = TrainConfig::reference_recipe(Variant::S);
        c.input.size = 100;
        assert!(c.validate().unwrap_err().contains("multiple of 16"));
        c.input.size = 64;
        c.batch_size = 0;
        assert!(c.validate().is_err());
    }
}
