//! Errors of the model layer: bad configs, bad inputs, weights that do not fit.

use std::path::PathBuf;

/// What can go wrong when building, feeding or loading a CMUNeXt network.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The architecture cannot be built.
    #[error("invalid CMUNeXt config: {0}")]
    InvalidConfig(String),
    /// H or W is not a multiple of 16.
    #[error(
        "input is {height}×{width}, but CMUNeXt needs height and width that are multiples of 16 \
         (four 2×2 max-pools); resize it, or use the padded forward"
    )]
    InputSize {
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
    },
    /// The input's channel count differs from the stem's.
    #[error("input has {found} channels, the model expects {expected}")]
    InputChannels {
        /// Channels the stem expects.
        expected: usize,
        /// Channels given.
        found: usize,
    },
    /// A zero-sized dimension.
    #[error("input has an empty dimension: {dims:?}")]
    EmptyInput {
        /// The input shape `[N, C, H, W]`.
        dims: [usize; 4],
    },
    /// The weights file could not be read or parsed.
    #[error("cannot read weights: {reason}: {}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The weights file does not fit the architecture it is loaded into.
    #[error("weights do not fit {expected}: {problem}{}: {}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default(), path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The architecture that was expected, e.g. "CMUNeXt-S".
        expected: String,
        /// The first problem found, naming the key.
        problem: String,
        /// What the file looks like instead, when we can tell.
        hint: Option<String>,
    },
    /// Writing a checkpoint failed.
    #[error("cannot write checkpoint: {reason}: {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}
