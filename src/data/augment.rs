//! Seeded train-time augmentation, as the reference recipe (albumentations 1.2.0):
//! 1. `RandomRotate90(p=0.5)`: k quarter turns counter-clockwise (`np.rot90`), k uniform in 0..4;
//! 2. `Flip(p=0.5)`: vertical, horizontal or both, chosen uniformly (`cv2.flip` codes 0, 1, −1).
//!
//! The same [`Augmentation`] is applied to the image and its mask, before resizing.
//! Random numbers come from [`crate::rng::SplitMix64`], so a seed gives the same
//! augmentations on every machine.

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

/// A flip direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flip {
    /// Upside down (rows reversed), `cv2.flip(img, 0)`.
    Vertical,
    /// Mirror (columns reversed), `cv2.flip(img, 1)`.
    Horizontal,
    /// Both, i.e. a 180° turn, `cv2.flip(img, -1)`.
    Both,
}

/// One drawn augmentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Augmentation {
    /// Quarter turns counter-clockwise, 0..4 (applied first).
    pub rot90: u8,
    /// Flip applied after the rotation.
    pub flip: Option<Flip>,
}

impl Augmentation {
    /// The identity.
    pub const NONE: Augmentation = Augmentation {
        rot90: 0,
        flip: None,
    };

    /// Draws the recipe's augmentation: rotate with p = 0.5 (k uniform in 0..4, so k = 0
    /// can be drawn too, as in albumentations), then flip with p = 0.5.
    pub fn sample(rng: &mut SplitMix64) -> Self {
        let rot90 = if rng.next_f64() < 0.5 {
            rng.below(4) as u8
        } else {
            0
        };
        let flip = if rng.next_f64() < 0.5 {
            Some(match rng.below(3) {
                0 => Flip::Vertical,
                1 => Flip::Horizontal,
                _ => Flip::Both,
            })
        } else {
            None
        };
        Self { rot90, flip }
    }

    /// Size after the augmentation of a `width`×`height` image.
    pub fn output_size(&self, width: usize, height: usize) -> (usize, usize) {
        if self.rot90 % 2 == 1 {
            (height, width)
        } else {
            (width, height)
        }
    }

    /// Applies to an interleaved row-major buffer; returns the new buffer and size.
    pub fn apply<T: Copy>(
        &self,
        data: &[T],
        width: usize,
        height: usize,
        channels: usize,
    ) -> (Vec<T>, usize, usize) {
        let (mut buf, mut w, mut h) = (data.to_vec(), width, height);
        for _ in 0..self.rot90 % 4 {
            (buf, w, h) = rot90_ccw(&buf, w, h, channels);
        }
        if let Some(flip) = self.flip {
            buf = flip_buffer(&buf, w, h, channels, flip);
        }
        (buf, w, h)
    }

    /// Applies to each of the `size × size` planes of a planar (CHW) buffer alike, e.g.
    /// an image's channels, or a mask or logit map (one plane).
    pub fn apply_planes<T: Copy>(&self, data: &[T], size: usize) -> Vec<T> {
        let plane = size * size;
        data.chunks(plane.max(1))
            .flat_map(|p| self.apply(p, size, size, 1).0)
            .collect()
    }
}

/// `np.rot90(img)`: out(x', y') = in(x = w − 1 − y', y = x'); the result is h×w.
fn rot90_ccw<T: Copy>(src: &[T], w: usize, h: usize, channels: usize) -> (Vec<T>, usize, usize) {
    let (nw, nh) = (h, w);
    let mut out = Vec::with_capacity(src.len());
    for y2 in 0..nh {
        for x2 in 0..nw {
            let (x, y) = (w - 1 - y2, x2);
            let p = (y * w + x) * channels;
            out.extend_from_slice(&src[p..p + channels]);
        }
    }
    (out, nw, nh)
}

