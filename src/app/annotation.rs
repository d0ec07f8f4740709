//! Mask editing in the window: per-image edit masks with bounded undo/redo, the active
//! tool, strokes and polygons in progress, and saving, autosave and recovery through
//! the backend (on job threads). The pixel rules live in [`crate::annotate`]; this module
//! only routes viewer input to them and keeps the app's caches in step, so an edited
//! mask is what the viewer shows and what the metrics use at once.

use std::collections::HashMap;
use std::sync::Arc;

use super::backend::{EntryId, LoadedEntry, Mask};
use super::command::AnnotateCommand;
use super::evaluation::EntryEval;
use super::jobs::JobHandle;
use super::seg_app::SegApp;
use super::ui::notifications::Level;
use crate::annotate::{
    Edit, EditMask, History, brush_stroke, clear, flood_fill, polygon_fill, take_prediction,
};

/// Brush sizes, in image pixels (radius).
pub const RADIUS_RANGE: (f32, f32) = (0.5, 64.0);

/// The active tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// Paint foreground with a round brush (B).
    Brush,
    /// Paint background (E).
    Eraser,
    /// Flood-fill the clicked region with foreground; with Shift, background (F).
    Fill,
    /// Click vertices, close with Enter or a double click: fill inside (P).
    Polygon,
    /// Copy the prediction at the current threshold under a brush stroke (T).
    TakePrediction,
}

impl Tool {
    /// Name and shortcut for the tool bar and the help overlay.
    pub fn label(self) -> &'static str {
        match self {
            Self::Brush => "brush (B)",
            Self::Eraser => "eraser (E)",
            Self::Fill => "fill (F)",
            Self::Polygon => "polygon (P)",
            Self::TakePrediction => "take prediction (T)",
        }
    }

    /// Every tool, in tool-bar order.
    pub const ALL: [Tool; 5] = [
        Tool::Brush,
        Tool::Eraser,
        Tool::Fill,
        Tool::Polygon,
        Tool::TakePrediction,
    ];
}

/// The help overlay's lines: (keys, action).
pub const SHORTCUTS: [(&str, &str); 12] = [
    ("B / E", "brush / eraser"),
    ("F", "flood fill (Shift+click: fill with background)"),
    (
        "P",
        "polygon: click vertices, Enter or double click closes, Esc cancels",
    ),
    ("T", "take prediction under a brush stroke"),
    ("[ / ]", "brush smaller / larger"),
    ("Ctrl+Z", "undo"),
    ("Ctrl+Y, Ctrl+Shift+Z", "redo"),
    ("Ctrl+S", "save this image's mask"),
    ("right or middle drag", "pan while editing"),
    ("wheel", "zoom about the cursor"),
    ("M", "edit mode on/off"),
    ("H or F1", "this help"),
];

/// One image's edits.
pub struct EditedMask {
    /// The mask as edited.
    pub mask: EditMask,
    /// Undo/redo and the saved revision.
    pub history: History,
    /// The mask when the current stroke began.
    stroke_start: Option<EditMask>,
    /// The previous point of the current stroke (image pixels).
    last_point: Option<(f32, f32)>,
    /// Take-prediction strokes paint this region first.
    region: Option<EditMask>,
}

impl EditedMask {
    fn new(mask: EditMask) -> Self {
        Self {
            mask,
            history: History::new(),
            stroke_start: None,
            last_point: None,
            region: None,
        }
    }

    /// Whether there are changes since the last save (or since loading).
    pub fn is_dirty(&self) -> bool {
        self.history.is_dirty()
    }
}

/// Results of the annotation jobs.
pub enum AnnotateEvent {
    /// A mask was saved.
    Saved {
        /// Which entry.
        id: EntryId,
        /// The history revision that was saved.
        revision: u64,
        /// What was written, for the notification.
        message: String,
    },
    /// Unsaved edits found from an earlier session.
    Recovered(Vec<(EntryId, Mask)>),
    /// Something failed.
    Failed(String),
}

