//! Patient-level cross-validation: the runs of one k-fold experiment (`train --test-fold
//! K/N` for K = 1…N, otherwise alike), each run's best model scored on the fold it never
//! trained or selected on, and every image pooled into one report. Each patient is tested
//! once, so the estimate rests on all patients instead of the two or three a single split
//! holds out. It estimates the recipe, not one model: each fold has its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use super::{EvalOptions, EvalReport, ImageResult, ScoredImages, lesion_dice_ci, score_images};
use crate::data::split::{SampleRef, Split, TestFold};
use crate::fsutil::read_json;
use crate::infer::Predictor;
use crate::metrics::{GroupedMeanCi, Mean, MeanCi, grouped_mean_ci, mean, mean_ci};
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
        self.recorded_datasets()
            .filter_map(|d| d.get("name")?.as_str().map(String::from))
            .collect()
    }

    /// Datasets as the run recorded them, with their pair counts ("lgg: 326 pairs").
    fn dataset_contents(&self) -> Vec<String> {
        self.recorded_datasets()
            .filter_map(|d| {
                let name = d.get("name")?.as_str()?;
                Some(match d.get("pairs").and_then(serde_json::Value::as_u64) {
                    Some(n) => format!("{name}: {n} pairs"),
                    None => name.to_string(),
                })
            })
            .collect()
    }

    /// Dataset folders as the run recorded them.
    pub fn dataset_roots(&self) -> Vec<PathBuf> {
        self.recorded_datasets()
            .filter_map(|d| d.get("root")?.as_str().map(PathBuf::from))
            .collect()
    }

    /// The entries of `config.json`'s `data.datasets`.
    fn recorded_datasets(&self) -> impl Iterator<Item = &serde_json::Value> {
        self.config
            .data
            .get("datasets")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
    }
}

/// Checks that `runs` are the folds of one cross-validation: the same number of folds,
/// each fold exactly once, the same split settings apart from the fold, the same training
/// settings and data, and test sets that do not overlap. Returns the runs in fold order.
pub fn check_folds(mut runs: Vec<FoldRun>) -> Result<Vec<FoldRun>, String> {
    check_fold_numbers(&mut runs)?;
    check_same_experiment(&runs)?;
    check_disjoint_tests(&runs)?;
    Ok(runs)
}

fn show(run: &FoldRun) -> String {
    run.dir.display().to_string()
}

/// One N for all, each fold 1…N exactly once; sorts the runs by fold.
fn check_fold_numbers(runs: &mut [FoldRun]) -> Result<(), String> {
    let Some(folds) = runs.first().map(|r| r.fold.folds) else {
        return Err("no runs given".into());
    };
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
    if let Some(pair) = runs.windows(2).find(|p| p[0].fold.fold == p[1].fold.fold) {
        return Err(format!(
            "fold {}/{folds} is given twice: {} and {}",
            pair[0].fold.fold + 1,
            show(&pair[0]),
            show(&pair[1])
        ));
    }
    let present: BTreeSet<usize> = runs.iter().map(|r| r.fold.fold).collect();
    let missing: Vec<String> = (0..folds)
        .filter(|f| !present.contains(f))
        .map(|f| format!("{}/{folds}", f + 1))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let one = missing.len() == 1;
    Err(format!(
        "{} {} {} no run: without {} some patients are never tested (train {} with --test-fold and the same settings)",
        if one { "fold" } else { "folds" },
        missing.join(", "),
        if one { "has" } else { "have" },
        if one { "it" } else { "them" },
        if one { "it" } else { "them" },
    ))
}

