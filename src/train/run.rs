//! The training loop: a hand-written epoch/step loop on any Burn device, with
//! validation after each epoch, best and last checkpoints, exact resume, cooperative
//! pause and cancel, and typed events. No UI types.
//!
//! Determinism: the epoch's shuffle and each sample's augmentation come from named
//! streams of the seed (`shuffle-{epoch}`, `augment-{epoch}-{index}`), so a run resumed
//! at step `k` draws exactly what the uninterrupted run drew; model, optimiser state
//! and BN statistics are saved bit-exactly in f32.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use burn::module::Module as _;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::augment::augment;
use super::config::{AugmentationSet, InitWeights, OptimizerConfig, Selection, TrainConfig};
use super::event::{CheckpointKind, TrainEvent};
use super::source::SampleSource;
use super::val_scores::{ValDatasets, ValScores, ValTally};
use crate::backend::ComputeDevice;
use crate::fsutil::{read_json, write_json};
use crate::loss::bce_dice_loss;
use crate::model::{CheckpointMeta, CmuNext, Variant, load_model, save_checkpoint};
use crate::rng::SplitMix64;

/// File names inside a run folder.
pub mod files {
    /// The training configuration and data provenance.
    pub const CONFIG: &str = "config.json";
    /// Resumable loop state.
    pub const STATE: &str = "state.json";
    /// Checkpoint of the best epoch by val IoU.
    pub const BEST: &str = "model_best.safetensors";
    /// Checkpoint of the latest state.
    pub const LAST: &str = "model_last.safetensors";
    /// Optimiser state belonging to [`LAST`].
    pub const OPTIMIZER: &str = "optimizer_last.bpk";
    /// Per-step curve.
    pub const STEPS_CSV: &str = "steps.csv";
    /// Per-epoch curve.
    pub const EPOCHS_CSV: &str = "epochs.csv";
}

/// Pause and cancel requests from another thread; checked between steps.
///
/// A step allowance ([`TrainControl::limit_steps`]) makes the loop wait before each
/// step until [`TrainControl::allow_steps`] grants one: single-stepping for debugging,
/// and deterministic tests of anything that watches a run.
#[derive(Debug)]
pub struct TrainControl {
    cancel: AtomicBool,
    pause: AtomicBool,
    /// Steps still allowed; `usize::MAX` means no limit.
    allowance: AtomicUsize,
}

impl Default for TrainControl {
    fn default() -> Self {
        Self {
            cancel: AtomicBool::new(false),
            pause: AtomicBool::new(false),
            allowance: AtomicUsize::new(usize::MAX),
        }
    }
}

