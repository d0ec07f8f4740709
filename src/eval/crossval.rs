//! Patient-level cross-validation: the runs of one k-fold experiment (`train --test-fold
//! K/N` for K = 1…N, otherwise alike), each run's best model scored on the fold it never
//! trained or selected on, and every image pooled into one report. Each patient is tested
//! once, so the estimate rests on all patients instead of the two or three a single split
//! holds out. It estimates the recipe, not one model: each fold has its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use super::{EvalOptions, EvalReport, ImageResult, evaluate, pool};
use crate::data::split::{SampleRef, Split, TestFold};
use crate::fsutil::read_json;
use crate::infer::Predictor;
use crate::metrics::{GroupedMeanCi, Mean, MeanCi, grouped_mean_ci, mean};
use crate::train::run::{RunConfig, RunState, files};

/// One run of a cross-validation, read from its folder.
#[derive(Clone, Debug)]
pub struct FoldRun {
    /// The run folder.
    pub dir: PathBuf,
    /// The fold it held out as its test set.
    pub fold: TestFold,
    /// Its split (the fold's samples are its test set).
    pub split: Split,
    /// Its configuration.
    pub config: RunConfig,
    /// Its loop state, when it has one.
    pub state: Option<RunState>,
}

impl FoldRun {
    /// Reads a run folder; errors name the folder and say what is missing.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let config: RunConfig = read_json(&dir.join(files::CONFIG))
            .with_context(|| format!("{} is not a training run folder", dir.display()))?;
        let split = Split::load(&dir.join("split.json"))
            .with_context(|| format!("cannot read the split of the run {}", dir.display()))?;
        let fold = split.config.test_fold.ok_or_else(|| {
            anyhow::anyhow!(
                "the run {} was not trained with --test-fold, so it is no fold of a cross-validation",
                dir.display()
            )
        })?;
        anyhow::ensure!(
            dir.join(files::BEST).is_file(),
            "the run {} has no best checkpoint ({}) yet: train or resume it first",
            dir.display(),
            files::BEST
        );
        Ok(Self {
            dir: dir.to_path_buf(),
            fold,
            split,
            config,
            state: read_json(&dir.join(files::STATE)).ok(),
        })
    }

    /// Dataset names as the run recorded them.
    pub fn dataset_names(&self) -> Vec<String> {
        self.recorded_datasets("name").map(String::from).collect()
    }

    /// Dataset folders as the run recorded them.
    pub fn dataset_roots(&self) -> Vec<PathBuf> {
        self.recorded_datasets("root").map(PathBuf::from).collect()
    }

    /// One field of each dataset in `config.json`'s `data.datasets`.
    fn recorded_datasets<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a str> {
        self.config
            .data
            .get("datasets")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(move |d| d.get(field)?.as_str())
    }
}

/// Checks that `runs` are the folds of one cross-validation: the same number of folds,
/// each fold exactly once, the same split settings apart from the fold, the same training
/// settings and data, and test sets that do not overlap. Returns the runs in fold order.
pub fn check_folds(mut runs: Vec<FoldRun>) -> Result<Vec<FoldRun>, String> {
    let Some(folds) = runs.first().map(|r| r.fold.folds) else {
        return Err("no runs given".into());
    };
    let show = |r: &FoldRun| r.dir.display().to_string();
    if let Some(other) = runs.iter().find(|r| r.fold.folds != folds) {
        return Err(format!(
            "{} has {} folds and {} has {}: the runs must come from one cross-validation",
            show(&runs[0]),
            folds,
            show(other),
            other.fold.folds
        ));
    }
    runs.sort_by_key(|r| r.fold.fold);
    for pair in runs.windows(2) {
        if pair[0].fold.fold == pair[1].fold.fold {
            return Err(format!(
                "fold {} of {folds} is given twice: {} and {}",
                pair[0].fold.fold + 1,
                show(&pair[0]),
                show(&pair[1])
            ));
        }
    }
    let present: BTreeSet<usize> = runs.iter().map(|r| r.fold.fold).collect();
    let missing: Vec<String> = (0..folds)
        .filter(|f| !present.contains(f))
        .map(|f| format!("{}/{folds}", f + 1))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "folds {} have no run: without them some patients are never tested (train them with --test-fold and the same settings)",
            missing.join(", ")
        ));
    }
    let first = &runs[0];
    let split_settings = |r: &FoldRun| crate::data::split::SplitConfig {
        test_fold: None,
        ..r.split.config.clone()
    };
    for r in &runs[1..] {
        if split_settings(r) != split_settings(first) {
            return Err(format!(
                "{} and {} were split with different settings (seed, fractions or grouping): their folds would overlap and miss patients",
                show(first),
                show(r)
            ));
        }
        let differing = differing_fields(&first.config.train, &r.config.train);
        if !differing.is_empty() {
            return Err(format!(
                "{} and {} were trained with different settings ({}): a cross-validation scores one recipe",
                show(first),
                show(r),
                differing.join(", ")
            ));
        }
        if r.dataset_names() != first.dataset_names() {
            return Err(format!(
                "{} and {} were trained on different datasets ({} and {})",
                show(first),
                show(r),
                first.dataset_names().join(" + "),
                r.dataset_names().join(" + ")
            ));
        }
    }
    let mut tested_by: BTreeMap<(&str, &str), &FoldRun> = BTreeMap::new();
    for r in &runs {
        for s in &r.split.test {
            if let Some(other) = tested_by.insert((&s.dataset, &s.id), r) {
                return Err(format!(
                    "{} {} is in the test sets of both {} and {}: the runs' data differ",
                    s.dataset,
                    s.id,
                    show(other),
                    show(r)
                ));
            }
        }
    }
    Ok(runs)
}

