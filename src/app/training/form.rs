//! The training panel's settings, pre-filled with the reference recipe, and the
//! request and run folder they make.

use std::path::{Path, PathBuf};

use crate::app::backend::NewRunRequest;
use crate::backend::BackendRequest;
use crate::convention::Normalisation;
use crate::data::grouping::Grouping;
use crate::model::Variant;
use crate::train::AugmentationSet;
use crate::train::setup::OptimizerChoice;

/// What the user set in the panel.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingForm {
    /// Dataset folders (several = a MIX).
    pub datasets: Vec<PathBuf>,
    /// The path being typed into the "add dataset" field.
    pub dataset_input: String,
    /// Network variant.
    pub variant: Variant,
    /// Square input size (multiple of 16).
    pub size: usize,
    /// Epochs.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Optimiser.
    pub optimizer: OptimizerChoice,
    /// Base learning rate.
    pub lr: f64,
    /// Train-time augmentation on or off.
    pub augment: bool,
    /// Which augmentations, when on.
    pub augmentation: AugmentationSet,
    /// How images become model input (per image suits MR, whose scale varies by scanner).
    pub normalisation: Normalisation,
    /// Seed of initialisation, split, shuffling and augmentation.
    pub seed: u64,
    /// Validation fraction (chooses the best epoch).
    pub val_fraction: f64,
    /// Held-out test fraction (the headline).
    pub test_fraction: f64,
    /// Group slices by patient when names allow it.
    pub group_by_patient: bool,
    /// Where it runs.
    pub device: BackendRequest,
    /// Resumable checkpoint every N steps (0: at epoch ends only).
    pub save_every: usize,
    /// Weights to fine-tune (a checkpoint path); empty = the seeded random initialisation.
    pub init_weights: String,
    /// Run folder name; empty = generated from the date and settings.
    pub run_name: String,
    /// Start single-stepping: each step waits for the "step" button.
    pub single_step: bool,
}

impl Default for TrainingForm {
    /// The reference recipe (../design cmunext.md §3): CMUNeXt-S, 256², batch 8,
    /// SGD 0.01 momentum 0.9 weight decay 1e-4, poly schedule, 300 epochs, seed 41.
    fn default() -> Self {
        let recipe = NewRunRequest::recipe(Vec::new());
        Self {
            datasets: Vec::new(),
            dataset_input: String::new(),
            variant: recipe.variant,
            size: recipe.size,
            epochs: recipe.epochs,
            batch_size: recipe.batch_size,
            optimizer: recipe.optimizer,
            lr: recipe.optimizer.default_lr(),
            augment: recipe.augment,
            augmentation: recipe.augmentation,
            normalisation: recipe.normalisation,
            seed: recipe.seed,
            val_fraction: recipe.val_fraction,
            test_fraction: 0.15,
            group_by_patient: true,
            device: BackendRequest::Auto,
            save_every: 50,
            init_weights: String::new(),
            run_name: String::new(),
            single_step: false,
        }
    }
}

impl TrainingForm {
    /// The run request these settings make.
    pub fn request(&self) -> NewRunRequest {
        NewRunRequest {
            data: self.datasets.clone(),
            variant: self.variant,
            size: self.size,
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            optimizer: self.optimizer,
            lr: Some(self.lr),
            val_fraction: self.val_fraction,
            test_fraction: self.test_fraction,
            grouping: if self.group_by_patient {
                Grouping::Default
            } else {
                Grouping::None
            },
            augment: self.augment,
            augmentation: self.augmentation,
            normalisation: self.normalisation,
            save_every: self.save_every,
            init: Some(self.init_weights.trim())
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            ..NewRunRequest::recipe(Vec::new())
        }
    }

    /// The run folder under `root`: the given name, or `<UTC time>-<variant>-<size>-<datasets>`.
    pub fn run_dir(&self, root: &Path, now: std::time::SystemTime) -> PathBuf {
        let name = self.run_name.trim();
        if !name.is_empty() {
            return root.join(name);
        }
        let data: Vec<String> = self
            .datasets
            .iter()
            .filter_map(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        let data = if data.is_empty() {
            "data".to_string()
        } else {
            data.join("+")
        };
        root.join(format!(
            "{}-{}-{}-{data}",
            crate::annotate::utc_stamp(now),
            self.variant.short_name(),
            self.size
        ))
    }

    /// Adds a dataset folder once.
    pub fn add_dataset(&mut self, path: PathBuf) {
        if !self.datasets.contains(&path) {
            self.datasets.push(path);
        }
    }

    /// Why the settings cannot start a run, if they cannot.
    pub fn problem(&self) -> Option<String> {
        if self.datasets.is_empty() {
            return Some("add a dataset folder (images/ + masks/)".into());
        }
        if self.size == 0 || self.size % crate::model::SIZE_MULTIPLE != 0 {
            return Some(format!(
                "the image size must be a multiple of {}",
                crate::model::SIZE_MULTIPLE
            ));
        }
        if self.val_fraction <= 0.0 || self.val_fraction + self.test_fraction >= 1.0 {
            return Some("validation must be > 0 and validation + test < 1".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_recipe_and_problems_are_named() {
        let mut f = TrainingForm::default();
        let r = f.request();
        assert_eq!(
            (r.variant, r.size, r.batch_size, r.epochs, r.seed, r.lr),
            (Variant::S, 256, 8, 300, 41, Some(0.01))
        );
        assert_eq!(r.normalisation, Normalisation::ImageNet);
        f.normalisation = Normalisation::PerImage;
        assert_eq!(
            f.request().normalisation,
            Normalisation::PerImage,
            "the panel's choice reaches the run"
        );
        assert_eq!(f.request().init, None, "seeded random weights by default");
        f.init_weights = "  /m/cmunext-s-ct-lungs.safetensors ".into();
        assert_eq!(
            f.request().init,
            Some(PathBuf::from("/m/cmunext-s-ct-lungs.safetensors"))
        );
        assert!(f.problem().unwrap().contains("dataset"));
        f.add_dataset("/d/lungs".into());
        f.add_dataset("/d/lungs".into());
        assert_eq!(f.datasets.len(), 1);
        f.size = 100;
        assert!(f.problem().unwrap().contains("multiple of 16"));
        f.size = 64;
        assert_eq!(f.problem(), None);
        f.add_dataset("/d/lgg".into());
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400);
        assert_eq!(
            f.run_dir(Path::new("/runs"), t),
            PathBuf::from("/runs/19700102T000000Z-s-64-lungs+lgg")
        );
        f.run_name = "mine".into();
        assert_eq!(
            f.run_dir(Path::new("/runs"), t),
            PathBuf::from("/runs/mine")
        );
    }
}