impl TrainControl {
    /// Asks the run to stop after the current step (it saves a resumable checkpoint).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
    /// Pauses (`true`) or continues (`false`) the run between steps.
    pub fn set_paused(&self, paused: bool) {
        self.pause.store(paused, Ordering::SeqCst);
    }
    /// Whether a stop was requested.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
    /// Whether a pause is requested.
    pub fn is_paused(&self) -> bool {
        self.pause.load(Ordering::SeqCst)
    }
    /// Runs only `steps` more steps, then waits for [`Self::allow_steps`]; `None` lifts the limit.
    pub fn limit_steps(&self, steps: Option<usize>) {
        self.allowance
            .store(steps.unwrap_or(usize::MAX), Ordering::SeqCst);
    }
    /// Allows `steps` more steps under a limit (no effect without one).
    pub fn allow_steps(&self, steps: usize) {
        let _ = self
            .allowance
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |a| {
                (a != usize::MAX).then(|| a.saturating_add(steps).min(usize::MAX - 1))
            });
    }
    /// Waits until a step is allowed (or a cancel), then takes it. Returns false on cancel.
    fn take_step(&self) -> bool {
        loop {
            if self.is_cancelled() {
                return false;
            }
            let taken =
                self.allowance
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |a| match a {
                        usize::MAX => Some(a),
                        0 => None,
                        _ => Some(a - 1),
                    });
            if taken.is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Metrics of one validated epoch, as kept in `state.json` and `epochs.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    #[serde(deserialize_with = "crate::fsutil::f64_or_nan")]
    pub train_loss: f64,
    /// Mean validation loss.
    #[serde(deserialize_with = "crate::fsutil::f64_or_nan")]
    pub val_loss: f64,
    /// Pooled validation IoU at 0.5.
    #[serde(deserialize_with = "crate::fsutil::f64_or_nan")]
    pub val_iou: f64,
    /// Pooled validation Dice at 0.5.
    #[serde(deserialize_with = "crate::fsutil::f64_or_nan")]
    pub val_dice: f64,
    /// Mean per-image validation Dice (both-empty images excluded).
    #[serde(deserialize_with = "crate::fsutil::f64_or_nan")]
    pub val_dice_per_image: f64,
    /// Pooled validation IoU of each dataset (by name), when the validation set has several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub val_iou_per_dataset: Vec<(String, f64)>,
    /// Learning rate of the epoch's last step.
    #[serde(deserialize_with = "crate::fsutil::f64_or_nan")]
    pub lr: f64,
    /// Wall seconds of the epoch (training and validation).
    #[serde(deserialize_with = "crate::fsutil::f64_or_nan")]
    pub seconds: f64,
}

/// The resumable loop state (`state.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Next global step to run.
    pub next_step: usize,
    /// Sum of the current epoch's step losses so far.
    #[serde(deserialize_with = "crate::fsutil::f64_or_nan")]
    pub epoch_loss_sum: f64,
    /// Steps counted in `epoch_loss_sum`.
    pub epoch_loss_steps: usize,
    /// Best selection score so far: pooled val IoU, or the mean of per-dataset val IoU
    /// (the configuration's [`Selection`]).
    #[serde(deserialize_with = "crate::fsutil::f64_or_nan")]
    pub best_val_iou: f64,
    /// Epoch of that best.
    pub best_epoch: Option<usize>,
    /// Whether all epochs ran.
    pub finished: bool,
    /// Validated epochs.
    pub history: Vec<EpochRecord>,
    /// Training and validation samples the run started with (absent in older runs):
    /// a resumed run must see the same, or its step and epoch numbers no longer agree.
    #[serde(default)]
    pub samples: Option<[usize; 2]>,
}

/// How a run ended without error.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainOutcome {
    /// All epochs ran.
    Finished {
        /// The final state.
        state: RunState,
    },
    /// Stopped on request; resume runs from `state.next_step`.
    Cancelled {
        /// The saved state.
        state: RunState,
    },
}

/// Run-folder JSON written at start: the configuration and what the data was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The training configuration.
    pub train: TrainConfig,
    /// Free-form description of the data (paths, split and content hashes).
    pub data: serde_json::Value,
}

