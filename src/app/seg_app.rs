//! [`SegApp`]: the `eframe::App`. Owns [`Settings`], [`AppState`], the job handles and
//! the runtime caches. Per frame: drain job events into state, draw the panels (which
//! push [`AppCommand`]s), then run the commands. The UI thread never calls the backend.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::annotation::AnnotationState;
use super::app_state::{AppState, InferenceProgress, Pane};
use super::backend::{AppBackend, EntryId, LoadedEntry, ModelId, Prediction};
use super::command::{AppCommand, CommandQueue, DialogKind, InferScope};
use super::dialogs::FileDialogs;
use super::evaluation::{DatasetEval, EntryEval};
use super::jobs::{InferEvent, JobHandle, JobRunner, LoadEvent, MiscEvent, OpenEvent};
use super::render::OverlayData;
use super::settings::{SETTINGS_KEY, Settings};
use super::training::{Effect, TrainingCommand, TrainingState};
use super::ui;
use super::ui::notifications::{Level, Notifications};
use crate::metrics::OverlapScores;

/// Largest number of side-by-side panes.
pub const MAX_PANES: usize = 4;

/// Key of a prediction: which model on which entry.
pub type PredictionKey = (ModelId, EntryId);

/// Loaded entries, predictions and evaluations. Runtime only, never persisted.
#[derive(Default)]
pub struct Caches {
    /// Loaded entries by id.
    pub loaded: HashMap<EntryId, Arc<LoadedEntry>>,
    /// Entries with a load job in flight.
    pub pending_loads: HashSet<EntryId>,
    /// Predictions by (model, entry).
    pub predictions: HashMap<PredictionKey, Arc<Prediction>>,
    /// Evaluations against the GT by (model, entry).
    pub evals: HashMap<PredictionKey, Arc<EntryEval>>,
}

/// Per-pane runtime: compositor inputs, the CPU texture, cached scores.
#[derive(Default)]
pub struct PaneRuntime {
    /// What `data` was built from: entry, model, prediction and loaded-entry pointers.
    pub data_key: Option<(EntryId, Option<ModelId>, usize, usize)>,
    /// Last drawn viewer rect and image rect on screen (editing input, tests).
    pub screen: Option<(egui::Rect, egui::Rect)>,
    /// Compositor inputs.
    pub data: Option<Arc<OverlayData>>,
    /// CPU-path texture and what it was drawn from.
    pub cpu_texture: Option<(
        egui::TextureHandle,
        u64,
        super::render::gpu_types::OverlayParams,
    )>,
    /// Scores at this pane's threshold, and the (version, threshold bits) they are for.
    pub scores: Option<(u64, u32, Option<OverlapScores>)>,
}

/// Scores of every predicted entry at one threshold, for the dataset list.
#[derive(Default)]
pub struct ListScores {
    key: Option<(Option<ModelId>, u32, usize, u64)>,
    /// Scores by entry.
    pub by_entry: HashMap<EntryId, OverlapScores>,
}

/// Dataset evaluation of the current model, recomputed when predictions change.
#[derive(Default)]
pub struct DatasetEvalCache {
    key: Option<(Option<ModelId>, u64)>,
    /// The report, when any image has a prediction and a GT.
    pub eval: Option<DatasetEval>,
}

/// Timings for the bench and smoke runs.
#[derive(Clone, Copy, Debug)]
pub struct Timings {
    /// When the app was created.
    pub started: Instant,
    /// When the first image was drawn.
    pub first_image: Option<Instant>,
}

