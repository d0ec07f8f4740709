//! Background jobs: a [`JobHandle`] per job (receiver + cancel flag + thread), typed
//! event enums, and the [`JobRunner`] that decides *how* jobs run.
//!
//! Workers wake the UI after each event (`request_repaint`). The app drains events at
//! the start of each frame on a small time budget.
//!
//! Tests get determinism from [`JobRunner::wait_idle`]: it joins every running job
//! thread, after which a frame drains all their events. Threads are named.
//!
//! Depends on [`super::backend`] only; no egui types besides the repaint waker.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::backend::{EntryId, EntryInfo, LoadedEntry, ModelId, ModelInfo, Prediction};

/// Calls `request_repaint` on the UI context (set once the context exists).
#[derive(Clone, Default)]
pub struct Waker(Arc<Mutex<Option<egui::Context>>>);

impl Waker {
    /// Remember the context to wake.
    pub fn set(&self, ctx: &egui::Context) {
        if let Ok(mut g) = self.0.lock()
            && g.is_none()
        {
            *g = Some(ctx.clone());
        }
    }

    /// Ask for a new frame.
    pub fn wake(&self) {
        if let Ok(g) = self.0.lock()
            && let Some(ctx) = g.as_ref()
        {
            ctx.request_repaint();
        }
    }
}

/// A running job: events in, a cancel flag out, and its thread.
pub struct JobHandle<E> {
    rx: Receiver<E>,
    cancel: Arc<AtomicBool>,
    /// Generation of the request this job serves (latest request wins).
    pub generation: u64,
    done: bool,
}

impl<E> JobHandle<E> {
    /// Ask the job to stop at its next check.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether cancel was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Whether the job's thread has ended and all its events were drained.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Every event available now; marks the job done once its sender is gone.
    pub fn drain(&mut self) -> Vec<E> {
        let mut out = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(e) => out.push(e),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.done = true;
                    break;
                }
            }
        }
        out
    }
}

/// What a job sends back to the app; one sender per job.
pub struct JobSender<E> {
    tx: Sender<E>,
    waker: Waker,
    cancel: Arc<AtomicBool>,
}

impl<E> JobSender<E> {
    /// Send an event and wake the UI. Returns false when the app is gone.
    pub fn send(&self, event: E) -> bool {
        let ok = self.tx.send(event).is_ok();
        self.waker.wake();
        ok
    }

    /// The job's cancel flag.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// Whether cancel was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Starts jobs on named threads and can wait for all of them (tests, benchmarks).
#[derive(Clone, Default)]
pub struct JobRunner {
    waker: Waker,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    running: Arc<AtomicUsize>,
}

impl JobRunner {
    /// The waker jobs use.
    pub fn waker(&self) -> &Waker {
        &self.waker
    }

    /// Spawn `work` on a thread named `name`; it sends events through the [`JobSender`].
    pub fn spawn<E: Send + 'static>(
        &self,
        name: &str,
        generation: u64,
        work: impl FnOnce(JobSender<E>) + Send + 'static,
    ) -> JobHandle<E> {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let sender = JobSender {
            tx,
            waker: self.waker.clone(),
            cancel: cancel.clone(),
        };
        let running = self.running.clone();
        running.fetch_add(1, Ordering::SeqCst);
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                work(sender);
                running.fetch_sub(1, Ordering::SeqCst);
                waker.wake();
            });
        match spawned {
            Ok(h) => {
                if let Ok(mut t) = self.threads.lock() {
                    t.retain(|h| !h.is_finished());
                    t.push(h);
                }
            }
            Err(_) => {
                self.running.fetch_sub(1, Ordering::SeqCst);
            }
        }
        JobHandle {
            rx,
            cancel,
            generation,
            done: false,
        }
    }

    /// Number of job threads still running.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Join every job thread started so far (and any they started). For tests and
    /// benchmarks; the app itself never blocks on jobs.
    pub fn wait_idle(&self) {
        loop {
            let batch: Vec<JoinHandle<()>> = match self.threads.lock() {
                Ok(mut t) => t.drain(..).collect(),
                Err(_) => return,
            };
            if batch.is_empty() {
                return;
            }
            for h in batch {
                let _ = h.join();
            }
        }
    }
}

/// Events of a dataset-open job.
pub enum OpenEvent {
    /// The path opened into these entries.
    Opened {
        /// What was opened (shown and remembered in recent items).
        path: std::path::PathBuf,
        /// The entries, in backend order.
        entries: Vec<EntryInfo>,
    },
    /// The path could not be opened.
    Failed(String),
}

/// Events of an entry-load job.
pub enum LoadEvent {
    /// An entry's pixels are in.
    Loaded(Arc<LoadedEntry>),
    /// Loading failed.
    Failed {
        /// Which entry.
        id: EntryId,
        /// Why.
        error: String,
    },
}

/// Events of an inference job (one image or the whole dataset).
pub enum InferEvent {
    /// An entry was loaded on the way (cache it).
    Loaded(Arc<LoadedEntry>),
    /// One prediction is ready.
    Predicted {
        /// The model used.
        model: ModelId,
        /// The entry.
        entry: EntryId,
        /// Its probabilities.
        prediction: Arc<Prediction>,
        /// Its evaluation against the GT (computed on the job thread), if it has one.
        eval: Option<Arc<super::evaluation::EntryEval>>,
    },
    /// `done` of `total` entries are finished.
    Progress {
        /// Finished entries.
        done: usize,
        /// All entries of the job.
        total: usize,
    },
    /// A recoverable failure on one entry; the job goes on.
    Warning(String),
    /// The job ended (normally or after a cancel).
    Finished {
        /// Whether it stopped because of a cancel.
        cancelled: bool,
    },
}

/// Events of small one-shot backend queries (models, device notice, dialogs).
pub enum MiscEvent {
    /// The model list.
    Models(Vec<ModelInfo>),
    /// A model file was opened.
    ModelOpened(ModelInfo),
    /// Where inference runs.
    DeviceNotice(String),
    /// Demo sources (opened at start-up when nothing else is).
    DemoSources(Vec<super::backend::SourceRef>),
    /// A file dialog returned a path to open as a dataset.
    PickedDataset(std::path::PathBuf),
    /// A file dialog returned a model path.
    PickedModel(std::path::PathBuf),
    /// Something failed; shown as a notification.
    Error(String),
}
