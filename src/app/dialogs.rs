//! File dialogs behind a small trait, so tests and headless runs never open one.
//! Calls happen on a background thread; the result comes back as a job event.

use std::path::PathBuf;

use super::command::DialogKind;

/// Shows a native file dialog and returns the chosen path.
pub trait FileDialogs: Send + Sync + 'static {
    /// Block (on a background thread) until the user picks a path or cancels.
    fn pick(&self, kind: DialogKind) -> Option<PathBuf>;
}

/// Native dialogs through rfd (xdg desktop portal on Linux).
#[derive(Clone, Copy, Debug, Default)]
pub struct RfdDialogs;

impl FileDialogs for RfdDialogs {
    fn pick(&self, kind: DialogKind) -> Option<PathBuf> {
        let d = rfd::FileDialog::new();
        match kind {
            DialogKind::DatasetFolder => d.set_title("open dataset folder").pick_folder(),
            DialogKind::DatasetFile => d
                .set_title("open image or volume")
                .add_filter(
                    "images and volumes",
                    &["png", "jpg", "jpeg", "tif", "tiff", "dcm", "nii", "gz"],
                )
                .add_filter("all files", &["*"])
                .pick_file(),
            DialogKind::Model => d
                .set_title("open model")
                .add_filter("models", &["safetensors", "pth", "pt", "mpk", "json"])
                .add_filter("all files", &["*"])
                .pick_file(),
        }
    }
}

/// Dialogs that answer with a fixed path (or nothing); for tests.
#[derive(Clone, Debug, Default)]
pub struct FixedDialogs {
    /// Returned for dataset dialogs.
    pub dataset: Option<PathBuf>,
    /// Returned for the model dialog.
    pub model: Option<PathBuf>,
}

impl FileDialogs for FixedDialogs {
    fn pick(&self, kind: DialogKind) -> Option<PathBuf> {
        match kind {
            DialogKind::DatasetFolder | DialogKind::DatasetFile => self.dataset.clone(),
            DialogKind::Model => self.model.clone(),
        }
    }
}
