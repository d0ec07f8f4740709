//! `seglens compare`: two models scored on the same images, each dataset on its own and
//! all together, with paired differences (A − B). Writes compare.json and compare.csv.

use std::fmt::Write as _;

use anyhow::Context as _;

use super::eval::{eval_options, load_split, select_samples};
use super::progress::{Progress, bar};
use super::{open_datasets, prepare_out_dir, set_threads, skipped_lines, write_json};
use crate::backend;
use crate::cli::CompareArgs;
use crate::data::split::SampleRef;
use crate::eval::compare::{ModelComparison, compare_models, summary_text};
use crate::eval::{EvalOptions, ImageResult, evaluate};
use crate::infer::Predictor;

/// Runs `seglens compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    set_threads(args.scoring.settings.threads);
    let compute = backend::select(args.scoring.settings.backend).map_err(anyhow::Error::msg)?;
    eprintln!("device: {}", compute.reason);
    let open = |path: &std::path::Path| {
        Predictor::open(path, args.variant, compute.clone())
            .map(|p| p.with_tta(args.scoring.settings.tta))
            .with_context(|| format!("cannot open the model {}", path.display()))
    };
    let (a, b) = (open(&args.model_a)?, open(&args.model_b)?);
    for (label, p, path) in [("A", &a, &args.model_a), ("B", &b, &args.model_b)] {
        eprintln!(
            "model {label}: {} at {}², {}",
            p.loaded.meta.architecture_name(),
            p.input_size(),
            path.display()
        );
    }
    if args.scoring.settings.tta {
        eprintln!("{}", super::eval::TTA_LINE);
    }
    prepare_out_dir(&args.out)?;
    let datasets = open_datasets(&args.scoring.data)?;
    let split = load_split(&args.scoring)?;
    let options = eval_options(&args.scoring.settings, false);
    println!(
        "A = {}\nB = {}\n(differences are A − B; intervals are 95% paired-bootstrap; n counts images both models score, both-empty images excluded unless --empty perfect)",
        args.model_a.display(),
        args.model_b.display()
    );
    let (mut all_a, mut all_b) = (Vec::new(), Vec::new());
    let mut skipped: Vec<serde_json::Value> = Vec::new();
    let mut per_dataset = serde_json::Map::new();
    for ds in &datasets {
        let samples = select_samples(ds, split.as_ref(), args.scoring.split_set.as_deref());
        if samples.is_empty() {
            eprintln!("{}: nothing to compare", ds.name);
            continue;
        }
        let ra = score(&a, "A", &ds.name, &samples, &options, &mut skipped)?;
        let rb = score(&b, "B", &ds.name, &samples, &options, &mut skipped)?;
        let comparison = compare_models(&ra, &rb, &options.bootstrap)
            .map_err(|e| anyhow::anyhow!("{}: {e}", ds.name))?;
        print!("{}", summary_text(&comparison, &ds.name));
        per_dataset.insert(ds.name.clone(), serde_json::to_value(&comparison)?);
        all_a.extend(ra);
        all_b.extend(rb);
    }
    anyhow::ensure!(!all_a.is_empty(), "no image to compare");
    let all = compare_models(&all_a, &all_b, &options.bootstrap).map_err(anyhow::Error::msg)?;
    if datasets.len() > 1 {
        print!("{}", summary_text(&all, "all datasets"));
    }
    write_json(
        &args.out.join("compare.json"),
        &serde_json::json!({
            "model_a": args.model_a,
            "model_b": args.model_b,
            "data": datasets.iter().map(|d| &d.root).collect::<Vec<_>>(),
            "split": args.scoring.split,
            "split_set": args.scoring.split_set,
            "options": options,
            "tta": args.scoring.settings.tta,
            "skipped": skipped,
            "all": all,
            "datasets": per_dataset,
        }),
    )?;
    let csv = args.out.join("compare.csv");
    crate::fsutil::write_atomic(&csv, per_image_csv(&all).as_bytes())
        .with_context(|| format!("cannot write {}", csv.display()))?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// One model's per-image results; the files it could not use are added to `skipped`.
fn score(
    predictor: &Predictor,
    label: &str,
    name: &str,
    samples: &[SampleRef],
    options: &EvalOptions,
    skipped: &mut Vec<serde_json::Value>,
) -> anyhow::Result<Vec<ImageResult>> {
    let mut progress = Progress::default();
    let (report, images) = evaluate(predictor, samples, options, &mut |done, total| {
        progress.update(&format!(
            "{name} model {label} {} {done}/{total}",
            bar(done, total, 20)
        ));
    })?;
    progress.line("");
    for line in skipped_lines(&report.skipped) {
        eprintln!("  model {label} {line}");
    }
    for (path, why) in &report.skipped {
        skipped
            .push(serde_json::json!({ "model": label, "dataset": name, "file": path, "why": why }));
    }
    Ok(images)
}

/// One row per image: dataset, id, patient, GT fraction, Dice and IoU of A and B, Dice A − B.
fn per_image_csv(c: &ModelComparison) -> String {
    let f = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.6}"));
    let mut s =
        String::from("dataset,id,group,gt_foreground,dice_a,dice_b,dice_a_minus_b,iou_a,iou_b\n");
    for p in &c.images {
        let diff = p.dice.0.zip(p.dice.1).map(|(x, y)| x - y);
        let _ = writeln!(
            s,
            "{},{},{},{:.6},{},{},{},{},{}",
            p.dataset,
            p.id,
            p.group.as_deref().unwrap_or(""),
            p.gt_foreground,
            f(p.dice.0),
            f(p.dice.1),
            f(diff),
            f(p.iou.0),
            f(p.iou.1)
        );
    }
    s
}
