//! Runs on disk: the run folders under a root, what each holds (configuration, state,
//! report) and its curves read back from `steps.csv` and `epochs.csv`, for the window's
//! runs list and for comparing runs.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::run::{EpochRecord, RunConfig, RunState, files};
use crate::fsutil::read_json;

/// One run folder as found on disk.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSummary {
    /// The folder.
    pub dir: PathBuf,
    /// Folder name.
    pub name: String,
    /// Its configuration.
    pub config: RunConfig,
    /// Its loop state; `None` before the first checkpoint.
    pub state: Option<RunState>,
    /// Mean per-image test Dice of the best checkpoint, when a report was written.
    pub test_dice: Option<f64>,
    /// Whether a best checkpoint exists (the run can be opened as a model).
    pub has_best: bool,
}

impl RunSummary {
    /// Reads a run folder; `None` when `dir` holds no readable `config.json`.
    pub fn read(dir: &Path) -> Option<Self> {
        let config: RunConfig = read_json(&dir.join(files::CONFIG)).ok()?;
        let state: Option<RunState> = read_json(&dir.join(files::STATE)).ok();
        let test_dice = read_json::<serde_json::Value>(&dir.join("report.json"))
            .ok()
            .and_then(|r| {
                r.pointer("/test/report/per_image/dice/mean")
                    .and_then(serde_json::Value::as_f64)
            });
        Some(Self {
            name: dir.file_name().map_or_else(
                || dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            dir: dir.to_path_buf(),
            config,
            state,
            test_dice,
            has_best: dir.join(files::BEST).is_file(),
        })
    }

    /// Best epoch and its val IoU, when any epoch was validated.
    pub fn best(&self) -> Option<(usize, f64)> {
        let s = self.state.as_ref()?;
        s.best_epoch.map(|e| (e, s.best_val_iou))
    }

    /// "finished", "stopped at epoch k", or "not started".
    pub fn status(&self) -> String {
        match &self.state {
            Some(s) if s.finished => "finished".into(),
            Some(s) => format!(
                "stopped after {} of {} epochs",
                s.history.len(),
                self.config.train.epochs
            ),
            None => "not started".into(),
        }
    }

    /// The best checkpoint's path.
    pub fn best_checkpoint(&self) -> PathBuf {
        self.dir.join(files::BEST)
    }
}

/// Every run folder directly under `root`, newest name last (names sort by date when
/// they start with one). Unreadable folders are left out.
pub fn list_runs(root: &Path) -> Vec<RunSummary> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter().filter_map(|d| RunSummary::read(d)).collect()
}

/// A run's curves as written to its CSV files.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunCurves {
    /// (global step, loss, learning rate) per optimiser step.
    pub steps: Vec<(usize, f64, f64)>,
    /// Validated epochs.
    pub epochs: Vec<EpochRecord>,
}

impl RunCurves {
    /// Reads `steps.csv` and `epochs.csv`; missing files give empty curves, bad rows are skipped.
    pub fn read(dir: &Path) -> Self {
        let steps = read_rows(&dir.join(files::STEPS_CSV))
            .filter_map(|r| {
                Some((
                    r.first()?.parse().ok()?,
                    r.get(2)?.parse().ok()?,
                    r.get(3)?.parse().ok()?,
                ))
            })
            .collect();
        let dataset_columns = per_dataset_columns(&dir.join(files::EPOCHS_CSV));
        let epochs = read_rows(&dir.join(files::EPOCHS_CSV))
            .filter_map(|r| {
                let f = |i: usize| r.get(i).and_then(|v| v.parse::<f64>().ok());
                Some(EpochRecord {
                    epoch: r.first()?.parse().ok()?,
                    train_loss: f(1)?,
                    val_loss: f(2)?,
                    val_iou: f(3)?,
                    val_dice: f(4)?,
                    val_dice_per_image: f(5)?,
                    val_iou_per_dataset: dataset_columns
                        .iter()
                        .filter_map(|(i, name)| Some((name.clone(), f(*i)?)))
                        .collect(),
                    lr: f(6)?,
                    seconds: f(7)?,
                })
            })
            .collect();
        Self { steps, epochs }
    }
}

