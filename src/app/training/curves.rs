//! The curves the training panel plots, built from [`TrainEvent`]s as they arrive (or
//! from a run folder's CSV files for a past run). Plain data; the panel only draws it.

use crate::train::TrainEvent;
use crate::train::runs::{RunCurves, smoothed};
use crate::train::val_scores::mean_dataset_iou;

/// Smoothing of the loss curve (exponential moving average weight of a new point).
pub const LOSS_SMOOTHING: f64 = 0.1;

/// One validated epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochPoint {
    /// 0-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss.
    pub val_loss: f64,
    /// Pooled validation IoU at 0.5.
    pub val_iou: f64,
    /// Pooled validation Dice (F1) at 0.5.
    pub val_dice: f64,
    /// Pooled validation IoU of each dataset of a MIX (empty otherwise).
    pub val_iou_per_dataset: Vec<(String, f64)>,
}

impl EpochPoint {
    /// The score the best epoch is chosen by: the mean of per-dataset IoU when the run
    /// recorded it (a MIX, [`crate::train::Selection::MeanDatasetIou`]), else pooled IoU.
    pub fn selection_score(&self) -> f64 {
        mean_dataset_iou(&self.val_iou_per_dataset).unwrap_or(self.val_iou)
    }
}

/// Series of one run.
///
/// # Axes
/// Step series use the 1-based step count (`step + 1`), so epoch `e` ends at
/// `(e + 1) · steps_per_epoch`; epoch series use the 1-based epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveCurves {
    /// Steps per epoch (0 until known).
    pub steps_per_epoch: usize,
    /// Training loss per step.
    pub loss: Vec<[f64; 2]>,
    /// Learning rate per step.
    pub lr: Vec<[f64; 2]>,
    /// Validated epochs.
    pub epochs: Vec<EpochPoint>,
    /// Best epoch so far (by the run's selection score).
    pub best_epoch: Option<usize>,
}

impl LiveCurves {
    /// Curves of a past run from its CSV files.
    pub fn from_run(curves: &RunCurves, steps_per_epoch: usize) -> Self {
        let mut out = Self {
            steps_per_epoch,
            ..Self::default()
        };
        for &(step, loss, lr) in &curves.steps {
            out.loss.push([(step + 1) as f64, loss]);
            out.lr.push([(step + 1) as f64, lr]);
        }
        let mut best = f64::NEG_INFINITY;
        for e in &curves.epochs {
            let point = EpochPoint {
                epoch: e.epoch,
                train_loss: e.train_loss,
                val_loss: e.val_loss,
                val_iou: e.val_iou,
                val_dice: e.val_dice,
                val_iou_per_dataset: e.val_iou_per_dataset.clone(),
            };
            if point.selection_score() > best {
                best = point.selection_score();
                out.best_epoch = Some(e.epoch);
            }
            out.epochs.push(point);
        }
        out
    }

    /// Adds what `event` says to the series.
    pub fn apply(&mut self, event: &TrainEvent) {
        match event {
            TrainEvent::Started {
                steps_per_epoch,
                start_step,
                ..
            } => {
                let (steps_per_epoch, start_step) = (*steps_per_epoch, *start_step);
                // A resumed run continues from `start_step`: drop anything past it.
                self.steps_per_epoch = steps_per_epoch;
                self.loss.retain(|p| p[0] <= start_step as f64);
                self.lr.retain(|p| p[0] <= start_step as f64);
                let done_epochs = start_step.checked_div(steps_per_epoch).unwrap_or(0);
                self.epochs.retain(|e| e.epoch < done_epochs);
                self.best_epoch = self.best_epoch.filter(|&b| b < done_epochs);
            }
            TrainEvent::Step { step, loss, lr, .. } => {
                self.loss.push([(step + 1) as f64, *loss]);
                self.lr.push([(step + 1) as f64, *lr]);
            }
            TrainEvent::Epoch {
                epoch,
                train_loss,
                val_loss,
                val_iou,
                val_dice,
                val_iou_per_dataset,
                best,
                ..
            } => {
                self.epochs.push(EpochPoint {
                    epoch: *epoch,
                    train_loss: *train_loss,
                    val_loss: *val_loss,
                    val_iou: *val_iou,
                    val_dice: *val_dice,
                    val_iou_per_dataset: val_iou_per_dataset.clone(),
                });
                if *best {
                    self.best_epoch = Some(*epoch);
                }
            }
            _ => {}
        }
    }

    /// The loss curve smoothed with [`LOSS_SMOOTHING`].
    pub fn smoothed_loss(&self) -> Vec<[f64; 2]> {
        let values: Vec<f64> = self.loss.iter().map(|p| p[1]).collect();
        self.loss
            .iter()
            .zip(smoothed(&values, LOSS_SMOOTHING))
            .map(|(p, s)| [p[0], s])
            .collect()
    }

