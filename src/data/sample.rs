//! Load one training sample: an image with its mask file(s), oriented alike, checked for
//! size and united into one binary mask; or a slice of a volume with its label slice
//! ([`load_sample`]).
//!
//! EXIF orientation policy (so image and mask always line up):
//! * a mask with its own orientation tag is turned by it (and a differing image tag is
//!   reported with [`DataWarning::OrientationDiffers`]);
//! * a mask without a tag whose stored size equals the image's *stored* size was drawn on
//!   the stored grid: the image's orientation is applied to it as well, with
//!   [`DataWarning::OrientationCopiedToMask`];
//! * a mask without a tag whose size equals the image's *displayed* size is left as is.
//!
//! Depends on [`super::image_io`] and [`super::mask`].

use std::path::{Path, PathBuf};

use image::metadata::Orientation;

use super::error::{DataError, DataWarning};
use super::image_io::{self, RawImage};
use super::mask::{self, Mask, MaskEncoding, MaskRule};
use super::nifti::VoxelAxis;
use super::pairing::Pair;
use super::scalar::ScalarSlice;
use super::split::SampleRef;
use super::volume_pairs::{VolumeCache, load_slice};

/// An image and its binary mask, ready for preprocessing.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedPair {
    /// The image, stored values, orientation applied.
    pub image: RawImage,
    /// The mask (union of all mask files), same size as the image.
    pub mask: Mask,
    /// What each mask file held, in the order of the mask paths.
    pub encodings: Vec<MaskEncoding>,
    /// Everything the user should be told about this sample.
    pub warnings: Vec<DataWarning>,
}

/// Loads a [`Pair`] from [`super::pairing`].
pub fn load_pair(pair: &Pair, rule: &MaskRule) -> Result<LoadedPair, DataError> {
    load_pair_paths(&pair.image, &pair.masks, rule)
}

/// Loads `image` with the mask files `masks` (at least one).
pub fn load_pair_paths(
    image: &Path,
    masks: &[PathBuf],
    rule: &MaskRule,
) -> Result<LoadedPair, DataError> {
    if masks.is_empty() {
        return Err(DataError::Invalid(format!(
            "no mask given for image {}",
            image.display()
        )));
    }
    let img = image_io::decode_unoriented(image)?;
    let stored_size = (img.image.width(), img.image.height());
    let mut displayed = img.image.clone();
    displayed.apply_orientation(img.orientation);
    let display_size = (displayed.width(), displayed.height());
    let image_exif = img.orientation.to_exif();
    let raw_image = image_io::to_raw(displayed, img.format, img.palette, image_exif, image)?;

    let mut warnings = Vec::new();
    let mut united: Option<Mask> = None;
    let mut encodings = Vec::new();
    for mask_path in masks {
        let m = image_io::decode_unoriented(mask_path)?;
        let mask_size = (m.image.width(), m.image.height());
        let orientation = if m.orientation != Orientation::NoTransforms {
            if img.orientation != Orientation::NoTransforms && img.orientation != m.orientation {
                warnings.push(DataWarning::OrientationDiffers {
                    image_exif,
                    mask_exif: m.orientation.to_exif(),
                    image: image.to_path_buf(),
                    mask: mask_path.clone(),
                });
            }
            m.orientation
        } else if img.orientation != Orientation::NoTransforms && mask_size == stored_size {
            warnings.push(DataWarning::OrientationCopiedToMask {
                exif: image_exif,
                image: image.to_path_buf(),
                mask: mask_path.clone(),
            });
            img.orientation
        } else {
            Orientation::NoTransforms
        };
        let mut pixels = m.image;
        pixels.apply_orientation(orientation);
        let raw_mask = image_io::to_raw(
            pixels,
            m.format,
            m.palette,
            orientation.to_exif(),
            mask_path,
        )?;
        if (raw_mask.width, raw_mask.height) != display_size {
            return Err(DataError::SizeMismatch {
                image: image.to_path_buf(),
                image_size: display_size,
                mask: mask_path.clone(),
                mask_size: (raw_mask.width, raw_mask.height),
            });
        }
        let loaded = mask::interpret_mask(&raw_mask, rule, mask_path);
        warnings.extend(loaded.warnings);
        encodings.push(loaded.encoding);
        match &mut united {
            None => united = Some(loaded.mask),
            Some(u) => u.unite(&loaded.mask),
        }
    }
    let mask = united.unwrap_or_else(|| Mask::empty(display_size.0, display_size.1));
    if masks.len() > 1 {
        warnings.push(DataWarning::MasksUnited {
            image: image.to_path_buf(),
            masks: masks.to_vec(),
        });
        // Per-file empty warnings mean little once united; keep one if the union is empty.
        warnings.retain(|w| !matches!(w, DataWarning::EmptyMask { .. }));
        if mask.is_empty() {
            warnings.push(DataWarning::EmptyMask {
                path: masks[0].clone(),
            });
        }
    }
    Ok(LoadedPair {
        image: raw_image,
        mask,
        encodings,
        warnings,
    })
}

