//! Overlay rendering: one compositor, two paths that give the same pixels.
//!
//! * GPU: [`heatmap::OverlayRenderer`] (pipeline built once from `cc.wgpu_render_state`,
//!   kept in egui-wgpu's `callback_resources`) and [`heatmap::OverlayCallback`], an
//!   `egui_wgpu::CallbackTrait` that carries only per-frame [`gpu_types::OverlayParams`].
//!   Moving the threshold slider rewrites a 64-byte uniform; no CPU pixel work.
//! * CPU: [`cpu::composite`], used when wgpu is unavailable (glow, non-rendering tests)
//!   or switched off, drawn as an egui texture.
//!
//! Inputs are [`OverlayData`]: the image's display values and, when present, the
//! probabilities and GT as `f32`. Built once per (entry, prediction), shared by `Arc`.
//! Depends on `settings` (overlay choices) and nothing else of the app.

pub mod colormap;
pub mod cpu;
pub mod gpu_types;
pub mod heatmap;

use std::sync::Arc;

use crate::app::backend::{LoadedEntry, Prediction};

/// Compositor inputs of one pane. Immutable once built.
#[derive(Debug)]
pub struct OverlayData {
    /// Changes whenever any input changes; the GPU path re-uploads on a new version.
    pub version: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Display value per pixel (channel mean), in image units.
    pub image: Vec<f32>,
    /// Foreground probability per pixel, when predicted.
    pub prob: Option<Vec<f32>>,
    /// GT as 0.0/1.0 per pixel, when paired (what the shader samples).
    pub gt: Option<Vec<f32>>,
    /// The same GT as 0/1 bytes (what `crate::metrics` scores).
    pub gt_mask: Option<Vec<u8>>,
}

impl OverlayData {
    /// Inputs from a loaded entry and its prediction. A prediction or GT whose size
    /// differs from the image's is left out (the caller warns).
    pub fn new(version: u64, entry: &LoadedEntry, prediction: Option<&Prediction>) -> Arc<Self> {
        let (w, h) = (entry.image.width, entry.image.height);
        let n = (w * h) as usize;
        let prob = prediction
            .filter(|p| p.width == w && p.height == h && p.probabilities.len() == n)
            .map(|p| p.probabilities.clone());
        let gt_mask = entry
            .gt
            .as_ref()
            .filter(|m| m.width == w && m.height == h && m.data.len() == n)
            .map(|m| m.data.clone());
        let gt = gt_mask
            .as_ref()
            .map(|m| m.iter().map(|&v| if v > 0 { 1.0 } else { 0.0 }).collect());
        Arc::new(Self {
            version,
            width: w,
            height: h,
            image: entry.image.luminance(),
            prob,
            gt,
            gt_mask,
        })
    }
}
