//! Near-duplicate detection in two stages, calibrated on the shared CT and MR sets.
//!
//! 1. **Candidates**: a 64-bit DCT pHash as `imagehash.phash` (grey → 32×32 box-filtered
//!    thumbnail → 2D DCT-II → the 8×8 lowest frequencies, DC included → one bit per
//!    coefficient above their median), kept for each of the 8 rotations/flips
//!    ([`DihedralHashes`]) so flipped and rotated copies are caught. For each transform
//!    within Hamming distance ≤ [`PHASH_CANDIDATE_DISTANCE`] of 64, the 32×32 thumbnails
//!    must correlate ≥ [`COARSE_MIN_CORRELATION`] and the 128×128 thumbnails, aligned
//!    within ±2 px, ≥ [`THUMB_MIN_CORRELATION`].
//! 2. **Confirmation** at full resolution ([`confirm`]): the first image turned by that
//!    transform (and resampled to the second's size if they differ), both 3×3 box-blurred,
//!    best integer shift within ±[`MAX_SHIFT_PX`] px, then a least-squares fit
//!    `b ≈ α·a + β`; a near-duplicate has a 99th-percentile absolute residual ≤
//!    [`RESIDUAL_MAX`] (grey in [0, 1]).
//!
//! Why two stages: pHash alone cannot tell copies from other slices of the same anatomy
//! (distinct finding-lungs-ct slices come within distance 4, while copies of dark MR slices
//! shifted by 2 px reach 16). Measured with `examples/phash_calibrate.rs` on the shared
//! sets: planted copies (1 px and 2 px shifts, vertical flip, JPEG quality 75 of every
//! third image) had pHash distance ≤ 16, 128² correlation ≥ 0.952 and residual ≤ 0.016;
//! the closest distinct pairs had residual 0.055–0.077 (adjacent lgg-flair-mri slices of
//! one patient), 0.17 (two covid19-ct-infection slices that look like neighbours of one
//! scan) and ≥ 0.48 (finding-lungs-ct). Crops and strong rescaling are not detected.

use serde::{Deserialize, Serialize};

use super::image_io::RawImage;
use super::sample::SamplePixels;

/// pHash thumbnail side.
pub const THUMB: usize = 32;
/// Verification thumbnail side.
pub const FINE: usize = 128;
/// Largest pHash distance (of 64 bits) for a candidate pair.
pub const PHASH_CANDIDATE_DISTANCE: u32 = 20;
/// Smallest zero-shift correlation of the 32×32 thumbnails for a candidate pair (a cheap gate
/// before the 128×128 check).
pub const COARSE_MIN_CORRELATION: f32 = 0.85;
/// Smallest 128×128 thumbnail correlation for a candidate pair.
pub const THUMB_MIN_CORRELATION: f32 = 0.93;
/// Shift search range of the confirmation, pixels.
pub const MAX_SHIFT_PX: usize = 3;
/// Largest 99th-percentile residual of a confirmed near-duplicate.
pub const RESIDUAL_MAX: f32 = 0.03;

/// Names of the 8 transforms, by index (`flip · 4 + quarter turns`): the transform that
/// turns the first image of a pair into the second.
pub const TRANSFORM_NAMES: [&str; 8] = [
    "identity",
    "rot90",
    "rot180",
    "rot270",
    "flip-h",
    "flip-h+rot90",
    "flip-v",
    "flip-h+rot270",
];

/// pHashes of the 8 rotations/flips of one image; index 0 is the image itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DihedralHashes(pub [u64; 8]);

impl DihedralHashes {
    /// Of a decoded image.
    pub fn of(image: &RawImage) -> Self {
        Self::of_grey(
            &image.grey_unit(),
            image.width as usize,
            image.height as usize,
        )
    }

