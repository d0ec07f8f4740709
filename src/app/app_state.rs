//! Session state that is not a setting: the open dataset, the selection, the panes
//! and their views, the window/level in use, the running inference's progress.
//! Not persisted. Holds no job handles, textures or GPU resources.

use std::path::PathBuf;

use super::backend::{EntryInfo, ModelId, ModelInfo, Window};

/// Where an image sits in a viewer: `screen = viewer_center + (image_px - center) * zoom`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewTransform {
    /// Screen points per image pixel.
    pub zoom: f32,
    /// Image coordinate (pixels) shown at the viewer's centre.
    pub center: egui::Vec2,
    /// Refit to the viewer every frame until the user zooms or pans.
    pub fit: bool,
}

impl Default for ViewTransform {
    fn default() -> Self {
        Self {
            zoom: 1.0,
            center: egui::Vec2::ZERO,
            fit: true,
        }
    }
}

impl ViewTransform {
    /// The image's screen rect in a viewer of `viewer` for an image of `size` pixels.
    pub fn image_rect(&self, viewer: egui::Rect, size: egui::Vec2) -> egui::Rect {
        let min = viewer.center() - self.center * self.zoom;
        egui::Rect::from_min_size(min, size * self.zoom)
    }

    /// Fit the whole image into `viewer`.
    pub fn fit_to(&mut self, viewer: egui::Rect, size: egui::Vec2) {
        if size.x > 0.0 && size.y > 0.0 {
            self.zoom = (viewer.width() / size.x)
                .min(viewer.height() / size.y)
                .max(1e-3);
            self.center = size * 0.5;
        }
    }

    /// One image pixel per physical screen pixel, centred.
    pub fn one_to_one(&mut self, size: egui::Vec2, pixels_per_point: f32) {
        self.zoom = 1.0 / pixels_per_point.max(1e-3);
        self.center = size * 0.5;
        self.fit = false;
    }

    /// Image coordinate (pixels, fractional) under a screen position.
    pub fn to_image(&self, viewer: egui::Rect, pos: egui::Pos2) -> egui::Vec2 {
        self.center + (pos - viewer.center()) / self.zoom
    }

    /// Zoom by `factor` keeping the image point under `anchor` still.
    pub fn zoom_about(&mut self, viewer: egui::Rect, anchor: egui::Pos2, factor: f32) {
        let p = self.to_image(viewer, anchor);
        self.zoom = (self.zoom * factor).clamp(0.02, 200.0);
        self.center = p - (anchor - viewer.center()) / self.zoom;
        self.fit = false;
    }

    /// Move the image by a screen delta.
    pub fn pan(&mut self, delta: egui::Vec2) {
        self.center -= delta / self.zoom;
        self.fit = false;
    }
}

/// One side-by-side pane.
#[derive(Clone, Debug, PartialEq)]
pub struct Pane {
    /// Entry index shown; `None` follows the dataset selection.
    pub entry: Option<usize>,
    /// Model shown; `None` follows the global model.
    pub model: Option<ModelId>,
    /// This pane's view when panes are not linked.
    pub view: ViewTransform,
    /// This pane's threshold when panes are not linked.
    pub threshold: f32,
}

impl Pane {
    /// A pane following the selection and the global model.
    pub fn following(threshold: f32) -> Self {
        Self {
            entry: None,
            model: None,
            view: ViewTransform::default(),
            threshold,
        }
    }
}

/// Progress of the running inference job.
#[derive(Clone, Debug, PartialEq)]
pub struct InferenceProgress {
    /// Finished entries.
    pub done: usize,
    /// All entries of the job.
    pub total: usize,
    /// "current image" or "dataset".
    pub label: String,
}

/// What the pointer is over in a viewer.
#[derive(Clone, Debug, PartialEq)]
pub struct PixelReadout {
    /// Pane index.
    pub pane: usize,
    /// Image pixel.
    pub x: u32,
    /// Image pixel.
    pub y: u32,
    /// Display value and unit.
    pub value: f32,
    /// "HU", "stored"…
    pub unit: String,
    /// Probability, when predicted.
    pub probability: Option<f32>,
    /// GT, when paired.
    pub gt: Option<bool>,
    /// Prediction at the pane's threshold, when predicted.
    pub predicted: Option<bool>,
}

/// Session state.
#[derive(Clone, Debug, Default)]
pub struct AppState {
    /// Path of the open dataset.
    pub dataset_path: Option<PathBuf>,
    /// Entries of the open dataset, in backend order.
    pub entries: Vec<EntryInfo>,
    /// Selected entry (index into `entries`).
    pub current: Option<usize>,
    /// Dataset list filter (substring of the name, case-insensitive).
    pub filter: String,
    /// Models the backend offers.
    pub models: Vec<ModelInfo>,
    /// Where inference runs, in words.
    pub device_notice: String,
    /// Side-by-side panes (1 to 4).
    pub panes: Vec<Pane>,
    /// The view shared by all panes when linked.
    pub shared_view: ViewTransform,
    /// Window/level override; `None` uses each image's default window.
    pub window: Option<Window>,
    /// Running inference, if any.
    pub inference: Option<InferenceProgress>,
    /// Last hovered pixel.
    pub readout: Option<PixelReadout>,
    /// About window open.
    pub show_about: bool,
    /// Whether overlays are drawn on the GPU this frame (wgpu available and preferred).
    pub gpu_overlays: bool,
}

impl AppState {
    /// The entry index a pane shows.
    pub fn pane_entry(&self, pane: usize) -> Option<usize> {
        let p = self.panes.get(pane)?;
        p.entry.or(self.current).filter(|&i| i < self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_keeps_the_point_under_the_cursor() {
        let viewer = egui::Rect::from_min_size(egui::pos2(10.0, 20.0), egui::vec2(400.0, 300.0));
        let size = egui::vec2(512.0, 512.0);
        let mut v = ViewTransform::default();
        v.fit_to(viewer, size);
        let anchor = egui::pos2(150.0, 90.0);
        let before = v.to_image(viewer, anchor);
        v.zoom_about(viewer, anchor, 3.0);
        let after = v.to_image(viewer, anchor);
        assert!((before - after).length() < 1e-3);
        assert!(!v.fit);
    }

    #[test]
    fn fit_shows_the_whole_image_and_pan_moves_it() {
        let viewer = egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(400.0, 300.0));
        let size = egui::vec2(512.0, 256.0);
        let mut v = ViewTransform::default();
        v.fit_to(viewer, size);
        let r = v.image_rect(viewer, size);
        assert!(viewer.expand(1e-3).contains_rect(r));
        assert!((r.width() - 400.0).abs() < 1e-3);
        v.pan(egui::vec2(10.0, -5.0));
        let r2 = v.image_rect(viewer, size);
        assert!((r2.min - r.min - egui::vec2(10.0, -5.0)).length() < 1e-3);
        v.one_to_one(size, 2.0);
        assert!((v.image_rect(viewer, size).width() - 256.0).abs() < 1e-3);
    }
}
