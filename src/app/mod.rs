//! The seglens desktop window (eframe/egui + wgpu).
//!
//! # Architecture
//! * [`backend`]: the [`backend::AppBackend`] trait, the only way the window reaches
//!   data and models (no Burn, no file formats here), plus [`backend::FakeBackend`].
//! * [`jobs`]: every backend call runs on a named background thread behind a
//!   [`jobs::JobHandle`] with a typed event enum; workers wake the UI; the app drains
//!   events at the start of each frame (8 ms budget). Latest inference request wins.
//! * [`seg_app::SegApp`]: the `eframe::App`. State is split into persisted
//!   [`settings::Settings`], session [`app_state::AppState`] and runtime resources
//!   (caches, textures, job handles, GPU pipeline).
//! * [`ui`]: drawing functions; they push [`command::AppCommand`]s that the app runs
//!   after the frame.
//! * [`render`]: the overlay compositor, a WGSL shader (shaders/heatmap.wgsl) behind an
//!   egui-wgpu paint callback, and a CPU mirror that gives the same pixels.
//! * [`evaluation`]: every number shown comes from `crate::metrics` through here.
//!
//! # Device sharing
//! The window uses eframe's own wgpu device for overlays. Probabilities reach the
//! renderer as CPU `Vec<f32>` (a 512² map is 1 MiB to upload, once per prediction), so
//! the backend may run its model on any device; sharing one wgpu device with Burn
//! (`egui_wgpu::WgpuSetupExisting`) can be added in [`run_native`] without touching the UI.
//!
//! # Failure handling
//! Backend errors arrive as job events and become notifications (toasts); a failed
//! entry never stops a dataset run. The UI thread never waits on I/O or a model.

pub mod annotation;
pub mod app_state;
pub mod backend;
pub mod command;
pub mod dialogs;
pub mod entry_ref;
pub mod evaluation;
pub mod jobs;
pub mod real_backend;
pub mod real_masks;
pub mod real_training;
pub mod render;
pub mod seg_app;
pub mod settings;
pub mod training;
pub mod ui;

use std::sync::Arc;

pub use backend::{AppBackend, FakeBackend};
pub use dialogs::{FileDialogs, FixedDialogs, RfdDialogs};
pub use seg_app::SegApp;

/// Window options: title, size, wgpu renderer, persistence.
pub fn native_options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("seglens")
            .with_inner_size([1280.0, 800.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Wgpu,
        persist_window: true,
        ..Default::default()
    }
}

/// Open the window on `backend` with native file dialogs. Blocks until it closes.
pub fn run_native(backend: Arc<dyn AppBackend>) -> eframe::Result<()> {
    eframe::run_native(
        "seglens",
        native_options(),
        Box::new(move |cc| Ok(Box::new(SegApp::new(cc, backend, Arc::new(RfdDialogs))))),
    )
}
