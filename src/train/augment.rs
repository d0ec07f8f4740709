//! Train-time augmentation on square, already-resized CHW samples, the same geometric
//! transform for every image plane and the mask.
//!
//! [`AugmentationSet::Recipe`] is the recipe's ([`crate::data::augment::Augmentation`]:
//! RandomRotate90 then Flip, p = 0.5 each). The recipe augments before resizing; on a
//! square target size the two orders give identical pixels (bilinear and nearest
//! resizing act on each axis separately, and rotations and flips only permute the
//! axes), so samples can be prepared once and augmented here at every epoch.
//!
//! [`AugmentationSet::Extended`] draws the recipe's first (so the random stream of a
//! recipe run is unchanged), then the extra transforms of [`ExtraDraw`].

use super::config::AugmentationSet;
use super::source::Sample;
use crate::data::augment::Augmentation;
use crate::rng::SplitMix64;

/// Largest rotation of the extended set, degrees either way.
pub const MAX_ROTATION_DEGREES: f64 = 15.0;
/// Zoom range of the extended set (1 ± this).
pub const MAX_ZOOM_CHANGE: f64 = 0.1;
/// Contrast (gain 1 ± this) and brightness (offset ± this, in normalised units) range.
pub const MAX_INTENSITY_CHANGE: f64 = 0.1;
/// Chance of the channel replacement.
pub const CHANNEL_COPY_P: f64 = 0.1;

/// Augments a `channels × size × size` sample with transforms drawn from `rng`.
pub fn augment(
    sample: Sample,
    channels: usize,
    size: usize,
    set: AugmentationSet,
    rng: &mut SplitMix64,
) -> Sample {
    debug_assert_eq!(sample.image.len(), channels * size * size);
    let a = Augmentation::sample(rng);
    let sample = if a == Augmentation::NONE {
        sample
    } else {
        Sample {
            image: a.apply_planes(&sample.image, size),
            mask: a.apply_planes(&sample.mask, size),
        }
    };
    match set {
        AugmentationSet::Recipe => sample,
        AugmentationSet::Extended => ExtraDraw::sample(rng, channels).apply(sample, size),
    }
}

/// The extended set's transforms beyond the recipe's, each drawn on its own.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtraDraw {
    /// With p = 0.5: rotation (radians, counter-clockwise as displayed) and zoom (> 1
    /// enlarges) about the centre. Small tilts and sizes differ between patients and
    /// scanners; the recipe only has quarter turns.
    pub rotate_zoom: Option<(f64, f64)>,
    /// With p = 0.5: gain and offset per channel, applied to the normalised values.
    pub intensity: Option<Vec<(f32, f32)>>,
    /// With p = 0.1 on 3-channel images: this channel (0 or 2) becomes a copy of
    /// channel 1. lgg-flair-mri's source fills a missing pre- or post-contrast sequence
    /// (R, B) with FLAIR (G), so some patients' slices look like this; a grey image's
    /// channels are equal and do not change.
    pub copy_channel_1_into: Option<usize>,
}

impl ExtraDraw {
    /// Draws the transforms for an image with `channels` channels.
    pub fn sample(rng: &mut SplitMix64, channels: usize) -> Self {
        let mut between = |lo: f64, hi: f64| lo + (hi - lo) * rng.next_f64();
        let rotate_zoom = (between(0.0, 1.0) < 0.5).then(|| {
            let degrees = between(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES);
            let zoom = between(1.0 - MAX_ZOOM_CHANGE, 1.0 + MAX_ZOOM_CHANGE);
            (degrees.to_radians(), zoom)
        });
        let intensity = (between(0.0, 1.0) < 0.5).then(|| {
            (0..channels)
                .map(|_| {
                    let gain = between(1.0 - MAX_INTENSITY_CHANGE, 1.0 + MAX_INTENSITY_CHANGE);
                    let offset = between(-MAX_INTENSITY_CHANGE, MAX_INTENSITY_CHANGE);
                    (gain as f32, offset as f32)
                })
                .collect()
        });
        let copy_channel_1_into = (channels == 3 && between(0.0, 1.0) < CHANNEL_COPY_P)
            .then(|| if between(0.0, 1.0) < 0.5 { 0 } else { 2 });
        Self {
            rotate_zoom,
            intensity,
            copy_channel_1_into,
        }
    }