/// The top-level fields in which two serialised values differ (e.g. "epochs").
fn differing_fields<T: Serialize>(a: &T, b: &T) -> Vec<String> {
    let (a, b) = (serde_json::to_value(a), serde_json::to_value(b));
    match (a, b) {
        (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter()
                .filter(|k| a.get(*k) != b.get(*k))
                .cloned()
                .collect()
        }
        (a, b) if a.as_ref().ok() == b.as_ref().ok() => Vec::new(),
        _ => vec!["all".into()],
    }
}

/// One fold's result.
#[derive(Clone, Debug, Serialize)]
pub struct FoldResult {
    /// Fold number, from 1.
    pub fold: usize,
    /// The run folder.
    pub run: PathBuf,
    /// Best epoch (from 1) and its selection score on the fold's validation set.
    pub best_epoch: Option<usize>,
    /// The selection score of the best epoch.
    pub selection_score: Option<f64>,
    /// The patients (groups) of its test set, when known.
    pub test_patients: Vec<String>,
    /// Images scored.
    pub n_images: usize,
    /// Dice per image.
    pub dice: MeanCi,
    /// Dice on the images whose ground truth has foreground.
    pub positive_dice: Option<MeanCi>,
    /// Pixel accuracy, pooled, and what all-background scores on the same images.
    pub pooled_accuracy: Option<f64>,
    /// Pixel accuracy of an all-background prediction on the fold's images.
    pub all_background_accuracy: Option<f64>,
}

/// The whole cross-validation.
#[derive(Clone, Debug, Serialize)]
pub struct CrossValReport {
    /// Folds in all.
    pub folds: usize,
    /// Each fold's result, in fold order.
    pub per_fold: Vec<FoldResult>,
    /// Every image of every fold, scored by its fold's model, in one report.
    pub pooled: EvalReport,
    /// Dice per patient (each patient's images averaged first), with an interval over
    /// patients; the headline to trust, since a patient's slices are not independent.
    pub per_patient: Option<GroupedMeanCi<String>>,
    /// The mean over folds of each fold's mean Dice per image (folds weigh the same).
    pub mean_of_fold_dice: Mean,
    /// Samples of the data that no fold's test set holds (the data grew since the split,
    /// say); they are not scored.
    pub not_in_any_fold: usize,
}

/// One fold's own evaluation (with its threshold sweep), as `eval` writes it.
#[derive(Clone, Debug)]
pub struct FoldEvaluation {
    /// Fold number, from 1.
    pub fold: usize,
    /// Its report.
    pub report: EvalReport,
    /// Its images.
    pub images: Vec<ImageResult>,
}