/// Trains (or resumes, when `run_dir` holds a started run and `resume` is set).
///
/// Events go to `on_event` as they happen. Errors (unreadable samples, a NaN loss,
/// I/O) stop the run after a `Failed` event; the last good checkpoint is kept.
pub fn train(
    run: &RunConfig,
    train_set: &dyn SampleSource,
    val_set: &dyn SampleSource,
    run_dir: &Path,
    device: &ComputeDevice,
    control: &TrainControl,
    resume: bool,
    on_event: &mut dyn FnMut(TrainEvent),
) -> anyhow::Result<TrainOutcome> {
    let result = train_inner(
        run, train_set, val_set, run_dir, device, control, resume, on_event,
    );
    if let Err(err) = &result {
        on_event(TrainEvent::Failed {
            message: format!("{err:#}"),
        });
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn train_inner(
    run: &RunConfig,
    train_set: &dyn SampleSource,
    val_set: &dyn SampleSource,
    run_dir: &Path,
    compute: &ComputeDevice,
    control: &TrainControl,
    resume: bool,
    on_event: &mut dyn FnMut(TrainEvent),
) -> anyhow::Result<TrainOutcome> {
    let config = &run.train;
    config.validate().map_err(anyhow::Error::msg)?;
    check_sources(config, train_set, val_set)?;
    let steps_per_epoch = train_set.len().div_ceil(config.batch_size);
    let total_steps = steps_per_epoch * config.epochs;
    let device = compute.device.clone().autodiff();
    let meta = CheckpointMeta::new(config.variant.config(), config.input.clone());

    let (mut model, mut optim, mut state) = if resume {
        resume_from(run, run_dir, &device)?
    } else {
        start_fresh(run, run_dir, &device)?
    };
    let samples = [train_set.len(), val_set.len()];
    match state.samples {
        None => state.samples = Some(samples),
        Some(started) if started != samples => bail!(
            "the run in {} started with {} training and {} validation samples, but {} and {} can be read              now; resume needs the data it started with (see the files reported above)",
            run_dir.display(),
            started[0],
            started[1],
            samples[0],
            samples[1]
        ),
        Some(_) => {}
    }
    on_event(TrainEvent::Started {
        run_dir: run_dir.to_path_buf(),
        steps_per_epoch,
        total_steps,
        start_step: state.next_step,
        device: compute.reason.clone(),
    });
    if state.finished || state.next_step >= total_steps {
        on_event(TrainEvent::Warning {
            message: "this run has already finished all its epochs".into(),
        });
        return Ok(TrainOutcome::Finished { state });
    }

    if resume {
        // A crash after the last save may have left rows past the resume point.
        truncate_csv(&run_dir.join(files::STEPS_CSV), state.next_step)?;
        truncate_csv(&run_dir.join(files::EPOCHS_CSV), state.history.len())?;
    }
    let mut steps_csv = CsvAppender::open(&run_dir.join(files::STEPS_CSV), "step,epoch,loss,lr")?;
    // Per-dataset columns only for runs selected on them (older runs resume with the
    // header they have), after the fixed columns, which readers expect first.
    let per_dataset_columns = config.selection == Selection::MeanDatasetIou;
    let val_datasets = ValDatasets::of(val_set);
    if per_dataset_columns && !val_datasets.without_foreground.is_empty() {
        on_event(TrainEvent::Warning {
            message: format!(
                "no foreground in the validation masks of {}: left out of the per-dataset selection score{}",
                val_datasets.without_foreground.join(", "),
                if val_datasets.scored.is_empty() {
                    " (fewer than two datasets remain: pooled val IoU decides)"
                } else {
                    ""
                }
            ),
        });
    }
    let column_datasets: &[String] = if per_dataset_columns {
        &val_datasets.scored
    } else {
        &[]
    };
    let per_dataset_header: String = column_datasets
        .iter()
        .map(|d| format!(",val_iou[{d}]"))
        .collect();
    let mut epochs_csv = CsvAppender::open(
        &run_dir.join(files::EPOCHS_CSV),
        &format!(
            "epoch,train_loss,val_loss,val_iou,val_dice,val_dice_per_image,lr,seconds{per_dataset_header}"
        ),
    )?;
    let mut throughput = Throughput::new();
    let mut epoch_start = Instant::now();
    let mut order = epoch_order(
        config.seed,
        state.next_step / steps_per_epoch,
        train_set.len(),
    );
    let mut lr = config.lr_at(state.next_step, total_steps);

    while state.next_step < total_steps {
        if !control.take_step() {
            save_last(&model, &optim, &state, &meta, run_dir, on_event)?;
            on_event(TrainEvent::Cancelled {
                next_step: state.next_step,
            });
            return Ok(TrainOutcome::Cancelled { state });
        }
        let step = state.next_step;
        let (epoch, position) = (step / steps_per_epoch, step % steps_per_epoch);
        if position == 0 && step > 0 {
            order = epoch_order(config.seed, epoch, train_set.len());
        }
        let batch_indices = &order
            [position * config.batch_size..((position + 1) * config.batch_size).min(order.len())];
        let (images, masks) = load_batch(
            train_set,
            batch_indices,
            config.augment.then_some(EpochAugmentation {
                seed: config.seed,
                epoch,
                set: config.augmentation,
            }),
            &device,
        )?;

        let logits = model.forward(images);
        let loss = bce_dice_loss(logits, masks);
        let loss_value = scalar(loss.clone())?;
        if !loss_value.is_finite() {
            bail!(
                "the training loss became {loss_value} at step {step} (epoch {epoch}); the run was stopped and \
                 the last good checkpoint kept in {} — try a lower learning rate",
                run_dir.display()
            );
        }
        lr = config.lr_at(step, total_steps);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(lr, model, grads);

        state.next_step += 1;
        state.epoch_loss_sum += loss_value;
        state.epoch_loss_steps += 1;
        steps_csv.line(&format!("{step},{epoch},{loss_value},{lr}"))?;
        let rate = throughput.record(batch_indices.len());
        let eta = if rate > 0.0 {
            (total_steps - state.next_step) as f64 * config.batch_size as f64 / rate
        } else {
            f64::NAN
        };
        on_event(TrainEvent::Step {
            epoch,
            step,
            loss: loss_value,
            lr,
            images_per_sec: rate,
            eta_secs: eta,
        });

        if state.next_step % steps_per_epoch == 0 {
            let (val_loss, val) = validate(
                &model.valid(),
                val_set,
                &val_datasets.scored,
                config.batch_size,
                &compute.device,
            )?;
            let train_loss = state.epoch_loss_sum / state.epoch_loss_steps.max(1) as f64;
            let score = val.selection_score(config.selection);
            let best = state.best_epoch.is_none() || score > state.best_val_iou;
            let record = EpochRecord {
                epoch,
                train_loss,
                val_loss,
                val_iou: val.iou,
                val_dice: val.dice,
                val_dice_per_image: val.dice_per_image,
                val_iou_per_dataset: val.per_dataset.clone(),
                lr,
                seconds: epoch_start.elapsed().as_secs_f64(),
            };
            let per_dataset: String = if per_dataset_columns {
                val.per_dataset
                    .iter()
                    .map(|(_, iou)| format!(",{iou}"))
                    .collect()
            } else {
                String::new()
            };
            epochs_csv.line(&format!(
                "{epoch},{train_loss},{val_loss},{},{},{},{lr},{:.3}{per_dataset}",
                val.iou, val.dice, val.dice_per_image, record.seconds
            ))?;
            on_event(TrainEvent::Epoch {
                epoch,
                train_loss,
                val_loss,
                val_iou: val.iou,
                val_dice: val.dice,
                val_dice_per_image: val.dice_per_image,
                val_iou_per_dataset: val.per_dataset.clone(),
                best,
            });
            state.history.push(record);
            state.epoch_loss_sum = 0.0;
            state.epoch_loss_steps = 0;
            if best {
                state.best_val_iou = score;
                state.best_epoch = Some(epoch);
                let path = run_dir.join(files::BEST);
                let mut best_meta = meta.clone();
                best_meta.provenance = serde_json::json!({
                    "epoch": epoch,
                    "val_iou": val.iou,
                    "val_dice": val.dice,
                    "val_iou_per_dataset": val.per_dataset,
                    "selected_on": "validation split",
                    "selection": config.selection,
                    "selection_score": score,
                });
                if let Some(init) = &config.init {
                    best_meta.provenance["initialised_from"] = serde_json::json!(init);
                }
                save_checkpoint(&model, &best_meta, &path)?;
                on_event(TrainEvent::CheckpointSaved {
                    kind: CheckpointKind::Best,
                    path,
                });
            }
            state.finished = state.next_step >= total_steps;
            save_last(&model, &optim, &state, &meta, run_dir, on_event)?;
            epoch_start = Instant::now();
        } else if config.save_every_steps > 0 && state.next_step % config.save_every_steps == 0 {
            save_last(&model, &optim, &state, &meta, run_dir, on_event)?;
        }

        if control.is_paused() && !control.is_cancelled() {
            on_event(TrainEvent::Paused);
            while control.is_paused() && !control.is_cancelled() {
                std::thread::sleep(Duration::from_millis(20));
            }
            throughput = Throughput::new();
            if !control.is_cancelled() {
                on_event(TrainEvent::Continued);
            }
        }
        if control.is_cancelled() && state.next_step < total_steps {
            save_last(&model, &optim, &state, &meta, run_dir, on_event)?;
            on_event(TrainEvent::Cancelled {
                next_step: state.next_step,
            });
            return Ok(TrainOutcome::Cancelled { state });
        }
    }
    let _ = lr;
    on_event(TrainEvent::Finished {
        best_epoch: state.best_epoch.unwrap_or(0),
        best_val_iou: state.best_val_iou,
    });
    Ok(TrainOutcome::Finished { state })
}

/// Seconds one optimiser step takes for `config` on `compute`, measured on the first
/// batch of `train_set`: one warm-up step, then the median of `repeats` timed steps.
/// Nothing is saved; the estimate a user sees before starting a run.
pub fn measure_step_seconds(
    config: &TrainConfig,
    train_set: &dyn SampleSource,
    compute: &ComputeDevice,
    repeats: usize,
) -> anyhow::Result<f64> {
    anyhow::ensure!(!train_set.is_empty(), "the training split is empty");
    let device = compute.device.clone().autodiff();
    let mut model = crate::model::state_dict::init_deterministic(
        CmuNext::new(&config.variant.config(), &device)?,
        config.seed,
    );
    let mut optim = make_optimizer(&config.optimizer);
    let indices: Vec<usize> = (0..config.batch_size.min(train_set.len())).collect();
    let mut times = Vec::new();
    for i in 0..=repeats.max(1) {
        let start = Instant::now();
        let (images, masks) = load_batch(train_set, &indices, None, &device)?;
        let loss = bce_dice_loss(model.forward(images), masks);
        scalar(loss.clone())?;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(config.lr_at(0, 1), model, grads);
        if i > 0 {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn check_sources(
    config: &TrainConfig,
    train_set: &dyn SampleSource,
    val_set: &dyn SampleSource,
) -> anyhow::Result<()> {
    anyhow::ensure!(!train_set.is_empty(), "the training split is empty");
    anyhow::ensure!(
        !val_set.is_empty(),
        "the validation split is empty: the best epoch cannot be chosen"
    );
    let expected = config.variant.config().in_channels;
    for (name, s) in [("training", train_set), ("validation", val_set)] {
        anyhow::ensure!(
            s.size() == config.input.size,
            "the {name} samples are {}², the configuration says {}²",
            s.size(),
            config.input.size
        );
        anyhow::ensure!(
            s.channels() == expected,
            "the {name} samples have {} channels, the model takes {expected}",
            s.channels()
        );
    }
    Ok(())
}

fn start_fresh(
    run: &RunConfig,
    run_dir: &Path,
    device: &Device,
) -> anyhow::Result<(CmuNext, ModuleOptimizer, RunState)> {
    if run_dir.join(files::STATE).exists() {
        bail!(
            "{} already holds a run; resume it, or choose another output folder",
            run_dir.display()
        );
    }
    let model = match &run.train.init {
        Some(init) => load_init(init, run.train.variant, device)?,
        // Initial weights from our own seeded streams, not the backend's global RNG, so
        // the same seed gives the same network whatever else runs in the process.
        None => crate::model::state_dict::init_deterministic(
            CmuNext::new(&run.train.variant.config(), device)?,
            run.train.seed,
        ),
    };
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("cannot create the run folder {}", run_dir.display()))?;
    write_json(&run_dir.join(files::CONFIG), run)?;
    Ok((
        model,
        make_optimizer(&run.train.optimizer),
        RunState::default(),
    ))
}

/// The weights a fine-tuning run starts from, refused if the file changed since the run
/// was planned (config.json would name weights that were not used).
fn load_init(init: &InitWeights, variant: Variant, device: &Device) -> anyhow::Result<CmuNext> {
    let bytes = std::fs::read(&init.path)
        .with_context(|| format!("cannot read the initial weights {}", init.path.display()))?;
    let sha256 = crate::data::image_io::hex(&Sha256::digest(&bytes));
    if sha256 != init.sha256 {
        bail!(
            "the initial weights {} changed since the run was set up (SHA-256 {}…, recorded {}…); start a new run",
            init.path.display(),
            &sha256[..12],
            &init.sha256[..12.min(init.sha256.len())]
        );
    }
    Ok(load_model(&init.path, Some(variant), device)?.model)
}

fn resume_from(
    run: &RunConfig,
    run_dir: &Path,
    device: &Device,
) -> anyhow::Result<(CmuNext, ModuleOptimizer, RunState)> {
    let saved: RunConfig = read_json(&run_dir.join(files::CONFIG))?;
    if saved.train != run.train {
        bail!(
            "the run in {} was started with another configuration; resume with the same settings (its config.json) \
             or start a new run",
            run_dir.display()
        );
    }
    let state: RunState = read_json(&run_dir.join(files::STATE))?;
    let model = load_model(&run_dir.join(files::LAST), None, device)?.model;
    let optim = make_optimizer(&run.train.optimizer)
        .load(run_dir.join(files::OPTIMIZER))
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot read the optimiser state: {e:?}: {}",
                run_dir.join(files::OPTIMIZER).display()
            )
        })?;
    Ok((model, optim, state))
}

fn make_optimizer(config: &OptimizerConfig) -> ModuleOptimizer {
    match *config {
        OptimizerConfig::Sgd {
            momentum,
            weight_decay,
            ..
        } => SgdConfig::new()
            // PyTorch's SGD has dampening 0; Burn's default is 0.1.
            .with_momentum((momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(momentum)
                    .with_dampening(0.0)
            }))
            .with_weight_decay(
                (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32)),
            )
            .init(),
        OptimizerConfig::Adamw { weight_decay, .. } => AdamWConfig::new()
            .with_weight_decay(weight_decay as f32)
            .init(),
    }
}