/// Editing state of the window.
#[derive(Default)]
pub struct AnnotationState {
    /// Edit mode: primary drags edit instead of panning.
    pub active: bool,
    /// The active tool.
    pub tool: Tool,
    /// Brush radius in image pixels.
    pub radius: f32,
    /// Edits per image.
    pub edits: HashMap<EntryId, EditedMask>,
    /// Polygon vertices placed so far (image pixels).
    pub polygon: Vec<(f32, f32)>,
    /// Help overlay open.
    pub show_help: bool,
    /// Recovered edits waiting for the user's answer.
    pub recovered: Vec<(EntryId, Mask)>,
    /// A dataset switch waiting for the answer to "discard unsaved edits?".
    pub pending_open: Option<std::path::PathBuf>,
    /// A dataset to open once the saves asked for before the switch are done.
    pub open_after_saves: Option<std::path::PathBuf>,
    /// Bumped on every change of an edit mask (caches key on it).
    pub version: u64,
    pub(crate) jobs: Vec<JobHandle<AnnotateEvent>>,
}

impl Default for Tool {
    fn default() -> Self {
        Self::Brush
    }
}

impl AnnotationState {
    /// A fresh state (brush, radius 4).
    pub fn new() -> Self {
        Self {
            radius: 4.0,
            ..Self::default()
        }
    }

    /// Images with unsaved edits.
    pub fn dirty_count(&self) -> usize {
        self.edits.values().filter(|e| e.is_dirty()).count()
    }

    /// Whether `id` has unsaved edits.
    pub fn is_dirty(&self, id: &EntryId) -> bool {
        self.edits.get(id).is_some_and(EditedMask::is_dirty)
    }

    /// Changes the brush radius by `factor`, within [`RADIUS_RANGE`].
    pub fn scale_radius(&mut self, factor: f32) {
        self.radius = (self.radius * factor).clamp(RADIUS_RANGE.0, RADIUS_RANGE.1);
    }

    /// Whether a job has results not yet drained.
    pub fn has_pending_jobs(&self) -> bool {
        self.jobs.iter().any(|j| !j.is_done())
    }
}

fn to_mask(m: &EditMask) -> Mask {
    Mask {
        width: m.width(),
        height: m.height(),
        data: m.data().to_vec(),
    }
}

impl SegApp {
    /// The entry shown in pane 0 and its loaded pixels, when loaded.
    fn edit_target(&self) -> Option<(EntryId, Arc<LoadedEntry>)> {
        let idx = self.state.pane_entry(0)?;
        let id = self.state.entries[idx].id.clone();
        let loaded = self.caches.loaded.get(&id)?.clone();
        Some((id, loaded))
    }

    /// The edit mask of `id`, created from its GT (or empty) on first use.
    fn edited(&mut self, id: &EntryId, loaded: &LoadedEntry) -> &mut EditedMask {
        let (w, h) = (loaded.image.width, loaded.image.height);
        self.annotation.edits.entry(id.clone()).or_insert_with(|| {
            let mask = loaded
                .gt
                .as_ref()
                .filter(|g| g.width == w && g.height == h)
                .and_then(|g| EditMask::from_binary(w, h, g.data.clone()).ok())
                .unwrap_or_else(|| EditMask::empty(w, h));
            EditedMask::new(mask)
        })
    }

    /// Makes the edited mask of `id` the entry's GT in every cache: the viewer, the
    /// scores and the dataset evaluation use it from the next frame.
    pub fn publish_edit(&mut self, id: &EntryId) {
        let (Some(edit), Some(loaded)) =
            (self.annotation.edits.get(id), self.caches.loaded.get(id))
        else {
            return;
        };
        self.annotation.version += 1;
        let gt = to_mask(&edit.mask);
        let mut entry = (**loaded).clone();
        entry.info.gt_foreground_fraction =
            Some(edit.mask.foreground_count() as f32 / edit.mask.len().max(1) as f32);
        entry.gt = Some(gt.clone());
        self.caches.loaded.insert(id.clone(), Arc::new(entry));
        let keys: Vec<_> = self
            .caches
            .predictions
            .keys()
            .filter(|(_, e)| e == id)
            .cloned()
            .collect();
        for key in keys {
            let Some(p) = self.caches.predictions.get(&key) else {
                continue;
            };
            match EntryEval::new(p, &gt) {
                Some(ev) => self.caches.evals.insert(key, Arc::new(ev)),
                None => self.caches.evals.remove(&key),
            };
        }
    }

