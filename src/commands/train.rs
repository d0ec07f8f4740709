//! `seglens train`: datasets → split → prepared samples → the training loop → an
//! evaluation of the best checkpoint on the validation set (labelled as the selection
//! set) and on the test set when there is one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::progress::{Progress, bar, duration};
use super::{report_pairing, set_threads, skipped_lines};
use crate::backend;
use crate::cli::TrainArgs;
use crate::convention::Normalisation;
use crate::data::grouping::Grouping;
use crate::data::split::SiteHoldout;
use crate::train::report::write_run_report;
use crate::train::setup::{
    NewRunRequest, OptimizerChoice, RunSources, open_run, plan_run, write_new_run,
};
use crate::train::{EventLog, TrainControl, TrainEvent, TrainOutcome, train};

/// The split file inside a run folder.
pub use crate::train::setup::SPLIT_FILE;

/// Exit status of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
const INTERRUPTED: i32 = 130;

/// The first Ctrl-C asks the run to stop after the current step, save a resumable
/// checkpoint and say how to resume (as the window's stop button does); a second one
/// ends the process at once.
fn stop_on_ctrl_c(control: Arc<TrainControl>) {
    let presses = AtomicUsize::new(0);
    let installed = ctrlc::set_handler(move || {
        if presses.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!(
                "\nstopping after this step and saving (Ctrl-C again quits at once, losing the steps since the last save)"
            );
            control.cancel();
        } else {
            std::process::exit(INTERRUPTED);
        }
    });
    if let Err(e) = installed {
        eprintln!("warning: Ctrl-C will end the run without saving it: {e}");
    }
}

/// "trained on MR at 128²" for a seglens checkpoint; `None` for plain PyTorch weights.
fn trained_as(path: &std::path::Path) -> Option<String> {
    let dict = crate::model::StateDict::read(path).ok()?;
    let meta: crate::model::CheckpointMeta =
        serde_json::from_str(dict.metadata.get(crate::model::checkpoint::META_KEY)?).ok()?;
    Some(format!("trained on {}", input_text(&meta.input)))
}

/// "MR at 128²" ("data of unknown modality" when the convention does not say).
fn input_text(input: &crate::convention::InputConvention) -> String {
    format!(
        "{} at {}²",
        input
            .modality
            .as_deref()
            .unwrap_or("data of unknown modality"),
        input.size
    )
}

