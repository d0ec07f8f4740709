//! The recipe's train-time augmentation ([`crate::data::augment::Augmentation`]:
//! RandomRotate90 then Flip, p = 0.5 each) on square, already-resized CHW samples,
//! the same transform for every image plane and the mask.
//!
//! The recipe augments before resizing; on a square target size the two orders give
//! identical pixels (bilinear and nearest resizing act on each axis separately, and
//! rotations and flips only permute the axes), so samples can be prepared once and
//! augmented here at every epoch.

use super::source::Sample;
use crate::data::augment::Augmentation;
use crate::rng::SplitMix64;

/// Augments a `channels × size × size` sample with a transform drawn from `rng`.
pub fn augment(sample: Sample, channels: usize, size: usize, rng: &mut SplitMix64) -> Sample {
    let a = Augmentation::sample(rng);
    if a == Augmentation::NONE {
        return sample;
    }
    debug_assert_eq!(sample.image.len(), channels * size * size);
    Sample {
        image: a.apply_planes(&sample.image, size),
        mask: a.apply_planes(&sample.mask, size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_planes_and_mask_get_the_same_transform() {
        let n = 3;
        let mask: Vec<f32> = (0..n * n).map(|v| v as f32).collect();
        // Two planes that both equal the mask: after augmenting, all three must agree.
        let image: Vec<f32> = mask.iter().chain(&mask).copied().collect();
        let mut rng = SplitMix64::new(5);
        let mut changed = 0;
        for _ in 0..20 {
            let out = augment(
                Sample {
                    image: image.clone(),
                    mask: mask.clone(),
                },
                2,
                n,
                &mut rng,
            );
            assert_eq!(&out.image[..n * n], out.mask.as_slice());
            assert_eq!(&out.image[n * n..], out.mask.as_slice());
            let mut sorted = out.mask.clone();
            sorted.sort_by(f32::total_cmp);
            assert_eq!(sorted, mask, "a permutation of the pixels");
            changed += usize::from(out.mask != mask);
        }
        assert!(changed > 5, "most draws change the sample ({changed}/20)");
    }
}
