//! Setting up a run, shared by `seglens train` and the window's training panel:
//! datasets → split → run configuration ([`plan_run`], which writes nothing), the run
//! folder's first files ([`write_new_run`]), and reopening a run to resume it
//! ([`open_run`]). One code path, so a run started in one can be resumed in the other.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::config::{AugmentationSet, InitWeights, OptimizerConfig, Selection, TrainConfig};
use super::prepared::PreparedSource;
use super::run::{RunConfig, files};
use crate::convention::{ChannelLayout, InputConvention, Normalisation};
use crate::data::dataset::{Dataset, mix_samples, open_dataset};
use crate::data::grouping::Grouping;
use crate::data::scalar::Modality;
use crate::data::split::{SiteHoldout, Split, SplitConfig, TestFold, make_split};
use crate::fsutil::read_json;
use crate::model::Variant;
use crate::model::checkpoint::{CheckpointMeta, META_KEY};
use crate::model::state_dict::StateDict;

/// The split file inside a run folder.
pub const SPLIT_FILE: &str = "split.json";

/// Which optimiser a new run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerChoice {
    /// SGD, momentum 0.9, weight decay 1e-4 (the reference recipe).
    Sgd,
    /// AdamW, weight decay 1e-4.
    Adamw,
}

impl OptimizerChoice {
    /// The learning rate used when none is given.
    pub fn default_lr(self) -> f64 {
        match self {
            Self::Sgd => 0.01,
            Self::Adamw => 1e-3,
        }
    }
}

/// Everything a new run needs; the defaults are the reference recipe.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewRunRequest {
    /// Dataset folders (several = a MIX).
    pub data: Vec<PathBuf>,
    /// Network variant.
    pub variant: Variant,
    /// Square input size, a multiple of 16.
    pub size: usize,
    /// Epochs.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// Seed of initialisation, split, shuffling and augmentation.
    pub seed: u64,
    /// A saved split to reuse instead of making one.
    pub split_file: Option<PathBuf>,
    /// Optimiser.
    pub optimizer: OptimizerChoice,
    /// Base learning rate; `None` takes the optimiser's default.
    pub lr: Option<f64>,
    /// Fraction (of samples or patient groups) for validation.
    pub val_fraction: f64,
    /// Fraction held out for testing.
    pub test_fraction: f64,
    /// Patient grouping for the split.
    pub grouping: Grouping,
    /// Leave one site out: this site is the test set.
    #[serde(default)]
    pub test_site: Option<SiteHoldout>,
    /// Cross-validation: this fold of the patients is the test set.
    #[serde(default)]
    pub test_fold: Option<TestFold>,
    /// rot90/flip augmentation.
    pub augment: bool,
    /// Which augmentations, when `augment` is on.
    #[serde(default)]
    pub augmentation: AugmentationSet,
    /// Input normalisation.
    pub normalisation: Normalisation,
    /// Save a resumable checkpoint every N steps (0: at epoch ends and on stop only).
    pub save_every: usize,
    /// Start from these weights (a seglens checkpoint, or PyTorch weights of `variant`)
    /// instead of the seeded random initialisation.
    #[serde(default)]
    pub init: Option<PathBuf>,
}

impl NewRunRequest {
    /// The reference recipe (CMUNeXt-S, 256², batch 8, SGD 0.01, 300 epochs, seed 41) on `data`.
    pub fn recipe(data: Vec<PathBuf>) -> Self {
        Self {
            data,
            variant: Variant::S,
            size: 256,
            epochs: 300,
            batch_size: 8,
            seed: 41,
            split_file: None,
            optimizer: OptimizerChoice::Sgd,
            lr: None,
            val_fraction: 0.3,
            test_fraction: 0.0,
            grouping: Grouping::Default,
            test_site: None,
            test_fold: None,
            augment: true,
            augmentation: AugmentationSet::Recipe,
            normalisation: Normalisation::ImageNet,
            save_every: 0,
            init: None,
        }
    }
}

/// A run worked out from a request, before anything is written.
#[derive(Clone, Debug)]
pub struct PlannedRun {
    /// The configuration `config.json` will hold.
    pub run: RunConfig,
    /// The split.
    pub split: Split,
    /// The opened datasets.
    pub datasets: Vec<Dataset>,
    /// Samples of a given split found at other paths in the datasets (moved data).
    pub relocated: usize,
}

impl PlannedRun {
    /// Optimiser steps per epoch.
    pub fn steps_per_epoch(&self) -> usize {
        self.split
            .train
            .len()
            .div_ceil(self.run.train.batch_size.max(1))
    }

    /// Optimiser steps of the whole run.
    pub fn total_steps(&self) -> usize {
        self.steps_per_epoch() * self.run.train.epochs
    }
}

