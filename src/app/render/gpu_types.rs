//! `#[repr(C)]` uniform structs shared with WGSL, with explicit padding.
//! Keep in sync with `struct Params` and the flag constants in shaders/heatmap.wgsl.

use crate::app::settings::{MaskStyle, OverlaySettings};

/// A probability map is bound.
pub const HAS_PROB: u32 = 1;
/// A GT mask is bound.
pub const HAS_GT: u32 = 2;
/// Draw the heatmap.
pub const SHOW_HEAT: u32 = 4;
/// Draw the entropy map.
pub const SHOW_ENTROPY: u32 = 8;
/// Draw the error map.
pub const SHOW_ERROR: u32 = 16;
/// Draw the GT.
pub const SHOW_GT: u32 = 32;
/// GT as a contour (else filled).
pub const GT_CONTOUR: u32 = 64;
/// Draw the prediction.
pub const SHOW_PRED: u32 = 128;
/// Prediction as a contour (else filled).
pub const PRED_CONTOUR: u32 = 256;

/// Per-pane overlay parameters: everything that may change every frame. 64 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OverlayParams {
    /// Visible part of the image, in texture coordinates (0..1), top-left.
    pub uv_min: [f32; 2],
    /// Visible part of the image, bottom-right.
    pub uv_max: [f32; 2],
    /// Value shown black.
    pub window_lo: f32,
    /// Value shown white.
    pub window_hi: f32,
    /// Binarisation threshold (`p > threshold`).
    pub threshold: f32,
    /// [`super::colormap::Colormap::id`].
    pub colormap: u32,
    /// Heatmap opacity.
    pub heat_opacity: f32,
    /// Entropy map opacity.
    pub entropy_opacity: f32,
    /// Error map opacity.
    pub error_opacity: f32,
    /// GT opacity.
    pub gt_opacity: f32,
    /// Prediction opacity.
    pub pred_opacity: f32,
    /// `HAS_*`, `SHOW_*` and `*_CONTOUR` bits.
    pub flags: u32,
    /// Padding to 16 bytes.
    pub _pad0: u32,
    /// Padding to 16 bytes.
    pub _pad1: u32,
}

impl OverlayParams {
    /// Parameters for the whole image from the overlay settings.
    pub fn new(
        overlays: &OverlaySettings,
        window: (f32, f32),
        threshold: f32,
        has_prob: bool,
        has_gt: bool,
    ) -> Self {
        let mut flags = 0;
        let mut set = |cond: bool, bit: u32| {
            if cond {
                flags |= bit;
            }
        };
        set(has_prob, HAS_PROB);
        set(has_gt, HAS_GT);
        set(overlays.heatmap.visible, SHOW_HEAT);
        set(overlays.entropy.visible, SHOW_ENTROPY);
        set(overlays.error.visible, SHOW_ERROR);
        set(overlays.gt.visible, SHOW_GT);
        set(overlays.gt_style == MaskStyle::Contour, GT_CONTOUR);
        set(overlays.pred.visible, SHOW_PRED);
        set(overlays.pred_style == MaskStyle::Contour, PRED_CONTOUR);
        Self {
            uv_min: [0.0, 0.0],
            uv_max: [1.0, 1.0],
            window_lo: window.0,
            window_hi: window.1,
            threshold,
            colormap: overlays.colormap.id(),
            heat_opacity: overlays.heatmap.opacity,
            entropy_opacity: overlays.entropy.opacity,
            error_opacity: overlays.error.opacity,
            gt_opacity: overlays.gt.opacity,
            pred_opacity: overlays.pred.opacity,
            flags,
            _pad0: 0,
            _pad1: 0,
        }
    }

    /// The same parameters with every overlay except the image switched off.
    pub fn has(&self, bit: u32) -> bool {
        self.flags & bit != 0
    }
}

const _: () = assert!(std::mem::size_of::<OverlayParams>() == 64);