/// The same split settings (but the fold), training recipe and data in every run.
fn check_same_experiment(runs: &[FoldRun]) -> Result<(), String> {
    let Some(first) = runs.first() else {
        return Ok(());
    };
    let split_settings = |r: &FoldRun| crate::data::split::SplitConfig {
        test_fold: None,
        ..r.split.config.clone()
    };
    for r in &runs[1..] {
        let differing = differing_fields(&split_settings(first), &split_settings(r));
        if !differing.is_empty() {
            return Err(format!(
                "{} and {} were split with different settings ({}): the folds of one cross-validation come from one split",
                show(first),
                show(r),
                differing.join(", ")
            ));
        }
        let differing = differing_fields(&recipe(first), &recipe(r));
        if !differing.is_empty() {
            return Err(format!(
                "{} and {} were trained with different settings ({}): a cross-validation scores one recipe",
                show(first),
                show(r),
                differing.join(", ")
            ));
        }
        if r.dataset_contents() != first.dataset_contents() {
            return Err(format!(
                "{} and {} were trained on different data ({} and {}): their folds do not partition one dataset",
                show(first),
                show(r),
                first.dataset_contents().join(" + "),
                r.dataset_contents().join(" + ")
            ));
        }
    }
    Ok(())
}

/// No sample in two folds' test sets.
fn check_disjoint_tests(runs: &[FoldRun]) -> Result<(), String> {
    let mut tested_by: BTreeMap<(&str, &str), &FoldRun> = BTreeMap::new();
    for r in runs {
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
    Ok(())
}

/// A run's training settings that make its recipe: all but how often it saved.
fn recipe(run: &FoldRun) -> serde_json::Value {
    let mut value = serde_json::to_value(&run.config.train).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.remove("save_every_steps");
    }
    value
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
    /// Epochs the run trained, of those it was configured for; a run stopped early is
    /// scored as it is, and said to be.
    pub epochs_trained: usize,
    /// Epochs it was configured for.
    pub epochs: usize,
    /// Best epoch (from 1), chosen on the fold's validation set.
    pub best_epoch: Option<usize>,
    /// The best epoch's selection score on the fold's validation set.
    pub selection_score: Option<f64>,
    /// The patients of its test set ("dataset/patient"), when known.
    pub test_patients: Vec<String>,
    /// Images scored.
    pub n_images: usize,
    /// Dice per image.
    pub dice: MeanCi,
    /// Dice on the images whose ground truth has foreground.
    pub positive_dice: Option<MeanCi>,
    /// Pixel accuracy, pooled over the fold's pixels.
    pub pooled_accuracy: Option<f64>,
    /// Pixel accuracy of an all-background prediction on the fold's images.
    pub all_background_accuracy: Option<f64>,
}

/// The whole cross-validation.
#[derive(Clone, Debug, Serialize)]
pub struct CrossValReport {
    /// Folds in all.
    pub folds: usize,
    /// Whether the predictions were flip test-time augmented.
    pub tta: bool,
    /// Images without a patient id (no grouping, or names the grouping found none in):
    /// each was its own split unit, so slices of one patient may lie in several folds and
    /// a fold's model may have trained on its test patients' other slices.
    pub images_without_patient: usize,
    /// Each fold's result, in fold order.
    pub per_fold: Vec<FoldResult>,
    /// Every image of every fold, scored by its fold's model, in one report.
    pub pooled: EvalReport,
    /// Dice per patient (each patient's images averaged first), with an interval over
    /// patients; the headline to trust, since a patient's slices are not independent.
    pub per_patient: Option<GroupedMeanCi<String>>,
    /// One row per patient (when patients are known), in key order: which fold tested
    /// them and their Dice on all and on lesion-bearing slices.
    pub patients: Vec<PatientResult>,
    /// Dice per image of each dataset, when the runs trained on several (a MIX).
    pub per_dataset: Vec<DatasetDice>,
    /// The mean over folds of each fold's mean Dice per image (folds weigh the same).
    pub mean_of_fold_dice: Mean,
    /// Samples of the data that no fold's test set holds ("dataset/id"), e.g. added since
    /// the runs were split: no model was tested on them.
    pub untested: Vec<String>,
    /// Test samples of the folds that are not in the data any more ("dataset/id"): they
    /// could not be scored.
    pub missing: Vec<String>,
}

