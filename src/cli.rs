//! The command line: the same engine as the window, for headless and batch work.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::backend::{self, BackendRequest};
use crate::bench::{self, BenchOptions};
use crate::convention::InputConvention;
use crate::model::{self, CheckpointMeta, Variant};
use crate::train::AugmentationSet;

/// seglens: train, inspect and honestly evaluate CMUNeXt segmentation models on CT and MRI.
/// Without a subcommand it opens the window on the bundled demo. Research use only.
#[derive(Debug, Parser)]
#[command(name = "seglens", version, about, long_about = None)]
pub struct Cli {
    /// What to do (none: open the window).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure forward (and training-step) latency of each variant per backend.
    Bench {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Timed runs per measurement, after warm-up; the median is reported.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Untimed warm-up runs per measurement.
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Square input size (a multiple of 16).
        #[arg(long, default_value_t = 256)]
        size: usize,
        /// Variants to measure (repeatable): s, base, l. Default: all three.
        #[arg(long = "variant", value_parser = parse_variant)]
        variants: Vec<Variant>,
        /// auto: CPU, plus wgpu on a real GPU; cpu: CPU only; wgpu: wgpu only, even on a software adapter.
        #[arg(long, value_enum, default_value_t = BackendRequest::Auto)]
        backend: BackendRequest,
        /// Also time a training step (batch 8, train-mode forward, BCE+Dice, backward, SGD).
        #[arg(long)]
        train: bool,
    },
    /// Show what a model file is: architecture, input convention, provenance.
    Info {
        /// A seglens checkpoint or PyTorch weights (.safetensors, .pth).
        model: PathBuf,
        /// Architecture of plain PyTorch weights (seglens checkpoints know their own).
        #[arg(long, value_parser = parse_variant)]
        variant: Option<Variant>,
    },
    /// Turn PyTorch CMUNeXt weights into a seglens checkpoint that knows its variant and input convention.
    Import {
        /// PyTorch state dict (.pth/.pt or .safetensors) under the original key names.
        weights: PathBuf,
        /// The variant the weights were trained as.
        #[arg(long, value_parser = parse_variant)]
        variant: Variant,
        /// Input size the model was trained at.
        #[arg(long, default_value_t = 256)]
        size: usize,
        /// Input normalisation it was trained with: reference (the original script, BGR and double scaling) or imagenet.
        #[arg(long, default_value = "reference", value_parser = ["reference", "imagenet", "unit"])]
        normalisation: String,
        /// Where to write the checkpoint (.safetensors).
        #[arg(long)]
        out: PathBuf,
    },
    /// List the compute devices and say which one seglens would use.
    Devices,
    /// Train a CMUNeXt on one or more datasets (several --data = MIX), or resume a run.
    Train(Box<TrainArgs>),
    /// Evaluate a model on datasets: per-image and pooled scores with 95% intervals, baselines, sweep.
    Eval(EvalArgs),
    /// Write predicted masks (0/255 PNG) and probability maps (16-bit PNG) for every image; NIfTI volumes give NIfTI volumes.
    Predict(PredictArgs),
    /// Threshold sweep and calibration of a model on a dataset.
    Sweep(EvalArgs),
    /// Compare two models on the same images: Dice and IoU differences (A − B) with paired 95% intervals.
    Compare(CompareArgs),
    /// Score a patient-level cross-validation: the runs of `train --test-fold K/N`, K = 1…N, each run's best model on the fold it never saw, pooled over all patients.
    Crossval(CrossvalArgs),
    /// Check datasets before training: pairing, unreadable files, duplicates and patient leakage across a split, class balance.
    Audit {
        /// Dataset folders (NAME/images + NAME/masks) or single files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Seed of the random 70/30 split the leakage checks use.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

/// Options of `seglens train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Dataset folder (NAME/images + NAME/masks); repeat for a MIX of datasets.
    #[arg(long = "data", required_unless_present = "resume")]
    pub data: Vec<PathBuf>,
    /// CMUNeXt variant: s, base or l.
    #[arg(long, value_parser = parse_variant, default_value = "s")]
    pub variant: Variant,
    /// Square input size (a multiple of 16); images are resized to it.
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// Epochs (the original code trains 300, the study 250).
    #[arg(long, default_value_t = 300)]
    pub epochs: usize,
    /// Images per step (the recipe: 8).
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// The run folder to create (config, split, curves, checkpoints, report).
    #[arg(long, required_unless_present = "resume")]
    pub out: Option<PathBuf>,
    /// Seed of initialisation, split, shuffling and augmentation (the recipe: 41).
    #[arg(long, default_value_t = 41)]
    pub seed: u64,
    /// Use this saved split (split.json of an earlier run) instead of making one.
    #[arg(long)]
    pub split: Option<PathBuf>,
    /// Resume the run in this folder from its last checkpoint; every option but --backend and --threads comes from its config.
    // Everything but the device and threads comes from the run's config: refuse the rest
    // rather than ignore it silently.
    #[arg(long, conflicts_with_all = [
        "data", "variant", "size", "epochs", "batch_size", "out", "seed", "split", "optimizer", "lr",
        "val_fraction", "test_fraction", "group_regex", "no_grouping", "test_site", "site_regex", "test_fold",
        "no_augment", "augmentation", "normalisation", "save_every", "init",
    ])]
    pub resume: Option<PathBuf>,
    /// Optimiser: sgd (the recipe: momentum 0.9, weight decay 1e-4, poly schedule) or adamw.
    #[arg(long, default_value = "sgd", value_parser = ["sgd", "adamw"])]
    pub optimizer: String,
    /// Base learning rate (default 0.01 for sgd, 0.001 for adamw).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Fraction of all samples for validation, which picks the best epoch; whole patients are taken until it is reached, so it may be exceeded by up to one patient. With --test-fold it comes out of the other folds.
    #[arg(long, default_value_t = 0.3)]
    pub val_fraction: f64,
    /// Fraction held out for testing; the headline is reported on it (recommended, e.g. 0.15).
    #[arg(long, default_value_t = 0.0)]
    pub test_fraction: f64,
    /// Regular expression whose first capture group (or whole match) is the patient key of a file stem.
    #[arg(long)]
    pub group_regex: Option<String>,
    /// Split by image, not by patient, even when patient keys can be found.
    #[arg(long)]
    pub no_grouping: bool,
    /// Leave one site out: every image of this site (e.g. DU in lgg-flair-mri's TCGA_DU_… names) is the test set; needs --test-fraction 0
    #[arg(long)]
    pub test_site: Option<String>,
    /// Cross-validation: K/N deals each dataset's patients (or images, without grouping) into N folds of near-equal size and holds fold K (from 1) out as the test set; run K = 1..N with the same seed for a patient-level cross-validation. Needs --test-fraction 0.
    #[arg(long, value_name = "K/N", value_parser = crate::data::split::TestFold::parse, conflicts_with_all = ["test_site", "split"])]
    pub test_fold: Option<crate::data::split::TestFold>,
    /// Regular expression whose first capture group is a file stem's site (default: the TCGA institution code)
    #[arg(long, default_value = crate::data::split::TCGA_SITE_PATTERN)]
    pub site_regex: String,
    /// Train without augmentation.
    #[arg(long)]
    pub no_augment: bool,
    /// Which augmentations: recipe (rot90 and flips, p = 0.5 each) or extended (the recipe's, then with p = 0.5 a rotation of up to ±15° and zoom of ±10%, with p = 0.5 a contrast/brightness change of ±10% per channel, and with p = 0.1 on 3-channel images the pre- or post-contrast channel replaced by FLAIR, as lgg-flair-mri's source fills missing sequences).
    #[arg(long, value_enum, default_value_t = AugmentationSet::Recipe, conflicts_with = "no_augment")]
    pub augmentation: AugmentationSet,
    /// Input normalisation: imagenet (default), unit ([0,1]), per-image (each channel of each image to mean 0, sd 1 over its non-zero pixels: for MR, whose intensities differ between scanners) or reference (the original script: BGR, divided by 255 twice).
    #[arg(long, default_value = "imagenet", value_parser = ["imagenet", "unit", "per-image", "reference"])]
    pub normalisation: String,
    /// Compute device: auto (a real GPU if present, else CPU), cpu or wgpu.
    #[arg(long, value_enum, default_value_t = BackendRequest::Auto)]
    pub backend: BackendRequest,
    /// CPU threads for decoding and the CPU backend (default: all but one).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Also save a resumable checkpoint every N steps (0: at epoch ends and on stop only).
    #[arg(long, default_value_t = 0)]
    pub save_every: usize,
    /// Start from these weights instead of a seeded random initialisation (fine-tuning): a seglens checkpoint, e.g. a bundled model, or PyTorch weights of --variant. A checkpoint must be of --variant and trained with --normalisation; config.json records its path and SHA-256.
    #[arg(long, value_name = "CKPT")]
    pub init: Option<PathBuf>,
}