    /// Called when an entry's pixels or a prediction of it arrive in the caches: an
    /// entry with edits keeps showing and scoring the edit, not the file's mask.
    pub fn reapply_edit(&mut self, id: &EntryId) {
        if self.annotation.edits.contains_key(id) {
            self.publish_edit(id);
        }
    }

    fn commit(&mut self, id: &EntryId, edit: Edit) {
        if let Some(e) = self.annotation.edits.get_mut(id)
            && e.history.push(edit)
        {
            self.publish_edit(id);
            self.autosave(id);
        }
    }

    /// Starts a brush, eraser or take-prediction stroke at `point` (image pixels).
    pub fn stroke_begin(&mut self, point: (f32, f32)) {
        let Some((id, loaded)) = self.edit_target() else {
            return;
        };
        let tool = self.annotation.tool;
        let e = self.edited(&id, &loaded);
        e.stroke_start = Some(e.mask.clone());
        e.last_point = None;
        e.region = (tool == Tool::TakePrediction)
            .then(|| EditMask::empty(e.mask.width(), e.mask.height()));
        self.stroke_to(point);
    }

    /// Continues the stroke to `point`; the segment from the last point is painted, so
    /// fast moves leave no gaps.
    pub fn stroke_to(&mut self, point: (f32, f32)) {
        let Some((id, _)) = self.edit_target() else {
            return;
        };
        let (tool, radius) = (self.annotation.tool, self.annotation.radius);
        let Some(e) = self.annotation.edits.get_mut(&id) else {
            return;
        };
        if e.stroke_start.is_none() {
            return;
        }
        let points: Vec<(f32, f32)> = e.last_point.into_iter().chain([point]).collect();
        e.last_point = Some(point);
        match tool {
            Tool::Brush | Tool::Eraser => {
                let value = u8::from(tool == Tool::Brush);
                if !brush_stroke(&mut e.mask, &points, radius, value).is_empty() {
                    self.publish_edit(&id);
                }
            }
            Tool::TakePrediction => {
                if let Some(region) = e.region.as_mut() {
                    brush_stroke(region, &points, radius, 1);
                }
            }
            Tool::Fill | Tool::Polygon => {}
        }
    }

    /// Ends the stroke: one undo step for the whole stroke.
    pub fn stroke_end(&mut self) {
        let Some((id, loaded)) = self.edit_target() else {
            return;
        };
        let threshold = self.settings.threshold;
        let prediction = self
            .global_model()
            .and_then(|m| self.caches.predictions.get(&(m, id.clone())).cloned());
        let Some(e) = self.annotation.edits.get_mut(&id) else {
            return;
        };
        let Some(start) = e.stroke_start.take() else {
            return;
        };
        e.last_point = None;
        if let Some(region) = e.region.take() {
            match prediction
                .filter(|p| p.width == loaded.image.width && p.height == loaded.image.height)
            {
                Some(p) => {
                    let _ =
                        take_prediction(&mut e.mask, &p.probabilities, threshold, Some(&region));
                }
                None => self.notifications.push(
                    Level::Warning,
                    "no prediction for this image yet: run the model first",
                ),
            }
        }
        let Some(e) = self.annotation.edits.get(&id) else {
            return;
        };
        if let Ok(edit) = Edit::between(&start, &e.mask) {
            self.commit(&id, edit);
        }
    }

    /// Flood fill at `pixel` with foreground (or background).
    pub fn fill_at(&mut self, pixel: (u32, u32), foreground: bool) {
        let Some((id, loaded)) = self.edit_target() else {
            return;
        };
        let e = self.edited(&id, &loaded);
        let edit = flood_fill(&mut e.mask, pixel, u8::from(foreground));
        self.commit(&id, edit);
    }

    /// Adds a polygon vertex.
    pub fn polygon_add(&mut self, point: (f32, f32)) {
        self.annotation.polygon.push(point);
    }