/// Runs `seglens train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    set_threads(args.threads);
    let compute = backend::select(args.backend).map_err(anyhow::Error::msg)?;
    eprintln!("device: {}", compute.reason);
    let (run, split, run_dir, resume) = match &args.resume {
        Some(dir) => {
            let (run, split) = open_run(dir)?;
            (run, split, dir.clone(), true)
        }
        None => {
            let Some(out) = args.out.clone() else {
                anyhow::bail!("--out is required for a new run");
            };
            let planned = plan_run(&request_of(&args))?;
            for ds in &planned.datasets {
                report_pairing(ds);
            }
            if planned.relocated > 0 {
                eprintln!(
                    "split: {} samples are read from where --data has them now, not from the split's recorded paths",
                    planned.relocated
                );
            }
            write_new_run(&planned, &out)?;
            (planned.run, planned.split, out, false)
        }
    };
    eprintln!(
        "split {}: {} train, {} val, {} test",
        &split.hash[..12.min(split.hash.len())],
        split.train.len(),
        split.val.len(),
        split.test.len()
    );
    let sources = RunSources::load(&split, &run.train.input);
    for line in skipped_lines(sources.skipped()) {
        eprintln!("{line}");
    }
    let warnings: Vec<&String> = sources.warnings().collect();
    if let Some(first) = warnings.first() {
        eprintln!("{} data warnings, e.g. {first}", warnings.len());
    }

    let control = Arc::new(TrainControl::default());
    stop_on_ctrl_c(control.clone());
    if let Some(init) = &run.train.init
        && !resume
    {
        eprintln!(
            "starting from the weights in {} (SHA-256 {}…{})",
            init.path.display(),
            &init.sha256[..12.min(init.sha256.len())],
            trained_as(&init.path)
                .map(|what| format!("; {what}, this run: {}", input_text(&run.train.input)))
                .unwrap_or_default()
        );
    }
    let mut progress = Progress::default();
    let mut events_log = EventLog::open(&run_dir, resume);
    let mut total_steps = 0;
    let outcome = train(
        &run,
        &sources.train,
        &sources.val,
        &run_dir,
        &compute,
        &control,
        resume,
        &mut |event| {
            events_log.append(&event);
            match &event {
            TrainEvent::Started { total_steps: t, start_step, .. } => {
                total_steps = *t;
                // A finished run says so in the warning that follows.
                if start_step < t {
                    progress.line(&format!("training {} steps from step {start_step} in {}", t, run_dir.display()));
                }
            }
            TrainEvent::Step { epoch, step, loss, lr, images_per_sec, eta_secs } => progress.update(&format!(
                "{} epoch {} step {}/{total_steps} loss {loss:.4} lr {lr:.5} {images_per_sec:.1} img/s ETA {}",
                bar(step + 1, total_steps, 20),
                epoch + 1,
                step + 1,
                duration(*eta_secs)
            )),
            TrainEvent::Epoch { epoch, train_loss, val_loss, val_iou, val_dice, val_dice_per_image, val_iou_per_dataset, best } => progress.line(&format!(
                "epoch {}: train loss {train_loss:.4}, val loss {val_loss:.4}, val IoU {val_iou:.4}{}, Dice {val_dice:.4} (per image {val_dice_per_image:.4}){}",
                epoch + 1,
                val_iou_per_dataset.iter().map(|(name, iou)| format!(" ({name} {iou:.4})")).collect::<String>(),
                if *best { "  best so far" } else { "" }
            )),
            TrainEvent::Warning { message } => progress.line(&format!("warning: {message}")),
            TrainEvent::Failed { message } => progress.line(&format!("failed: {message}")),
            TrainEvent::Cancelled { next_step } => progress.line(&format!("stopped; resume with --resume {} (next step {next_step})", run_dir.display())),
            _ => {}
        }
        },
    )?;
    let state = match outcome {
        TrainOutcome::Finished { state } => state,
        // Saved and said how to resume (the Cancelled event); a script must not take the
        // run for finished.
        TrainOutcome::Cancelled { .. } => std::process::exit(INTERRUPTED),
    };
    eprintln!(
        "finished: best epoch {} ({} {:.4})",
        state.best_epoch.map_or(0, |e| e + 1),
        run.train.selection.label(),
        state.best_val_iou
    );
    eprint!("{}", write_run_report(&run_dir, &split, compute)?);
    Ok(())
}

fn request_of(args: &TrainArgs) -> NewRunRequest {
    let grouping = match (&args.group_regex, args.no_grouping) {
        (_, true) => Grouping::None,
        (Some(r), false) => Grouping::Pattern(r.clone()),
        (None, false) => Grouping::Default,
    };
    NewRunRequest {
        data: args.data.clone(),
        variant: args.variant,
        size: args.size,
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        split_file: args.split.clone(),
        optimizer: if args.optimizer == "adamw" {
            OptimizerChoice::Adamw
        } else {
            OptimizerChoice::Sgd
        },
        lr: args.lr,
        val_fraction: args.val_fraction,
        test_fraction: args.test_fraction,
        grouping,
        test_fold: args.test_fold,
        test_site: args.test_site.as_ref().map(|site| SiteHoldout {
            pattern: args.site_regex.clone(),
            site: site.clone(),
        }),
        augment: !args.no_augment,
        augmentation: args.augmentation,
        // clap accepts only the names listed.
        normalisation: Normalisation::from_cli_name(&args.normalisation)
            .unwrap_or(Normalisation::ImageNet),
        save_every: args.save_every,
        init: args.init.clone(),
    }
}