fn save_last(
    model: &CmuNext,
    optim: &ModuleOptimizer,
    state: &RunState,
    meta: &CheckpointMeta,
    run_dir: &Path,
    on_event: &mut dyn FnMut(TrainEvent),
) -> anyhow::Result<()> {
    let path = run_dir.join(files::LAST);
    let mut last_meta = meta.clone();
    last_meta.provenance = serde_json::json!({ "next_step": state.next_step });
    save_checkpoint(model, &last_meta, &path)?;
    // The optimiser file is written beside, then the state that points at both: a crash
    // between the writes leaves the previous state, which the new files still extend.
    let tmp = run_dir.join(format!(".{}.tmp", files::OPTIMIZER));
    optim
        .save(&tmp)
        .map_err(|e| anyhow::anyhow!("cannot save the optimiser state: {e:?}"))?;
    let written = if tmp.exists() {
        tmp.clone()
    } else {
        with_bpk(&tmp)
    };
    std::fs::rename(&written, run_dir.join(files::OPTIMIZER))
        .context("cannot move the optimiser state into place")?;
    write_json(&run_dir.join(files::STATE), state)?;
    on_event(TrainEvent::CheckpointSaved {
        kind: CheckpointKind::Last,
        path,
    });
    Ok(())
}

fn with_bpk(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".bpk");
    PathBuf::from(p)
}

