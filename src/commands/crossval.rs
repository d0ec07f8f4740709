//! `seglens crossval`: the runs of one patient-level cross-validation scored fold by fold
//! and pooled. Writes crossval.json, crossval.csv, per_patient.csv (when patients are
//! known), the pooled report and fold-K/ reports.

use std::fmt::Write as _;

use std::path::Path;

use anyhow::Context as _;

use super::eval::{TTA_LINE, eval_options, select_samples};
use super::progress::{Progress, bar};
use super::{open_datasets, prepare_out_dir, set_threads, write_json};
use crate::backend;
use crate::cli::CrossvalArgs;
use crate::eval::crossval::{FoldRun, check_folds, cross_validate, summary_text};
use crate::eval::report;
use crate::infer::Predictor;
use crate::train::run::files;

/// Runs `seglens crossval`.
pub fn run(args: CrossvalArgs) -> anyhow::Result<()> {
    set_threads(args.settings.threads);
    let runs = args
        .runs
        .iter()
        .map(|dir| FoldRun::read(dir))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let runs = check_folds(runs).map_err(anyhow::Error::msg)?;
    let compute = backend::select(args.settings.backend).map_err(anyhow::Error::msg)?;
    eprintln!("device: {}", compute.reason);
    if args.settings.tta {
        eprintln!("{TTA_LINE}");
    }
    refuse_run_folder_as_out(&args.out, &runs)?;
    prepare_out_dir(&args.out)?;
    let data = if args.data.is_empty() {
        runs[0].dataset_roots()
    } else {
        args.data.clone()
    };
    anyhow::ensure!(
        !data.is_empty(),
        "{} records no dataset folders: give them with --data",
        runs[0].dir.display()
    );
    let datasets = open_datasets(&data).with_context(|| {
        if args.data.is_empty() {
            "the runs' recorded data folders cannot be opened: give them with --data if they moved"
        } else {
            "cannot open --data"
        }
    })?;
    let names = runs[0].dataset_names();
    let absent: Vec<&str> = names
        .iter()
        .filter(|name| !datasets.iter().any(|ds| &&ds.name == name))
        .map(String::as_str)
        .collect();
    anyhow::ensure!(
        absent.is_empty(),
        "the runs were trained on {} but no --data folder is named {}: give every dataset of the runs (a split names its datasets by folder name)",
        names.join(" + "),
        absent.join(" or ")
    );
    let all_samples: Vec<_> = datasets
        .iter()
        .filter(|ds| names.contains(&ds.name))
        .flat_map(|ds| ds.samples())
        .collect();
    let open_model = |run: &FoldRun| {
        let path = run.dir.join(files::BEST);
        Predictor::open(&path, None, compute.clone())
            .map(|p| p.with_tta(args.settings.tta))
            .with_context(|| format!("cannot open the model {}", path.display()))
    };
    let samples_of = |run: &FoldRun| {
        datasets
            .iter()
            .filter(|ds| names.contains(&ds.name))
            .flat_map(|ds| select_samples(ds, Some(&run.split), Some("test")))
            .collect()
    };
    let options = eval_options(&args.settings, true);
    let mut progress = Progress::default();
    let (cv, folds) = cross_validate(
        &runs,
        &open_model,
        &samples_of,
        &all_samples,
        &options,
        &mut |fold, done, total| {
            progress.update(&format!(
                "fold {fold} {} {done}/{total}",
                bar(done, total, 20)
            ));
        },
    )?;
    progress.line("");
    remove_stale_fold_reports(&args.out, cv.folds);
    for f in &folds {
        report::write_all(
            &args.out.join(format!("fold-{}", f.fold)),
            &f.report,
            &f.images,
        )?;
    }
    let images: Vec<_> = folds
        .iter()
        .flat_map(|f| f.images.iter().cloned())
        .collect();
    report::write_all(&args.out, &cv.pooled, &images)?;
    let mut csv = String::from("fold,dataset,id,group,gt_foreground,dice,iou\n");
    let o = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    for f in &folds {
        for r in &f.images {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{}",
                f.fold,
                r.dataset,
                r.id,
                r.group.clone().unwrap_or_default(),
                r.gt_foreground,
                o(r.native.dice),
                o(r.native.iou)
            );
        }
    }
    crate::fsutil::write_atomic(&args.out.join("crossval.csv"), csv.as_bytes())?;
    if !cv.patients.is_empty() {
        let mut csv = String::from("patient,fold,n_images,n_lesion_images,dice,lesion_dice\n");
        for p in &cv.patients {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{}",
                p.patient,
                p.fold,
                p.n_images,
                p.n_lesion_images,
                o(p.dice),
                o(p.lesion_dice)
            );
        }
        crate::fsutil::write_atomic(&args.out.join("per_patient.csv"), csv.as_bytes())?;
    }
    write_json(
        &args.out.join("crossval.json"),
        &serde_json::json!({ "tta": args.settings.tta, "crossval": cv }),
    )?;
    print!("{}", summary_text(&cv));
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// An --out that is one of the runs (or any run folder) would have its report replaced.
fn refuse_run_folder_as_out(out: &Path, runs: &[FoldRun]) -> anyhow::Result<()> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    anyhow::ensure!(
        !runs.iter().any(|r| same(&r.dir, out)) && !out.join(files::CONFIG).exists(),
        "--out {} is a training run folder: its report.json would be replaced; choose another folder",
        out.display()
    );
    Ok(())
}

/// Removes `fold-K/` reports an earlier cross-validation with more folds left in `out`,
/// so no stale fold sits beside this one's (only folders holding a report, our output).
fn remove_stale_fold_reports(out: &Path, folds: usize) {
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = name
            .strip_prefix("fold-")
            .and_then(|k| k.parse::<usize>().ok())
            .is_some_and(|k| k > folds);
        if stale && entry.path().join("report.json").is_file() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
