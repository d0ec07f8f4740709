//! The window's training panel state: the settings form, the plan shown before a
//! start, the running session, and the runs found on disk with their curves.
//!
//! Nothing here blocks: planning (a measured warm-up), listing runs and reading curves
//! run as [`JobRunner`] jobs; the training itself runs in a [`session::TrainingSession`].
//! [`TrainingState::handle`] turns panel commands into work and returns the
//! [`Effect`]s the app applies (open a model, notify).

pub mod curves;
pub mod form;
pub mod session;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use curves::LiveCurves;
use form::TrainingForm;
use session::{SessionStatus, TrainingSession};

use super::backend::{AppBackend, RunSummary, TrainEvent, TrainingJob, TrainingPlan};
use super::jobs::{JobHandle, JobRunner};

/// What the panel asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainingCommand {
    /// Work out the split, steps and time of the form's run.
    Plan,
    /// Start the form's run.
    Start,
    /// Pause the running session.
    Pause,
    /// Continue it.
    Continue,
    /// Single-stepping: allow one more step.
    Step,
    /// Stop it (resumable).
    Cancel,
    /// Resume the run in this folder.
    Resume(PathBuf),
    /// List the runs under the runs folder again.
    RefreshRuns,
    /// Show this run's curves.
    ShowRun(PathBuf),
    /// Overlay this run's curves (`None`: stop overlaying).
    Compare(Option<PathBuf>),
    /// Open this checkpoint as a model in the viewer.
    UseModel(PathBuf),
}

/// What the app must do after a command or an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Open a checkpoint as a model and select it.
    OpenModel(PathBuf),
    /// Tell the user.
    Info(String),
    /// Tell the user something went wrong.
    Error(String),
}

/// Results of the panel's background jobs.
pub enum PanelEvent {
    /// The plan of the form's run.
    Planned(Result<TrainingPlan, String>),
    /// Runs under the runs folder.
    Runs(Vec<RunSummary>),
    /// A run's curves, to show or to overlay.
    Curves {
        /// The run folder.
        dir: PathBuf,
        /// Its name.
        name: String,
        /// Its curves.
        curves: LiveCurves,
        /// Overlay (true) or show (false).
        compare: bool,
    },
}

/// The training panel's state.
pub struct TrainingState {
    /// Whether the panel window is open.
    pub open: bool,
    /// The settings.
    pub form: TrainingForm,
    /// Folder of run folders.
    pub runs_root: PathBuf,
    /// The latest plan, or why planning failed.
    pub plan: Option<Result<TrainingPlan, String>>,
    /// A plan is being worked out.
    pub planning: bool,
    /// The session started last (running or ended).
    pub session: Option<TrainingSession>,
    /// Runs found under `runs_root`.
    pub runs: Vec<RunSummary>,
    /// The past run whose curves are shown when no session runs: folder and curves.
    pub shown: Option<(PathBuf, LiveCurves)>,
    /// A run overlaid on the plots: name and curves.
    pub compare: Option<(String, LiveCurves)>,
    jobs: Vec<JobHandle<PanelEvent>>,
}

/// Where runs go by default: `$XDG_DATA_HOME/seglens/runs`, else `~/.local/share/seglens/runs`.
pub fn default_runs_root() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("seglens").join("runs")
}

impl Default for TrainingState {
    fn default() -> Self {
        Self {
            open: false,
            form: TrainingForm::default(),
            runs_root: default_runs_root(),
            plan: None,
            planning: false,
            session: None,
            runs: Vec::new(),
            shown: None,
            compare: None,
            jobs: Vec::new(),
        }
    }
}

fn steps_per_epoch_of(run: &RunSummary) -> usize {
    let train = run
        .config
        .data
        .pointer("/counts/train")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0) as usize;
    train.div_ceil(run.config.train.batch_size.max(1))
}

impl TrainingState {
    /// Whether a session is running (or paused).
    pub fn is_training(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(TrainingSession::is_active)
    }

    /// Whether any panel job has results not yet drained (tests settle on it).
    pub fn has_pending_jobs(&self) -> bool {
        self.jobs.iter().any(|j| !j.is_done())
    }

    /// The curves to plot: the session's, else the shown past run's.
    pub fn curves(&self) -> Option<&LiveCurves> {
        self.session
            .as_ref()
            .map(|s| &s.curves)
            .or(self.shown.as_ref().map(|(_, c)| c))
    }