/// Opens dataset folders (made absolute, so run folders stay valid from anywhere).
/// Refuses the same folder twice, and two folders of one name: splits and reports tell
/// datasets apart by folder name.
pub fn open_datasets(paths: &[PathBuf]) -> anyhow::Result<Vec<Dataset>> {
    let mut datasets: Vec<Dataset> = Vec::with_capacity(paths.len());
    for p in paths {
        let abs = std::fs::canonicalize(p)
            .with_context(|| format!("cannot open dataset {}", p.display()))?;
        // Checked before pairing, which reads the whole folder.
        anyhow::ensure!(
            !datasets.iter().any(|d| d.root == abs),
            "the dataset {} is given twice",
            abs.display()
        );
        let ds =
            open_dataset(&abs).with_context(|| format!("cannot open dataset {}", p.display()))?;
        if let Some(other) = datasets.iter().find(|d| d.name == ds.name) {
            anyhow::bail!(
                "two datasets are named {:?} ({} and {}): splits and reports tell datasets apart by folder name, so rename one",
                ds.name,
                other.root.display(),
                ds.root.display()
            );
        }
        datasets.push(ds);
    }
    Ok(datasets)
}

/// Opens the datasets, makes (or loads) the split and builds the configuration. Writes nothing.
pub fn plan_run(request: &NewRunRequest) -> anyhow::Result<PlannedRun> {
    anyhow::ensure!(!request.data.is_empty(), "no dataset given");
    let datasets = open_datasets(&request.data)?;
    let samples = mix_samples(&datasets);
    let mut relocated = 0;
    let split = match &request.split_file {
        Some(path) => {
            let mut split = Split::load(path)
                .with_context(|| format!("cannot use the split {}", path.display()))?;
            relocated = split.relocate(&samples);
            split
        }
        None => {
            let config = SplitConfig {
                seed: request.seed,
                val_fraction: request.val_fraction,
                test_fraction: request.test_fraction,
                grouping: request.grouping.clone(),
                test_site: request.test_site.clone(),
                test_fold: request.test_fold,
            };
            make_split(&samples, &config)?
        }
    };
    // Refuse before any folder is made: a run without training or validation samples
    // cannot start, and a half-made run folder would only confuse a later one.
    let why = if request.test_site.is_some() {
        " (the held-out site may hold nearly every sample)"
    } else if request.test_fold.is_some() {
        " (with --test-fold K/N, one fold is the test set and validation takes --val-fraction of all samples from the others, in whole patients: lower --val-fraction or use more folds)"
    } else {
        " (a split keeps each patient, and each volume, on one side: few of them leave little to share out)"
    };
    anyhow::ensure!(
        !split.train.is_empty(),
        "the training split is empty{why}: {} val, {} test samples",
        split.val.len(),
        split.test.len()
    );
    anyhow::ensure!(
        !split.val.is_empty(),
        "the validation split is empty{why}: the best epoch cannot be chosen ({} train samples)",
        split.train.len()
    );
    let modality = run_modality(&datasets);
    let mut input = match request.normalisation {
        Normalisation::Reference => InputConvention {
            size: request.size,
            ..InputConvention::reference()
        },
        n @ (Normalisation::Unit | Normalisation::PerImage) => InputConvention {
            normalisation: n,
            ..InputConvention::default_for_size(request.size)
        },
        Normalisation::ImageNet => InputConvention::default_for_size(request.size),
    };
    // lgg-flair-mri-like sets store three MR sequences as RGB: not colour.
    if modality.as_deref() == Some("MR") && input.normalisation != Normalisation::Reference {
        input.channels = ChannelLayout::MultiSequence;
    }
    input.modality = modality;
    let lr = request.lr.unwrap_or(request.optimizer.default_lr());
    let optimizer = match request.optimizer {
        OptimizerChoice::Adamw => OptimizerConfig::Adamw {
            lr,
            weight_decay: 1e-4,
        },
        OptimizerChoice::Sgd => OptimizerConfig::Sgd {
            lr,
            momentum: 0.9,
            weight_decay: 1e-4,
        },
    };
    // Several datasets: choose the epoch on their mean val IoU, not on pooled pixels,
    // which the dataset with the largest masks would decide.
    let selection = if datasets.len() > 1 {
        Selection::MeanDatasetIou
    } else {
        Selection::PooledIou
    };
    let init = match &request.init {
        Some(path) => Some(init_weights(path, request.variant, &input)?),
        None => None,
    };
    let train = TrainConfig {
        variant: request.variant,
        epochs: request.epochs,
        batch_size: request.batch_size,
        optimizer,
        poly_power: 0.9,
        seed: request.seed,
        augment: request.augment,
        augmentation: request.augmentation,
        input,
        save_every_steps: request.save_every,
        selection,
        init,
    };
    train.validate().map_err(anyhow::Error::msg)?;
    let data = serde_json::json!({
        "datasets": datasets.iter().map(|d| serde_json::json!({
            "name": d.name,
            "root": d.root,
            "pairs": d.pairing.pairs.len(),
            "volume_pairs": d.pairing.volume_pairs.len(),
            "volume_slices": d.pairing.volume_slices(),
            "modality": d.modality,
        })).collect::<Vec<_>>(),
        "split_hash": split.hash,
        "split_file": SPLIT_FILE,
        "counts": { "train": split.train.len(), "val": split.val.len(), "test": split.test.len() },
    });
    Ok(PlannedRun {
        run: RunConfig { train, data },
        split,
        datasets,
        relocated,
    })
}