/// One patient's result in a cross-validation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PatientResult {
    /// "dataset/patient".
    pub patient: String,
    /// The fold whose model scored them (from 1).
    pub fold: usize,
    /// Their images.
    pub n_images: usize,
    /// Their images whose GT has foreground.
    pub n_lesion_images: usize,
    /// Mean Dice over their images (undefined ones left out).
    pub dice: Option<f64>,
    /// Mean Dice over their lesion-bearing images.
    pub lesion_dice: Option<f64>,
}

/// "dataset/patient" of an image, when its patient is known: datasets of a MIX may use
/// the same patient codes.
fn patient_key(r: &ImageResult) -> Option<String> {
    Some(format!("{}/{}", r.dataset, r.group.as_ref()?))
}

/// One row per patient of the folds' images (none when an image has no patient id).
fn patient_rows(folds: &[FoldEvaluation]) -> Vec<PatientResult> {
    let images = || {
        folds
            .iter()
            .flat_map(|f| f.images.iter().map(move |r| (f.fold, r)))
    };
    if images().any(|(_, r)| r.group.is_none()) {
        return Vec::new();
    }
    let mut by_patient: BTreeMap<String, (usize, Vec<&ImageResult>)> = BTreeMap::new();
    for (fold, r) in images() {
        if let Some(key) = patient_key(r) {
            by_patient
                .entry(key)
                .or_insert((fold, Vec::new()))
                .1
                .push(r);
        }
    }
    by_patient
        .into_iter()
        .map(|(patient, (fold, images))| {
            let lesions: Vec<&&ImageResult> =
                images.iter().filter(|r| r.gt_foreground > 0.0).collect();
            PatientResult {
                patient,
                fold,
                n_images: images.len(),
                n_lesion_images: lesions.len(),
                dice: mean(images.iter().map(|r| r.native.dice)).value,
                lesion_dice: mean(lesions.iter().map(|r| r.native.dice)).value,
            }
        })
        .collect()
}

/// One dataset's share of a MIX cross-validation.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetDice {
    /// Dataset name.
    pub dataset: String,
    /// Dice per image.
    pub dice: MeanCi,
    /// Dice on its images with foreground.
    pub positive_dice: Option<MeanCi>,
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

/// Scores each fold's best model on its test set. `data` is every sample of the runs'
/// datasets as found now; `samples_of(run)` gives the run's test samples among them (with
/// the split's patients); `progress(fold, done, total)` is called as it goes. Every model
/// is opened before any is scored, so a broken one fails at once.
pub fn cross_validate(
    runs: &[FoldRun],
    open_model: &dyn Fn(&FoldRun) -> anyhow::Result<Predictor>,
    samples_of: &dyn Fn(&FoldRun) -> Vec<SampleRef>,
    data: &[SampleRef],
    options: &EvalOptions,
    progress: &mut dyn FnMut(usize, usize, usize),
) -> anyhow::Result<(CrossValReport, Vec<FoldEvaluation>)> {
    let predictors = runs
        .iter()
        .map(open_model)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut per_fold = Vec::new();
    let mut fold_reports = Vec::new();
    let mut all: Option<ScoredImages> = None;
    for (run, predictor) in runs.iter().zip(&predictors) {
        let fold = run.fold.fold + 1;
        let samples = samples_of(run);
        anyhow::ensure!(
            !samples.is_empty(),
            "none of fold {fold}'s test samples ({} in the split of {}) are in the data",
            run.split.test.len(),
            run.dir.display()
        );
        let scored = score_images(predictor, &samples, options, &mut |done, total| {
            progress(fold, done, total);
        })
        .with_context(|| format!("fold {fold} ({})", run.dir.display()))?;
        let report = scored.summarise(options)?;
        let test_patients: BTreeSet<String> =
            scored.results.iter().filter_map(patient_key).collect();
        per_fold.push(FoldResult {
            fold,
            run: run.dir.clone(),
            epochs_trained: run.state.as_ref().map_or(0, |s| s.history.len()),
            epochs: run.config.train.epochs,
            best_epoch: run.state.as_ref().and_then(|s| s.best_epoch).map(|e| e + 1),
            selection_score: run.state.as_ref().map(|s| s.best_val_iou),
            test_patients: test_patients.into_iter().collect(),
            n_images: report.n_images,
            dice: report.per_image.dice,
            positive_dice: report.positive_dice,
            pooled_accuracy: report.native.pooled.accuracy,
            all_background_accuracy: report.all_background_accuracy,
        });
        fold_reports.push(FoldEvaluation {
            fold,
            report,
            images: scored.results.clone(),
        });
        match &mut all {
            Some(all) => all.extend(scored),
            None => all = Some(scored),
        }
    }
    let all = all.ok_or_else(|| anyhow::anyhow!("no runs to score"))?;
    let pooled = all.summarise(options)?;
    let all_results = &all.results;
    let per_patient = if all_results.iter().all(|r| r.group.is_some()) {
        let items = all_results
            .iter()
            .filter_map(|r| Some((patient_key(r)?, r.native.dice)));
        Some(grouped_mean_ci(items, &options.bootstrap).map_err(anyhow::Error::msg)?)
    } else {
        None
    };
    let (untested, missing) = coverage(runs, data);
    Ok((
        CrossValReport {
            folds: runs.first().map_or(0, |r| r.fold.folds),
            tta: pooled.tta,
            images_without_patient: all_results.iter().filter(|r| r.group.is_none()).count(),
            mean_of_fold_dice: mean(per_fold.iter().map(|f| f.dice.mean)),
            patients: patient_rows(&fold_reports),
            per_dataset: per_dataset_dice(all_results, options)?,
            per_fold,
            pooled,
            per_patient,
            untested,
            missing,
        },
        fold_reports,
    ))
}