/// Sample order of `epoch`: a seeded permutation.
fn epoch_order(seed: u64, epoch: usize, len: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    SplitMix64::stream(seed, &format!("shuffle-{epoch}")).shuffle(&mut order);
    order
}

/// What augments an epoch's samples: each sample's transforms come from the stream
/// `augment-{epoch}-{index}` of the seed.
#[derive(Clone, Copy, Debug)]
struct EpochAugmentation {
    seed: u64,
    epoch: usize,
    set: AugmentationSet,
}

fn load_batch(
    source: &dyn SampleSource,
    indices: &[usize],
    augmentation: Option<EpochAugmentation>,
    device: &Device,
) -> anyhow::Result<(Tensor<4>, Tensor<4>)> {
    let (c, s) = (source.channels(), source.size());
    let mut images = Vec::with_capacity(indices.len() * c * s * s);
    let mut masks = Vec::with_capacity(indices.len() * s * s);
    for &i in indices {
        let mut sample = source
            .sample(i)
            .map_err(|e| anyhow::anyhow!("{e}: {}", source.name(i)))?;
        if let Some(a) = augmentation {
            let mut rng = SplitMix64::stream(a.seed, &format!("augment-{}-{i}", a.epoch));
            sample = augment(sample, c, s, a.set, &mut rng);
        }
        anyhow::ensure!(
            sample.image.len() == c * s * s && sample.mask.len() == s * s,
            "sample has the wrong size: {}",
            source.name(i)
        );
        images.extend_from_slice(&sample.image);
        masks.extend_from_slice(&sample.mask);
    }
    let n = indices.len();
    Ok((
        Tensor::from_data(TensorData::new(images, [n, c, s, s]), device),
        Tensor::from_data(TensorData::new(masks, [n, 1, s, s]), device),
    ))
}