/// Checks that the weights at `path` can start a run of `variant` fed as `input`, and
/// records them with their hash. Reads metadata only; the tensors are loaded (and their
/// shapes checked) when the run starts.
fn init_weights(
    path: &Path,
    variant: Variant,
    input: &InputConvention,
) -> anyhow::Result<InitWeights> {
    let abs = std::fs::canonicalize(path)
        .with_context(|| format!("cannot open the initial weights {}", path.display()))?;
    let dict = StateDict::read(&abs).context("--init: these weights cannot be used")?;
    match dict.metadata.get(META_KEY) {
        Some(json) => {
            let meta: CheckpointMeta = serde_json::from_str(json)
                .with_context(|| format!("{}: its seglens metadata is not valid", abs.display()))?;
            let theirs = Variant::of_config(&meta.config);
            anyhow::ensure!(
                theirs == Some(variant),
                "{} is a {}{}, not a {} (--variant {}){}",
                abs.display(),
                meta.architecture_name(),
                theirs.map_or(String::new(), |v| format!(
                    " (--variant {})",
                    v.short_name()
                )),
                variant.paper_name(),
                variant.short_name(),
                theirs.map_or(String::new(), |v| format!(
                    ": pass --variant {}",
                    v.short_name()
                ))
            );
            // Fine-tuning with another input normalisation would start from weights that
            // expect other numbers: a silent handicap, so refuse it.
            anyhow::ensure!(
                meta.input.normalisation == input.normalisation
                    && (meta.input.channels == ChannelLayout::Bgr)
                        == (input.channels == ChannelLayout::Bgr),
                "{} was trained with {} input ({:?} channels); this run would feed it {} ({:?}): pass --normalisation {}",
                abs.display(),
                meta.input.normalisation.cli_name(),
                meta.input.channels,
                input.normalisation.cli_name(),
                input.channels,
                meta.input.normalisation.cli_name()
            );
        }
        // Plain PyTorch weights say nothing of their input; the variant at least must fit.
        None => {
            if let Some(guess) = dict.guess_variant().filter(|g| *g != variant) {
                anyhow::bail!(
                    "{} looks like {} weights, not {} (--variant {}): pass --variant {}",
                    abs.display(),
                    guess.paper_name(),
                    variant.paper_name(),
                    variant.short_name(),
                    guess.short_name()
                );
            }
        }
    }
    let bytes = std::fs::read(&abs).with_context(|| format!("cannot read {}", abs.display()))?;
    Ok(InitWeights {
        sha256: crate::data::image_io::hex(&Sha256::digest(&bytes)),
        path: abs,
    })
}

/// "CT", "MR", a DICOM code, "mixed", or `None` when unknown.
fn run_modality(datasets: &[Dataset]) -> Option<String> {
    let modalities: Vec<Option<Modality>> = datasets.iter().map(|d| d.modality.clone()).collect();
    match modalities.as_slice() {
        [Some(first), rest @ ..] if rest.iter().all(|m| m.as_ref() == Some(first)) => {
            Some(match first {
                Modality::Ct => "CT".to_string(),
                Modality::Mr => "MR".to_string(),
                Modality::Other(code) => code.clone(),
            })
        }
        [] | [None, ..] => None,
        _ => Some("mixed".to_string()),
    }
}

/// Creates the run folder `out` with its split; the loop writes `config.json` when it starts.
/// Refuses a folder that already holds a run.
pub fn write_new_run(planned: &PlannedRun, out: &Path) -> anyhow::Result<()> {
    if out.join(files::STATE).exists() || out.join(files::CONFIG).exists() {
        anyhow::bail!(
            "{} already holds a run: resume it, or choose another output folder",
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    planned.split.save(&out.join(SPLIT_FILE))?;
    Ok(())
}

/// Reads a run folder's configuration and split, to resume it.
pub fn open_run(dir: &Path) -> anyhow::Result<(RunConfig, Split)> {
    let run: RunConfig = read_json(&dir.join(files::CONFIG))
        .with_context(|| format!("{} is not a run folder", dir.display()))?;
    let split = Split::load(&dir.join(SPLIT_FILE))
        .with_context(|| format!("cannot resume {}", dir.display()))?;
    Ok((run, split))
}

/// The prepared training and validation samples of a split.
pub struct RunSources {
    /// Training samples.
    pub train: PreparedSource,
    /// Validation samples.
    pub val: PreparedSource,
}

impl RunSources {
    /// Loads and prepares the split's training and validation samples.
    pub fn load(split: &Split, convention: &InputConvention) -> Self {
        Self {
            train: PreparedSource::load(&split.train, convention),
            val: PreparedSource::load(&split.val, convention),
        }
    }

    /// Files left out of either set, with the reason.
    pub fn skipped(&self) -> impl Iterator<Item = &(PathBuf, String)> {
        self.train.skipped.iter().chain(&self.val.skipped)
    }

    /// Warnings about kept samples of either set.
    pub fn warnings(&self) -> impl Iterator<Item = &String> {
        self.train.warnings.iter().chain(&self.val.warnings)
    }
}
