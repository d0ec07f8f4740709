//! [`AppCommand`]: what the UI asks for. Panels push commands; `SegApp::run_commands`
//! applies them after drawing, so widgets stay functions of `(ui, &state)`.

use std::path::PathBuf;

use super::backend::ModelId;

/// Which file dialog to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogKind {
    /// A dataset folder.
    DatasetFolder,
    /// One image, DICOM file or NIfTI volume.
    DatasetFile,
    /// A model file.
    Model,
}

/// What inference runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InferScope {
    /// The selected entry.
    Current,
    /// Every entry of the dataset.
    Dataset,
}

/// A request from the UI, applied after the frame is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum AppCommand {
    /// Open a dataset path (recent item, drag and drop, dialog result).
    OpenPath(PathBuf),
    /// Open the bundled demo again.
    OpenDemo,
    /// Show a file dialog (on a background thread).
    Pick(DialogKind),
    /// Open a model file.
    OpenModel(PathBuf),
    /// Pick the model used for inference and by panes that follow the global model.
    SelectModel(ModelId),
    /// Select an entry by index into the dataset.
    Select(usize),
    /// Run inference; a new request cancels the running one (latest wins).
    RunInference(InferScope),
    /// Cancel the running inference.
    CancelInference,
    /// Flip test-time augmentation on or off for the window's inference.
    SetTta(bool),
    /// Show 1 to 4 panes side by side.
    SetPaneCount(usize),
    /// Reset the view of every pane to fit.
    FitAll,
    /// Open or close the training panel.
    ToggleTraining,
    /// A training panel request.
    Training(super::training::TrainingCommand),
    /// Answer to "discard unsaved edits?" before opening another dataset.
    ConfirmOpen {
        /// Save every edited mask first.
        save_first: bool,
    },
    /// Keep the dataset and its unsaved edits.
    CancelOpen,
    /// A mask-editing request.
    Annotate(AnnotateCommand),
}

/// Mask-editing requests (tools panel buttons and shortcuts).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AnnotateCommand {
    /// Undo on the current image.
    Undo,
    /// Redo on the current image.
    Redo,
    /// Save the current image's mask.
    Save,
    /// Copy the whole prediction at the threshold.
    TakeWholePrediction,
    /// Clear the mask.
    Clear,
    /// Fill the polygon placed so far.
    ClosePolygon,
    /// Restore the edits recovered from an earlier session.
    RestoreRecovered,
    /// Drop them.
    DiscardRecovered,
}

/// Commands collected during a frame.
#[derive(Default, Debug)]
pub struct CommandQueue(Vec<AppCommand>);

impl CommandQueue {
    /// Queue a command.
    pub fn push(&mut self, cmd: AppCommand) {
        self.0.push(cmd);
    }

    /// Take every queued command.
    pub fn take(&mut self) -> Vec<AppCommand> {
        std::mem::take(&mut self.0)
    }
}
