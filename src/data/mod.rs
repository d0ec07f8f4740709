//! Datasets in, honestly: everything between files on disk and the numbers a model sees.
//!
//! This module owns reading (2D images, DICOM, NIfTI), pairing images with masks, mask
//! interpretation, the exact reference preprocessing, seeded augmentation, reproducible
//! splits and the dataset audit. It depends only on [`crate::rng`] and
//! [`crate::convention`]; it must never import Burn or any UI crate: callers get plain
//! `Vec`s, structs and enums.
//!
//! # Layout (one responsibility per file)
//! * [`error`]: [`DataError`] (fatal for one file) and [`DataWarning`] (data was used, but the
//!   user must be told).
//! * [`pairing`]: list `NAME/images` + `NAME/masks` and match them by name, never by position.
//! * [`dataset`]: a named dataset folder with its modality; MIX of several datasets.
//! * [`image_io`]: decode PNG/JPEG/BMP/TIFF, keeping stored values and bit depth.
//! * [`mask`]: turn any stored mask encoding into a 0/1 [`Mask`] by a stated [`MaskRule`].
//! * [`sample`]: load one image with its mask(s): orientation, size check, union.
//! * [`scalar`], [`window`], [`dicom`], [`nifti`]: medical formats, HU and CT windows.
//! * [`volume_pairs`]: NIfTI volumes with their label volumes, one sample per slice.
//! * [`resize`], [`augment`], [`preprocess`]: pixels to the model's CHW f32 input.
//! * [`grouping`], [`split`]: patient keys and seeded, hashed train/val/test splits.
//! * [`phash`], [`audit`], [`audit_text`]: duplicates, leakage and set statistics.
//!
//! # Failure handling
//! A file that cannot be used yields a [`DataError`] whose message names the problem
//! first and the path last. Loading many files never aborts on one bad file: batch calls
//! ([`image_io::decode_many`], [`audit::audit`]) return one `Result` per file. Anything that
//! changes data silently elsewhere (a JPEG mask binarised, two masks united, an EXIF
//! orientation copied to a mask, a 16-bit image fed to an 8-bit model) is reported as a
//! [`DataWarning`] or a [`preprocess::ConventionMismatch`].

pub mod audit;
pub mod audit_text;
pub mod augment;
pub mod dataset;
pub mod dicom;
pub mod error;
pub mod grouping;
pub mod image_io;
pub mod mask;
pub mod nifti;
pub mod pairing;
pub mod phash;
pub mod preprocess;
pub mod resize;
pub mod sample;
pub mod scalar;
pub mod split;
pub mod volume_pairs;
pub mod window;

pub use error::{DataError, DataWarning};
pub use image_io::RawImage;
pub use mask::{Mask, MaskRule};

#[cfg(test)]
mod tests;
