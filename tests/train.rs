//! The training loop on a tiny generated set: the loss falls, an interrupted run
//! resumes to exactly the uninterrupted run's losses, and a NaN loss stops the run
//! with a clear message while keeping the last good checkpoint.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use seglens::backend::{BackendRequest, select};
use seglens::model::Variant;
use seglens::rng::SplitMix64;
use seglens::train::{
    AugmentationSet, InMemorySource, InitWeights, OptimizerConfig, RunConfig, Sample, SampleSource,
    Selection, TrainConfig, TrainControl, TrainEvent, TrainOutcome, files, train,
};

const SIZE: usize = 32;

/// Bright disks of varying centre and radius on noise; the mask is the disk.
fn disks(count: usize, seed: u64) -> InMemorySource {
    let mut rng = SplitMix64::new(seed);
    let mut samples = Vec::new();
    for _ in 0..count {
        let (cy, cx) = (8.0 + 16.0 * rng.next_f64(), 8.0 + 16.0 * rng.next_f64());
        let r = 4.0 + 5.0 * rng.next_f64();
        let mut mask = vec![0.0f32; SIZE * SIZE];
        let mut image = vec![0.0f32; 3 * SIZE * SIZE];
        for y in 0..SIZE {
            for x in 0..SIZE {
                let inside = ((y as f64 - cy).powi(2) + (x as f64 - cx).powi(2)).sqrt() <= r;
                mask[y * SIZE + x] = f32::from(u8::from(inside));
                for c in 0..3 {
                    image[c * SIZE * SIZE + y * SIZE + x] =
                        if inside { 1.0 } else { 0.0 } + 0.3 * rng.normal() as f32;
                }
            }
        }
        samples.push(Sample { image, mask });
    }
    let names = (0..count).map(|i| format!("disk_{i}")).collect();
    InMemorySource {
        samples,
        names,
        channels: 3,
        size: SIZE,
    }
}

fn config(epochs: usize, batch: usize) -> RunConfig {
    let mut train = TrainConfig::reference_recipe(Variant::S);
    train.epochs = epochs;
    train.batch_size = batch;
    train.input.size = SIZE;
    train.optimizer = OptimizerConfig::Sgd {
        lr: 0.05,
        momentum: 0.9,
        weight_decay: 1e-4,
    };
    train.seed = 7;
    RunConfig {
        train,
        data: serde_json::json!({ "source": "generated disks" }),
    }
}

fn run_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("seglens-train-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn step_losses(events: &[TrainEvent]) -> Vec<(usize, f64)> {
    events
        .iter()
        .filter_map(|e| {
            if let TrainEvent::Step { step, loss, .. } = e {
                Some((*step, *loss))
            } else {
                None
            }
        })
        .collect()
}

/// Trains `run` from scratch on the CPU to its last epoch; the final state and every event.
fn train_to_end(
    run: &RunConfig,
    train_set: &dyn SampleSource,
    val_set: &dyn SampleSource,
    dir: &std::path::Path,
) -> (seglens::train::RunState, Vec<TrainEvent>) {
    let device = select(BackendRequest::Cpu).expect("cpu");
    let mut events = Vec::new();
    let outcome = train(
        run,
        train_set,
        val_set,
        dir,
        &device,
        &TrainControl::default(),
        false,
        &mut |e| events.push(e),
    )
    .unwrap_or_else(|e| panic!("training in {} failed: {e:#}", dir.display()));
    let TrainOutcome::Finished { state } = outcome else {
        panic!("the run in {} did not finish", dir.display())
    };
    (state, events)
}

