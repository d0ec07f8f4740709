//! `seglens eval` and `seglens sweep`: a model on datasets, each dataset reported on
//! its own (the study's cross-dataset generalisation test) and all together.

use anyhow::Context as _;

use super::progress::{Progress, bar};
use super::{open_datasets, prepare_out_dir, set_threads, write_json};
use crate::backend;
use crate::cli::{EvalArgs, ScoreSettings, ScoringArgs};
use crate::data::dataset::Dataset;
use crate::data::split::{SampleRef, Split};
use crate::eval::{EvalOptions, evaluate, report};
use crate::infer::Predictor;
use crate::metrics::{BootstrapConfig, EmptyPolicy};

/// What the console says when --tta is on.
pub(super) const TTA_LINE: &str = "flip test-time augmentation: each image is predicted 4 times (as it is and flipped) and the logits averaged";

/// Runs `seglens eval` (or `sweep` when `sweep_only`).
pub fn run(args: EvalArgs, sweep_only: bool) -> anyhow::Result<()> {
    set_threads(args.scoring.settings.threads);
    let compute = backend::select(args.scoring.settings.backend).map_err(anyhow::Error::msg)?;
    eprintln!("device: {}", compute.reason);
    let predictor = Predictor::open(&args.model, args.variant, compute)
        .with_context(|| format!("cannot open the model {}", args.model.display()))?
        .with_tta(args.scoring.settings.tta);
    eprintln!(
        "model: {} at {}², {:?}",
        predictor.loaded.meta.architecture_name(),
        predictor.input_size(),
        predictor.loaded.origin
    );
    if args.scoring.settings.tta {
        eprintln!("{TTA_LINE}");
    }
    prepare_out_dir(&args.out)?;
    let datasets = open_datasets(&args.scoring.data)?;
    let split = load_split(&args.scoring)?;
    let options = eval_options(&args.scoring.settings, true);
    let mut all = serde_json::Map::new();
    for ds in &datasets {
        let samples = select_samples(ds, split.as_ref(), args.scoring.split_set.as_deref());
        if samples.is_empty() {
            eprintln!("{}: nothing to evaluate", ds.name);
            continue;
        }
        let mut progress = Progress::default();
        let (rep, images) = evaluate(&predictor, &samples, &options, &mut |done, total| {
            progress.update(&format!(
                "{} {} {done}/{total}",
                ds.name,
                bar(done, total, 20)
            ));
        })?;
        progress.line("");
        let dir = if datasets.len() == 1 {
            args.out.clone()
        } else {
            args.out.join(&ds.name)
        };
        report::write_all(&dir, &rep, &images)?;
        if sweep_only {
            print_sweep(&ds.name, &rep);
        } else {
            print!("{}", report::summary_text(&rep, &ds.name));
        }
        all.insert(ds.name.clone(), serde_json::json!({ "n_images": rep.n_images, "dice": rep.per_image.dice, "iou": rep.per_image.iou, "pooled": rep.native.pooled, "all_background_accuracy": rep.all_background_accuracy, "best_threshold": rep.sweep.as_ref().and_then(|s| s.best.clone()), "stable_band": rep.sweep.as_ref().and_then(|s| s.band.clone()), "data_warnings": ds.pairing.warnings.iter().map(ToString::to_string).collect::<Vec<_>>() }));
    }
    anyhow::ensure!(
        !all.is_empty(),
        "nothing was evaluated: no dataset has samples to score (see above)"
    );
    std::fs::create_dir_all(&args.out)?;
    write_json(
        &args.out.join("summary.json"),
        &serde_json::json!({ "model": args.model, "tta": args.scoring.settings.tta, "datasets": all }),
    )?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// The evaluation settings the scoring options ask for.
pub(super) fn eval_options(settings: &ScoreSettings, sweep: bool) -> EvalOptions {
    EvalOptions {
        threshold: settings.threshold,
        policy: if settings.empty == "perfect" {
            EmptyPolicy::PerfectScore
        } else {
            EmptyPolicy::Exclude
        },
        bootstrap: BootstrapConfig::with_seed(settings.seed),
        batch: 4,
        sweep,
    }
}

/// The split given with --split, read and checked.
pub(super) fn load_split(scoring: &ScoringArgs) -> anyhow::Result<Option<Split>> {
    scoring
        .split
        .as_ref()
        .map(|p| Split::load(p).with_context(|| format!("cannot read the split {}", p.display())))
        .transpose()
}

/// A dataset's samples, or only those in one set (train, val, test) of a saved split, then
/// with the split's patients.
pub(super) fn select_samples(
    ds: &Dataset,
    split: Option<&Split>,
    set: Option<&str>,
) -> Vec<SampleRef> {
    let mut samples = ds.samples();
    if let (Some(split), Some(set)) = (split, set) {
        let keep: Vec<&SampleRef> = match set {
            "train" => split.train.iter().collect(),
            "val" => split.val.iter().collect(),
            _ => split.test.iter().collect(),
        };
        samples = samples
            .into_iter()
            .filter_map(|mut s| {
                let entry = keep
                    .iter()
                    .find(|k| k.dataset == s.dataset && k.id == s.id)?;
                s.group = entry.group.clone();
                Some(s)
            })
            .collect();
        eprintln!(
            "{}: {} samples in the {set} set of the split",
            ds.name,
            samples.len()
        );
        // The data may have changed since the split was made: say what cannot be scored.
        let missing: Vec<&str> = keep
            .iter()
            .filter(|k| k.dataset == ds.name)
            .filter(|k| !samples.iter().any(|s| s.id == k.id))
            .map(|k| k.id.as_str())
            .collect();
        if let Some(first) = missing.first() {
            eprintln!(
                "  warning: {} of the split's {set} samples are not in {} (first: {first}); they are not scored",
                missing.len(),
                ds.root.display()
            );
        }
        if samples.is_empty() {
            let names: std::collections::BTreeSet<&str> = split
                .sets()
                .iter()
                .flat_map(|(_, items)| items.iter().map(|s| s.dataset.as_str()))
                .collect();
            if !names.contains(ds.name.as_str()) {
                eprintln!(
                    "  the split names its datasets by folder name ({}); this folder is named {:?}",
                    names.into_iter().collect::<Vec<_>>().join(", "),
                    ds.name
                );
            }
        }
    }
    samples
}

fn print_sweep(name: &str, rep: &crate::eval::EvalReport) {
    let Some(sw) = &rep.sweep else {
        return;
    };
    println!("{name}: threshold sweep ({} images)", rep.n_images);
    println!("  threshold  pooled Dice  pooled IoU  mean Dice");
    let o = |v: Option<f64>| v.map_or_else(|| "     -".into(), |v| format!("{v:.4}"));
    for t in &sw.per_threshold {
        println!(
            "  {:>9.2}  {:>11}  {:>10}  {:>9}",
            t.threshold,
            o(t.pooled.dice),
            o(t.pooled.iou),
            o(t.mean_dice.value)
        );
    }
    if let (Some(best), Some(band)) = (&sw.best, &sw.band) {
        println!(
            "  best {:.2} (Dice {:.4}); stable band {:.2}–{:.2} (width {:.2})",
            best.threshold, best.dice, band.lo, band.hi, band.width
        );
    }
    if let Some(c) = &rep.calibration {
        println!(
            "  ECE {} ; mean predictive entropy {} bits",
            c.ece.map_or("-".into(), |v| format!("{v:.4}")),
            c.mean_entropy_bits
                .map_or("-".into(), |v| format!("{v:.4}"))
        );
    }
}
