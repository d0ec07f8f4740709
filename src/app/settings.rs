//! Persisted settings: what the user expects to find again after a restart (recent
//! items, overlay and view choices). `#[serde(default)]`, saved through eframe storage
//! under [`SETTINGS_KEY`]. No job handles, no GPU resources, no dataset contents.

use std::path::PathBuf;

use super::backend::ModelId;
use super::render::colormap::Colormap;

/// eframe storage key of [`Settings`].
pub const SETTINGS_KEY: &str = "seglens.settings";

/// How many recent items are remembered.
pub const MAX_RECENT: usize = 8;

/// How a mask overlay is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MaskStyle {
    /// Filled, blended at the layer's opacity.
    Fill,
    /// Only the boundary pixels (4-connectivity).
    Contour,
}

/// One overlay layer: shown or not, how strongly.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Layer {
    /// Drawn at all.
    pub visible: bool,
    /// Blend factor in `[0, 1]`.
    pub opacity: f32,
}

impl Layer {
    /// A layer with this visibility and opacity.
    pub const fn new(visible: bool, opacity: f32) -> Self {
        Self { visible, opacity }
    }
}

/// Overlay choices, shared by every pane.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct OverlaySettings {
    /// Ground-truth mask. Default: shown as a contour, opacity 0.9.
    pub gt: Layer,
    /// Fill or contour for the GT. Default contour.
    pub gt_style: MaskStyle,
    /// Prediction at the current threshold. Default: shown filled, opacity 0.35.
    pub pred: Layer,
    /// Fill or contour for the prediction. Default fill.
    pub pred_style: MaskStyle,
    /// Probability heatmap. Default hidden, opacity 0.6.
    pub heatmap: Layer,
    /// Colormap of the heatmap and the entropy map. Default viridis.
    pub colormap: Colormap,
    /// TP/FP/FN error map. Default hidden, opacity 0.6.
    pub error: Layer,
    /// Per-pixel binary entropy (bits). Default hidden, opacity 0.6.
    pub entropy: Layer,
}

impl Default for OverlaySettings {
    fn default() -> Self {
        Self {
            gt: Layer::new(true, 0.9),
            gt_style: MaskStyle::Contour,
            pred: Layer::new(true, 0.35),
            pred_style: MaskStyle::Fill,
            heatmap: Layer::new(false, 0.6),
            colormap: Colormap::Viridis,
            error: Layer::new(false, 0.6),
            entropy: Layer::new(false, 0.6),
        }
    }
}

/// Column the dataset list is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortKey {
    /// Backend order. Default.
    Order,
    /// Name, ascending.
    Name,
    /// Dice at the current threshold, worst first (unscored last).
    DiceWorstFirst,
    /// IoU at the current threshold, worst first (unscored last).
    IouWorstFirst,
    /// GT foreground fraction, smallest first.
    GtForeground,
}

impl SortKey {
    /// Every key, for the sort picker.
    pub const ALL: [Self; 5] = [
        Self::Order,
        Self::Name,
        Self::DiceWorstFirst,
        Self::IouWorstFirst,
        Self::GtForeground,
    ];

    /// UI text.
    pub fn label(self) -> &'static str {
        match self {
            Self::Order => "dataset order",
            Self::Name => "name",
            Self::DiceWorstFirst => "dice, worst first",
            Self::IouWorstFirst => "iou, worst first",
            Self::GtForeground => "gt foreground",
        }
    }
}

/// Everything that is remembered between runs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Recently opened datasets, newest first, at most [`MAX_RECENT`]. Default empty.
    pub recent: Vec<PathBuf>,
    /// Binarisation threshold (`p > threshold` is foreground). Default 0.5.
    pub threshold: f32,
    /// Overlay choices. Default [`OverlaySettings::default`].
    pub overlays: OverlaySettings,
    /// Last model picked. Default none (the backend's first).
    pub model: Option<ModelId>,
    /// Link zoom, pan and threshold across side-by-side panes. Default true.
    pub linked_panes: bool,
    /// Draw overlays through the wgpu shader when available (else the CPU path). Default true.
    pub prefer_gpu: bool,
    /// Dataset list order. Default dataset order.
    pub sort: SortKey,
    /// Show the threshold view window. Default false.
    pub show_threshold_view: bool,
    /// Flip test-time augmentation for the window's inference (4× the time). Default false.
    pub tta: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            recent: Vec::new(),
            threshold: 0.5,
            overlays: OverlaySettings::default(),
            model: None,
            linked_panes: true,
            prefer_gpu: true,
            sort: SortKey::Order,
            show_threshold_view: false,
            tta: false,
        }
    }
}

impl Settings {
    /// Put `path` first in the recent items.
    pub fn remember(&mut self, path: PathBuf) {
        self.recent.retain(|p| p != &path);
        self.recent.insert(0, path);
        self.recent.truncate(MAX_RECENT);
    }
}
