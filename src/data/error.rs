//! Errors and warnings of the data layer. Every message states the problem first and
//! the file path last, so a list of messages reads well and paths line up.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A file or folder could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("cannot read file ({source}): {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The file has 0 bytes.
    #[error("file is empty (0 bytes): {}", .path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// The image decoder rejected the file (corrupt, truncated or unknown format).
    #[error("cannot decode {format} image ({message}): {}", .path.display())]
    Decode {
        /// The format that was tried ("PNG", "JPEG", … or "unknown").
        format: String,
        /// The decoder's message.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// The file decodes, but to samples this layer does not handle (e.g. 32-bit float).
    #[error("unsupported pixel format ({what}): {}", .path.display())]
    UnsupportedPixels {
        /// What was found.
        what: String,
        /// The file.
        path: PathBuf,
    },
    /// An image and its mask differ in size.
    #[error(
        "mask is {}×{} but its image is {}×{}: mask {}, image {}",
        .mask_size.0, .mask_size.1, .image_size.0, .image_size.1, .mask.display(), .image.display()
    )]
    SizeMismatch {
        /// The image file.
        image: PathBuf,
        /// Image width and height (after orientation).
        image_size: (u32, u32),
        /// The mask file.
        mask: PathBuf,
        /// Mask width and height (after orientation).
        mask_size: (u32, u32),
    },
    /// A folder is not a dataset (`images/` and `masks/` subfolders).
    #[error("not a dataset folder ({reason}): {}", .path.display())]
    NotADataset {
        /// What is missing.
        reason: String,
        /// The folder.
        path: PathBuf,
    },
    /// A DICOM file could not be read or lacks required attributes.
    #[error("cannot read DICOM ({message}): {}", .path.display())]
    Dicom {
        /// What went wrong.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// The DICOM pixel data is compressed with a codec this build does not include.
    #[error(
        "unsupported DICOM transfer syntax {uid} ({name}); this build decodes uncompressed, \
         deflated, RLE and JPEG baseline/extended/lossless pixel data only: {}",
        .path.display()
    )]
    DicomTransferSyntax {
        /// Transfer syntax UID.
        uid: String,
        /// Its name.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// A NIfTI file could not be read or is not a volume this layer handles.
    #[error("cannot read NIfTI ({message}): {}", .path.display())]
    Nifti {
        /// What went wrong.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// A NIfTI file could not be written.
    #[error("cannot write NIfTI ({message}): {}", .path.display())]
    NiftiWrite {
        /// What went wrong.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// A slice index beyond the volume.
    #[error("slice {index} is out of range (axis {axis} has {count} slices): {}", .path.display())]
    SliceOutOfRange {
        /// Axis name.
        axis: String,
        /// Requested index.
        index: usize,
        /// Number of slices on that axis.
        count: usize,
        /// The volume file.
        path: PathBuf,
    },
    /// A saved split's content does not match its stored hash.
    #[error(
        "split file does not match its hash (stored {stored}, computed {computed}); it was edited or is damaged: {}",
        .path.display()
    )]
    SplitHash {
        /// Hash stored in the file.
        stored: String,
        /// Hash of the content read.
        computed: String,
        /// The split file.
        path: PathBuf,
    },
    /// A JSON file could not be parsed or written.
    #[error("cannot parse or write JSON ({message}): {}", .path.display())]
    Json {
        /// The parser's message.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// A user-supplied grouping pattern is not a valid regular expression.
    #[error("invalid grouping pattern {pattern:?} ({message})")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// The regex parser's message.
        message: String,
    },
    /// A mismatch between input and model convention, refused in strict mode.
    #[error("input does not match the model's convention ({message}): {}", .path.display())]
    Convention {
        /// The mismatch.
        message: String,
        /// The input file.
        path: PathBuf,
    },
    /// An argument out of range (fractions, sizes).
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl DataError {
    /// Shorthand for an [`DataError::Io`] error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The file this error is about, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Io { path, .. }
            | Self::EmptyFile { path }
            | Self::Decode { path, .. }
            | Self::UnsupportedPixels { path, .. }
            | Self::NotADataset { path, .. }
            | Self::Dicom { path, .. }
            | Self::DicomTransferSyntax { path, .. }
            | Self::Nifti { path, .. }
            | Self::NiftiWrite { path, .. }
            | Self::SliceOutOfRange { path, .. }
            | Self::SplitHash { path, .. }
            | Self::Json { path, .. }
            | Self::Convention { path, .. } => Some(path),
            Self::SizeMismatch { mask, .. } => Some(mask),
            Self::Pattern { .. } | Self::Invalid(_) => None,
        }
    }
}