/// The options shared by everything that scores a model on datasets (eval, sweep, compare).
#[derive(Debug, clap::Args)]
pub struct ScoringArgs {
    /// Dataset folder (repeatable). eval and sweep report each dataset on its own (in OUT/<dataset>/ when there are several, all listed in OUT/summary.json); compare reports each and all together.
    #[arg(long = "data", required = true)]
    pub data: Vec<PathBuf>,
    /// A saved split (split.json); with --split-set, only that set's images are scored.
    #[arg(long, requires = "split_set")]
    pub split: Option<PathBuf>,
    /// Which set of --split to score: train, val or test.
    #[arg(long, value_parser = ["train", "val", "test"], requires = "split")]
    pub split_set: Option<String>,
    #[command(flatten)]
    pub settings: ScoreSettings,
}

/// How a model is scored (eval, sweep, compare, crossval): threshold, empty-mask policy,
/// device, bootstrap seed, test-time augmentation, threads.
#[derive(Debug, clap::Args)]
pub struct ScoreSettings {
    /// Foreground where the probability is above this.
    #[arg(long, default_value_t = 0.5, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub threshold: f32,
    /// Per-image score when GT and prediction are both empty: exclude (default; left out) or perfect (1).
    #[arg(long, default_value = "exclude", value_parser = ["exclude", "perfect"])]
    pub empty: String,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = BackendRequest::Auto)]
    pub backend: BackendRequest,
    /// Seed of the bootstrap intervals.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Flip test-time augmentation: average the model over the image and its left–right,
    /// up–down and double flips (4× the time). Reports say when it was on.
    #[arg(long)]
    pub tta: bool,
    /// CPU threads for decoding, scoring and the CPU backend (default: all but one).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Options of `seglens eval` and `seglens sweep`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// A seglens checkpoint, or PyTorch weights with --variant.
    #[arg(long)]
    pub model: PathBuf,
    /// Architecture of plain PyTorch weights.
    #[arg(long, value_parser = parse_variant)]
    pub variant: Option<Variant>,
    /// Output folder: summary.json, and per dataset a folder with report.json, per_image.csv and (for sweep) sweep.csv.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub scoring: ScoringArgs,
}

