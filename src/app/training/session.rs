//! A training run the window started: its thread, control flags, the events received
//! so far and the curves built from them.
//!
//! The run goes on a dedicated thread (not a [`crate::app::jobs::JobRunner`] job: it
//! lives for hours, and tests that settle the other jobs must not wait for it). Events
//! come over a channel and wake the UI; the app drains them each frame.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::thread::JoinHandle;

use super::curves::LiveCurves;
use crate::app::backend::{AppBackend, TrainControl, TrainEvent, TrainingJob};
use crate::app::jobs::Waker;
use crate::train::CheckpointKind;
use crate::train::runs::RunCurves;

/// Where a session stands.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionStatus {
    /// The thread is preparing the data.
    Starting,
    /// Steps are running.
    Running,
    /// Paused between steps.
    Paused,
    /// Stopped on request; the run can be resumed from its last checkpoint.
    Stopped {
        /// Next step on resume.
        next_step: usize,
    },
    /// All epochs ran.
    Finished,
    /// The run failed; its last good checkpoint is kept.
    Failed(String),
}

impl SessionStatus {
    /// Short text for the panel.
    pub fn label(&self) -> String {
        match self {
            Self::Starting => "preparing data…".into(),
            Self::Running => "running".into(),
            Self::Paused => "paused".into(),
            Self::Stopped { next_step } => format!("stopped (resumable at step {next_step})"),
            Self::Finished => "finished".into(),
            Self::Failed(why) => format!("failed: {why}"),
        }
    }
}

/// The latest step's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepProgress {
    /// Steps done (1-based count).
    pub done: usize,
    /// Steps of the run.
    pub total: usize,
    /// 0-based epoch.
    pub epoch: usize,
    /// Throughput.
    pub images_per_sec: f64,
    /// Seconds left.
    pub eta_secs: f64,
}

enum Message {
    /// The curves a resumed run already has (read on the thread, not the UI's).
    Earlier(RunCurves),
    Event(TrainEvent),
    Ended(Result<(), String>),
}

/// One run started from the window.
pub struct TrainingSession {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Pause, cancel and single-step flags shared with the loop.
    pub control: Arc<TrainControl>,
    /// Where it stands.
    pub status: SessionStatus,
    /// The latest step's figures.
    pub progress: Option<StepProgress>,
    /// The series to plot.
    pub curves: LiveCurves,
    /// Every event received, in order (what the curves were built from).
    pub received: Vec<TrainEvent>,
    /// The best checkpoint, once one was written.
    pub best_checkpoint: Option<PathBuf>,
    /// Device the loop reported.
    pub device: String,
    rx: Receiver<Message>,
    thread: Option<JoinHandle<()>>,
    ended: bool,
}

impl TrainingSession {
    /// Starts `job` on its own thread; a resumed run first loads the curves it already
    /// has. `step_limit` starts it single-stepping (see [`TrainControl::limit_steps`]).
    pub fn start(
        backend: Arc<dyn AppBackend>,
        job: TrainingJob,
        waker: Waker,
        step_limit: Option<usize>,
    ) -> Self {
        let curves = LiveCurves::default();
        let control = Arc::new(TrainControl::default());
        control.limit_steps(step_limit);
        let (tx, rx) = channel();
        let run_dir = job.run_dir().to_path_buf();
        let thread_control = control.clone();
        let thread = std::thread::Builder::new()
            .name("seglens-training".into())
            .spawn(move || {
                if let TrainingJob::Resume { dir, .. } = &job {
                    let _ = tx.send(Message::Earlier(backend.run_curves(dir)));
                }
                let result = backend.train(&job, &thread_control, &mut |event| {
                    let _ = tx.send(Message::Event(event));
                    waker.wake();
                });
                let _ = tx.send(Message::Ended(result));
                waker.wake();
            });
        let (thread, status) = match thread {
            Ok(t) => (Some(t), SessionStatus::Starting),
            Err(e) => (
                None,
                SessionStatus::Failed(format!("cannot start the training thread: {e}")),
            ),
        };
        let ended = thread.is_none();
        Self {
            run_dir,
            control,
            status,
            progress: None,
            curves,
            received: Vec::new(),
            best_checkpoint: None,
            device: String::new(),
            rx,
            thread,
            ended,
        }
    }