/// Scores each fold's best model on its test set. `samples_of(run)` gives the run's test
/// samples as found in the data; `progress(fold, done, total)` is called as it goes.
pub fn cross_validate(
    runs: &[FoldRun],
    open_model: &dyn Fn(&FoldRun) -> anyhow::Result<Predictor>,
    samples_of: &dyn Fn(&FoldRun) -> Vec<SampleRef>,
    all_samples: usize,
    options: &EvalOptions,
    progress: &mut dyn FnMut(usize, usize, usize),
) -> anyhow::Result<(CrossValReport, Vec<FoldEvaluation>)> {
    let mut per_fold = Vec::new();
    let mut fold_reports = Vec::new();
    let mut all_results = Vec::new();
    let mut all_skipped = Vec::new();
    for run in runs {
        let fold = run.fold.fold + 1;
        let samples = samples_of(run);
        anyhow::ensure!(
            !samples.is_empty(),
            "none of fold {fold}'s test samples ({} in its split) are in the data",
            run.split.test.len()
        );
        let predictor = open_model(run)?;
        let (report, images) = evaluate(&predictor, &samples, options, &mut |done, total| {
            progress(fold, done, total);
        })?;
        let test_patients: BTreeSet<String> =
            images.iter().filter_map(|r| r.group.clone()).collect();
        per_fold.push(FoldResult {
            fold,
            run: run.dir.clone(),
            best_epoch: run.state.as_ref().and_then(|s| s.best_epoch).map(|e| e + 1),
            selection_score: run.state.as_ref().map(|s| s.best_val_iou),
            test_patients: test_patients.into_iter().collect(),
            n_images: report.n_images,
            dice: report.per_image.dice,
            positive_dice: report.positive_dice,
            pooled_accuracy: report.native.pooled.accuracy,
            all_background_accuracy: report.all_background_accuracy,
        });
        all_results.extend(images.iter().cloned());
        all_skipped.extend(report.skipped.iter().cloned());
        fold_reports.push(FoldEvaluation {
            fold,
            report,
            images,
        });
    }
    let pooled = pool(options, &all_results, all_skipped)?;
    let per_patient = if all_results.iter().all(|r| r.group.is_some()) {
        let items = all_results
            .iter()
            .map(|r| (r.group.clone().unwrap_or_default(), r.native.dice));
        Some(grouped_mean_ci(items, &options.bootstrap).map_err(anyhow::Error::msg)?)
    } else {
        None
    };
    let tested: usize = runs.iter().map(|r| r.split.test.len()).sum();
    Ok((
        CrossValReport {
            folds: runs.first().map_or(0, |r| r.fold.folds),
            mean_of_fold_dice: mean(per_fold.iter().map(|f| f.dice.mean)),
            per_fold,
            pooled,
            per_patient,
            not_in_any_fold: all_samples.saturating_sub(tested),
        },
        fold_reports,
    ))
}