    /// Of a grey plane in [0, 1].
    pub fn of_grey(grey: &[f32], width: usize, height: usize) -> Self {
        let t = box_thumbnail(grey, width, height, THUMB);
        let mut out = [0u64; 8];
        for (i, h) in out.iter_mut().enumerate() {
            *h = phash_of_thumbnail(&transform_square(&t, THUMB, i));
        }
        Self(out)
    }

    /// The image's own hash.
    pub fn identity(&self) -> u64 {
        self.0[0]
    }

    /// Smallest distance from `other`'s identity hash to any of these 8, with the
    /// transform index that achieves it.
    pub fn distance_to(&self, other: &DihedralHashes) -> (u32, usize) {
        let b = other.identity();
        let mut best = (u32::MAX, 0);
        for (i, &a) in self.0.iter().enumerate() {
            let d = hamming(a, b);
            if d < best.0 {
                best = (d, i);
            }
        }
        best
    }
}

/// Hamming distance of two hashes.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// What stage 1 needs of an image: its hashes and a normalised 128×128 thumbnail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// pHashes of the 8 transforms.
    pub hashes: DihedralHashes,
    /// Zero-mean, unit-variance 32×32 thumbnail.
    pub coarse: Vec<f32>,
    /// Zero-mean, unit-variance 128×128 thumbnail.
    pub thumb: Vec<f32>,
}

fn standardised(mut t: Vec<f32>) -> Vec<f32> {
    let n = t.len() as f32;
    let mean = t.iter().sum::<f32>() / n;
    let sd = (t.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n)
        .sqrt()
        .max(1e-6);
    for v in &mut t {
        *v = (*v - mean) / sd;
    }
    t
}

impl Fingerprint {
    /// Of a decoded image.
    pub fn of(image: &RawImage) -> Self {
        Self::of_grey(
            &image.grey_unit(),
            image.width as usize,
            image.height as usize,
        )
    }

    /// Of a grey plane in [0, 1].
    pub fn of_grey(grey: &[f32], width: usize, height: usize) -> Self {
        let thumb = standardised(box_thumbnail(grey, width, height, FINE));
        let coarse = standardised(box_thumbnail(grey, width, height, THUMB));
        Self {
            hashes: DihedralHashes::of_grey(grey, width, height),
            coarse,
            thumb,
        }
    }

    /// Stage 1: `Some((pHash distance, transform, thumbnail correlation))` when `self`
    /// turned by some transform resembles `other` closely enough to be confirmed.
    pub fn candidate(&self, other: &Fingerprint) -> Option<(u32, usize, f32)> {
        let b = other.hashes.identity();
        let plane_b = GreyPlane {
            width: FINE,
            height: FINE,
            data: other.thumb.clone(),
        };
        let mut best: Option<(u32, usize, f32)> = None;
        // Every transform within the distance is tried: symmetric images can match
        // several at distance 0, and only one of them is the real one.
        for (t, &a) in self.hashes.0.iter().enumerate() {
            let d = hamming(a, b);
            if d > PHASH_CANDIDATE_DISTANCE {
                continue;
            }
            let coarse_a = transform_square(&self.coarse, THUMB, t);
            let coarse = coarse_a
                .iter()
                .zip(&other.coarse)
                .map(|(x, y)| x * y)
                .sum::<f32>()
                / coarse_a.len() as f32;
            if coarse < COARSE_MIN_CORRELATION {
                continue;
            }
            let plane_a = GreyPlane {
                width: FINE,
                height: FINE,
                data: self.thumb.clone(),
            }
            .transformed(t);
            let Some((c, _, _)) = best_alignment(&plane_a, &plane_b, 2) else {
                continue;
            };
            if c >= THUMB_MIN_CORRELATION && best.is_none_or(|(_, _, bc)| c > bc) {
                best = Some((d, t, c));
            }
        }
        best
    }
}

/// A grey plane at native resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct GreyPlane {
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// Values in [0, 1], row-major.
    pub data: Vec<f32>,
}

