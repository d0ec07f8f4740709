//! Resizing masks and probability maps, so that metrics can be computed at any
//! resolution, e.g. predictions made at 256×256 scored at the native image size.
//! Owns the bilinear rule and checks sizes for both; depends on [`super::mask`] and
//! the preprocessing's nearest rule.
//!
//! * [`resize_nearest`]: nearest neighbour as OpenCV's `INTER_NEAREST` (the rule the
//!   reference pipeline used for masks): source index `⌊dst · src_len / dst_len⌋`, the
//!   same code as the preprocessing's (`crate::data::resize::resize_nearest`).
//! * [`resize_bilinear`]: bilinear with half-pixel centres, as OpenCV `INTER_LINEAR`
//!   and PyTorch `interpolate(mode="bilinear", align_corners=False)`: source coordinate
//!   `(dst + 0.5) · src_len / dst_len − 0.5`, clamped at 0 below, edge pixels repeated
//!   beyond the last one. Weights are computed in `f64`, the result rounded to `f32`.
//!
//! For scoring, resize *probabilities* bilinearly and threshold afterwards; resizing a
//! binary mask with nearest neighbour is for ground truth and stored masks.

use super::mask::check_len;

/// Checks a resize's sizes: `Ok(false)` for an empty destination (nothing to compute),
/// an error for a wrong length or an empty source with a non-empty destination.
fn check_sizes(
    len: usize,
    src_size: (usize, usize),
    dst_size: (usize, usize),
) -> Result<bool, String> {
    check_len("source image", len, src_size)?;
    let ((sw, sh), (dw, dh)) = (src_size, dst_size);
    if dw == 0 || dh == 0 {
        return Ok(false);
    }
    if sw == 0 || sh == 0 {
        return Err(format!(
            "cannot resize an empty {sw}×{sh} image to {dw}×{dh}"
        ));
    }
    Ok(true)
}

/// Nearest-neighbour resize of any row-major image (masks of `bool` or `u8`, labels).
/// `src_size` and `dst_size` are `(width, height)`. A zero-sized destination gives an
/// empty image; a zero-sized source with a non-empty destination is an error.
pub fn resize_nearest<T: Copy>(
    src: &[T],
    src_size: (usize, usize),
    dst_size: (usize, usize),
) -> Result<Vec<T>, String> {
    if !check_sizes(src.len(), src_size, dst_size)? {
        return Ok(Vec::new());
    }
    // One nearest rule in seglens: the preprocessing's, bit-exact to OpenCV.
    Ok(crate::data::resize::resize_nearest(
        src, src_size.0, src_size.1, 1, dst_size.0, dst_size.1,
    ))
}

