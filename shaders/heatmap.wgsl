// Overlay compositing for one viewer pane: windowed image, probability heatmap,
// entropy map, TP/FP/FN error map, GT and prediction (fill or contour) at a threshold.
// One fragment = one screen pixel; each looks up exactly one image texel (nearest),
// so the CPU mirror in src/app/render/cpu.rs gives the same pixels.
// Keep in sync with src/app/render/gpu_types.rs (Params, flags) and
// src/app/render/colormap.rs (colormap ids and coefficients).

struct Params {
    uv_min: vec2<f32>,
    uv_max: vec2<f32>,
    window_lo: f32,
    window_hi: f32,
    threshold: f32,
    colormap: u32,
    heat_opacity: f32,
    entropy_opacity: f32,
    error_opacity: f32,
    gt_opacity: f32,
    pred_opacity: f32,
    flags: u32,
    _pad0: u32,
    _pad1: u32,
};

const HAS_PROB: u32 = 1u;
const HAS_GT: u32 = 2u;
const SHOW_HEAT: u32 = 4u;
const SHOW_ENTROPY: u32 = 8u;
const SHOW_ERROR: u32 = 16u;
const SHOW_GT: u32 = 32u;
const GT_CONTOUR: u32 = 64u;
const SHOW_PRED: u32 = 128u;
const PRED_CONTOUR: u32 = 256u;

const CMAP_VIRIDIS: u32 = 0u;
const CMAP_MAGMA: u32 = 1u;
const CMAP_INFERNO: u32 = 2u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var image_tex: texture_2d<f32>;
@group(0) @binding(2) var prob_tex: texture_2d<f32>;
@group(0) @binding(3) var gt_tex: texture_2d<f32>;

struct VsOut {
    @builtin(position) position: vec4<f32>,
    @location(0) t: vec2<f32>,
};

// One triangle covering the viewport; t runs 0..1 left→right, top→bottom.
@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VsOut {
    let x = f32((index << 1u) & 2u);
    let y = f32(index & 2u);
    var out: VsOut;
    out.position = vec4<f32>(x * 2.0 - 1.0, 1.0 - y * 2.0, 0.0, 1.0);
    out.t = vec2<f32>(x, y);
    return out;
}

// Polynomial fits of matplotlib's perceptual colormaps (Matt Zucker, CC0), Horner form.
fn poly(t: f32, c0: vec3<f32>, c1: vec3<f32>, c2: vec3<f32>, c3: vec3<f32>, c4: vec3<f32>, c5: vec3<f32>, c6: vec3<f32>) -> vec3<f32> {
    return clamp(c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6))))), vec3<f32>(0.0), vec3<f32>(1.0));
}

fn colormap(id: u32, v: f32) -> vec3<f32> {
    let t = clamp(v, 0.0, 1.0);
    if (id == CMAP_MAGMA) {
        return poly(t,
            vec3<f32>(-0.002136485053939582, -0.000749655052795221, -0.005386127855323933),
            vec3<f32>(0.2516605407371642, 0.6775232436837668, 2.494026599312351),
            vec3<f32>(8.353717279216625, -3.577719514958484, 0.3144679030132573),
            vec3<f32>(-27.66873308576866, 14.26473078096533, -13.64921318813922),
            vec3<f32>(52.17613981234068, -27.94360607168351, 12.94416944238394),
            vec3<f32>(-50.76852536473588, 29.04658282127291, 4.23415299384598),
            vec3<f32>(18.65570506591883, -11.48977351997711, -5.601961508734096));
    }
    if (id == CMAP_INFERNO) {
        return poly(t,
            vec3<f32>(0.0002189403691192265, 0.001651004631001012, -0.01948089843709184),
            vec3<f32>(0.1065134194856116, 0.5639564367884091, 3.932712388889277),
            vec3<f32>(11.60249308247187, -3.972853965665698, -15.9423941062914),
            vec3<f32>(-41.70399613139459, 17.43639888205313, 44.35414519872813),
            vec3<f32>(77.162935699427, -33.40235894210092, -81.80730925738993),
            vec3<f32>(-71.31942824499214, 32.62606426397723, 73.20951985803202),
            vec3<f32>(25.13112622477341, -12.24266895238567, -23.07032500287172));
    }
    return poly(t,
        vec3<f32>(0.2777273272234177, 0.005407344544966578, 0.3340998053353061),
        vec3<f32>(0.1050930431085774, 1.404613529898575, 1.384590162594685),
        vec3<f32>(-0.3308618287255563, 0.214847559468213, 0.09509516302823659),
        vec3<f32>(-4.634230498983486, -5.799100973351585, -19.33244095627987),
        vec3<f32>(6.228269936347081, 14.17993336680509, 56.69055260068105),
        vec3<f32>(4.776384997670288, -13.74514537774601, -65.35303263337234),
        vec3<f32>(-5.435455855934631, 4.645852612178535, 26.3124352495832));
}