/// Which samples of the data no fold tests, and which test samples the data lacks.
fn coverage(runs: &[FoldRun], data: &[SampleRef]) -> (Vec<String>, Vec<String>) {
    let key = |s: &SampleRef| format!("{}/{}", s.dataset, s.id);
    let in_data: BTreeSet<String> = data.iter().map(key).collect();
    let tested: BTreeSet<String> = runs
        .iter()
        .flat_map(|r| r.split.test.iter().map(key))
        .collect();
    (
        in_data.difference(&tested).cloned().collect(),
        tested.difference(&in_data).cloned().collect(),
    )
}

/// Dice per image of each dataset, when the results hold several.
fn per_dataset_dice(
    results: &[ImageResult],
    options: &EvalOptions,
) -> anyhow::Result<Vec<DatasetDice>> {
    let names: BTreeSet<&str> = results.iter().map(|r| r.dataset.as_str()).collect();
    if names.len() < 2 {
        return Ok(Vec::new());
    }
    let b = &options.bootstrap;
    names
        .into_iter()
        .map(|name| {
            let of = || results.iter().filter(move |r| r.dataset == name);
            Ok(DatasetDice {
                dataset: name.to_string(),
                dice: mean_ci(of().map(|r| r.native.dice), b).map_err(anyhow::Error::msg)?,
                positive_dice: lesion_dice_ci(of(), b)?,
            })
        })
        .collect()
}

/// A plain-text summary for the terminal: what the result rests on (with warnings), one
/// line per fold and per dataset, then the pooled report (per patient included).
pub fn summary_text(report: &CrossValReport) -> String {
    let mut s = headline(report);
    s.push_str(&warnings(report));
    s.push_str(&fold_lines(report));
    s.push_str(&super::report::summary_text(
        &report.pooled,
        "all folds pooled",
    ));
    s
}

fn ci(m: &MeanCi) -> String {
    match (m.mean, m.lo, m.hi) {
        (Some(v), Some(lo), Some(hi)) => format!("{v:.3} [{lo:.3}, {hi:.3}]"),
        (Some(v), _, _) => format!("{v:.3}"),
        _ => "undefined".into(),
    }
}

fn opt4(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.4}"))
}