    /// Whether the loop thread is still going (or has undelivered messages).
    pub fn is_active(&self) -> bool {
        !self.ended
    }

    /// Applies every message available now; returns the new events.
    pub fn drain(&mut self) -> Vec<TrainEvent> {
        let mut new = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(m) => new.extend(self.apply(m)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.finish_thread();
                    break;
                }
            }
        }
        new
    }

    fn apply(&mut self, message: Message) -> Option<TrainEvent> {
        match message {
            Message::Earlier(curves) => {
                // Events already applied (a fast start) stay on top of the earlier curves.
                let mut earlier = LiveCurves::from_run(&curves, self.curves.steps_per_epoch);
                for e in &self.received {
                    earlier.apply(e);
                }
                self.curves = earlier;
                None
            }
            Message::Ended(result) => {
                if let Err(why) = result
                    && !matches!(self.status, SessionStatus::Failed(_))
                {
                    self.status = SessionStatus::Failed(why);
                }
                if matches!(
                    self.status,
                    SessionStatus::Starting | SessionStatus::Running | SessionStatus::Paused
                ) {
                    self.status = SessionStatus::Failed("the run ended without a result".into());
                }
                self.finish_thread();
                None
            }
            Message::Event(event) => {
                self.curves.apply(&event);
                match &event {
                    TrainEvent::Started {
                        device,
                        start_step,
                        steps_per_epoch,
                        run_dir,
                        ..
                    } => {
                        self.device = device.clone();
                        self.status = SessionStatus::Running;
                        // A run resumed after its first epoch already has a best checkpoint.
                        if *start_step >= *steps_per_epoch {
                            self.best_checkpoint = Some(run_dir.join(crate::train::files::BEST));
                        }
                    }
                    TrainEvent::Step {
                        epoch,
                        step,
                        images_per_sec,
                        eta_secs,
                        ..
                    } => {
                        let total = self.progress.map_or(0, |p| p.total);
                        self.progress = Some(StepProgress {
                            done: step + 1,
                            total,
                            epoch: *epoch,
                            images_per_sec: *images_per_sec,
                            eta_secs: *eta_secs,
                        });
                    }
                    TrainEvent::CheckpointSaved {
                        kind: CheckpointKind::Best,
                        path,
                    } => self.best_checkpoint = Some(path.clone()),
                    TrainEvent::Paused => self.status = SessionStatus::Paused,
                    TrainEvent::Continued => self.status = SessionStatus::Running,
                    TrainEvent::Cancelled { next_step } => {
                        self.status = SessionStatus::Stopped {
                            next_step: *next_step,
                        }
                    }
                    TrainEvent::Finished { .. } => self.status = SessionStatus::Finished,
                    TrainEvent::Failed { message } => {
                        self.status = SessionStatus::Failed(message.clone())
                    }
                    _ => {}
                }
                if let TrainEvent::Started {
                    total_steps,
                    start_step,
                    ..
                } = &event
                {
                    self.progress = Some(StepProgress {
                        done: *start_step,
                        total: *total_steps,
                        epoch: 0,
                        images_per_sec: 0.0,
                        eta_secs: f64::NAN,
                    });
                }
                self.received.push(event.clone());
                Some(event)
            }
        }
    }

    fn finish_thread(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.ended = true;
    }

    /// Pauses between steps.
    pub fn pause(&self) {
        self.control.set_paused(true);
    }

    /// Continues after a pause.
    pub fn resume(&self) {
        self.control.set_paused(false);
    }

    /// Stops after the current step, saving a resumable checkpoint.
    pub fn cancel(&self) {
        self.control.cancel();
    }

    /// Single-stepping: allows `n` more steps.
    pub fn step(&self, n: usize) {
        self.control.allow_steps(n);
    }
}

impl Drop for TrainingSession {
    /// Closing the window stops the run cleanly: it saves its last checkpoint, so the
    /// run can be resumed, before the thread is joined.
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.control.cancel();
            let _ = t.join();
        }
    }
}
