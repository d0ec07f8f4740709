//! Exact Euclidean distance transform of a 2D binary image (Felzenszwalb &
//! Huttenlocher 2012, "Distance Transforms of Sampled Functions"), with anisotropic
//! pixel spacing. Owns [`Spacing`] and the transform; depends only on [`super::mask`].
//!
//! The transform is separable: a 1D lower envelope of parabolas along each row (column
//! spacing), then along each column (row spacing). It is exact (not a chamfer
//! approximation) and runs in O(width · height).

use serde::{Deserialize, Serialize};

use super::mask::{MaskPixel, check_len};

/// Physical size of one pixel: the distance between row centres and between column
/// centres, in millimetres.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spacing {
    /// Distance between two adjacent rows (the y step), in mm.
    pub row_mm: f64,
    /// Distance between two adjacent columns (the x step), in mm.
    pub col_mm: f64,
}

impl Spacing {
    /// Unit spacing: distances come out in pixels.
    pub const PIXELS: Spacing = Spacing {
        row_mm: 1.0,
        col_mm: 1.0,
    };

    /// Checks that both steps are finite and positive.
    pub fn validate(&self) -> Result<(), String> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if ok(self.row_mm) && ok(self.col_mm) {
            Ok(())
        } else {
            Err(format!(
                "pixel spacing must be finite and positive, got row {} mm, column {} mm",
                self.row_mm, self.col_mm
            ))
        }
    }
}

/// Squared Euclidean distance from every pixel to the nearest foreground pixel of
/// `features`, in units of `spacing` squared (0 on foreground pixels). With no
/// foreground at all every value is `f64::INFINITY`. Row-major, `size = (width, height)`.
pub fn squared_distance_transform<M: MaskPixel>(
    features: &[M],
    size: (usize, usize),
    spacing: Spacing,
) -> Result<Vec<f64>, String> {
    check_len("feature mask", features.len(), size)?;
    spacing.validate()?;
    let (w, h) = size;
    let mut d: Vec<f64> = features
        .iter()
        .map(|&f| {
            if f.is_foreground() {
                0.0
            } else {
                f64::INFINITY
            }
        })
        .collect();
    let mut env = Envelope::default();
    let mut line = Vec::new();
    let mut out = Vec::new();
    // Along rows: neighbours are columns apart.
    for row in d.chunks_mut(w.max(1)) {
        env.transform(row, spacing.col_mm, &mut out);
        row.copy_from_slice(&out);
    }
    // Along columns: neighbours are rows apart.
    for x in 0..w {
        line.clear();
        line.extend((0..h).map(|y| d[y * w + x]));
        env.transform(&line, spacing.row_mm, &mut out);
        for (y, v) in out.iter().enumerate() {
            d[y * w + x] = *v;
        }
    }
    Ok(d)
}

/// Euclidean distance from every pixel to the nearest foreground pixel (the square
/// root of [`squared_distance_transform`]).
pub fn distance_transform<M: MaskPixel>(
    features: &[M],
    size: (usize, usize),
    spacing: Spacing,
) -> Result<Vec<f64>, String> {
    let mut d = squared_distance_transform(features, size, spacing)?;
    d.iter_mut().for_each(|v| *v = v.sqrt());
    Ok(d)
}

/// Scratch buffers of the 1D lower envelope, reused across lines.
#[derive(Default)]
struct Envelope {
    /// Sample indices of the parabolas in the envelope.
    v: Vec<usize>,
    /// Left boundary (in position units) of each parabola's interval.
    z: Vec<f64>,
}