    /// Applies to a square CHW sample.
    pub fn apply(&self, mut sample: Sample, size: usize) -> Sample {
        let plane = size * size;
        if let Some((angle, zoom)) = self.rotate_zoom {
            sample.image = sample
                .image
                .chunks(plane.max(1))
                .flat_map(|p| {
                    // Pixels brought in from outside take the corner's value: the
                    // background (air, or the normalised zero outside the body).
                    rotate_zoom(p, size, angle, zoom, p.first().copied().unwrap_or(0.0))
                })
                .collect();
            sample.mask = rotate_zoom(&sample.mask, size, angle, zoom, 0.0)
                .into_iter()
                .map(|v| if v >= 0.5 { 1.0 } else { 0.0 })
                .collect();
        }
        if let Some(changes) = &self.intensity {
            for (p, &(gain, offset)) in sample.image.chunks_mut(plane.max(1)).zip(changes) {
                p.iter_mut().for_each(|v| *v = *v * gain + offset);
            }
        }
        if let Some(target) = self.copy_channel_1_into {
            if sample.image.len() >= 3 * plane {
                let flair = sample.image[plane..2 * plane].to_vec();
                sample.image[target * plane..(target + 1) * plane].copy_from_slice(&flair);
            }
        }
        sample
    }
}

/// Rotates a `size × size` plane by `angle` (radians, counter-clockwise as displayed,
/// y pointing down) and zooms it by `zoom` about its centre, sampling bilinearly;
/// neighbours outside the plane count as `fill`.
pub fn rotate_zoom(plane: &[f32], size: usize, angle: f64, zoom: f64, fill: f32) -> Vec<f32> {
    let c = (size as f64 - 1.0) / 2.0;
    let (sin, cos) = angle.sin_cos();
    let at = |x: i64, y: i64| -> f64 {
        if x < 0 || y < 0 || x >= size as i64 || y >= size as i64 {
            f64::from(fill)
        } else {
            f64::from(plane[y as usize * size + x as usize])
        }
    };
    let mut out = Vec::with_capacity(size * size);
    for y in 0..size {
        for x in 0..size {
            let (ox, oy) = ((x as f64 - c) / zoom, (y as f64 - c) / zoom);
            // The inverse of the rotation: where this output pixel comes from.
            let sx = c + ox * cos - oy * sin;
            let sy = c + ox * sin + oy * cos;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
            let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
            out.push((top * (1.0 - fy) + bottom * fy) as f32);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ramp(size: usize) -> Vec<f32> {
        (0..size * size).map(|v| v as f32).collect()
    }

    #[test]
    fn image_planes_and_mask_get_the_same_transform() {
        let n = 3;
        let mask: Vec<f32> = (0..n * n).map(|v| v as f32).collect();
        // Two planes that both equal the mask: after augmenting, all three must agree.
        let image: Vec<f32> = mask.iter().chain(&mask).copied().collect();
        let mut rng = SplitMix64::new(5);
        let mut changed = 0;
        for _ in 0..20 {
            let sample = Sample {
                image: image.clone(),
                mask: mask.clone(),
            };
            let out = augment(sample, 2, n, AugmentationSet::Recipe, &mut rng);
            assert_eq!(&out.image[..n * n], out.mask.as_slice());
            assert_eq!(&out.image[n * n..], out.mask.as_slice());
            let mut sorted = out.mask.clone();
            sorted.sort_by(f32::total_cmp);
            assert_eq!(sorted, mask, "a permutation of the pixels");
            changed += usize::from(out.mask != mask);
        }
        assert!(changed > 5, "most draws change the sample ({changed}/20)");
    }

    #[test]
    fn the_extended_set_starts_with_the_recipe_draw() {
        // Same stream: the extended sample is the recipe's sample, then the extra draw
        // taken from where the recipe's left off.
        let size = 4;
        let sample = Sample {
            image: ramp(size),
            mask: ramp(size).iter().map(|&v| f32::from(v > 7.0)).collect(),
        };
        for seed in 0..20 {
            let recipe = augment(
                sample.clone(),
                1,
                size,
                AugmentationSet::Recipe,
                &mut SplitMix64::new(seed),
            );
            let mut rng = SplitMix64::new(seed);
            let extended = augment(sample.clone(), 1, size, AugmentationSet::Extended, &mut rng);
            let mut rng_again = SplitMix64::new(seed);
            let _ = Augmentation::sample(&mut rng_again);
            let extra = ExtraDraw::sample(&mut rng_again, 1);
            assert_eq!(extended, extra.apply(recipe, size), "seed {seed}");
        }
    }

    #[test]
    fn no_rotation_and_no_zoom_is_the_identity() {
        let p = ramp(5);
        assert_eq!(rotate_zoom(&p, 5, 0.0, 1.0, -9.0), p);
    }

    #[test]
    fn a_quarter_turn_equals_numpy_rot90() {
        for size in [4, 5] {
            let p = ramp(size);
            let turned = rotate_zoom(&p, size, std::f64::consts::FRAC_PI_2, 1.0, -9.0);
            let expected = Augmentation {
                rot90: 1,
                flip: None,
            }
            .apply_planes(&p, size);
            for (a, b) in turned.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-4, "{turned:?} vs {expected:?}");
            }
        }
    }

    #[test]
    fn zoom_two_doubles_a_centred_square_and_fills_from_outside() {
        // 16×16, square [6, 10)² (4×4 = 16 pixels) centred on 7.5.
        let size = 16;
        let square: Vec<f32> = (0..size * size)
            .map(|i| f32::from((6..10).contains(&(i % size)) && (6..10).contains(&(i / size))))
            .collect();
        let out = ExtraDraw {
            rotate_zoom: Some((0.0, 2.0)),
            intensity: None,
            copy_channel_1_into: None,
        }
        .apply(
            Sample {
                image: square.clone(),
                mask: square.clone(),
            },
            size,
        );
        // Output x comes from 7.5 + (x − 7.5)/2, inside [5.5, 9.5] ⇔ x ∈ [3.5, 11.5]
        // with bilinear weight ≥ 0.5 ⇔ x ∈ 4..=11: an 8×8 square.
        let area: f32 = out.mask.iter().sum();
        assert_eq!(area, 64.0);
        assert_eq!(out.mask[4 * size + 4], 1.0);
        assert_eq!(out.mask[3 * size + 3], 0.0);
        assert!(out.mask.iter().all(|&v| v == 0.0 || v == 1.0), "binary");
        // The image plane is the same map before thresholding.
        for (m, v) in out.mask.iter().zip(&out.image) {
            assert_eq!(*m, if *v >= 0.5 { 1.0 } else { 0.0 });
        }
        // Zoom out: pixels from outside take the corner's value.
        let shrunk = rotate_zoom(&vec![3.0; 16], 4, 0.0, 0.5, -1.0);
        assert_eq!(shrunk[0], -1.0);
        assert!(shrunk.iter().all(|&v| (-1.0..=3.0).contains(&v)));
    }

    #[test]
    fn intensity_and_channel_copy_change_the_image_only() {
        let size = 2;
        let image: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mask = vec![0.0, 1.0, 1.0, 0.0];
        let out = ExtraDraw {
            rotate_zoom: None,
            intensity: Some(vec![(2.0, 1.0), (1.0, 0.0), (0.5, -1.0)]),
            copy_channel_1_into: Some(2),
        }
        .apply(
            Sample {
                image,
                mask: mask.clone(),
            },
            size,
        );
        // Channel 0: 2v + 1; channel 1 unchanged; channel 2 replaced by channel 1.
        assert_eq!(
            out.image,
            vec![1.0, 3.0, 5.0, 7.0, 4.0, 5.0, 6.0, 7.0, 4.0, 5.0, 6.0, 7.0]
        );
        assert_eq!(out.mask, mask);
    }

    #[test]
    fn extended_draws_stay_in_their_ranges() {
        let mut rng = SplitMix64::new(11);
        let (mut turned, mut changed, mut copied) = (0, 0, 0);
        for _ in 0..2000 {
            let d = ExtraDraw::sample(&mut rng, 3);
            if let Some((angle, zoom)) = d.rotate_zoom {
                turned += 1;
                assert!(angle.abs() <= MAX_ROTATION_DEGREES.to_radians());
                assert!((zoom - 1.0).abs() <= MAX_ZOOM_CHANGE);
            }
            if let Some(c) = &d.intensity {
                changed += 1;
                assert_eq!(c.len(), 3);
                assert!(
                    c.iter()
                        .all(|&(g, o)| (g - 1.0).abs() <= 0.1 && o.abs() <= 0.1)
                );
            }
            if let Some(t) = d.copy_channel_1_into {
                copied += 1;
                assert!(t == 0 || t == 2);
            }
        }
        assert!((900..1100).contains(&turned), "{turned}");
        assert!((900..1100).contains(&changed), "{changed}");
        assert!((140..260).contains(&copied), "{copied}");
        // A grey (1-channel) image never has a channel replaced.
        assert!((0..200).all(|_| ExtraDraw::sample(&mut rng, 1).copy_channel_1_into.is_none()));
    }
}