    /// An epoch series, x = 1-based epoch.
    pub fn epoch_series(&self, value: impl Fn(&EpochPoint) -> f64) -> Vec<[f64; 2]> {
        self.epochs
            .iter()
            .map(|e| [(e.epoch + 1) as f64, value(e)])
            .collect()
    }

    /// The datasets of a MIX with their val IoU per epoch (x = 1-based epoch), in name order.
    pub fn per_dataset_series(&self) -> Vec<(String, Vec<[f64; 2]>)> {
        let mut out: Vec<(String, Vec<[f64; 2]>)> = Vec::new();
        for e in &self.epochs {
            for (name, iou) in &e.val_iou_per_dataset {
                let point = [(e.epoch + 1) as f64, *iou];
                match out.iter_mut().find(|(n, _)| n == name) {
                    Some((_, series)) => series.push(point),
                    None => out.push((name.clone(), vec![point])),
                }
            }
        }
        out
    }

    /// Validation loss on the step axis (at the end of each epoch), to plot beside the training loss.
    pub fn val_loss_on_steps(&self) -> Vec<[f64; 2]> {
        self.epochs
            .iter()
            .map(|e| [((e.epoch + 1) * self.steps_per_epoch) as f64, e.val_loss])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(step: usize, loss: f64) -> TrainEvent {
        TrainEvent::Step {
            epoch: 0,
            step,
            loss,
            lr: 0.01,
            images_per_sec: 1.0,
            eta_secs: 1.0,
        }
    }

    #[test]
    fn events_become_points_and_a_resume_drops_what_follows_its_step() {
        let mut c = LiveCurves::default();
        c.apply(&TrainEvent::Started {
            run_dir: "r".into(),
            steps_per_epoch: 2,
            total_steps: 4,
            start_step: 0,
            device: String::new(),
        });
        c.apply(&step(0, 1.0));
        c.apply(&step(1, 0.5));
        c.apply(&TrainEvent::Epoch {
            epoch: 0,
            train_loss: 0.75,
            val_loss: 0.7,
            val_iou: 0.4,
            val_dice: 0.5714,
            val_dice_per_image: 0.5,
            val_iou_per_dataset: Vec::new(),
            best: true,
        });
        c.apply(&step(2, 0.25));
        assert_eq!(c.loss, vec![[1.0, 1.0], [2.0, 0.5], [3.0, 0.25]]);
        assert_eq!(c.epoch_series(|e| e.val_iou), vec![[1.0, 0.4]]);
        assert_eq!(c.val_loss_on_steps(), vec![[2.0, 0.7]]);
        assert_eq!(c.best_epoch, Some(0));
        // Resumed at step 2: the point of step index 2 (x = 3) is redone.
        c.apply(&TrainEvent::Started {
            run_dir: "r".into(),
            steps_per_epoch: 2,
            total_steps: 4,
            start_step: 2,
            device: String::new(),
        });
        assert_eq!(c.loss.len(), 2);
        assert_eq!(c.epochs.len(), 1);
        // Resumed at step 1 (mid epoch 0): the epoch-0 point goes too.
        c.apply(&TrainEvent::Started {
            run_dir: "r".into(),
            steps_per_epoch: 2,
            total_steps: 4,
            start_step: 1,
            device: String::new(),
        });
        assert_eq!((c.loss.len(), c.epochs.len(), c.best_epoch), (1, 0, None));
    }

    #[test]
    fn a_mix_run_read_back_has_its_best_epoch_by_the_datasets_mean() {
        use crate::train::EpochRecord;
        let record = |epoch: usize, pooled: f64, ct: f64, mr: f64| EpochRecord {
            epoch,
            train_loss: 1.0,
            val_loss: 1.0,
            val_iou: pooled,
            val_dice: 0.0,
            val_dice_per_image: 0.0,
            val_iou_per_dataset: vec![("ct".into(), ct), ("mr".into(), mr)],
            lr: 0.01,
            seconds: 1.0,
        };
        // Epoch 0 has the best pooled IoU (the lungs), epoch 1 the best mean.
        let run = RunCurves {
            steps: Vec::new(),
            epochs: vec![record(0, 0.85, 0.95, 0.10), record(1, 0.80, 0.90, 0.40)],
        };
        let c = LiveCurves::from_run(&run, 10);
        assert_eq!(c.best_epoch, Some(1));
        assert_eq!(
            c.per_dataset_series(),
            vec![
                ("ct".to_string(), vec![[1.0, 0.95], [2.0, 0.90]]),
                ("mr".to_string(), vec![[1.0, 0.10], [2.0, 0.40]])
            ]
        );
        // Without per-dataset scores (one dataset, or a run before the rule): pooled IoU.
        let mut single = run.clone();
        single
            .epochs
            .iter_mut()
            .for_each(|e| e.val_iou_per_dataset.clear());
        assert_eq!(LiveCurves::from_run(&single, 10).best_epoch, Some(0));
    }
}