    /// Fills the polygon placed so far and starts a new one.
    pub fn polygon_close(&mut self) {
        let vertices = std::mem::take(&mut self.annotation.polygon);
        let Some((id, loaded)) = self.edit_target() else {
            return;
        };
        let e = self.edited(&id, &loaded);
        let edit = polygon_fill(&mut e.mask, &vertices, 1);
        self.commit(&id, edit);
    }

    /// Copies the whole prediction at the current threshold into the mask.
    pub fn take_whole_prediction(&mut self) {
        let Some((id, loaded)) = self.edit_target() else {
            return;
        };
        let threshold = self.settings.threshold;
        let Some(p) = self
            .global_model()
            .and_then(|m| self.caches.predictions.get(&(m, id.clone())).cloned())
        else {
            self.notifications.push(
                Level::Warning,
                "no prediction for this image yet: run the model first",
            );
            return;
        };
        let e = self.edited(&id, &loaded);
        match take_prediction(&mut e.mask, &p.probabilities, threshold, None) {
            Ok(edit) => self.commit(&id, edit),
            Err(err) => self
                .notifications
                .push(Level::Error, format!("cannot take the prediction: {err}")),
        }
    }

    /// Clears the mask (one undo step).
    pub fn clear_mask(&mut self) {
        let Some((id, loaded)) = self.edit_target() else {
            return;
        };
        let e = self.edited(&id, &loaded);
        let edit = clear(&mut e.mask);
        self.commit(&id, edit);
    }

    /// Undo on the current image.
    pub fn undo(&mut self) {
        self.step_history(false);
    }

    /// Redo on the current image.
    pub fn redo(&mut self) {
        self.step_history(true);
    }

    fn step_history(&mut self, forward: bool) {
        let Some((id, _)) = self.edit_target() else {
            return;
        };
        let Some(e) = self.annotation.edits.get_mut(&id) else {
            return;
        };
        let moved = if forward {
            e.history.redo(&mut e.mask)
        } else {
            e.history.undo(&mut e.mask)
        };
        if moved {
            self.publish_edit(&id);
            self.autosave(&id);
        }
    }

    /// Saves the current image's mask (atomic write, previous version backed up).
    pub fn save_current_mask(&mut self) {
        let Some((id, _)) = self.edit_target() else {
            return;
        };
        self.save_mask_of(&id);
    }

    /// Saves the mask of `id` on a job thread.
    pub fn save_mask_of(&mut self, id: &EntryId) {
        let Some(e) = self.annotation.edits.get(id) else {
            return;
        };
        let Some(info) = self.state.entries.iter().find(|x| &x.id == id).cloned() else {
            return;
        };
        let (mask, revision) = (to_mask(&e.mask), e.history.revision());
        let backend = self.backend();
        let id = id.clone();
        let job = self.runner().spawn("seglens-save-mask", 0, move |tx| {
            tx.send(match backend.save_mask(&info, &mask) {
                Ok(message) => {
                    let _ = backend.discard_autosave(&info);
                    AnnotateEvent::Saved {
                        id,
                        revision,
                        message,
                    }
                }
                Err(e) => {
                    AnnotateEvent::Failed(format!("could not save the mask of {}: {e}", info.name))
                }
            });
        });
        self.annotation.jobs.push(job);
    }

    /// Writes the unsaved edits of `id` to the recovery folder (on a job thread).
    fn autosave(&mut self, id: &EntryId) {
        let Some(e) = self.annotation.edits.get(id) else {
            return;
        };
        let Some(info) = self.state.entries.iter().find(|x| &x.id == id).cloned() else {
            return;
        };
        let (mask, dirty) = (to_mask(&e.mask), e.is_dirty());
        let backend = self.backend();
        let job = self.runner().spawn("seglens-autosave", 0, move |tx| {
            let result = if dirty {
                backend.autosave_mask(&info, &mask)
            } else {
                backend.discard_autosave(&info)
            };
            if let Err(e) = result {
                tx.send(AnnotateEvent::Failed(format!(
                    "autosave failed for {}: {e}",
                    info.name
                )));
            }
        });
        self.annotation.jobs.push(job);
    }