#[test]
fn loss_falls_and_interrupted_run_resumes_exactly() {
    let device = select(BackendRequest::Cpu).expect("cpu");
    let (train_set, val_set) = (disks(8, 1), disks(4, 2));
    let run = config(3, 4); // 2 steps per epoch, 6 steps.

    // Uninterrupted run.
    let dir_a = run_dir("a");
    let (state, events_a) = train_to_end(&run, &train_set, &val_set, &dir_a);
    let losses_a = step_losses(&events_a);
    assert_eq!(losses_a.len(), 6);
    assert_eq!(state.history.len(), 3, "validated every epoch");
    let first_epoch = (losses_a[0].1 + losses_a[1].1) / 2.0;
    let last_epoch = (losses_a[4].1 + losses_a[5].1) / 2.0;
    assert!(last_epoch < first_epoch, "loss falls: {losses_a:?}");
    for f in [
        files::BEST,
        files::LAST,
        files::CONFIG,
        files::STATE,
        files::STEPS_CSV,
        files::EPOCHS_CSV,
    ] {
        assert!(dir_a.join(f).exists(), "{f} written");
    }
    let steps_csv = std::fs::read_to_string(dir_a.join(files::STEPS_CSV)).expect("csv");
    assert_eq!(steps_csv.lines().count(), 7, "header + one line per step");

    // Same run, cancelled mid-epoch (after step 2, i.e. inside epoch 1), then resumed.
    let dir_b = run_dir("b");
    assert_eq!(
        interrupted_then_resumed(&run, &train_set, &val_set, &dir_b, 2),
        losses_a,
        "resumed run reproduces the uninterrupted run's losses exactly"
    );

    // Starting a new run over an existing one is refused.
    let err = train(
        &run,
        &train_set,
        &val_set,
        &dir_b,
        &device,
        &TrainControl::default(),
        false,
        &mut |_| {},
    )
    .expect_err("refused");
    assert!(
        format!("{err:#}").contains("already holds a run"),
        "{err:#}"
    );
    let _ = std::fs::remove_dir_all(dir_a);
    let _ = std::fs::remove_dir_all(dir_b);
}

/// Trains `run` in `dir`, cancelling after step `cancel_after`, then resumes it to the
/// end; returns the step losses of both parts.
fn interrupted_then_resumed(
    run: &RunConfig,
    train_set: &dyn SampleSource,
    val_set: &dyn SampleSource,
    dir: &std::path::Path,
    cancel_after: usize,
) -> Vec<(usize, f64)> {
    let device = select(BackendRequest::Cpu).expect("cpu");
    let control = TrainControl::default();
    let mut events = Vec::new();
    let outcome = train(
        run,
        train_set,
        val_set,
        dir,
        &device,
        &control,
        false,
        &mut |e| {
            if matches!(e, TrainEvent::Step { step, .. } if step == cancel_after) {
                control.cancel();
            }
            events.push(e);
        },
    )
    .expect("first part");
    let TrainOutcome::Cancelled { state } = outcome else {
        panic!("the run in {} should be cancelled", dir.display())
    };
    let next = cancel_after + 1;
    assert_eq!(state.next_step, next);
    assert!(events.contains(&TrainEvent::Cancelled { next_step: next }));

    let mut resumed = Vec::new();
    let outcome = train(
        run,
        train_set,
        val_set,
        dir,
        &device,
        &TrainControl::default(),
        true,
        &mut |e| resumed.push(e),
    )
    .expect("resumed part");
    assert!(matches!(outcome, TrainOutcome::Finished { .. }));
    assert!(matches!(
        resumed[0],
        TrainEvent::Started { start_step, .. } if start_step == next
    ));
    let mut losses = step_losses(&events);
    losses.extend(step_losses(&resumed));
    losses
}