// Binary entropy in bits, as crate::metrics::binary_entropy_bits.
fn entropy_bits(p_in: f32) -> f32 {
    let p = clamp(p_in, 0.0, 1.0);
    var h = 0.0;
    if (p > 0.0) { h = h - p * log2(p); }
    let q = 1.0 - p;
    if (q > 0.0) { h = h - q * log2(q); }
    return h;
}

fn prob_at(c: vec2<i32>) -> f32 {
    return textureLoad(prob_tex, c, 0).r;
}

fn gt_at(c: vec2<i32>) -> bool {
    return textureLoad(gt_tex, c, 0).r > 0.5;
}

fn pred_at(c: vec2<i32>) -> bool {
    // Strict, as crate::metrics: foreground when p > threshold.
    return prob_at(c) > params.threshold;
}

fn inside(c: vec2<i32>, size: vec2<i32>) -> bool {
    return c.x >= 0 && c.y >= 0 && c.x < size.x && c.y < size.y;
}

// A foreground pixel with a 4-neighbour that is background or outside the image.
fn gt_edge(c: vec2<i32>, size: vec2<i32>) -> bool {
    if (!gt_at(c)) { return false; }
    let n = array<vec2<i32>, 4>(vec2<i32>(1, 0), vec2<i32>(-1, 0), vec2<i32>(0, 1), vec2<i32>(0, -1));
    for (var k = 0; k < 4; k++) {
        let q = c + n[k];
        if (!inside(q, size) || !gt_at(q)) { return true; }
    }
    return false;
}

fn pred_edge(c: vec2<i32>, size: vec2<i32>) -> bool {
    if (!pred_at(c)) { return false; }
    let n = array<vec2<i32>, 4>(vec2<i32>(1, 0), vec2<i32>(-1, 0), vec2<i32>(0, 1), vec2<i32>(0, -1));
    for (var k = 0; k < 4; k++) {
        let q = c + n[k];
        if (!inside(q, size) || !pred_at(q)) { return true; }
    }
    return false;
}

fn blend(c: vec3<f32>, overlay: vec3<f32>, a: f32) -> vec3<f32> {
    return c * (1.0 - a) + overlay * a;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let size = vec2<i32>(textureDimensions(image_tex));
    let uv = params.uv_min + (params.uv_max - params.uv_min) * in.t;
    let c = clamp(vec2<i32>(floor(uv * vec2<f32>(size))), vec2<i32>(0), size - vec2<i32>(1));
    let flags = params.flags;

    let value = textureLoad(image_tex, c, 0).r;
    let v = clamp((value - params.window_lo) / max(params.window_hi - params.window_lo, 1e-6), 0.0, 1.0);
    var color = vec3<f32>(v, v, v);

    let has_prob = (flags & HAS_PROB) != 0u;
    let has_gt = (flags & HAS_GT) != 0u;
    if (has_prob) {
        let p = prob_at(c);
        if ((flags & SHOW_HEAT) != 0u) {
            color = blend(color, colormap(params.colormap, p), params.heat_opacity);
        }
        if ((flags & SHOW_ENTROPY) != 0u) {
            color = blend(color, colormap(params.colormap, entropy_bits(p)), params.entropy_opacity);
        }
        if (has_gt && (flags & SHOW_ERROR) != 0u) {
            let pr = pred_at(c);
            let g = gt_at(c);
            if (pr && g) {
                color = blend(color, vec3<f32>(0.10, 0.75, 0.30), params.error_opacity);
            } else if (pr && !g) {
                color = blend(color, vec3<f32>(0.95, 0.25, 0.20), params.error_opacity);
            } else if (!pr && g) {
                color = blend(color, vec3<f32>(0.25, 0.45, 1.00), params.error_opacity);
            }
        }
    }
    if (has_gt && (flags & SHOW_GT) != 0u) {
        var m = false;
        if ((flags & GT_CONTOUR) != 0u) { m = gt_edge(c, size); } else { m = gt_at(c); }
        if (m) { color = blend(color, vec3<f32>(1.00, 0.85, 0.10), params.gt_opacity); }
    }
    if (has_prob && (flags & SHOW_PRED) != 0u) {
        var m = false;
        if ((flags & PRED_CONTOUR) != 0u) { m = pred_edge(c, size); } else { m = pred_at(c); }
        if (m) { color = blend(color, vec3<f32>(0.10, 0.90, 1.00), params.pred_opacity); }
    }
    return vec4<f32>(color, 1.0);
}