impl Envelope {
    /// `out[q] = min_p (step·(q − p))² + f[p]` over samples `p` with finite `f[p]`.
    fn transform(&mut self, f: &[f64], step: f64, out: &mut Vec<f64>) {
        out.clear();
        self.v.clear();
        self.z.clear();
        for (q, &fq) in f.iter().enumerate() {
            if !fq.is_finite() {
                continue;
            }
            let xq = q as f64 * step;
            loop {
                let (Some(&p), Some(&zl)) = (self.v.last(), self.z.last()) else {
                    self.v.push(q);
                    self.z.push(f64::NEG_INFINITY);
                    break;
                };
                let xp = p as f64 * step;
                // Where parabola q starts to lie below parabola p.
                let s = ((fq + xq * xq) - (f[p] + xp * xp)) / (2.0 * (xq - xp));
                if s <= zl {
                    self.v.pop();
                    self.z.pop();
                } else {
                    self.v.push(q);
                    self.z.push(s);
                    break;
                }
            }
        }
        if self.v.is_empty() {
            out.resize(f.len(), f64::INFINITY);
            return;
        }
        let mut k = 0;
        for q in 0..f.len() {
            let xq = q as f64 * step;
            while k + 1 < self.v.len() && self.z[k + 1] < xq {
                k += 1;
            }
            let p = self.v[k];
            let dx = xq - p as f64 * step;
            out.push(dx * dx + f[p]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn single_pixel_distances() {
        // 5×4 image, feature at (row 1, col 2). Pixel (row 3, col 0): Δr = 2, Δc = 2 → √8.
        // With row 2 mm, col 0.5 mm: √((2·2)² + (2·0.5)²) = √17.
        let (w, h) = (5, 4);
        let mut f = vec![false; w * h];
        f[w + 2] = true;
        let d = distance_transform(&f, (w, h), Spacing::PIXELS).expect("valid");
        assert_eq!(d[w + 2], 0.0);
        assert!((d[3 * w] - 8f64.sqrt()).abs() < 1e-12);
        assert_eq!(d[w + 4], 2.0);
        let s = Spacing {
            row_mm: 2.0,
            col_mm: 0.5,
        };
        let d = distance_transform(&f, (w, h), s).expect("valid");
        assert!((d[3 * w] - 17f64.sqrt()).abs() < 1e-12);
        assert_eq!(d[w + 4], 1.0);
        assert_eq!(d[2 * w + 2], 2.0);
    }

    #[test]
    fn matches_brute_force_with_anisotropic_spacing() {
        let (w, h) = (13, 9);
        let mut rng = SplitMix64::new(11);
        let f: Vec<bool> = (0..w * h).map(|_| rng.below(10) == 0).collect();
        assert!(f.iter().any(|&b| b));
        let s = Spacing {
            row_mm: 1.7,
            col_mm: 0.6,
        };
        let d = squared_distance_transform(&f, (w, h), s).expect("valid");
        for y in 0..h {
            for x in 0..w {
                let best = (0..w * h)
                    .filter(|&i| f[i])
                    .map(|i| {
                        let dy = (y as f64 - (i / w) as f64) * s.row_mm;
                        let dx = (x as f64 - (i % w) as f64) * s.col_mm;
                        dy * dy + dx * dx
                    })
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    (d[y * w + x] - best).abs() < 1e-9,
                    "({y},{x}) {} vs {best}",
                    d[y * w + x]
                );
            }
        }
    }

    #[test]
    fn no_features_is_infinite_and_bad_inputs_error() {
        let d = squared_distance_transform(&[0u8; 6], (3, 2), Spacing::PIXELS).expect("valid");
        assert!(d.iter().all(|v| v.is_infinite()));
        assert!(squared_distance_transform(&[0u8; 5], (3, 2), Spacing::PIXELS).is_err());
        let bad = Spacing {
            row_mm: 0.0,
            col_mm: 1.0,
        };
        assert!(squared_distance_transform(&[1u8; 6], (3, 2), bad).is_err());
        let empty: [bool; 0] = [];
        assert_eq!(
            squared_distance_transform(&empty, (0, 0), Spacing::PIXELS),
            Ok(vec![])
        );
        assert_eq!(
            squared_distance_transform(&empty, (0, 3), Spacing::PIXELS),
            Ok(vec![])
        );
    }
}