/// "1 image", "3 images".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn headline(report: &CrossValReport) -> String {
    let patients = report
        .per_patient
        .as_ref()
        .map(|p| format!(" of {}", count(p.groups.len(), "patient", "patients")))
        .unwrap_or_default();
    format!(
        "cross-validation, {} folds: {}{patients}, each scored by the model of the fold that held it out{}\n",
        report.folds,
        count(report.pooled.n_images, "image", "images"),
        if report.tta {
            " (flip test-time augmentation on)"
        } else {
            ""
        }
    )
}

/// What would make the result mean less than it seems.
fn warnings(report: &CrossValReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if report.images_without_patient > 0 {
        let _ = writeln!(
            s,
            "  warning: {} of {} have no patient id, so each was its own split unit: slices of one patient may lie in several folds, and a fold's model may have trained on its test patients' other slices",
            report.images_without_patient,
            count(report.pooled.n_images, "image", "images"),
        );
    }
    for f in report
        .per_fold
        .iter()
        .filter(|f| f.epochs_trained < f.epochs)
    {
        let _ = writeln!(
            s,
            "  warning: the run of fold {} ({}) stopped after {} of {} epochs; it is scored as it is",
            f.fold,
            f.run.display(),
            f.epochs_trained,
            f.epochs
        );
    }
    let listed = |items: &[String]| {
        let mut text = items.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        if items.len() > 3 {
            text.push_str(", …");
        }
        text
    };
    if !report.untested.is_empty() {
        let one = report.untested.len() == 1;
        let _ = writeln!(
            s,
            "  warning: {} of the data {} in no fold's test set and {} not scored ({}): the data differ from the runs'",
            count(report.untested.len(), "sample", "samples"),
            if one { "is" } else { "are" },
            if one { "was" } else { "were" },
            listed(&report.untested)
        );
    }
    if !report.missing.is_empty() {
        let _ = writeln!(
            s,
            "  warning: {} of the folds' test sets {} not in the data and could not be scored ({})",
            count(report.missing.len(), "sample", "samples"),
            if report.missing.len() == 1 {
                "is"
            } else {
                "are"
            },
            listed(&report.missing)
        );
    }
    s
}