fn flip_buffer<T: Copy>(src: &[T], w: usize, h: usize, channels: usize, flip: Flip) -> Vec<T> {
    let mut out = Vec::with_capacity(src.len());
    for y2 in 0..h {
        for x2 in 0..w {
            let x = if matches!(flip, Flip::Horizontal | Flip::Both) {
                w - 1 - x2
            } else {
                x2
            };
            let y = if matches!(flip, Flip::Vertical | Flip::Both) {
                h - 1 - y2
            } else {
                y2
            };
            let p = (y * w + x) * channels;
            out.extend_from_slice(&src[p..p + channels]);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // 3×2 image:  1 2 3
    //             4 5 6
    const IMG: [u8; 6] = [1, 2, 3, 4, 5, 6];

    #[test]
    fn rot90_matches_numpy() {
        // np.rot90([[1,2,3],[4,5,6]]) == [[3,6],[2,5],[1,4]]
        let a = Augmentation {
            rot90: 1,
            flip: None,
        };
        assert_eq!(a.apply(&IMG, 3, 2, 1), (vec![3, 6, 2, 5, 1, 4], 2, 3));
        let a = Augmentation {
            rot90: 2,
            flip: None,
        };
        assert_eq!(a.apply(&IMG, 3, 2, 1).0, vec![6, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn flips_match_opencv_codes() {
        let v = Augmentation {
            rot90: 0,
            flip: Some(Flip::Vertical),
        };
        assert_eq!(v.apply(&IMG, 3, 2, 1).0, vec![4, 5, 6, 1, 2, 3]);
        let h = Augmentation {
            rot90: 0,
            flip: Some(Flip::Horizontal),
        };
        assert_eq!(h.apply(&IMG, 3, 2, 1).0, vec![3, 2, 1, 6, 5, 4]);
        let b = Augmentation {
            rot90: 0,
            flip: Some(Flip::Both),
        };
        assert_eq!(b.apply(&IMG, 3, 2, 1).0, vec![6, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn channels_move_together() {
        let rgb: Vec<u8> = (0..12).collect(); // 2×2×3
        let a = Augmentation {
            rot90: 1,
            flip: None,
        };
        // np.rot90 of [[p0,p1],[p2,p3]] = [[p1,p3],[p0,p2]].
        assert_eq!(
            a.apply(&rgb, 2, 2, 3).0,
            vec![3, 4, 5, 9, 10, 11, 0, 1, 2, 6, 7, 8]
        );
    }

    #[test]
    fn sampling_is_seeded_and_covers_all_cases() {
        let mut g = SplitMix64::new(5);
        let draws: Vec<Augmentation> = (0..4000).map(|_| Augmentation::sample(&mut g)).collect();
        let mut again = SplitMix64::new(5);
        assert!(draws.iter().all(|d| *d == Augmentation::sample(&mut again)));
        let none = draws.iter().filter(|d| **d == Augmentation::NONE).count();
        // P(no change) = (0.5 + 0.5·0.25) · 0.5 = 0.3125.
        assert!((1100..1400).contains(&none), "{none}");
        for flip in [Flip::Vertical, Flip::Horizontal, Flip::Both] {
            let n = draws.iter().filter(|d| d.flip == Some(flip)).count();
            assert!((560..780).contains(&n), "{flip:?}: {n}");
        }
        assert!((0..4).all(|k| draws.iter().any(|d| d.rot90 == k)));
    }

    #[test]
    fn planes_are_transformed_alike() {
        // Two planes of 2×2: [a b; c d].
        let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let flip = |f| Augmentation {
            rot90: 0,
            flip: Some(f),
        };
        assert_eq!(
            flip(Flip::Horizontal).apply_planes(&data, 2),
            [2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0]
        );
        assert_eq!(
            flip(Flip::Vertical).apply_planes(&data, 2),
            [3.0, 4.0, 1.0, 2.0, 7.0, 8.0, 5.0, 6.0]
        );
        assert_eq!(
            flip(Flip::Both).apply_planes(&data, 2),
            [4.0, 3.0, 2.0, 1.0, 8.0, 7.0, 6.0, 5.0]
        );
        assert_eq!(
            flip(Flip::Both).apply_planes(&flip(Flip::Both).apply_planes(&data, 2), 2),
            data
        );
    }
}
