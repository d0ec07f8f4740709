//! The CPU path of the overlay compositor: the same pixels as shaders/heatmap.wgsl,
//! one RGBA pixel per image pixel. Used when wgpu is unavailable (glow, tests) or
//! switched off, and as the reference for the GPU path's pixel test.
//! Keep in sync with shaders/heatmap.wgsl.

use super::OverlayData;
use super::gpu_types::*;
use crate::app::render::colormap::Colormap;

/// Colours, as in the shader.
pub const TP_RGB: [f32; 3] = [0.10, 0.75, 0.30];
/// False positive colour.
pub const FP_RGB: [f32; 3] = [0.95, 0.25, 0.20];
/// False negative colour.
pub const FN_RGB: [f32; 3] = [0.25, 0.45, 1.00];
/// GT colour.
pub const GT_RGB: [f32; 3] = [1.00, 0.85, 0.10];
/// Prediction colour.
pub const PRED_RGB: [f32; 3] = [0.10, 0.90, 1.00];

fn colormap_from_id(id: u32) -> Colormap {
    match id {
        1 => Colormap::Magma,
        2 => Colormap::Inferno,
        _ => Colormap::Viridis,
    }
}

/// Binary entropy in bits, f32 (as the shader; equals `metrics::binary_entropy_bits`
/// to f32 precision).
pub fn entropy_bits_f32(p: f32) -> f32 {
    let p = p.clamp(0.0, 1.0);
    let mut h = 0.0;
    if p > 0.0 {
        h -= p * p.log2();
    }
    let q = 1.0 - p;
    if q > 0.0 {
        h -= q * q.log2();
    }
    h
}

fn blend(c: [f32; 3], o: [f32; 3], a: f32) -> [f32; 3] {
    std::array::from_fn(|k| c[k] * (1.0 - a) + o[k] * a)
}

/// Composite the whole image (`params.uv_*` is ignored: one output pixel per image
/// pixel), RGBA8, row-major.
pub fn composite(data: &OverlayData, params: &OverlayParams) -> Vec<u8> {
    let (w, h) = (data.width as usize, data.height as usize);
    let has_prob = params.has(HAS_PROB) && data.prob.is_some();
    let has_gt = params.has(HAS_GT) && data.gt.is_some();
    let prob = data.prob.as_deref().unwrap_or(&[]);
    let gt = data.gt.as_deref().unwrap_or(&[]);
    let t = params.threshold;
    let cmap = colormap_from_id(params.colormap);
    let gt_at = |x: usize, y: usize| gt[y * w + x] > 0.5;
    let pred_at = |x: usize, y: usize| prob[y * w + x] > t;
    let edge = |f: &dyn Fn(usize, usize) -> bool, x: usize, y: usize| {
        f(x, y)
            && (x == 0
                || y == 0
                || x + 1 == w
                || y + 1 == h
                || !f(x + 1, y)
                || !f(x - 1, y)
                || !f(x, y + 1)
                || !f(x, y - 1))
    };
    let span = (params.window_hi - params.window_lo).max(1e-6);
    let mut out = vec![0u8; w * h * 4];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let v = ((data.image[i] - params.window_lo) / span).clamp(0.0, 1.0);
            let mut c = [v, v, v];
            if has_prob {
                let p = prob[i];
                if params.has(SHOW_HEAT) {
                    c = blend(c, cmap.rgb(p), params.heat_opacity);
                }
                if params.has(SHOW_ENTROPY) {
                    c = blend(c, cmap.rgb(entropy_bits_f32(p)), params.entropy_opacity);
                }
                if has_gt && params.has(SHOW_ERROR) {
                    match (pred_at(x, y), gt_at(x, y)) {
                        (true, true) => c = blend(c, TP_RGB, params.error_opacity),
                        (true, false) => c = blend(c, FP_RGB, params.error_opacity),
                        (false, true) => c = blend(c, FN_RGB, params.error_opacity),
                        (false, false) => {}
                    }
                }
            }
            if has_gt && params.has(SHOW_GT) {
                let m = if params.has(GT_CONTOUR) {
                    edge(&gt_at, x, y)
                } else {
                    gt_at(x, y)
                };
                if m {
                    c = blend(c, GT_RGB, params.gt_opacity);
                }
            }
            if has_prob && params.has(SHOW_PRED) {
                let m = if params.has(PRED_CONTOUR) {
                    edge(&pred_at, x, y)
                } else {
                    pred_at(x, y)
                };
                if m {
                    c = blend(c, PRED_RGB, params.pred_opacity);
                }
            }
            let px = &mut out[i * 4..i * 4 + 4];
            for k in 0..3 {
                px[k] = (c[k].clamp(0.0, 1.0) * 255.0).round() as u8;
            }
            px[3] = 255;
        }
    }
    out
}