/// Options of `seglens compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Model A: a seglens checkpoint, or PyTorch weights with --variant.
    #[arg(long)]
    pub model_a: PathBuf,
    /// Model B, scored on the same images; differences are A − B.
    #[arg(long)]
    pub model_b: PathBuf,
    /// Architecture of plain PyTorch weights (both models).
    #[arg(long, value_parser = parse_variant)]
    pub variant: Option<Variant>,
    /// Output folder: compare.json (everything) and compare.csv (one row per image).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub scoring: ScoringArgs,
}

/// Options of `seglens crossval`.
#[derive(Debug, clap::Args)]
pub struct CrossvalArgs {
    /// The run folders of one cross-validation, one per fold (train --test-fold K/N with otherwise the same settings).
    #[arg(required = true, value_name = "RUN_DIR")]
    pub runs: Vec<PathBuf>,
    /// Output folder: crossval.json (per fold, pooled, per patient), crossval.csv (one row per image with its fold), report.json and per_image.csv of the pooled images, and fold-K/ with each fold's own evaluation.
    #[arg(long)]
    pub out: PathBuf,
    /// Dataset folders, when the data has moved since training (default: the folders the runs recorded).
    #[arg(long = "data")]
    pub data: Vec<PathBuf>,
    #[command(flatten)]
    pub settings: ScoreSettings,
}

/// Options of `seglens predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// A seglens checkpoint, or PyTorch weights with --variant.
    #[arg(long)]
    pub model: PathBuf,
    /// Architecture of plain PyTorch weights.
    #[arg(long, value_parser = parse_variant)]
    pub variant: Option<Variant>,
    /// A dataset folder, a folder of images and/or NIfTI volumes, one image, or one NIfTI volume (.nii, .nii.gz).
    #[arg(long)]
    pub data: PathBuf,
    /// Output folder (masks/ and probabilities/ are created in it). Images give PNGs; a NIfTI
    /// volume gives a uint8 label volume and a float32 probability volume with the input's
    /// header (same grid, spacing and orientation), named like the input.
    #[arg(long)]
    pub out: PathBuf,
    /// Foreground where the probability is above this.
    #[arg(long, default_value_t = 0.5, value_parser = parse_threshold, allow_negative_numbers = true)]
    pub threshold: f32,
    /// How to read NIfTI values, which the format does not label: ct = Hounsfield units
    /// (the model's CT window applies); mr or other = each slice scaled by its own range.
    #[arg(long, value_parser = ["ct", "mr", "other"])]
    pub nifti_modality: Option<String>,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = BackendRequest::Auto)]
    pub backend: BackendRequest,
    /// Flip test-time augmentation (mean over the image and its three flips; 4× the time).
    #[arg(long)]
    pub tta: bool,
    /// CPU threads for decoding and the CPU backend (default: all but one).
    #[arg(long)]
    pub threads: Option<usize>,
}