/// Data was used, but something about it must be shown to the user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataWarning {
    /// The mask has no foreground pixel.
    #[error("mask is empty (no foreground pixel): {}", .path.display())]
    EmptyMask {
        /// The mask file.
        path: PathBuf,
    },
    /// A grey (or colour) mask with intermediate values was binarised by threshold.
    #[error(
        "mask is not binary: {grey_pixels} of {total_pixels} pixels are neither 0 nor {max}; \
         binarised as value ≥ {threshold} of {max}: {}",
        .path.display()
    )]
    NonBinaryMask {
        /// Pixels whose value is neither 0 nor the maximum.
        grey_pixels: u64,
        /// All pixels.
        total_pixels: u64,
        /// The maximum sample value (255 or 65535).
        max: u32,
        /// Foreground is value ≥ this.
        threshold: u32,
        /// The mask file.
        path: PathBuf,
    },
    /// The mask holds several labels; the rule picked some of them.
    #[error("mask holds labels {labels:?}; rule '{rule}' kept {kept:?}: {}", .path.display())]
    MultiLabel {
        /// Non-zero labels present (values, palette indices or 1-based colour ranks).
        labels: Vec<u32>,
        /// The rule applied.
        rule: String,
        /// Labels that became foreground.
        kept: Vec<u32>,
        /// The mask file.
        path: PathBuf,
    },
    /// The rule asked for a label or colour that the mask does not contain.
    #[error("rule '{rule}' matches nothing (labels present: {present:?}); the mask is empty: {}", .path.display())]
    LabelAbsent {
        /// The rule.
        rule: String,
        /// Non-zero labels present.
        present: Vec<u32>,
        /// The mask file.
        path: PathBuf,
    },
    /// The rule does not apply to this kind of mask; "any non-zero" was used instead.
    #[error("rule '{rule}' does not apply to a {encoding} mask; used 'any non-zero' instead: {}", .path.display())]
    RuleNotApplicable {
        /// The rule.
        rule: String,
        /// The mask's encoding.
        encoding: String,
        /// The mask file.
        path: PathBuf,
    },
    /// Several mask files matched one image and were united (logical or).
    #[error("{} masks for one image were united (logical or): {} ← {}", .masks.len(), .image.display(), join_paths(.masks))]
    MasksUnited {
        /// The image.
        image: PathBuf,
        /// The masks.
        masks: Vec<PathBuf>,
    },
    /// The image carries an EXIF orientation and its mask none; the mask was turned the same way.
    #[error(
        "image has EXIF orientation {exif} and its mask none; the same orientation was applied to the mask: mask {}, image {}",
        .mask.display(), .image.display()
    )]
    OrientationCopiedToMask {
        /// EXIF orientation code (2–8).
        exif: u8,
        /// The image.
        image: PathBuf,
        /// The mask.
        mask: PathBuf,
    },
    /// Image and mask carry different EXIF orientations; each was applied to its own file.
    #[error(
        "image and mask carry different EXIF orientations ({image_exif} vs {mask_exif}); each file was turned by its own: mask {}, image {}",
        .mask.display(), .image.display()
    )]
    OrientationDiffers {
        /// Image EXIF code.
        image_exif: u8,
        /// Mask EXIF code.
        mask_exif: u8,
        /// The image.
        image: PathBuf,
        /// The mask.
        mask: PathBuf,
    },
    /// Several label volumes fit one image volume; the first in the search order is used.
    #[error("several label volumes for {}: {} is used, {} not", .image.display(), .used.display(), join_paths(.unused))]
    LabelVolumeChosen {
        /// The image volume.
        image: PathBuf,
        /// The label volume used.
        used: PathBuf,
        /// The others found.
        unused: Vec<PathBuf>,
    },
    /// The label volume's header gives other voxel sizes than its image's (same voxel
    /// grid): one header is wrong; the image's spacing is used for distances in mm.
    #[error(
        "the label volume's voxel size {label_mm:?} mm differs from its image's {image_mm:?} mm; the image's is used for distances in mm: {}",
        .label.display()
    )]
    LabelSpacingDiffers {
        /// The label volume.
        label: PathBuf,
        /// Its `pixdim[1..4]`.
        label_mm: [f32; 3],
        /// The image's `pixdim[1..4]`.
        image_mm: [f32; 3],
    },
    /// A 4D image (a time series, several echoes): only the first volume is read.
    #[error("the file holds {volumes} volumes (4D); only the first is used: {}", .path.display())]
    FirstOfSeveralVolumes {
        /// The image volume.
        path: PathBuf,
        /// Volumes along the 4th dimension.
        volumes: usize,
    },
    /// A palette PNG whose palette repeats a colour: indices with that colour cannot be told apart.
    #[error("palette repeats colours, so some indices are ambiguous (the first index of each colour is used): {}", .path.display())]
    PaletteAmbiguous {
        /// The mask file.
        path: PathBuf,
    },
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