    /// Applies a panel command.
    pub fn handle(
        &mut self,
        cmd: TrainingCommand,
        backend: &Arc<dyn AppBackend>,
        runner: &JobRunner,
    ) -> Vec<Effect> {
        let session = self.session.as_ref().filter(|s| s.is_active());
        match cmd {
            TrainingCommand::Plan => {
                if let Some(problem) = self.form.problem() {
                    self.plan = Some(Err(problem));
                    return Vec::new();
                }
                let job = self.new_job();
                let backend = backend.clone();
                self.planning = true;
                self.jobs
                    .push(runner.spawn("seglens-train-plan", 0, move |tx| {
                        tx.send(PanelEvent::Planned(backend.plan_training(&job)));
                    }));
            }
            TrainingCommand::Start => {
                if self.is_training() {
                    return vec![Effect::Error(
                        "a run is already going: stop it first".into(),
                    )];
                }
                if let Some(problem) = self.form.problem() {
                    return vec![Effect::Error(problem)];
                }
                let job = self.new_job();
                self.start(job, backend, runner);
            }
            TrainingCommand::Resume(dir) => {
                if self.is_training() {
                    return vec![Effect::Error(
                        "a run is already going: stop it first".into(),
                    )];
                }
                let job = TrainingJob::Resume {
                    dir,
                    device: self.form.device,
                };
                self.start(job, backend, runner);
            }
            TrainingCommand::Pause => session.iter().for_each(|s| s.pause()),
            TrainingCommand::Continue => session.iter().for_each(|s| s.resume()),
            TrainingCommand::Step => session.iter().for_each(|s| s.step(1)),
            TrainingCommand::Cancel => session.iter().for_each(|s| s.cancel()),
            TrainingCommand::RefreshRuns => self.refresh_runs(backend, runner),
            TrainingCommand::ShowRun(dir) => self.load_curves(dir, false, backend, runner),
            TrainingCommand::Compare(Some(dir)) => self.load_curves(dir, true, backend, runner),
            TrainingCommand::Compare(None) => self.compare = None,
            TrainingCommand::UseModel(path) => return vec![Effect::OpenModel(path)],
        }
        Vec::new()
    }

    fn new_job(&self) -> TrainingJob {
        TrainingJob::New {
            request: self.form.request(),
            out: self
                .form
                .run_dir(&self.runs_root, std::time::SystemTime::now()),
            device: self.form.device,
        }
    }

    fn start(&mut self, job: TrainingJob, backend: &Arc<dyn AppBackend>, runner: &JobRunner) {
        let limit = self.form.single_step.then_some(0);
        self.shown = None;
        self.session = Some(TrainingSession::start(
            backend.clone(),
            job,
            runner.waker().clone(),
            limit,
        ));
    }

    fn refresh_runs(&mut self, backend: &Arc<dyn AppBackend>, runner: &JobRunner) {
        let backend = backend.clone();
        let root = self.runs_root.clone();
        self.jobs.push(runner.spawn("seglens-runs", 0, move |tx| {
            tx.send(PanelEvent::Runs(backend.runs(&root)));
        }));
    }

    fn load_curves(
        &mut self,
        dir: PathBuf,
        compare: bool,
        backend: &Arc<dyn AppBackend>,
        runner: &JobRunner,
    ) {
        let steps_per_epoch = self
            .runs
            .iter()
            .find(|r| r.dir == dir)
            .map_or(0, steps_per_epoch_of);
        let name = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let backend = backend.clone();
        self.jobs
            .push(runner.spawn("seglens-run-curves", 0, move |tx| {
                let curves = LiveCurves::from_run(&backend.run_curves(&dir), steps_per_epoch);
                tx.send(PanelEvent::Curves {
                    dir,
                    name,
                    curves,
                    compare,
                });
            }));
    }

    /// Applies finished jobs and session events; returns what the app must do.
    pub fn drain(&mut self, backend: &Arc<dyn AppBackend>, runner: &JobRunner) -> Vec<Effect> {
        let mut effects = Vec::new();
        let mut jobs = std::mem::take(&mut self.jobs);
        for job in &mut jobs {
            for e in job.drain() {
                match e {
                    PanelEvent::Planned(plan) => {
                        self.planning = false;
                        self.plan = Some(plan);
                    }
                    PanelEvent::Runs(runs) => self.runs = runs,
                    PanelEvent::Curves {
                        dir,
                        name,
                        curves,
                        compare,
                    } => {
                        if compare {
                            self.compare = Some((name, curves));
                        } else {
                            self.shown = Some((dir, curves));
                        }
                    }
                }
            }
        }
        jobs.retain(|j| !j.is_done());
        jobs.append(&mut self.jobs);
        self.jobs = jobs;

        let Some(session) = self.session.as_mut() else {
            return effects;
        };
        let was_active = session.is_active();
        for event in session.drain() {
            match event {
                TrainEvent::Finished {
                    best_epoch,
                    best_val_iou,
                } => {
                    effects.push(Effect::Info(format!(
                        "training finished: best epoch {} (validation score {best_val_iou:.3})",
                        best_epoch + 1
                    )));
                    // Every finished run has validated an epoch, so it has a best checkpoint.
                    let best = session
                        .best_checkpoint
                        .clone()
                        .unwrap_or_else(|| session.run_dir.join(crate::train::files::BEST));
                    effects.push(Effect::OpenModel(best));
                }
                TrainEvent::Warning { message } => effects.push(Effect::Info(message)),
                _ => {}
            }
        }
        if was_active && !session.is_active() {
            if let SessionStatus::Failed(why) = &session.status {
                effects.push(Effect::Error(format!("training failed: {why}")));
            }
            self.refresh_runs(backend, runner);
        }
        effects
    }

    /// The run folder of the session, when it has one.
    pub fn session_dir(&self) -> Option<&Path> {
        self.session.as_ref().map(|s| s.run_dir.as_path())
    }
}
