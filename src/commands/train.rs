//! `seglens train`: datasets → split → prepared samples → the training loop → an
//! evaluation of the best checkpoint on the validation set (labelled as the selection
//! set) and on the test set when there is one.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::progress::{Progress, bar, duration};
use super::{open_datasets, set_threads};
use crate::fsutil::{read_json, write_json};
use crate::backend;
use crate::cli::TrainArgs;
use crate::convention::{ChannelLayout, InputConvention, Normalisation};
use crate::data::dataset::mix_samples;
use crate::data::grouping::Grouping;
use crate::data::scalar::Modality;
use crate::data::split::{Split, SplitConfig, make_split};
use crate::eval::{EvalOptions, evaluate, report};
use crate::infer::Predictor;
use crate::train::{OptimizerConfig, PreparedSource, RunConfig, TrainConfig, TrainControl, TrainEvent, TrainOutcome, files, train};

/// The split file inside a run folder.
pub const SPLIT_FILE: &str = "split.json";

/// Runs `seglens train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    set_threads(args.threads);
    let compute = backend::select(args.backend).map_err(anyhow::Error::msg)?;
    eprintln!("device: {}", compute.reason);
    let (run, split, run_dir, resume) = match &args.resume {
        Some(dir) => {
            let run: RunConfig = read_json(&dir.join(files::CONFIG))?;
            let split = Split::load(&dir.join(SPLIT_FILE)).with_context(|| format!("cannot resume {}", dir.display()))?;
            (run, split, dir.clone(), true)
        }
        None => {
            let (run, split, dir) = new_run(&args)?;
            (run, split, dir, false)
        }
    };
    eprintln!("split {}: {} train, {} val, {} test", &split.hash[..12.min(split.hash.len())], split.train.len(), split.val.len(), split.test.len());
    let convention = &run.train.input;
    let train_set = PreparedSource::load(&split.train, convention);
    let val_set = PreparedSource::load(&split.val, convention);
    for (path, why) in train_set.skipped.iter().chain(&val_set.skipped) {
        eprintln!("skipped: {why} ({})", path.display());
    }
    let warnings = train_set.warnings.len() + val_set.warnings.len();
    if warnings > 0 {
        eprintln!("{warnings} data warnings, e.g. {}", train_set.warnings.iter().chain(&val_set.warnings).next().cloned().unwrap_or_default());
    }

    let control = TrainControl::default();
    let mut progress = Progress::default();
    let mut events_log = std::fs::OpenOptions::new().create(true).append(true).open(run_dir.join("events.jsonl")).ok();
    let mut total_steps = 0;
    let outcome = train(&run, &train_set, &val_set, &run_dir, &compute, &control, resume, &mut |event| {
        if let Some(f) = events_log.as_mut() {
            use std::io::Write as _;
            let _ = serde_json::to_writer(&mut *f, &event).map(|()| writeln!(f));
        }
        match &event {
            TrainEvent::Started { total_steps: t, start_step, .. } => {
                total_steps = *t;
                progress.line(&format!("training {} steps from step {start_step} in {}", t, run_dir.display()));
            }
            TrainEvent::Step { epoch, step, loss, lr, images_per_sec, eta_secs } => progress.update(&format!(
                "{} epoch {} step {}/{total_steps} loss {loss:.4} lr {lr:.5} {images_per_sec:.1} img/s ETA {}",
                bar(step + 1, total_steps, 20),
                epoch + 1,
                step + 1,
                duration(*eta_secs)
            )),
            TrainEvent::Epoch { epoch, train_loss, val_loss, val_iou, val_dice, val_dice_per_image, best } => progress.line(&format!(
                "epoch {}: train loss {train_loss:.4}, val loss {val_loss:.4}, val IoU {val_iou:.4}, Dice {val_dice:.4} (per image {val_dice_per_image:.4}){}",
                epoch + 1,
                if *best { "  best so far" } else { "" }
            )),
            TrainEvent::Warning { message } => progress.line(&format!("warning: {message}")),
            TrainEvent::Failed { message } => progress.line(&format!("failed: {message}")),
            TrainEvent::Cancelled { next_step } => progress.line(&format!("stopped; resume with --resume {} (next step {next_step})", run_dir.display())),
            _ => {}
        }
    })?;
    if let TrainOutcome::Finished { state } = outcome {
        eprintln!("finished: best epoch {} (val IoU {:.4})", state.best_epoch.map_or(0, |e| e + 1), state.best_val_iou);
        report_best(&run_dir, &split, compute)?;
    }
    Ok(())
}