/// A plain-text summary for the terminal: one line per fold, then the pooled report and
/// the per-patient mean.
pub fn summary_text(report: &CrossValReport) -> String {
    use std::fmt::Write as _;
    let ci = |m: &MeanCi| match (m.mean, m.lo, m.hi) {
        (Some(v), Some(lo), Some(hi)) => format!("{v:.3} [{lo:.3}, {hi:.3}]"),
        (Some(v), _, _) => format!("{v:.3}"),
        _ => "undefined".into(),
    };
    let o = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.4}"));
    let mut s = String::new();
    let patients = report
        .per_patient
        .as_ref()
        .map(|p| format!(" of {} patients", p.groups.len()))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "cross-validation, {} folds: {} images{patients}, each scored by the fold model that never trained or selected on it",
        report.folds, report.pooled.n_images
    );
    for f in &report.per_fold {
        let _ = writeln!(
            s,
            "  fold {}: {} images{}, Dice/img {}, foreground slices {}, accuracy {} vs all-background {}, best epoch {} ({})",
            f.fold,
            f.n_images,
            if f.test_patients.is_empty() {
                String::new()
            } else {
                format!(" of {} patients", f.test_patients.len())
            },
            ci(&f.dice),
            f.positive_dice.as_ref().map_or_else(|| "-".into(), ci),
            o(f.pooled_accuracy),
            o(f.all_background_accuracy),
            f.best_epoch.map_or_else(|| "-".into(), |e| e.to_string()),
            f.run.display()
        );
    }
    let _ = writeln!(
        s,
        "  mean of the folds' Dice/img: {} (folds weigh the same)",
        o(report.mean_of_fold_dice.value)
    );
    if let Some(p) = &report.per_patient {
        let _ = writeln!(
            s,
            "per patient (each patient's slices averaged first; the interval resamples patients): Dice {}{}",
            ci(&p.overall),
            super::report::few_values_warning(p.overall.n)
        );
    }
    if report.not_in_any_fold > 0 {
        let _ = writeln!(
            s,
            "  note: {} samples of the data are in no fold's test set (added since the runs were split?) and are not scored",
            report.not_in_any_fold
        );
    }
    s.push_str(&super::report::summary_text(
        &report.pooled,
        "all folds pooled",
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::grouping::Grouping;
    use crate::data::split::{SplitConfig, make_split};
    use crate::model::Variant;
    use crate::train::TrainConfig;

    /// 9 patients with 2 slices each.
    fn samples() -> Vec<SampleRef> {
        (0..9)
            .flat_map(|p| (0..2).map(move |s| format!("pat{p}_slice{s}")))
            .map(|id| SampleRef {
                dataset: "x".into(),
                image: PathBuf::from(format!("/data/x/images/{id}.png")),
                masks: vec![PathBuf::from(format!("/data/x/masks/{id}.png"))],
                id,
                modality: None,
                group: None,
                slice: None,
            })
            .collect()
    }

    fn fold_run(fold: usize, folds: usize, seed: u64, epochs: usize) -> FoldRun {
        let config = SplitConfig {
            seed,
            val_fraction: 0.2,
            grouping: Grouping::Pattern(r"^(pat\d+)_".into()),
            test_fold: Some(TestFold { fold, folds }),
            ..SplitConfig::default()
        };
        let mut train = TrainConfig::reference_recipe(Variant::S);
        train.epochs = epochs;
        FoldRun {
            dir: PathBuf::from(format!("runs/cv{}", fold + 1)),
            fold: TestFold { fold, folds },
            split: make_split(&samples(), &config).unwrap(),
            config: RunConfig {
                train,
                data: serde_json::json!({ "datasets": [{ "name": "x", "root": "/data/x" }] }),
            },
            state: None,
        }
    }

    #[test]
    fn the_folds_of_one_cross_validation_pass_in_fold_order() {
        let runs = vec![
            fold_run(2, 3, 7, 5),
            fold_run(0, 3, 7, 5),
            fold_run(1, 3, 7, 5),
        ];
        let checked = check_folds(runs).unwrap();
        let order: Vec<usize> = checked.iter().map(|r| r.fold.fold).collect();
        assert_eq!(order, [0, 1, 2]);
        // Together the test sets hold every sample once.
        let tested: usize = checked.iter().map(|r| r.split.test.len()).sum();
        assert_eq!(tested, 18);
        assert_eq!(checked[0].dataset_roots(), [PathBuf::from("/data/x")]);
    }

    #[test]
    fn runs_that_are_not_one_cross_validation_are_refused_with_the_reason() {
        let err = |runs: Vec<FoldRun>| check_folds(runs).unwrap_err();
        let missing = err(vec![fold_run(0, 3, 7, 5), fold_run(2, 3, 7, 5)]);
        assert!(missing.starts_with("folds 2/3 have no run"), "{missing}");
        let twice = err(vec![fold_run(0, 2, 7, 5), fold_run(0, 2, 7, 5)]);
        assert_eq!(twice, "fold 1 of 2 is given twice: runs/cv1 and runs/cv1");
        let counts = err(vec![fold_run(0, 2, 7, 5), fold_run(1, 3, 7, 5)]);
        assert!(
            counts.contains("runs/cv1 has 2 folds and runs/cv2 has 3"),
            "{counts}"
        );
        let seeds = err(vec![fold_run(0, 2, 7, 5), fold_run(1, 2, 8, 5)]);
        assert!(seeds.contains("split with different settings"), "{seeds}");
        let recipe = err(vec![fold_run(0, 2, 7, 5), fold_run(1, 2, 7, 6)]);
        assert!(
            recipe.contains("trained with different settings (epochs)"),
            "{recipe}"
        );
        let mut other_data = fold_run(1, 2, 7, 5);
        other_data.config.data = serde_json::json!({ "datasets": [{ "name": "y" }] });
        let data = err(vec![fold_run(0, 2, 7, 5), other_data]);
        assert!(data.contains("different datasets (x and y)"), "{data}");
        assert_eq!(err(Vec::new()), "no runs given");
    }
}