/// A sample's pixels: a 2D image file's, or one slice of a volume.
#[derive(Clone, Debug, PartialEq)]
pub enum SamplePixels {
    /// A decoded 2D image, stored values, orientation applied.
    Image(RawImage),
    /// An axial slice of a NIfTI volume (Hounsfield units for CT).
    Slice(ScalarSlice),
}

/// A split sample loaded: its pixels and binary mask of the same size.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedSample {
    /// The pixels.
    pub pixels: SamplePixels,
    /// The mask (union of all mask files; a label volume's non-zero voxels).
    pub mask: Mask,
    /// Everything the user should be told about this sample.
    pub warnings: Vec<DataWarning>,
}

impl LoadedSample {
    /// Width and height.
    pub fn size(&self) -> (u32, u32) {
        match &self.pixels {
            SamplePixels::Image(i) => (i.width, i.height),
            SamplePixels::Slice(s) => (s.width, s.height),
        }
    }

    /// Pixel spacing in mm (between columns, between rows), when the file gives it.
    pub fn spacing_mm(&self) -> Option<[f64; 2]> {
        match &self.pixels {
            SamplePixels::Image(_) => None,
            SamplePixels::Slice(s) => s.spacing_mm,
        }
    }
}

/// Loads split sample `s`: a 2D image with its mask file(s) by `rule`, or slice
/// `s.slice` of a volume with the same slice of its label volume, read through `volumes`.
pub fn load_sample(
    s: &SampleRef,
    rule: &MaskRule,
    volumes: &VolumeCache,
) -> Result<LoadedSample, DataError> {
    let Some(k) = s.slice else {
        let pair = load_pair_paths(&s.image, &s.masks, rule)?;
        return Ok(LoadedSample {
            pixels: SamplePixels::Image(pair.image),
            mask: pair.mask,
            warnings: pair.warnings,
        });
    };
    let label = s.masks.first().ok_or_else(|| {
        DataError::Invalid(format!(
            "no label volume given for slice {k} of {}",
            s.image.display()
        ))
    })?;
    // An empty slice is no warning here: most slices of a scan hold no lesion.
    let (slice, mask) = load_slice(&s.image, label, k, s.modality.clone(), volumes)?;
    Ok(LoadedSample {
        pixels: SamplePixels::Slice(slice),
        mask,
        warnings: Vec::new(),
    })
}

/// Only the pixels of split sample `s`, without its mask (to compare images).
pub fn load_pixels(s: &SampleRef, volumes: &VolumeCache) -> Result<SamplePixels, DataError> {
    Ok(match s.slice {
        None => SamplePixels::Image(image_io::decode_image(&s.image)?),
        Some(k) => SamplePixels::Slice(volumes.get(&s.image)?.slice(
            VoxelAxis::K,
            k,
            s.modality.clone(),
        )?),
    })
}
