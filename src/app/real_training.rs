//! Training for [`super::real_backend::RealBackend`]: the same set-up, loop and run
//! folder as `seglens train` (`crate::train::setup`), so a run started in the window can
//! be resumed from the command line and the other way round.
//!
//! The loop runs in its own thread pool of all cores but one, at a lower scheduling
//! priority, so the window keeps a core to draw on while a run goes.

use super::backend::{TrainingJob, TrainingPlan};
use crate::backend::{BackendRequest, ComputeDevice, select};
use crate::train::report::write_run_report;
use crate::train::setup::{PlannedRun, RunSources, open_run, plan_run, write_new_run};
use crate::train::{
    EventLog, PreparedSource, TrainControl, TrainEvent, TrainOutcome, measure_step_seconds, train,
};

/// Threads the training loop may use: all cores but one.
pub fn training_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

/// Lowers the calling thread's priority (nice 10 on Linux, where nice is per thread), so
/// drawing the window wins over training when both want a core.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `who = 0` is this thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

fn pool() -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(training_threads())
        .thread_name(|i| format!("seglens-train-{i}"))
        .start_handler(|_| lower_priority())
        .build()
        .map_err(|e| format!("cannot start the training threads: {e}"))
}

fn device(request: BackendRequest) -> Result<ComputeDevice, String> {
    select(request)
}

/// Plans a new run and times one step on its first batch.
pub fn plan(job: &TrainingJob) -> Result<TrainingPlan, String> {
    let TrainingJob::New {
        request,
        device: wanted,
        ..
    } = job
    else {
        return Err("a resumed run keeps its own plan".into());
    };
    let compute = device(*wanted)?;
    let planned = plan_run(request).map_err(|e| format!("{e:#}"))?;
    let first: Vec<_> = planned
        .split
        .train
        .iter()
        .take(planned.run.train.batch_size)
        .cloned()
        .collect();
    let batch = PreparedSource::load(&first, &planned.run.train.input);
    let seconds_per_step = pool()?
        .install(|| measure_step_seconds(&planned.run.train, &batch, &compute, 1))
        .map_err(|e| format!("{e:#}"))?;
    Ok(plan_of(&planned, seconds_per_step, compute.reason))
}

fn plan_of(planned: &PlannedRun, seconds_per_step: f64, device: String) -> TrainingPlan {
    TrainingPlan {
        train: planned.split.train.len(),
        val: planned.split.val.len(),
        test: planned.split.test.len(),
        datasets: planned
            .datasets
            .iter()
            .map(|d| (d.name.clone(), d.pairing.pairs.len()))
            .collect(),
        steps_per_epoch: planned.steps_per_epoch(),
        total_steps: planned.total_steps(),
        seconds_per_step,
        device,
    }
}

/// Runs `job` to its end; a finished run also gets its evaluation report.
pub fn run(
    job: &TrainingJob,
    control: &TrainControl,
    on_event: &mut (dyn FnMut(TrainEvent) + Send),
) -> Result<(), String> {
    let (compute, run, split, dir, resume) = match job {
        TrainingJob::New {
            request,
            out,
            device: wanted,
        } => {
            let compute = device(*wanted)?;
            let planned = plan_run(request).map_err(|e| format!("{e:#}"))?;
            write_new_run(&planned, out).map_err(|e| format!("{e:#}"))?;
            (compute, planned.run, planned.split, out.clone(), false)
        }
        TrainingJob::Resume {
            dir,
            device: wanted,
        } => {
            let (run, split) = open_run(dir).map_err(|e| format!("{e:#}"))?;
            (device(*wanted)?, run, split, dir.clone(), true)
        }
    };
    let sources = RunSources::load(&split, &run.train.input);
    for (path, why) in sources.skipped() {
        on_event(TrainEvent::Warning {
            message: format!("skipped {}: {why}", path.display()),
        });
    }
    let mut log = EventLog::open(&dir, resume);
    let outcome = pool()?.install(|| {
        train(
            &run,
            &sources.train,
            &sources.val,
            &dir,
            &compute,
            control,
            resume,
            &mut |event| {
                log.append(&event);
                on_event(event);
            },
        )
    });
    match outcome {
        Ok(TrainOutcome::Finished { .. }) => {
            if let Err(e) = write_run_report(&dir, &split, compute) {
                on_event(TrainEvent::Warning {
                    message: format!("the run finished but its report could not be written: {e:#}"),
                });
            }
            Ok(())
        }
        Ok(TrainOutcome::Cancelled { .. }) => Ok(()),
        Err(e) => Err(format!("{e:#}")),
    }
}