/// One line per fold, the mean over folds, and one line per dataset of a MIX.
fn fold_lines(report: &CrossValReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    for f in &report.per_fold {
        let _ = writeln!(
            s,
            "  fold {}: {}{}, Dice/img {}, foreground slices {}, accuracy {} vs all-background {}, best epoch {} ({})",
            f.fold,
            count(f.n_images, "image", "images"),
            if f.test_patients.is_empty() {
                String::new()
            } else {
                format!(
                    " of {}",
                    count(f.test_patients.len(), "patient", "patients")
                )
            },
            ci(&f.dice),
            f.positive_dice.as_ref().map_or_else(|| "-".into(), ci),
            opt4(f.pooled_accuracy),
            opt4(f.all_background_accuracy),
            f.best_epoch
                .map_or_else(|| "unknown (no state.json)".into(), |e| e.to_string()),
            f.run.display()
        );
    }
    let m = &report.mean_of_fold_dice;
    let _ = writeln!(
        s,
        "  mean of the folds' Dice/img: {} (folds weigh the same; {} of {} folds defined)",
        opt4(m.value),
        m.n,
        m.n + m.n_excluded
    );
    let mut hardest: Vec<&PatientResult> = report
        .patients
        .iter()
        .filter(|p| p.lesion_dice.is_some())
        .collect();
    hardest.sort_by(|a, b| {
        a.lesion_dice
            .partial_cmp(&b.lesion_dice)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if !hardest.is_empty() {
        let listed: Vec<String> = hardest
            .iter()
            .take(3)
            .map(|p| format!("{} {} (fold {})", p.patient, opt4(p.lesion_dice), p.fold))
            .collect();
        let _ = writeln!(
            s,
            "  lowest lesion-slice Dice per patient: {} (all in per_patient.csv)",
            listed.join(", ")
        );
    }
    for d in &report.per_dataset {
        let _ = writeln!(
            s,
            "  {}: Dice/img {}, foreground slices {}",
            d.dataset,
            ci(&d.dice),
            d.positive_dice.as_ref().map_or_else(|| "-".into(), ci)
        );
    }
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
                data: serde_json::json!({ "datasets": [{ "name": "x", "root": "/data/x", "pairs": 18 }] }),
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
    fn how_often_a_run_saved_is_no_part_of_its_recipe() {
        let mut saved_often = fold_run(1, 2, 7, 5);
        saved_often.config.train.save_every_steps = 20;
        assert!(check_folds(vec![fold_run(0, 2, 7, 5), saved_often]).is_ok());
    }

    #[test]
    fn samples_no_fold_tests_and_tests_the_data_lacks_are_listed() {
        let runs = check_folds(vec![
            fold_run(0, 3, 7, 5),
            fold_run(1, 3, 7, 5),
            fold_run(2, 3, 7, 5),
        ])
        .unwrap();
        let mut data = samples();
        assert_eq!(coverage(&runs, &data), (Vec::new(), Vec::new()));
        // A patient added since the split, and a slice removed.
        let mut added = data[0].clone();
        added.id = "pat9_slice0".into();
        let removed = data.remove(3);
        data.push(added);
        let (untested, missing) = coverage(&runs, &data);
        assert_eq!(untested, ["x/pat9_slice0"]);
        assert_eq!(missing, [format!("x/{}", removed.id)]);
    }

    #[test]
    fn runs_that_are_not_one_cross_validation_are_refused_with_the_reason() {
        let err = |runs: Vec<FoldRun>| check_folds(runs).unwrap_err();
        let missing = err(vec![fold_run(0, 3, 7, 5), fold_run(2, 3, 7, 5)]);
        assert!(missing.starts_with("fold 2/3 has no run"), "{missing}");
        let twice = err(vec![fold_run(0, 2, 7, 5), fold_run(0, 2, 7, 5)]);
        assert_eq!(twice, "fold 1/2 is given twice: runs/cv1 and runs/cv1");
        let counts = err(vec![fold_run(0, 2, 7, 5), fold_run(1, 3, 7, 5)]);
        assert!(
            counts.contains("runs/cv1 has 2 folds and runs/cv2 has 3"),
            "{counts}"
        );
        let seeds = err(vec![fold_run(0, 2, 7, 5), fold_run(1, 2, 8, 5)]);
        assert!(
            seeds.contains("split with different settings (seed)"),
            "{seeds}"
        );
        let recipe = err(vec![fold_run(0, 2, 7, 5), fold_run(1, 2, 7, 6)]);
        assert!(
            recipe.contains("trained with different settings (epochs)"),
            "{recipe}"
        );
        let mut other_data = fold_run(1, 2, 7, 5);
        other_data.config.data = serde_json::json!({ "datasets": [{ "name": "y" }] });
        let data = err(vec![fold_run(0, 2, 7, 5), other_data]);
        assert!(
            data.contains("different data (x: 18 pairs and y)"),
            "{data}"
        );
        // Same name, other content: a dataset that gained a patient between the runs.
        let mut grown = fold_run(1, 2, 7, 5);
        grown.config.data = serde_json::json!({ "datasets": [{ "name": "x", "pairs": 20 }] });
        let data = err(vec![fold_run(0, 2, 7, 5), grown]);
        assert!(data.contains("(x: 18 pairs and x: 20 pairs)"), "{data}");
        assert_eq!(err(Vec::new()), "no runs given");
        // A sample in two folds' test sets: the runs did not split the same data.
        let mut overlapping = fold_run(1, 2, 7, 5);
        let stray = fold_run(0, 2, 7, 5).split.test[0].clone();
        overlapping.split.test.push(stray.clone());
        let both = err(vec![fold_run(0, 2, 7, 5), overlapping]);
        assert_eq!(
            both,
            format!(
                "x {} is in the test sets of both runs/cv1 and runs/cv2: the runs' data differ",
                stray.id
            )
        );
    }
}