impl GreyPlane {
    /// Of a decoded image.
    pub fn of(image: &RawImage) -> Self {
        Self {
            width: image.width as usize,
            height: image.height as usize,
            data: image.grey_unit(),
        }
    }

    /// Of a sample's pixels: an image's grey values, or a volume slice scaled by its
    /// own range.
    pub fn of_pixels(pixels: &SamplePixels) -> Self {
        match pixels {
            SamplePixels::Image(image) => Self::of(image),
            SamplePixels::Slice(slice) => {
                let (lo, hi) = slice.min_max().unwrap_or((0.0, 1.0));
                let span = (hi - lo).max(f32::EPSILON);
                Self {
                    width: slice.width as usize,
                    height: slice.height as usize,
                    data: slice
                        .values
                        .iter()
                        .map(|v| if v.is_finite() { (v - lo) / span } else { 0.0 })
                        .collect(),
                }
            }
        }
    }

    /// 3×3 box blur (edges clamped): suppresses JPEG and sensor noise and commutes with shifts.
    pub fn blurred(&self) -> GreyPlane {
        let (w, h) = (self.width as isize, self.height as isize);
        let at =
            |x: isize, y: isize| self.data[(y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) as usize];
        let mut data = Vec::with_capacity(self.data.len());
        for y in 0..h {
            for x in 0..w {
                let mut s = 0.0;
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        s += at(x + dx, y + dy);
                    }
                }
                data.push(s / 9.0);
            }
        }
        GreyPlane {
            width: self.width,
            height: self.height,
            data,
        }
    }

    /// Transform `index` (see [`TRANSFORM_NAMES`]).
    pub fn transformed(&self, index: usize) -> GreyPlane {
        let (mut w, mut h) = (self.width, self.height);
        let mut cur: Vec<f32> = if index >= 4 {
            (0..w * h)
                .map(|p| self.data[(p / w) * w + (w - 1 - p % w)])
                .collect()
        } else {
            self.data.clone()
        };
        for _ in 0..index % 4 {
            // np.rot90: the result is h×w, out(x', y') = in(x = w − 1 − y', y = x').
            let (nw, nh) = (h, w);
            cur = (0..nw * nh)
                .map(|p| cur[(p % nw) * w + (w - 1 - p / nw)])
                .collect();
            (w, h) = (nw, nh);
        }
        GreyPlane {
            width: w,
            height: h,
            data: cur,
        }
    }

    /// Bilinear resample (half-pixel centres) to `width`×`height`.
    pub fn resampled(&self, width: usize, height: usize) -> GreyPlane {
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        let sx = self.width as f32 / width as f32;
        let sy = self.height as f32 / height as f32;
        let mut data = Vec::with_capacity(width * height);
        for y in 0..height {
            let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (self.height - 1) as f32);
            let (y0, ty) = (fy.floor() as usize, fy.fract());
            let y1 = (y0 + 1).min(self.height - 1);
            for x in 0..width {
                let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (self.width - 1) as f32);
                let (x0, tx) = (fx.floor() as usize, fx.fract());
                let x1 = (x0 + 1).min(self.width - 1);
                let at = |xx: usize, yy: usize| self.data[yy * self.width + xx];
                let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
                let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
                data.push(top * (1.0 - ty) + bottom * ty);
            }
        }
        GreyPlane {
            width,
            height,
            data,
        }
    }
}