/// Runs `model` (eval mode) over `set`; returns the mean loss and the scores, with each
/// of `datasets` (sorted, [`ValDatasets::scored`]) also scored on its own.
pub fn validate(
    model: &CmuNext,
    set: &dyn SampleSource,
    datasets: &[String],
    batch: usize,
    device: &Device,
) -> anyhow::Result<(f64, ValScores)> {
    let (mut loss_sum, mut seen) = (0.0, 0usize);
    let s = set.size();
    let mut tally = ValTally::new(datasets.len());
    let indices: Vec<usize> = (0..set.len()).collect();
    for chunk in indices.chunks(batch.max(1)) {
        let (images, masks) = load_batch(set, chunk, None, device)?;
        let logits = model.forward(images);
        loss_sum += scalar(bce_dice_loss(logits.clone(), masks.clone()))? * chunk.len() as f64;
        seen += chunk.len();
        let logits = read_f32(logits)?;
        let masks = read_f32(masks)?;
        for ((l, m), &index) in logits.chunks(s * s).zip(masks.chunks(s * s)).zip(chunk) {
            tally.add(l, m, datasets.binary_search(&set.dataset(index)).ok());
        }
    }
    Ok((
        loss_sum / seen.max(1) as f64,
        tally.finish(datasets.to_vec()),
    ))
}