/// The seglens window.
pub struct SegApp {
    /// Persisted settings.
    pub settings: Settings,
    /// Session state.
    pub state: AppState,
    /// Runtime caches.
    pub caches: Caches,
    /// Per-pane runtime.
    pub panes_rt: Vec<PaneRuntime>,
    /// Dataset list scores.
    pub list_scores: ListScores,
    /// Dataset evaluation.
    pub dataset_eval: DatasetEvalCache,
    /// Toasts.
    pub notifications: Notifications,
    /// Timings.
    pub timings: Timings,
    /// The training panel.
    pub training: TrainingState,
    /// Mask editing.
    pub annotation: AnnotationState,
    backend: Arc<dyn AppBackend>,
    dialogs: Arc<dyn FileDialogs>,
    runner: JobRunner,
    open_job: Option<JobHandle<OpenEvent>>,
    load_jobs: Vec<JobHandle<LoadEvent>>,
    infer_job: Option<JobHandle<InferEvent>>,
    misc_jobs: Vec<JobHandle<MiscEvent>>,
    generation: u64,
    data_version: u64,
    demo_paths: Vec<PathBuf>,
    gpu_available: bool,
}

impl SegApp {
    /// Create the app: read settings from storage, register the GPU overlay pipeline
    /// when wgpu is in use, and start the start-up queries (models, device, demo).
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        backend: Arc<dyn AppBackend>,
        dialogs: Arc<dyn FileDialogs>,
    ) -> Self {
        let settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, SETTINGS_KEY))
            .unwrap_or_default();
        let gpu_available = if let Some(rs) = cc.wgpu_render_state.as_ref() {
            super::render::heatmap::register(rs);
            true
        } else {
            false
        };
        let app = Self::with_settings(settings, backend, dialogs, gpu_available);
        app.runner.waker().set(&cc.egui_ctx);
        app
    }

    /// Create the app without an eframe context (no GPU overlays).
    pub fn with_settings(
        settings: Settings,
        backend: Arc<dyn AppBackend>,
        dialogs: Arc<dyn FileDialogs>,
        gpu_available: bool,
    ) -> Self {
        let threshold = settings.threshold;
        let mut app = Self {
            settings,
            state: AppState {
                panes: vec![Pane::following(threshold)],
                ..AppState::default()
            },
            caches: Caches::default(),
            panes_rt: vec![PaneRuntime::default()],
            list_scores: ListScores::default(),
            dataset_eval: DatasetEvalCache::default(),
            notifications: Notifications::default(),
            timings: Timings {
                started: Instant::now(),
                first_image: None,
            },
            training: TrainingState::default(),
            annotation: AnnotationState::new(),
            backend,
            dialogs,
            runner: JobRunner::default(),
            open_job: None,
            load_jobs: Vec::new(),
            infer_job: None,
            misc_jobs: Vec::new(),
            generation: 0,
            data_version: 0,
            demo_paths: Vec::new(),
            gpu_available,
        };
        app.start_up();
        app
    }

    /// The backend (for jobs started by other app modules).
    pub(crate) fn backend(&self) -> Arc<dyn AppBackend> {
        self.backend.clone()
    }

    /// The job runner (tests and benches wait on it).
    pub fn runner(&self) -> &JobRunner {
        &self.runner
    }

    /// Whether the wgpu overlay pipeline is registered.
    pub fn gpu_available(&self) -> bool {
        self.gpu_available
    }

    /// Wait for every job and apply all their events, repeatedly, until nothing is
    /// running. Deterministic test and bench helper; the app itself never calls it.
    pub fn settle(&mut self) {
        for _ in 0..100 {
            self.runner.wait_idle();
            self.drain_events(None);
            self.ensure_loads();
            if self.runner.running() == 0 && !self.has_undrained_jobs() {
                self.runner.wait_idle();
                self.drain_events(None);
                if self.runner.running() == 0 && !self.has_undrained_jobs() {
                    return;
                }
            }
        }
    }

    fn has_undrained_jobs(&self) -> bool {
        self.open_job.as_ref().is_some_and(|j| !j.is_done())
            || self.infer_job.as_ref().is_some_and(|j| !j.is_done())
            || self.load_jobs.iter().any(|j| !j.is_done())
            || self.misc_jobs.iter().any(|j| !j.is_done())
            || self.training.has_pending_jobs()
            || self.annotation.has_pending_jobs()
    }

    fn start_up(&mut self) {
        let backend = self.backend.clone();
        let job = self.runner.spawn("seglens-startup", 0, move |tx| {
            tx.send(MiscEvent::DeviceNotice(backend.device_notice()));
            tx.send(MiscEvent::Models(backend.models()));
            tx.send(MiscEvent::DemoSources(backend.demo_sources()));
        });
        self.misc_jobs.push(job);
    }

    /// The model used where a pane does not pick its own.
    pub fn global_model(&self) -> Option<ModelId> {
        self.settings
            .model
            .clone()
            .filter(|m| self.state.models.iter().any(|i| &i.id == m))
            .or_else(|| self.state.models.first().map(|m| m.id.clone()))
    }

    /// The model pane `pane` shows.
    pub fn pane_model(&self, pane: usize) -> Option<ModelId> {
        self.state
            .panes
            .get(pane)
            .and_then(|p| p.model.clone())
            .or_else(|| self.global_model())
    }

    /// The threshold pane `pane` uses.
    pub fn pane_threshold(&self, pane: usize) -> f32 {
        if pane == 0 || self.settings.linked_panes {
            self.settings.threshold
        } else {
            self.state
                .panes
                .get(pane)
                .map_or(self.settings.threshold, |p| p.threshold)
        }
    }

    /// Scores of the selected image at the slider threshold, from `crate::metrics`
    /// (what the metrics panel shows). `None` before a prediction or without a GT.
    pub fn current_scores(&mut self) -> Option<OverlapScores> {
        self.pane_scores(0)
    }

    /// Scores of pane `pane` at its threshold (cached per data version and threshold).
    pub fn pane_scores(&mut self, pane: usize) -> Option<OverlapScores> {
        self.refresh_pane_data(pane);
        let t = self.pane_threshold(pane);
        let rt = self.panes_rt.get_mut(pane)?;
        let data = rt.data.clone()?;
        if let Some((v, tb, s)) = &rt.scores
            && *v == data.version
            && *tb == t.to_bits()
        {
            return *s;
        }
        let s = match (&data.prob, &data.gt_mask) {
            (Some(p), Some(g)) => crate::metrics::OverlapScores::from_probabilities(
                p,
                t,
                g,
                super::evaluation::POLICY,
            )
            .ok(),
            _ => None,
        };
        rt.scores = Some((data.version, t.to_bits(), s));
        s
    }

    /// Rebuild pane `pane`'s compositor inputs when its entry, model or prediction changed.
    pub fn refresh_pane_data(&mut self, pane: usize) {
        while self.panes_rt.len() < self.state.panes.len() {
            self.panes_rt.push(PaneRuntime::default());
        }
        let Some(idx) = self.state.pane_entry(pane) else {
            if let Some(rt) = self.panes_rt.get_mut(pane) {
                *rt = PaneRuntime::default();
            }
            return;
        };
        let id = self.state.entries[idx].id.clone();
        let model = self.pane_model(pane);
        let Some(loaded) = self.caches.loaded.get(&id).cloned() else {
            if let Some(rt) = self.panes_rt.get_mut(pane) {
                rt.data = None;
                rt.data_key = None;
            }
            return;
        };
        let pred = model.as_ref().and_then(|m| {
            self.caches
                .predictions
                .get(&(m.clone(), id.clone()))
                .cloned()
        });
        let key = (
            id,
            model,
            pred.as_ref().map_or(0, |p| Arc::as_ptr(p) as usize),
            Arc::as_ptr(&loaded) as usize,
        );
        let rt = &mut self.panes_rt[pane];
        if rt.data_key.as_ref() != Some(&key) {
            self.data_version += 1;
            rt.data = Some(OverlayData::new(
                self.data_version,
                &loaded,
                pred.as_deref(),
            ));
            rt.data_key = Some(key);
            rt.scores = None;
            if self.timings.first_image.is_none() {
                self.timings.first_image = Some(Instant::now());
            }
        }
    }

    /// Per-entry scores at the global threshold for the dataset list.
    pub fn refresh_list_scores(&mut self) {
        let model = self.global_model();
        let t = self.settings.threshold;
        let n_pred = self.caches.predictions.len();
        let key = (
            model.clone(),
            t.to_bits(),
            n_pred,
            self.caches.loaded.len() as u64 + self.annotation.version,
        );
        if self.list_scores.key.as_ref() == Some(&key) {
            return;
        }
        self.list_scores.by_entry.clear();
        if let Some(m) = &model {
            for e in &self.state.entries {
                let (Some(p), Some(l)) = (
                    self.caches.predictions.get(&(m.clone(), e.id.clone())),
                    self.caches.loaded.get(&e.id),
                ) else {
                    continue;
                };
                let Some(gt) = &l.gt else { continue };
                if let Some(s) = super::evaluation::scores_at(p, gt, t) {
                    self.list_scores.by_entry.insert(e.id.clone(), s);
                }
            }
        }
        self.list_scores.key = Some(key);
    }

    /// Dataset sweep and calibration of the global model.
    pub fn refresh_dataset_eval(&mut self) {
        let model = self.global_model();
        let key = (
            model.clone(),
            self.caches.evals.len() as u64 + self.annotation.version,
        );
        if self.dataset_eval.key.as_ref() == Some(&key) {
            return;
        }
        self.dataset_eval.eval = model.as_ref().and_then(|m| {
            let ids: HashSet<&EntryId> = self.state.entries.iter().map(|e| &e.id).collect();
            DatasetEval::of(
                self.caches
                    .evals
                    .iter()
                    .filter(|((mm, e), _)| mm == m && ids.contains(e))
                    .map(|(_, v)| v.as_ref()),
            )
        });
        self.dataset_eval.key = Some(key);
    }

    /// Evaluation of pane 0's image under the global model, if predicted.
    pub fn current_eval(&self) -> Option<Arc<EntryEval>> {
        let idx = self.state.pane_entry(0)?;
        let m = self.global_model()?;
        self.caches
            .evals
            .get(&(m, self.state.entries[idx].id.clone()))
            .cloned()
    }

    // -- Events ------------------------------------------------------------------------

    /// Apply job events; stop after `budget` when given.
    pub fn drain_events(&mut self, budget: Option<Duration>) {
        let start = Instant::now();
        let over = |s: &Instant| budget.is_some_and(|b| s.elapsed() > b);

        let effects = self.training.drain(&self.backend, &self.runner);
        self.apply_training_effects(effects);
        self.drain_annotation_events();
        if let Some(job) = self.open_job.as_mut() {
            for e in job.drain() {
                match e {
                    OpenEvent::Opened { path, entries } => self.on_opened(path, entries),
                    OpenEvent::Failed(err) => self.notifications.push(Level::Error, err),
                }
            }
        }
        let mut jobs = std::mem::take(&mut self.misc_jobs);
        for job in &mut jobs {
            for e in job.drain() {
                self.on_misc(e);
            }
        }
        jobs.retain(|j| !j.is_done());
        jobs.append(&mut self.misc_jobs);
        self.misc_jobs = jobs;

        let mut jobs = std::mem::take(&mut self.load_jobs);
        for job in &mut jobs {
            for e in job.drain() {
                match e {
                    LoadEvent::Loaded(entry) => {
                        self.caches.pending_loads.remove(&entry.info.id);
                        self.check_sizes(&entry);
                        let id = entry.info.id.clone();
                        self.caches.loaded.insert(id.clone(), entry);
                        self.reapply_edit(&id);
                    }
                    LoadEvent::Failed { id, error } => {
                        self.caches.pending_loads.remove(&id);
                        self.notifications
                            .push(Level::Error, format!("loading failed: {error} ({})", id.0));
                    }
                }
            }
            if over(&start) {
                break;
            }
        }
        jobs.retain(|j| !j.is_done());
        self.load_jobs = jobs;

        if let Some(mut job) = self.infer_job.take() {
            let mut keep = true;
            for e in job.drain() {
                match e {
                    InferEvent::Loaded(entry) => {
                        self.caches.pending_loads.remove(&entry.info.id);
                        let id = entry.info.id.clone();
                        self.caches.loaded.entry(id.clone()).or_insert(entry);
                        self.reapply_edit(&id);
                    }
                    InferEvent::Predicted {
                        model,
                        entry,
                        prediction,
                        eval,
                    } => {
                        let key = (model, entry);
                        if let Some(ev) = eval {
                            self.caches.evals.insert(key.clone(), ev);
                        }
                        let id = key.1.clone();
                        self.caches.predictions.insert(key, prediction);
                        // Its evaluation was computed against the file's mask.
                        self.reapply_edit(&id);
                    }
                    InferEvent::Progress { done, total } => {
                        if let Some(p) = self.state.inference.as_mut() {
                            p.done = done;
                            p.total = total;
                        }
                    }
                    InferEvent::Warning(w) => self.notifications.push(Level::Warning, w),
                    InferEvent::Finished { cancelled } => {
                        self.state.inference = None;
                        keep = false;
                        if cancelled {
                            self.notifications.push(Level::Info, "inference cancelled");
                        }
                    }
                }
            }
            if job.is_done() {
                keep = false;
                self.state.inference = None;
            }
            if keep {
                self.infer_job = Some(job);
            }
        }
    }

    fn check_sizes(&mut self, entry: &LoadedEntry) {
        if let Some(gt) = &entry.gt
            && (gt.width != entry.image.width || gt.height != entry.image.height)
        {
            self.notifications.push(
                Level::Warning,
                format!(
                    "mask size differs from the image, mask not shown ({})",
                    entry.info.name
                ),
            );
        }
    }

    fn on_opened(&mut self, path: PathBuf, entries: Vec<super::backend::EntryInfo>) {
        let is_demo = self.demo_paths.contains(&path);
        if !is_demo {
            self.settings.remember(path.clone());
        }
        if entries.is_empty() {
            self.notifications.push(
                Level::Warning,
                format!("no images found ({})", path.display()),
            );
        }
        let n_warn = entries.iter().filter(|e| !e.warnings.is_empty()).count();
        if n_warn > 0 {
            self.notifications.push(
                Level::Warning,
                format!(
                    "{n_warn} of {} images have pairing or audit warnings",
                    entries.len()
                ),
            );
        }
        // Cancel work on the old dataset.
        if let Some(j) = self.infer_job.take() {
            j.cancel();
        }
        self.state.inference = None;
        self.caches = Caches::default();
        self.state.current = if entries.is_empty() { None } else { Some(0) };
        self.pick_model_for(entries.first().map(|e| e.modality));
        self.state.entries = entries;
        self.state.dataset_path = Some(path);
        for p in &mut self.state.panes {
            p.entry = None;
        }
        for rt in &mut self.panes_rt {
            *rt = PaneRuntime::default();
        }
        self.state.window = None;
        self.state.shared_view.fit = true;
        // Edits belong to the dataset they were made on; unsaved ones were either saved
        // or discarded before the switch (see `AppCommand::OpenPath`), or are autosaved.
        self.annotation.edits.clear();
        self.annotation.polygon.clear();
        self.annotation.recovered.clear();
        self.look_for_recovered_edits();
    }

    /// Switches the global model to one trained on `modality` when the current one was
    /// trained on another and such a model exists (a CT model on MRI is meaningless).
    fn pick_model_for(&mut self, modality: Option<super::backend::Modality>) {
        let Some(modality) = modality else { return };
        let current = self
            .global_model()
            .and_then(|id| self.state.models.iter().find(|m| m.id == id).cloned());
        if current.as_ref().is_some_and(|m| m.modality == modality) {
            return;
        }
        if let Some(m) = self
            .state
            .models
            .iter()
            .find(|m| m.modality == modality)
            .cloned()
        {
            self.notifications.push(
                Level::Info,
                format!(
                    "model {} selected: it was trained on {} images",
                    m.name,
                    modality.label()
                ),
            );
            self.settings.model = Some(m.id);
        }
    }

    fn on_misc(&mut self, e: MiscEvent) {
        match e {
            MiscEvent::Models(models) => {
                self.state.models = models;
            }
            MiscEvent::ModelOpened(m) => {
                let id = m.id.clone();
                // Reopening a path (a run's best checkpoint mid-run) gives new weights:
                // predictions of the old ones must not be shown under its name.
                self.caches.predictions.retain(|(model, _), _| model != &id);
                self.caches.evals.retain(|(model, _), _| model != &id);
                if let Some(existing) = self.state.models.iter_mut().find(|x| x.id == m.id) {
                    *existing = m;
                } else {
                    self.state.models.push(m);
                }
                self.settings.model = Some(id);
                self.notifications.push(Level::Info, "model opened");
            }
            MiscEvent::DeviceNotice(s) => self.state.device_notice = s,
            MiscEvent::DemoSources(sources) => {
                self.demo_paths = sources.iter().map(|s| s.path.clone()).collect();
                if self.state.dataset_path.is_none()
                    && self.open_job.is_none()
                    && let Some(s) = sources.first()
                {
                    self.open_path(s.path.clone());
                }
            }
            MiscEvent::PickedDataset(p) => self.open_path(p),
            MiscEvent::PickedModel(p) => self.open_model(p),
            MiscEvent::Error(e) => self.notifications.push(Level::Error, e),
        }
    }

    /// Start a load for every entry a pane shows that is not loaded or loading.
    pub fn ensure_loads(&mut self) {
        for pane in 0..self.state.panes.len() {
            let Some(idx) = self.state.pane_entry(pane) else {
                continue;
            };
            let info = self.state.entries[idx].clone();
            if self.caches.loaded.contains_key(&info.id)
                || self.caches.pending_loads.contains(&info.id)
            {
                continue;
            }
            self.caches.pending_loads.insert(info.id.clone());
            let backend = self.backend.clone();
            let job = self
                .runner
                .spawn("seglens-load", self.generation, move |tx| {
                    match backend.load(&info) {
                        Ok(e) => tx.send(LoadEvent::Loaded(Arc::new(e))),
                        Err(error) => tx.send(LoadEvent::Failed {
                            id: info.id.clone(),
                            error,
                        }),
                    };
                });
            self.load_jobs.push(job);
        }
    }

    // -- Commands ----------------------------------------------------------------------

    pub(crate) fn open_path(&mut self, path: PathBuf) {
        let backend = self.backend.clone();
        self.generation += 1;
        let job = self
            .runner
            .spawn("seglens-open", self.generation, move |tx| {
                match backend.open(&path) {
                    Ok(entries) => tx.send(OpenEvent::Opened { path, entries }),
                    Err(e) => tx.send(OpenEvent::Failed(format!("could not open: {e}"))),
                };
            });
        self.open_job = Some(job);
    }

    fn open_model(&mut self, path: PathBuf) {
        let backend = self.backend.clone();
        let job = self
            .runner
            .spawn("seglens-model", self.generation, move |tx| {
                match backend.open_model(&path) {
                    Ok(m) => tx.send(MiscEvent::ModelOpened(m)),
                    Err(e) => tx.send(MiscEvent::Error(format!("could not open model: {e}"))),
                };
            });
        self.misc_jobs.push(job);
    }

    /// Switches flip TTA. Predictions made the other way are dropped (and a running
    /// inference stopped), so no pane shows a map under the wrong setting.
    fn set_tta(&mut self, on: bool) {
        if self.settings.tta == on {
            return;
        }
        self.settings.tta = on;
        if let Some(old) = self.infer_job.take() {
            old.cancel();
        }
        self.generation += 1;
        self.state.inference = None;
        let had_predictions = !self.caches.predictions.is_empty();
        self.caches.predictions.clear();
        self.caches.evals.clear();
        if had_predictions {
            let what = if on { "on" } else { "off" };
            self.notifications.push(
                Level::Info,
                format!("flip TTA {what}: predictions cleared, run inference again"),
            );
        }
    }

    fn run_inference(&mut self, scope: InferScope) {
        let Some(model) = self.global_model() else {
            self.notifications.push(Level::Warning, "no model to run");
            return;
        };
        let entries: Vec<_> = match scope {
            InferScope::Current => self
                .state
                .pane_entry(0)
                .map(|i| vec![self.state.entries[i].clone()])
                .unwrap_or_default(),
            InferScope::Dataset => self.state.entries.clone(),
        };
        if entries.is_empty() {
            self.notifications
                .push(Level::Warning, "nothing to run inference on");
            return;
        }
        // Latest request wins.
        if let Some(old) = self.infer_job.take() {
            old.cancel();
        }
        self.generation += 1;
        let total = entries.len();
        self.state.inference = Some(InferenceProgress {
            done: 0,
            total,
            label: match scope {
                InferScope::Current => "current image".to_owned(),
                InferScope::Dataset => "dataset".to_owned(),
            },
        });
        let cached: HashMap<EntryId, Arc<LoadedEntry>> = entries
            .iter()
            .filter_map(|e| {
                self.caches
                    .loaded
                    .get(&e.id)
                    .map(|l| (e.id.clone(), l.clone()))
            })
            .collect();
        let backend = self.backend.clone();
        let tta = self.settings.tta;
        let job = self
            .runner
            .spawn("seglens-infer", self.generation, move |tx| {
                for (i, info) in entries.iter().enumerate() {
                    if tx.is_cancelled() {
                        tx.send(InferEvent::Finished { cancelled: true });
                        return;
                    }
                    let loaded = match cached.get(&info.id) {
                        Some(l) => l.clone(),
                        None => match backend.load(info) {
                            Ok(l) => {
                                let l = Arc::new(l);
                                tx.send(InferEvent::Loaded(l.clone()));
                                l
                            }
                            Err(e) => {
                                tx.send(InferEvent::Warning(format!(
                                    "loading failed: {e} ({})",
                                    info.name
                                )));
                                continue;
                            }
                        },
                    };
                    match backend.predict(&model, &loaded, tta, tx.cancel_flag()) {
                        Ok(p) => {
                            if p.width != loaded.image.width || p.height != loaded.image.height {
                                tx.send(InferEvent::Warning(format!(
                                    "prediction size differs from the image ({})",
                                    info.name
                                )));
                            }
                            let eval = loaded
                                .gt
                                .as_ref()
                                .and_then(|g| EntryEval::new(&p, g))
                                .map(Arc::new);
                            tx.send(InferEvent::Predicted {
                                model: model.clone(),
                                entry: info.id.clone(),
                                prediction: Arc::new(p),
                                eval,
                            });
                        }
                        Err(e) => {
                            if tx.is_cancelled() {
                                tx.send(InferEvent::Finished { cancelled: true });
                                return;
                            }
                            tx.send(InferEvent::Warning(format!(
                                "inference failed: {e} ({})",
                                info.name
                            )));
                        }
                    }
                    tx.send(InferEvent::Progress { done: i + 1, total });
                }
                tx.send(InferEvent::Finished { cancelled: false });
            });
        self.infer_job = Some(job);
    }

    fn apply_training_effects(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::OpenModel(path) => self.open_model(path),
                Effect::Info(text) => self.notifications.push(Level::Info, text),
                Effect::Error(text) => self.notifications.push(Level::Error, text),
            }
        }
    }

    fn pick(&mut self, kind: DialogKind) {
        let dialogs = self.dialogs.clone();
        let job = self
            .runner
            .spawn("seglens-dialog", self.generation, move |tx| {
                if let Some(p) = dialogs.pick(kind) {
                    tx.send(match kind {
                        DialogKind::Model => MiscEvent::PickedModel(p),
                        _ => MiscEvent::PickedDataset(p),
                    });
                }
            });
        self.misc_jobs.push(job);
    }

    /// Apply commands pushed during the frame.
    pub fn run_commands(&mut self, commands: Vec<AppCommand>) {
        for cmd in commands {
            match cmd {
                AppCommand::OpenPath(p) => {
                    if self.annotation.dirty_count() > 0 {
                        self.annotation.pending_open = Some(p);
                    } else {
                        self.open_path(p);
                    }
                }
                AppCommand::ConfirmOpen { save_first } => {
                    if let Some(p) = self.annotation.pending_open.take() {
                        if save_first {
                            let dirty: Vec<EntryId> = self
                                .annotation
                                .edits
                                .iter()
                                .filter(|(_, e)| e.is_dirty())
                                .map(|(id, _)| id.clone())
                                .collect();
                            for id in dirty {
                                self.save_mask_of(&id);
                            }
                            // The saves run on jobs; the dataset opens once they succeeded.
                            self.annotation.open_after_saves = Some(p);
                        } else {
                            self.open_path(p);
                        }
                    }
                }
                AppCommand::CancelOpen => self.annotation.pending_open = None,
                AppCommand::Annotate(a) => self.run_annotate(a),
                AppCommand::OpenDemo => {
                    let backend = self.backend.clone();
                    let job = self
                        .runner
                        .spawn("seglens-demo", self.generation, move |tx| {
                            tx.send(MiscEvent::DemoSources(backend.demo_sources()));
                        });
                    self.state.dataset_path = None;
                    self.open_job = None;
                    self.misc_jobs.push(job);
                }
                AppCommand::Pick(kind) => self.pick(kind),
                AppCommand::OpenModel(p) => self.open_model(p),
                AppCommand::SelectModel(m) => self.settings.model = Some(m),
                AppCommand::Select(i) => {
                    if i < self.state.entries.len() {
                        self.state.current = Some(i);
                        self.state.window = None;
                    }
                }
                AppCommand::RunInference(scope) => self.run_inference(scope),
                AppCommand::CancelInference => {
                    if let Some(j) = &self.infer_job {
                        j.cancel();
                    }
                }
                AppCommand::SetTta(on) => self.set_tta(on),
                AppCommand::SetPaneCount(n) => {
                    let n = n.clamp(1, MAX_PANES);
                    let t = self.settings.threshold;
                    let first = self.state.current.unwrap_or(0);
                    let len = self.state.entries.len().max(1);
                    while self.state.panes.len() < n {
                        let k = self.state.panes.len();
                        let mut p = Pane::following(t);
                        // New panes start on the next images, so side by side shows something new.
                        p.entry = Some((first + k) % len);
                        p.view = self.state.panes[0].view;
                        self.state.panes.push(p);
                    }
                    self.state.panes.truncate(n);
                    self.panes_rt.truncate(n);
                }
                AppCommand::ToggleTraining => {
                    self.training.open = !self.training.open;
                    if self.training.open {
                        if self.training.form.datasets.is_empty()
                            && let Some(p) = self
                                .state
                                .dataset_path
                                .clone()
                                .filter(|p| p.join("images").is_dir())
                        {
                            self.training.form.add_dataset(p);
                        }
                        let effects = self.training.handle(
                            TrainingCommand::RefreshRuns,
                            &self.backend,
                            &self.runner,
                        );
                        self.apply_training_effects(effects);
                    }
                }
                AppCommand::Training(cmd) => {
                    let effects = self.training.handle(cmd, &self.backend, &self.runner);
                    self.apply_training_effects(effects);
                }
                AppCommand::FitAll => {
                    self.state.shared_view.fit = true;
                    for p in &mut self.state.panes {
                        p.view.fit = true;
                    }
                }
            }
        }
    }
}

impl eframe::App for SegApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.runner.waker().set(&ctx);
        self.drain_events(Some(Duration::from_millis(8)));
        self.ensure_loads();
        self.state.gpu_overlays = self.gpu_available && self.settings.prefer_gpu;

        // Drag and drop: open the first dropped path.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        let mut commands = CommandQueue::default();
        if let Some(p) = dropped.into_iter().next() {
            commands.push(AppCommand::OpenPath(p));
        }

        for pane in 0..self.state.panes.len() {
            self.refresh_pane_data(pane);
        }
        self.refresh_list_scores();
        self.refresh_dataset_eval();

        ui::annotate_panel::shortcuts(&ctx, self, &mut commands);
        ui::app_ui(ui, self, &mut commands);
        self.notifications.ui(&ctx);
        self.run_commands(commands.take());
        // A running training wakes the window with each event; no polling needed for it.
        if self.runner.running() > 0 {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.settings);
    }
}