fn parse_variant(s: &str) -> Result<Variant, String> {
    s.parse()
}

/// A probability threshold: strictly between 0 and 1 (0 or 1 would mark every or no pixel).
fn parse_threshold(s: &str) -> Result<f32, String> {
    let t: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if t > 0.0 && t < 1.0 {
        Ok(t)
    } else {
        Err(format!(
            "{s} is not a probability threshold strictly between 0 and 1"
        ))
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let Some(command) = cli.command else {
        let backend = std::sync::Arc::new(crate::app::real_backend::RealBackend::new(
            BackendRequest::Auto,
        ));
        return crate::app::run_native(backend)
            .map_err(|e| anyhow::anyhow!("the window failed: {e}"));
    };
    match command {
        Command::Bench {
            json,
            runs,
            warmup,
            size,
            variants,
            backend,
            train,
        } => {
            let variants = if variants.is_empty() {
                Variant::ALL.to_vec()
            } else {
                variants
            };
            let report = bench::run(&BenchOptions {
                runs,
                warmup,
                size,
                variants,
                backend,
                train,
                train_batch: 8,
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", bench::table(&report));
            }
        }
        Command::Info { model, variant } => {
            let device = burn::tensor::Device::flex();
            let loaded = model::load_model(&model, variant, &device)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "file": model,
                    "architecture": loaded.meta.architecture_name(),
                    "origin": format!("{:?}", loaded.origin),
                    "trainable_params": loaded.meta.config.trainable_params(),
                    "config": loaded.meta.config,
                    "input": loaded.meta.input,
                    "provenance": loaded.meta.provenance,
                }))?
            );
        }
        Command::Import {
            weights,
            variant,
            size,
            normalisation,
            out,
        } => {
            let device = burn::tensor::Device::flex();
            let loaded = model::load_model(&weights, Some(variant), &device)?;
            let mut input = InputConvention::reference();
            input.size = size;
            if normalisation != "reference" {
                input = InputConvention::default_for_size(size);
                if normalisation == "unit" {
                    input.normalisation = crate::convention::Normalisation::Unit;
                }
            }
            let mut meta = CheckpointMeta::new(variant.config(), input);
            meta.provenance = serde_json::json!({ "imported_from": weights });
            model::save_checkpoint(&loaded.model, &meta, &out)
                .with_context(|| format!("importing {}", weights.display()))?;
            println!(
                "wrote {} ({variant}, {} tensors)",
                out.display(),
                model::StateDict::from_model(&loaded.model)
                    .map_err(anyhow::Error::msg)?
                    .tensors
                    .len()
            );
        }
        Command::Devices => {
            let adapters = backend::wgpu_adapters();
            if adapters.is_empty() {
                println!("no wgpu adapters");
            }
            for a in &adapters {
                println!(
                    "wgpu adapter: {} ({}){}",
                    a.name,
                    a.api,
                    if a.is_software { ", software" } else { "" }
                );
            }
            let chosen = backend::select(BackendRequest::Auto).map_err(anyhow::Error::msg)?;
            println!("seglens would use: {}", chosen.reason);
        }
        Command::Train(args) => crate::commands::train::run(*args)?,
        Command::Eval(args) => crate::commands::eval::run(args, false)?,
        Command::Sweep(args) => crate::commands::eval::run(args, true)?,
        Command::Predict(args) => crate::commands::predict::run(args)?,
        Command::Compare(args) => crate::commands::compare::run(args)?,
        Command::Crossval(args) => crate::commands::crossval::run(args)?,
        Command::Audit { paths, json, seed } => {
            let status = crate::data::audit_text::audit_cli(&paths, json, seed);
            if status != 0 {
                std::process::exit(status);
            }
        }
    }
    Ok(())
}