#[test]
fn extended_augmentation_is_recorded_used_and_resumes_exactly() {
    let (train_set, val_set) = (disks(8, 1), disks(4, 2));
    let recipe = config(2, 4);
    let mut extended = recipe.clone();
    extended.train.augmentation = AugmentationSet::Extended;

    let dir_recipe = run_dir("recipe-aug");
    let (_, events_recipe) = train_to_end(&recipe, &train_set, &val_set, &dir_recipe);
    let dir_a = run_dir("extended-a");
    let (_, events_a) = train_to_end(&extended, &train_set, &val_set, &dir_a);
    let losses_a = step_losses(&events_a);
    assert_ne!(
        losses_a,
        step_losses(&events_recipe),
        "the extra transforms change what the network sees"
    );
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir_a.join(files::CONFIG)).expect("config written"),
    )
    .expect("json");
    assert_eq!(config["train"]["augmentation"], "extended");

    let dir_b = run_dir("extended-b");
    assert_eq!(
        interrupted_then_resumed(&extended, &train_set, &val_set, &dir_b, 1),
        losses_a,
        "the extra draws come from the seed's streams, so a resumed run repeats them"
    );
    for dir in [dir_recipe, dir_a, dir_b] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_resume_on_changed_data_is_refused() {
    let device = select(BackendRequest::Cpu).expect("cpu");
    let run = config(2, 4);
    let dir = run_dir("changed-data");
    let control = TrainControl::default();
    let outcome = train(
        &run,
        &disks(8, 1),
        &disks(4, 2),
        &dir,
        &device,
        &control,
        false,
        &mut |e| {
            if matches!(e, TrainEvent::Step { step: 0, .. }) {
                control.cancel();
            }
        },
    )
    .expect("first part");
    assert!(matches!(outcome, TrainOutcome::Cancelled { .. }));
    // One training sample can no longer be read: the epochs would have other steps.
    let err = train(
        &run,
        &disks(7, 1),
        &disks(4, 2),
        &dir,
        &device,
        &TrainControl::default(),
        true,
        &mut |_| {},
    )
    .expect_err("refused");
    let text = format!("{err:#}");
    assert!(
        text.contains("started with 8 training and 4 validation samples, but 7 and 4"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A source whose samples turn to NaN after a number of reads.
struct PoisonAfter {
    inner: InMemorySource,
    reads: AtomicUsize,
    poison_after: usize,
}

impl SampleSource for PoisonAfter {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn channels(&self) -> usize {
        self.inner.channels
    }
    fn size(&self) -> usize {
        self.inner.size
    }
    fn sample(&self, index: usize) -> Result<Sample, String> {
        let mut s = self.inner.sample(index)?;
        if self.reads.fetch_add(1, Ordering::SeqCst) >= self.poison_after {
            s.image.iter_mut().for_each(|v| *v = f32::NAN);
        }
        Ok(s)
    }
    fn name(&self, index: usize) -> String {
        self.inner.name(index)
    }
}

#[test]
fn nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint() {
    let device = select(BackendRequest::Cpu).expect("cpu");
    // 4 samples, batch 4: one step per epoch; reads 9.. (epoch 2) are poisoned.
    let poisoned = PoisonAfter {
        inner: disks(4, 3),
        reads: AtomicUsize::new(0),
        poison_after: 8,
    };
    let val_set = disks(2, 4);
    let run = config(4, 4);
    let dir = run_dir("nan");
    let mut events = Vec::new();
    let err = train(
        &run,
        &poisoned,
        &val_set,
        &dir,
        &device,
        &TrainControl::default(),
        false,
        &mut |e| events.push(e),
    )
    .expect_err("NaN stops the run");
    let text = format!("{err:#}");
    assert!(
        text.contains("loss became NaN at step 2 (epoch 2)"),
        "{text}"
    );
    assert!(matches!(events.last(), Some(TrainEvent::Failed { .. })));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(files::STATE)).expect("state kept"))
            .expect("json");
    assert_eq!(
        state["next_step"], 2,
        "the last good checkpoint is the one after epoch 1"
    );
    let loaded = seglens::model::load_model(&dir.join(files::LAST), None, &device.device)
        .expect("last checkpoint loads");
    let dict = seglens::model::StateDict::from_model(&loaded.model).expect("dict");
    assert!(
        dict.tensors
            .values()
            .all(|t| t.data.iter().all(|v| v.is_finite())),
        "kept weights are finite"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Every tensor of a checkpoint file, by key.
fn weights_of(path: &std::path::Path) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let dict =
        seglens::model::StateDict::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    dict.tensors
        .into_iter()
        .map(|(key, t)| (key, t.shape, t.data))
        .collect()
}

/// Runs `run` in `dir` until it is stopped before its first step; the outcome.
fn stopped_before_the_first_step(
    run: &RunConfig,
    dir: &std::path::Path,
) -> anyhow::Result<TrainOutcome> {
    let device = select(BackendRequest::Cpu).expect("cpu");
    let control = TrainControl::default();
    control.cancel();
    train(
        run,
        &disks(4, 5),
        &disks(2, 6),
        dir,
        &device,
        &control,
        false,
        &mut |_| {},
    )
}

#[test]
fn a_run_with_initial_weights_starts_from_them_and_refuses_a_changed_file() {
    use sha2::{Digest as _, Sha256};
    // A trained model to start from: one epoch on other disks.
    let source = run_dir("init-source");
    train_to_end(&config(1, 4), &disks(4, 1), &disks(2, 2), &source);
    let weights = source.join(files::LAST);
    let sha256 = |path: &std::path::Path| -> String {
        Sha256::digest(std::fs::read(path).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let mut run = config(1, 4);
    run.train.init = Some(InitWeights {
        path: weights.clone(),
        sha256: sha256(&weights),
    });

    // Stopped before its first step, the run has exactly the weights it started from,
    // not the seeded initialisation a run without them has.
    let dir = run_dir("init");
    let outcome = stopped_before_the_first_step(&run, &dir).expect("stops");
    assert!(matches!(outcome, TrainOutcome::Cancelled { .. }));
    let started = weights_of(&dir.join(files::LAST));
    assert_eq!(started, weights_of(&weights));
    let plain = run_dir("init-plain");
    stopped_before_the_first_step(&config(1, 4), &plain).expect("stops");
    assert_ne!(weights_of(&plain.join(files::LAST)), started);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(files::CONFIG)).unwrap()).unwrap();
    assert_eq!(saved["train"]["init"]["sha256"], sha256(&weights).as_str());
    let plain_config = std::fs::read_to_string(plain.join(files::CONFIG)).unwrap();
    assert!(!plain_config.contains("init"), "{plain_config}");

    // The file changed after the run was set up: refused, naming the file.
    std::fs::copy(plain.join(files::LAST), &weights).unwrap();
    let changed = run_dir("init-changed");
    let err = stopped_before_the_first_step(&run, &changed).expect_err("refused");
    let text = format!("{err:#}");
    assert!(
        text.contains("changed since the run was set up") && text.contains("model_last"),
        "{text}"
    );
    assert!(!changed.exists(), "nothing is written for a refused run");
    for d in [source, dir, plain, changed] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Samples tagged with the dataset they belong to, as a MIX's are.
struct Tagged {
    inner: InMemorySource,
    datasets: Vec<&'static str>,
}

impl SampleSource for Tagged {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn channels(&self) -> usize {
        self.inner.channels
    }
    fn size(&self) -> usize {
        self.inner.size
    }
    fn sample(&self, index: usize) -> Result<Sample, String> {
        self.inner.sample(index)
    }
    fn name(&self, index: usize) -> String {
        self.inner.name(index)
    }
    fn dataset(&self, index: usize) -> String {
        self.datasets[index].to_owned()
    }
}

#[test]
fn a_mix_picks_its_best_epoch_by_the_mean_of_per_dataset_val_iou() {
    let device = select(BackendRequest::Cpu).expect("cpu");
    let train_set = disks(4, 5);
    let val_set = Tagged {
        inner: disks(4, 6),
        datasets: vec!["ct", "mr", "ct", "mr"],
    };
    let mut run = config(4, 4);
    run.train.selection = Selection::MeanDatasetIou;
    let dir = run_dir("mix-selection");
    let (state, events) = train_to_end(&run, &train_set, &val_set, &dir);
    let means: Vec<f64> = state
        .history
        .iter()
        .map(|r| {
            let names: Vec<&str> = r
                .val_iou_per_dataset
                .iter()
                .map(|(n, _)| n.as_str())
                .collect();
            assert_eq!(names, ["ct", "mr"], "epoch {}", r.epoch);
            // Pooled counts lie between the datasets' own IoUs.
            let (lo, hi) = (
                r.val_iou_per_dataset[0].1.min(r.val_iou_per_dataset[1].1),
                r.val_iou_per_dataset[0].1.max(r.val_iou_per_dataset[1].1),
            );
            assert!(
                lo - 1e-12 <= r.val_iou && r.val_iou <= hi + 1e-12,
                "pooled {} outside [{lo}, {hi}]",
                r.val_iou
            );
            (r.val_iou_per_dataset[0].1 + r.val_iou_per_dataset[1].1) / 2.0
        })
        .collect();
    let first_max =
        (0..means.len()).fold(0, |best, i| if means[i] > means[best] { i } else { best });
    assert_eq!(
        state.best_epoch,
        Some(first_max),
        "means per epoch {means:?}"
    );
    assert_eq!(state.best_val_iou, means[first_max]);
    // The epoch events carry the same per-dataset scores, and epochs.csv their columns.
    let from_events: Vec<Vec<(String, f64)>> = events
        .iter()
        .filter_map(|e| {
            if let TrainEvent::Epoch {
                val_iou_per_dataset,
                ..
            } = e
            {
                Some(val_iou_per_dataset.clone())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        from_events,
        state
            .history
            .iter()
            .map(|r| r.val_iou_per_dataset.clone())
            .collect::<Vec<_>>()
    );
    let csv = std::fs::read_to_string(dir.join(files::EPOCHS_CSV)).expect("epochs.csv");
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",seconds,val_iou[ct],val_iou[mr]"),
        "{csv}"
    );
    let curves = seglens::train::runs::RunCurves::read(&dir);
    assert_eq!(curves.epochs.len(), 4);
    for (read, kept) in curves.epochs.iter().zip(&state.history) {
        for ((n1, v1), (n2, v2)) in read
            .val_iou_per_dataset
            .iter()
            .zip(&kept.val_iou_per_dataset)
        {
            assert!(
                n1 == n2 && (v1 - v2).abs() < 1e-12,
                "{n1} {v1} vs {n2} {v2}"
            );
        }
    }
    // The best checkpoint says how it was chosen.
    let best = seglens::model::load_model(&dir.join(files::BEST), None, &device.device)
        .expect("best loads");
    assert_eq!(best.meta.provenance["selection"], "mean_dataset_iou");
    assert_eq!(best.meta.provenance["epoch"], first_max);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_dataset_without_validation_foreground_is_left_out_of_the_selection_score() {
    let train_set = disks(4, 8);
    // Samples 4 and 5 ("blank") have empty masks: a blank dataset scores IoU 1 for
    // predicting nothing, which must not vote for an epoch.
    let mut inner = disks(6, 9);
    for s in &mut inner.samples[4..] {
        s.mask.iter_mut().for_each(|m| *m = 0.0);
    }
    let val_set = Tagged {
        inner,
        datasets: vec!["ct", "mr", "ct", "mr", "blank", "blank"],
    };
    let mut run = config(2, 4);
    run.train.selection = Selection::MeanDatasetIou;
    let dir = run_dir("mix-blank");
    let (state, events) = train_to_end(&run, &train_set, &val_set, &dir);
    let warning = events
        .iter()
        .find_map(|e| {
            if let TrainEvent::Warning { message } = e {
                Some(message.clone())
            } else {
                None
            }
        })
        .expect("a warning names the blank dataset");
    assert!(
        warning.contains("no foreground in the validation masks of blank"),
        "{warning}"
    );
    for r in &state.history {
        let names: Vec<&str> = r
            .val_iou_per_dataset
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["ct", "mr"]);
    }
    let csv = std::fs::read_to_string(dir.join(files::EPOCHS_CSV)).expect("epochs.csv");
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",seconds,val_iou[ct],val_iou[mr]"),
        "{csv}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