/// Data rows (header skipped) of a small CSV file without quoting.
/// `(column, dataset)` of the `val_iou[dataset]` columns of an `epochs.csv` header.
fn per_dataset_columns(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let header = text.lines().next().unwrap_or_default();
    header
        .split(',')
        .enumerate()
        .filter_map(|(i, col)| {
            Some((
                i,
                col.strip_prefix("val_iou[")?.strip_suffix(']')?.to_owned(),
            ))
        })
        .collect()
}

fn read_rows(path: &Path) -> impl Iterator<Item = Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    rows.into_iter()
}

/// Exponential moving average of `values` with smoothing `alpha` in (0, 1], bias-corrected
/// at the start (as TensorBoard does), so the first points are not pulled towards zero.
pub fn smoothed(values: &[f64], alpha: f64) -> Vec<f64> {
    let mut avg = 0.0;
    let mut weight = 0.0;
    values
        .iter()
        .map(|&v| {
            avg = (1.0 - alpha) * avg + alpha * v;
            weight = (1.0 - alpha) * weight + alpha;
            avg / weight
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_is_bias_corrected_and_follows_a_constant() {
        // With alpha 0.5: avg 0.5, 1.0 (weights 0.5, 0.75) → 1.0 then (0.5·1 + 0.5·3)/0.75 = 2.333…
        let s = smoothed(&[1.0, 3.0], 0.5);
        assert!((s[0] - 1.0).abs() < 1e-12);
        assert!((s[1] - (0.25 + 1.5) / 0.75).abs() < 1e-12, "{s:?}");
        assert!(
            smoothed(&[2.0; 5], 0.1)
                .iter()
                .all(|v| (v - 2.0).abs() < 1e-12)
        );
    }

    #[test]
    fn curves_read_back_and_bad_rows_are_skipped() {
        let dir = std::env::temp_dir().join(format!("seglens-runs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(files::STEPS_CSV),
            "step,epoch,loss,lr\n0,0,1.5,0.01\nbroken\n1,0,1.25,0.009\n",
        )
        .unwrap();
        std::fs::write(dir.join(files::EPOCHS_CSV), "epoch,train_loss,val_loss,val_iou,val_dice,val_dice_per_image,lr,seconds\n0,1.4,1.3,0.5,0.6667,0.6,0.009,2.5\n").unwrap();
        let c = RunCurves::read(&dir);
        assert_eq!(c.steps, vec![(0, 1.5, 0.01), (1, 1.25, 0.009)]);
        assert_eq!(c.epochs.len(), 1);
        assert_eq!((c.epochs[0].val_iou, c.epochs[0].seconds), (0.5, 2.5));
        assert!(
            RunSummary::read(&dir).is_none(),
            "no config.json: not a run"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_state_with_an_undefined_score_reads_back() {
        // A validation set without foreground gives an undefined (NaN) per-image Dice,
        // which JSON stores as null; the run must still resume.
        let record = EpochRecord {
            epoch: 0,
            train_loss: 1.2,
            val_loss: 1.1,
            val_iou: 0.0,
            val_dice: 0.0,
            val_dice_per_image: f64::NAN,
            val_iou_per_dataset: Vec::new(),
            lr: 0.001,
            seconds: 3.0,
        };
        let state = RunState {
            next_step: 4,
            best_val_iou: f64::NAN,
            best_epoch: Some(0),
            history: vec![record],
            ..RunState::default()
        };
        let json = serde_json::to_string(&state).unwrap();
        assert!(json.contains("\"val_dice_per_image\":null"), "{json}");
        let back: RunState = serde_json::from_str(&json).unwrap();
        assert!(back.history[0].val_dice_per_image.is_nan() && back.best_val_iou.is_nan());
        assert_eq!((back.next_step, back.history[0].train_loss), (4, 1.2));
    }
}