/// Stage 2: the 99th-percentile residual (see the module docs) of `a` turned by
/// `transform` against `b`; `None` for empty planes.
pub fn confirm(a: &GreyPlane, b: &GreyPlane, transform: usize) -> Option<f32> {
    let a = a
        .transformed(transform)
        .resampled(b.width, b.height)
        .blurred();
    let b = b.blurred();
    let (_, dx, dy) = best_alignment(&a, &b, MAX_SHIFT_PX)?;
    let (w, h) = (a.width as isize, a.height as isize);
    let mut pairs = Vec::with_capacity(a.data.len());
    for y in 0.max(-dy)..h.min(h - dy) {
        for x in 0.max(-dx)..w.min(w - dx) {
            pairs.push((
                f64::from(a.data[(y * w + x) as usize]),
                f64::from(b.data[((y + dy) * w + x + dx) as usize]),
            ));
        }
    }
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let (ma, mb) = pairs
        .iter()
        .fold((0.0, 0.0), |(sa, sb), (va, vb)| (sa + va, sb + vb));
    let (ma, mb) = (ma / n, mb / n);
    let (cov, var) = pairs.iter().fold((0.0, 0.0), |(c, v), (va, vb)| {
        (c + (va - ma) * (vb - mb), v + (va - ma) * (va - ma))
    });
    let alpha = if var > 0.0 { cov / var } else { 0.0 };
    let mut residual: Vec<f32> = pairs
        .iter()
        .map(|(va, vb)| (vb - (mb + alpha * (va - ma))).abs() as f32)
        .collect();
    let k = ((residual.len() as f64 * 0.99) as usize).min(residual.len() - 1);
    let (_, p99, _) = residual.select_nth_unstable_by(k, f32::total_cmp);
    Some(*p99)
}

/// Best integer shift (|dx|, |dy| ≤ `max_shift`) of `b` against same-size `a` by Pearson
/// correlation on the overlap: (correlation, dx, dy).
fn best_alignment(a: &GreyPlane, b: &GreyPlane, max_shift: usize) -> Option<(f32, isize, isize)> {
    if (a.width, a.height) != (b.width, b.height) || a.data.is_empty() {
        return None;
    }
    let (w, h) = (a.width as isize, a.height as isize);
    let m = (max_shift as isize).min(w - 1).min(h - 1);
    let mut best = (f32::MIN, 0, 0);
    for dy in -m..=m {
        for dx in -m..=m {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0f64, 0f64, 0f64, 0f64, 0f64);
            let (x0, x1) = (0.max(-dx), w.min(w - dx));
            for y in 0.max(-dy)..h.min(h - dy) {
                let ra = &a.data[(y * w + x0) as usize..(y * w + x1) as usize];
                let rb =
                    &b.data[((y + dy) * w + x0 + dx) as usize..((y + dy) * w + x1 + dx) as usize];
                let (mut ta, mut tb, mut taa, mut tbb, mut tab) = (0f32, 0f32, 0f32, 0f32, 0f32);
                for (&va, &vb) in ra.iter().zip(rb) {
                    ta += va;
                    tb += vb;
                    taa += va * va;
                    tbb += vb * vb;
                    tab += va * vb;
                }
                sa += f64::from(ta);
                sb += f64::from(tb);
                saa += f64::from(taa);
                sbb += f64::from(tbb);
                sab += f64::from(tab);
            }
            let n = ((x1 - x0) * (h.min(h - dy) - 0.max(-dy))) as f64;
            let cov = sab / n - (sa / n) * (sb / n);
            let var = (saa / n - (sa / n).powi(2)) * (sbb / n - (sb / n).powi(2));
            let c = if var > 0.0 {
                (cov / var.sqrt()) as f32
            } else {
                0.0
            };
            if c > best.0 {
                best = (c, dx, dy);
            }
        }
    }
    Some(best)
}

/// Box-filtered `side`×`side` thumbnail (each cell the mean of the pixels it covers;
/// sources smaller than `side` repeat pixels).
pub fn box_thumbnail(grey: &[f32], width: usize, height: usize, side: usize) -> Vec<f32> {
    let mut out = vec![0f32; side * side];
    if width == 0 || height == 0 {
        return out;
    }
    let range = |o: usize, n: usize| {
        let a = (o * n / side).min(n - 1);
        let b = ((o + 1) * n / side).max(a + 1).min(n);
        (a, b)
    };
    for oy in 0..side {
        let (y0, y1) = range(oy, height);
        for ox in 0..side {
            let (x0, x1) = range(ox, width);
            let mut sum = 0f64;
            for y in y0..y1 {
                for x in x0..x1 {
                    sum += f64::from(grey[y * width + x]);
                }
            }
            out[oy * side + ox] = (sum / ((y1 - y0) * (x1 - x0)) as f64) as f32;
        }
    }
    out
}