    /// Looks for unsaved edits of an earlier session in the open dataset (job thread).
    pub fn look_for_recovered_edits(&mut self) {
        let Some(path) = self.state.dataset_path.clone() else {
            return;
        };
        let entries = self.state.entries.clone();
        let backend = self.backend();
        let job = self.runner().spawn("seglens-recovery", 0, move |tx| {
            let found = backend.recovered_masks(&path, &entries);
            if !found.is_empty() {
                tx.send(AnnotateEvent::Recovered(found));
            }
        });
        self.annotation.jobs.push(job);
    }

    /// Puts the recovered edits back as unsaved edits.
    pub fn restore_recovered(&mut self) {
        for (id, mask) in std::mem::take(&mut self.annotation.recovered) {
            let Ok(m) = EditMask::from_binary(mask.width, mask.height, mask.data) else {
                continue;
            };
            let mut e = EditedMask::new(m);
            e.history.mark_unsaved();
            self.annotation.edits.insert(id.clone(), e);
            self.publish_edit(&id);
        }
    }

    /// Drops the recovered edits and their files.
    pub fn discard_recovered(&mut self) {
        let infos: Vec<_> = self
            .annotation
            .recovered
            .drain(..)
            .filter_map(|(id, _)| self.state.entries.iter().find(|x| x.id == id).cloned())
            .collect();
        let backend = self.backend();
        let job = self.runner().spawn(
            "seglens-recovery-discard",
            0,
            move |_tx: super::jobs::JobSender<AnnotateEvent>| {
                for info in infos {
                    let _ = backend.discard_autosave(&info);
                }
            },
        );
        self.annotation.jobs.push(job);
    }

    /// Runs a mask-editing command.
    pub fn run_annotate(&mut self, cmd: AnnotateCommand) {
        match cmd {
            AnnotateCommand::Undo => self.undo(),
            AnnotateCommand::Redo => self.redo(),
            AnnotateCommand::Save => self.save_current_mask(),
            AnnotateCommand::TakeWholePrediction => self.take_whole_prediction(),
            AnnotateCommand::Clear => self.clear_mask(),
            AnnotateCommand::ClosePolygon => self.polygon_close(),
            AnnotateCommand::RestoreRecovered => self.restore_recovered(),
            AnnotateCommand::DiscardRecovered => self.discard_recovered(),
        }
    }

    /// The current image's edit, if it has one.
    pub fn current_edit(&self) -> Option<&EditedMask> {
        let idx = self.state.pane_entry(0)?;
        self.annotation.edits.get(&self.state.entries[idx].id)
    }

    /// Applies finished annotation jobs.
    pub fn drain_annotation_events(&mut self) {
        let mut jobs = std::mem::take(&mut self.annotation.jobs);
        for job in &mut jobs {
            for e in job.drain() {
                match e {
                    AnnotateEvent::Saved {
                        id,
                        revision,
                        message,
                    } => {
                        if let Some(edit) = self.annotation.edits.get_mut(&id)
                            && edit.history.revision() == revision
                        {
                            edit.history.mark_saved();
                        }
                        self.notifications.push(Level::Info, message);
                    }
                    AnnotateEvent::Recovered(found) => {
                        self.notifications.push(
                            Level::Warning,
                            format!("{} image(s) have unsaved edits from an earlier session: restore or discard them in the tools panel", found.len()),
                        );
                        // Edits made in this session win over older autosaves.
                        self.annotation.recovered = found
                            .into_iter()
                            .filter(|(id, _)| !self.annotation.edits.contains_key(id))
                            .collect();
                    }
                    AnnotateEvent::Failed(why) => self.notifications.push(Level::Error, why),
                }
            }
        }
        jobs.retain(|j| !j.is_done());
        jobs.append(&mut self.annotation.jobs);
        self.annotation.jobs = jobs;
        if self.annotation.open_after_saves.is_some()
            && !self.annotation.has_pending_jobs()
            && let Some(p) = self.annotation.open_after_saves.take()
        {
            if self.annotation.dirty_count() == 0 {
                self.open_path(p);
            } else {
                // A save failed (its error is shown): ask again rather than lose the edit.
                self.annotation.pending_open = Some(p);
            }
        }
    }
}