fn new_run(args: &TrainArgs) -> anyhow::Result<(RunConfig, Split, PathBuf)> {
    let Some(out) = args.out.clone() else {
        anyhow::bail!("--out is required for a new run");
    };
    if out.join(files::STATE).exists() {
        anyhow::bail!("{} already holds a run: resume it with --resume {0}, or choose another --out", out.display());
    }
    let datasets = open_datasets(&args.data)?;
    let samples = mix_samples(&datasets);
    let split = match &args.split {
        Some(path) => Split::load(path).with_context(|| format!("cannot use the split {}", path.display()))?,
        None => {
            let grouping = match (&args.group_regex, args.no_grouping) {
                (_, true) => Grouping::None,
                (Some(r), false) => Grouping::Pattern(r.clone()),
                (None, false) => Grouping::Default,
            };
            let config = SplitConfig { seed: args.seed, val_fraction: args.val_fraction, test_fraction: args.test_fraction, grouping };
            make_split(&samples, &config)?
        }
    };
    let modalities: Vec<Option<Modality>> = datasets.iter().map(|d| d.modality.clone()).collect();
    let modality = match modalities.as_slice() {
        [Some(first), rest @ ..] if rest.iter().all(|m| m.as_ref() == Some(first)) => Some(match first {
            Modality::Ct => "CT".to_string(),
            Modality::Mr => "MR".to_string(),
            Modality::Other(code) => code.clone(),
        }),
        [] => None,
        _ => Some("mixed".to_string()),
    };
    let mut input = match args.normalisation.as_str() {
        "reference" => InputConvention { size: args.size, ..InputConvention::reference() },
        "unit" => InputConvention { normalisation: Normalisation::Unit, ..InputConvention::default_for_size(args.size) },
        _ => InputConvention::default_for_size(args.size),
    };
    // lgg-flair-mri-like sets store three MR sequences as RGB: not colour.
    if modality.as_deref() == Some("MR") && input.normalisation != Normalisation::Reference {
        input.channels = ChannelLayout::MultiSequence;
    }
    input.modality = modality;
    let optimizer = match args.optimizer.as_str() {
        "adamw" => OptimizerConfig::Adamw { lr: args.lr.unwrap_or(1e-3), weight_decay: 1e-4 },
        _ => OptimizerConfig::Sgd { lr: args.lr.unwrap_or(0.01), momentum: 0.9, weight_decay: 1e-4 },
    };
    let train = TrainConfig {
        variant: args.variant,
        epochs: args.epochs,
        batch_size: args.batch_size,
        optimizer,
        poly_power: 0.9,
        seed: args.seed,
        augment: !args.no_augment,
        input,
        save_every_steps: args.save_every,
    };
    train.validate().map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    split.save(&out.join(SPLIT_FILE))?;
    let data = serde_json::json!({
        "datasets": datasets.iter().map(|d| serde_json::json!({ "name": d.name, "root": d.root, "pairs": d.pairing.pairs.len(), "modality": d.modality })).collect::<Vec<_>>(),
        "split_hash": split.hash,
        "split_file": SPLIT_FILE,
        "counts": { "train": split.train.len(), "val": split.val.len(), "test": split.test.len() },
    });
    Ok((RunConfig { train, data }, split, out))
}

/// Evaluates the best checkpoint on val (the selection set) and test; writes `report.json`.
fn report_best(run_dir: &Path, split: &Split, compute: backend::ComputeDevice) -> anyhow::Result<()> {
    let predictor = Predictor::open(&run_dir.join(files::BEST), None, compute)?;
    let options = EvalOptions::default();
    let mut summary = serde_json::Map::new();
    for (name, samples, label) in [
        ("val", &split.val, "validation set — it chose the best epoch, so this score is optimistic"),
        ("test", &split.test, "held-out test set — the headline"),
    ] {
        if samples.is_empty() {
            continue;
        }
        let (rep, images) = evaluate(&predictor, samples, &options, &mut |_, _| {})?;
        report::write_all(&run_dir.join(format!("eval_{name}")), &rep, &images)?;
        eprint!("{}", report::summary_text(&rep, &format!("best checkpoint on the {label}")));
        summary.insert(name.to_string(), serde_json::json!({ "label": label, "report": rep }));
    }
    write_json(&run_dir.join("report.json"), &summary)
}