/// Transform `index` of a square `n`×`n` plane (flip first, then quarter turns).
fn transform_square(t: &[f32], n: usize, index: usize) -> Vec<f32> {
    GreyPlane {
        width: n,
        height: n,
        data: t.to_vec(),
    }
    .transformed(index)
    .data
}

/// 64-bit pHash of a 32×32 thumbnail.
pub fn phash_of_thumbnail(t: &[f32]) -> u64 {
    let n = THUMB;
    let cos: Vec<f64> = (0..8 * n)
        .map(|i| {
            let (u, x) = (i / n, i % n);
            (std::f64::consts::PI * (2 * x + 1) as f64 * u as f64 / (2 * n) as f64).cos()
        })
        .collect();
    let mut rows = vec![0f64; n * 8];
    for y in 0..n {
        for u in 0..8 {
            rows[y * 8 + u] = (0..n)
                .map(|x| f64::from(t[y * n + x]) * cos[u * n + x])
                .sum();
        }
    }
    let mut coef = [0f64; 64];
    for v in 0..8 {
        for u in 0..8 {
            coef[v * 8 + u] = (0..n).map(|y| rows[y * 8 + u] * cos[v * n + y]).sum();
        }
    }
    let mut sorted = coef;
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[31] + sorted[32]) / 2.0;
    coef.iter()
        .enumerate()
        .fold(0u64, |h, (i, &c)| if c > median { h | (1 << i) } else { h })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gradient(w: usize, h: usize) -> Vec<f32> {
        (0..w * h)
            .map(|p| ((p % w) as f32 / w as f32 * 0.7 + (p / w) as f32 / h as f32 * 0.3).powi(2))
            .collect()
    }

    #[test]
    fn flipped_copy_matches_through_its_transform() {
        let (w, h) = (64, 48);
        let g = gradient(w, h);
        let flipped: Vec<f32> = (0..w * h)
            .map(|p| g[(p / w) * w + (w - 1 - p % w)])
            .collect();
        let a = Fingerprint::of_grey(&g, w, h);
        let b = Fingerprint::of_grey(&flipped, w, h);
        assert!(hamming(a.hashes.identity(), b.hashes.identity()) > PHASH_CANDIDATE_DISTANCE);
        let (d, t, c) = a.candidate(&b).unwrap();
        assert_eq!((d, TRANSFORM_NAMES[t]), (0, "flip-h"));
        assert!(c > 0.999, "{c}");
        let pa = GreyPlane {
            width: w,
            height: h,
            data: g,
        };
        let pb = GreyPlane {
            width: w,
            height: h,
            data: flipped,
        };
        assert!(confirm(&pa, &pb, t).unwrap() < 1e-4);
    }

    #[test]
    fn transforms_are_the_dihedral_group() {
        let p = GreyPlane {
            width: 3,
            height: 2,
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        };
        assert_eq!(p.transformed(1).data, vec![3.0, 6.0, 2.0, 5.0, 1.0, 4.0]); // np.rot90
        assert_eq!((p.transformed(1).width, p.transformed(1).height), (2, 3));
        assert_eq!(p.transformed(6).data, vec![4.0, 5.0, 6.0, 1.0, 2.0, 3.0]); // flip-v
        let all: Vec<Vec<f32>> = (0..8).map(|i| p.transformed(i).data).collect();
        for i in 0..8 {
            for j in i + 1..8 {
                assert_ne!(all[i], all[j], "{i} {j}");
            }
        }
    }
}