fn scalar(t: Tensor<1>) -> anyhow::Result<f64> {
    Ok(f64::from(read_f32(t)?.first().copied().unwrap_or(f32::NAN)))
}

fn read_f32<const D: usize>(t: Tensor<D>) -> anyhow::Result<Vec<f32>> {
    let data = t
        .try_into_data()
        .map_err(|e| anyhow::anyhow!("backend error: {e:?}"))?;
    data.try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Keeps the header and the rows whose first field is below `keep_below`.
fn truncate_csv(path: &Path, keep_below: usize) -> anyhow::Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, line)| {
            *i == 0
                || line
                    .split(',')
                    .next()
                    .and_then(|f| f.parse::<usize>().ok())
                    .is_some_and(|n| n < keep_below)
        })
        .map(|(_, line)| line)
        .collect();
    crate::fsutil::write_atomic(path, format!("{}\n", kept.join("\n")).as_bytes())
        .with_context(|| format!("cannot rewrite {}", path.display()))
}

/// Appends lines to a CSV file, writing the header when the file is new.
struct CsvAppender {
    file: std::fs::File,
}

impl CsvAppender {
    fn open(path: &Path, header: &str) -> anyhow::Result<Self> {
        use std::io::Write as _;
        let exists = path.exists();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        if !exists {
            writeln!(file, "{header}")?;
        }
        Ok(Self { file })
    }

    fn line(&mut self, line: &str) -> anyhow::Result<()> {
        use std::io::Write as _;
        writeln!(self.file, "{line}")?;
        Ok(())
    }
}

/// Images per second over the last few steps.
struct Throughput {
    recent: std::collections::VecDeque<(Instant, usize)>,
}

impl Throughput {
    fn new() -> Self {
        Self {
            recent: std::collections::VecDeque::from([(Instant::now(), 0)]),
        }
    }

    fn record(&mut self, images: usize) -> f64 {
        self.recent.push_back((Instant::now(), images));
        if self.recent.len() > 11 {
            self.recent.pop_front();
        }
        let (first, _) = self.recent[0];
        let count: usize = self.recent.iter().skip(1).map(|(_, n)| n).sum();
        let secs = self
            .recent
            .back()
            .map_or(0.0, |(t, _)| t.duration_since(first).as_secs_f64());
        if secs > 0.0 { count as f64 / secs } else { 0.0 }
    }
}