/// One axis of a half-pixel bilinear resize: the two source indices and the weight of
/// the second, per destination index.
fn linear_taps(src_len: usize, dst_len: usize) -> Vec<(usize, usize, f64)> {
    let scale = src_len as f64 / dst_len as f64;
    (0..dst_len)
        .map(|d| {
            let s = ((d as f64 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (s.floor() as usize).min(src_len - 1);
            let i1 = (i0 + 1).min(src_len - 1);
            (i0, i1, s - i0 as f64)
        })
        .collect()
}

/// Bilinear resize of a probability map (or any `f32` image) with half-pixel centres.
/// Sizes are `(width, height)`; the same size returns a copy. Zero-size rules as
/// [`resize_nearest`].
pub fn resize_bilinear(
    src: &[f32],
    src_size: (usize, usize),
    dst_size: (usize, usize),
) -> Result<Vec<f32>, String> {
    if !check_sizes(src.len(), src_size, dst_size)? {
        return Ok(Vec::new());
    }
    let ((sw, sh), (dw, dh)) = (src_size, dst_size);
    let tx = linear_taps(sw, dw);
    let ty = linear_taps(sh, dh);
    let at = |x: usize, y: usize| f64::from(src[y * sw + x]);
    let mut out = Vec::with_capacity(dw * dh);
    for &(y0, y1, wy) in &ty {
        for &(x0, x1, wx) in &tx {
            let top = at(x0, y0) * (1.0 - wx) + at(x1, y0) * wx;
            let bottom = at(x0, y1) * (1.0 - wx) + at(x1, y1) * wx;
            out.push((top * (1.0 - wy) + bottom * wy) as f32);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_by_hand() {
        // 2×2 [a b; c d] → 4×4: each source pixel becomes a 2×2 block (x·2/4 = 0,0,1,1).
        let src = [1u8, 2, 3, 4];
        let up = resize_nearest(&src, (2, 2), (4, 4)).expect("valid");
        assert_eq!(up, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
        // 3×1 → 2×1: x = 0 → ⌊0·3/2⌋ = 0, x = 1 → ⌊3/2⌋ = 1: [a, b].
        assert_eq!(
            resize_nearest(&[true, false, true], (3, 1), (2, 1)).expect("valid"),
            [true, false]
        );
        // 4×2 → 2×1: columns 0, 2 of row 0.
        assert_eq!(
            resize_nearest(&[1u8, 2, 3, 4, 5, 6, 7, 8], (4, 2), (2, 1)).expect("valid"),
            [1, 3]
        );
    }

    #[test]
    fn bilinear_upsample_matches_pytorch() {
        // [[0, 1], [2, 3]] → 4×4 with align_corners=False. Columns: x = 0 → s = −0.25 → 0;
        // x = 1 → 0.25; x = 2 → 0.75; x = 3 → 1.25 → clamped to the last column. Rows alike.
        // PyTorch: [[0, .25, .75, 1], [.5, .75, 1.25, 1.5], [1.5, 1.75, 2.25, 2.5], [2, 2.25, 2.75, 3]].
        let up = resize_bilinear(&[0.0, 1.0, 2.0, 3.0], (2, 2), (4, 4)).expect("valid");
        let want = [
            0.0, 0.25, 0.75, 1.0, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2.0, 2.25, 2.75, 3.0,
        ];
        assert_eq!(up, want);
    }

    #[test]
    fn bilinear_downsample_and_non_square() {
        // 4×1 [0, 1, 2, 3] → 2×1: s = (x + 0.5)·2 − 0.5 = 0.5, 2.5 → [0.5, 2.5].
        assert_eq!(
            resize_bilinear(&[0.0, 1.0, 2.0, 3.0], (4, 1), (2, 1)).expect("valid"),
            [0.5, 2.5]
        );
        // 3×1 [0, 3, 6] → 2×1: scale 1.5, s = 0.25, 1.75 → 0.75, 3 + 0.75·3 = 5.25.
        assert_eq!(
            resize_bilinear(&[0.0, 3.0, 6.0], (3, 1), (2, 1)).expect("valid"),
            [0.75, 5.25]
        );
        // 1×2 column [0, 1] → 1×4 (height 4): rows like the 2×2 case: [0, .25, .75, 1].
        assert_eq!(
            resize_bilinear(&[0.0, 1.0], (1, 2), (1, 4)).expect("valid"),
            [0.0, 0.25, 0.75, 1.0]
        );
        // Same size is the identity.
        let p = [0.1f32, 0.7, 0.3, 0.9, 0.2, 0.4];
        assert_eq!(resize_bilinear(&p, (3, 2), (3, 2)).expect("valid"), p);
    }

    #[test]
    fn zero_sizes_and_mismatch() {
        assert_eq!(
            resize_nearest(&[1u8], (1, 1), (0, 5)).expect("valid"),
            Vec::<u8>::new()
        );
        assert!(resize_nearest::<u8>(&[], (0, 0), (2, 2)).is_err());
        assert!(resize_nearest(&[1u8, 2], (3, 1), (2, 1)).is_err());
        assert!(resize_bilinear(&[], (0, 3), (2, 2)).is_err());
        assert_eq!(
            resize_bilinear(&[], (0, 0), (0, 0)).expect("valid"),
            Vec::<f32>::new()
        );
    }
}
