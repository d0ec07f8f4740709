//! Pixels → model input: the checkpoint's [`InputConvention`] applied to an image or a
//! DICOM/NIfTI slice, giving a CHW f32 tensor (and the mask as {0, 1} f32).
//!
//! Order, as the reference script: read (grey repeated to 3 channels, colour in the
//! convention's order) → augmentation (train only) → resize (images bilinear with
//! half-pixel centres, masks nearest, both as OpenCV, see [`super::resize`]) → normalise.
//!
//! Normalisations ([`Normalisation`]); `p` is the stored value, `max` 255 (or 65535 for
//! 16-bit conventions), channel `c` is the *output* channel:
//! * `Reference`, exactly the original script: `((p − 255·mean_c) · (1 / (255·std_c))) / 255`
//!   in f32 as albumentations computes it, ImageNet statistics (R, G, B order) applied to
//!   output channels in the convention's order (B, G, R for [`ChannelLayout::Bgr`], the
//!   reference's layout), i.e. RGB statistics on BGR channels;
//! * `ImageNet`: the same without the second `/255` (sane with [`ChannelLayout::Rgb`]);
//! * `Unit`: `p / max`;
//! * `PerImage`: `(p − mean_c) / std_c`, the statistics of output channel `c` over its
//!   non-zero pixels after resizing (all pixels when fewer than [`MIN_BODY_PIXELS`] are
//!   non-zero; `std_c` floored at 1e-6 · max so a flat channel becomes 0, not NaN).
//!
//! Nothing is converted silently: every difference between the input and what the model
//! was trained on comes back as a [`ConventionMismatch`] (or an error in strict mode).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::augment::Augmentation;
use super::error::DataError;
use super::image_io::{PixelLayout, RawImage, Samples};
use super::mask::Mask;
use super::resize;
use super::sample::{LoadedPair, LoadedSample, SamplePixels};
use super::scalar::{Intensity, Modality, ScalarSlice};
use super::window::{self, WindowPreset};
use crate::convention::{
    ChannelLayout, CtWindow, IMAGENET_MEAN, IMAGENET_STD, InputConvention, Normalisation,
};

/// What to feed the model.
#[derive(Clone, Copy, Debug)]
pub enum SourcePixels<'a> {
    /// A decoded 2D image with the file it came from.
    Image {
        /// The pixels.
        image: &'a RawImage,
        /// Its file (for messages).
        path: &'a Path,
    },
    /// A DICOM or NIfTI slice (HU or stored values).
    Scalar(&'a ScalarSlice),
}

impl SourcePixels<'_> {
    fn path(&self) -> PathBuf {
        match self {
            Self::Image { path, .. } => path.to_path_buf(),
            Self::Scalar(s) => s.source.clone(),
        }
    }

    fn size(&self) -> (u32, u32) {
        match self {
            Self::Image { image, .. } => (image.width, image.height),
            Self::Scalar(s) => (s.width, s.height),
        }
    }
}

/// A difference between the input and the model's convention.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConventionMismatch {
    /// Input bit depth differs from the model's (16-bit input to an 8-bit model is
    /// reduced with `v >> 8`, as OpenCV's `imread(IMREAD_COLOR)` does; 8-bit to 16-bit is `v · 257`).
    BitDepth {
        /// Input bits per sample.
        input: u8,
        /// Model bits per sample.
        model: u8,
    },
    /// Input modality differs from the model's (e.g. MR input to a CT model).
    Modality {
        /// Input modality.
        input: String,
        /// Model modality.
        model: String,
    },
    /// CT values but the checkpoint records no CT window; this window was used.
    CtWindowUnknown {
        /// The window used instead.
        used: CtWindow,
    },
    /// Stored (non-HU) values were mapped to the model's range by their own min–max,
    /// which need not be how the training images were made.
    ScaledByRange {
        /// Value mapped to 0.
        low: f32,
        /// Value mapped to the maximum.
        high: f32,
    },
    /// A colour image fed to a grey model: converted with OpenCV's BT.601 integer luma.
    ColourToGrey,
    /// A grey image fed to a multi-sequence model: the one channel was repeated.
    GreyToMultiSequence,
    /// The alpha channel was dropped (as OpenCV's `imread(IMREAD_COLOR)` does).
    AlphaDropped,
}

impl fmt::Display for ConventionMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BitDepth { input, model } => {
                write!(f, "{input}-bit input to a {model}-bit model")
            }
            Self::Modality { input, model } => write!(f, "{input} input to a {model} model"),
            Self::CtWindowUnknown { used } => {
                write!(
                    f,
                    "the model records no CT window; used centre {} / width {}",
                    used.center, used.width
                )
            }
            Self::ScaledByRange { low, high } => {
                write!(f, "stored values scaled by their own range {low}..{high}")
            }
            Self::ColourToGrey => write!(f, "colour input to a grey model (converted to luma)"),
            Self::GreyToMultiSequence => {
                write!(f, "grey input to a multi-sequence model (channel repeated)")
            }
            Self::AlphaDropped => write!(f, "alpha channel dropped"),
        }
    }
}

/// Options of [`prepare`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrepareOptions {
    /// Modality of a 2D image input, when known (a dataset's modality); DICOM/NIfTI slices carry their own.
    pub input_modality: Option<Modality>,
    /// Window for CT values when the checkpoint records none (default: lung, −600/1500).
    pub fallback_ct_window: CtWindow,
    /// Turn any mismatch into [`DataError::Convention`] instead of returning it.
    pub strict: bool,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        Self {
            input_modality: None,
            fallback_ct_window: WindowPreset::Lung.window(),
            strict: false,
        }
    }
}

/// The model's input for one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInput {
    /// Side length (the convention's size).
    pub size: usize,
    /// `[3, size, size]`, CHW, f32.
    ///
    /// # Shapes
    /// `image.len() == 3 * size * size`; index `(c * size + y) * size + x`.
    pub image: Vec<f32>,
    /// `[1, size, size]` of 0.0/1.0 when a mask was given.
    pub mask: Option<Vec<f32>>,
    /// The augmentation applied.
    pub augmentation: Augmentation,
    /// Differences from the model's convention (empty = faithful input).
    pub mismatches: Vec<ConventionMismatch>,
}

/// Pixels of one channel set, interleaved.
enum Plane {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

/// Prepares a loaded image/mask pair.
pub fn prepare_pair(
    pair: &LoadedPair,
    image_path: &Path,
    convention: &InputConvention,
    options: &PrepareOptions,
    augmentation: Augmentation,
) -> Result<ModelInput, DataError> {
    prepare(
        SourcePixels::Image {
            image: &pair.image,
            path: image_path,
        },
        Some(&pair.mask),
        convention,
        options,
        augmentation,
    )
}

/// [`prepare`] for a split sample loaded by [`crate::data::sample::load_sample`]; `path`
/// names it in messages.
pub fn prepare_sample(
    sample: &LoadedSample,
    path: &Path,
    convention: &InputConvention,
    options: &PrepareOptions,
    augmentation: Augmentation,
) -> Result<ModelInput, DataError> {
    let source = match &sample.pixels {
        SamplePixels::Image(image) => SourcePixels::Image { image, path },
        SamplePixels::Slice(slice) => SourcePixels::Scalar(slice),
    };
    prepare(
        source,
        Some(&sample.mask),
        convention,
        options,
        augmentation,
    )
}

/// Prepares `source` (and `mask`, which must have the source's size) for a model trained
/// with `convention`. Draw `augmentation` with [`Augmentation::sample`] for training and
/// pass [`Augmentation::NONE`] otherwise.
pub fn prepare(
    source: SourcePixels<'_>,
    mask: Option<&Mask>,
    convention: &InputConvention,
    options: &PrepareOptions,
    augmentation: Augmentation,
) -> Result<ModelInput, DataError> {
    let size = convention.size;
    if size == 0 {
        return Err(DataError::Invalid("convention size is 0".into()));
    }
    let (width, height) = source.size();
    if let Some(m) = mask
        && (m.width, m.height) != (width, height)
    {
        return Err(DataError::Invalid(format!(
            "mask is {}×{} but the input is {width}×{height}: {}",
            m.width,
            m.height,
            source.path().display()
        )));
    }
    let mut mismatches = Vec::new();
    let sixteen = convention.bit_depth == 16;
    let (plane, channels) = to_plane(&source, convention, options, sixteen, &mut mismatches);
    let (plane, channels) = arrange_channels(
        plane,
        channels,
        width as usize * height as usize,
        convention.channels,
        &mut mismatches,
    );
    if options.strict && !mismatches.is_empty() {
        let message = mismatches
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        return Err(DataError::Convention {
            message,
            path: source.path(),
        });
    }

    let (w, h) = (width as usize, height as usize);
    let (aw, ah) = augmentation.output_size(w, h);
    let resized = match plane {
        Plane::U8(p) => {
            let (p, _, _) = augmentation.apply(&p, w, h, channels);
            Plane::U8(resize::resize_linear_u8(&p, aw, ah, channels, size, size))
        }
        Plane::U16(p) => {
            let (p, _, _) = augmentation.apply(&p, w, h, channels);
            Plane::U16(resize::resize_linear_u16(&p, aw, ah, channels, size, size))
        }
    };
    let max = if sixteen { 65_535.0 } else { 255.0 };
    let mut image = vec![0f32; 3 * size * size];
    for c in 0..3 {
        let src_c = if channels == 3 { c } else { 0 };
        let out = &mut image[c * size * size..(c + 1) * size * size];
        for (i, o) in out.iter_mut().enumerate() {
            *o = match &resized {
                Plane::U8(v) => f32::from(v[i * channels + src_c]),
                Plane::U16(v) => f32::from(v[i * channels + src_c]),
            };
        }
        if convention.normalisation == Normalisation::PerImage {
            standardise(out, max);
        } else {
            for o in out.iter_mut() {
                *o = normalise(*o, max, c, convention.normalisation);
            }
        }
    }
    let mask = mask.map(|m| {
        let (d, mw, mh) = augmentation.apply(&m.data, w, h, 1);
        resize::resize_nearest(&d, mw, mh, 1, size, size)
            .into_iter()
            .map(|v| if v > 0 { 1.0 } else { 0.0 })
            .collect()
    });
    Ok(ModelInput {
        size,
        image,
        mask,
        augmentation,
        mismatches,
    })
}

/// Fewest non-zero pixels a channel needs for [`Normalisation::PerImage`] to take its
/// statistics from them alone (below it, e.g. on an almost empty slice, all pixels count).
pub const MIN_BODY_PIXELS: usize = 16;

/// [`Normalisation::PerImage`] on one channel of raw samples (0..=`max`), in place.
pub fn standardise(channel: &mut [f32], max: f32) {
    let body = channel.iter().filter(|&&p| p > 0.0).count();
    let use_body = body >= MIN_BODY_PIXELS;
    let counted = |p: f32| !use_body || p > 0.0;
    let n = if use_body { body } else { channel.len() }.max(1) as f64;
    let mean = channel
        .iter()
        .filter(|&&p| counted(p))
        .map(|&p| f64::from(p))
        .sum::<f64>()
        / n;
    let var = channel
        .iter()
        .filter(|&&p| counted(p))
        .map(|&p| (f64::from(p) - mean).powi(2))
        .sum::<f64>()
        / n;
    let std = var.sqrt().max(1e-6 * f64::from(max));
    for p in channel.iter_mut() {
        *p = ((f64::from(*p) - mean) / std) as f32;
    }
}

/// One sample `p` (0..=`max`) of output channel `c` under `normalisation`, in f32 exactly
/// as albumentations' `normalize` (mean and std scaled by `max`, then the reciprocal).
/// [`Normalisation::PerImage`] needs the whole channel: see [`standardise`]; here it falls
/// back to `p / max`.
pub fn normalise(p: f32, max: f32, c: usize, normalisation: Normalisation) -> f32 {
    match normalisation {
        Normalisation::Unit | Normalisation::PerImage => p / max,
        Normalisation::ImageNet | Normalisation::Reference => {
            let mean = IMAGENET_MEAN[c] * max;
            let denominator = 1.0 / (IMAGENET_STD[c] * max);
            let v = (p - mean) * denominator;
            if normalisation == Normalisation::Reference {
                v / 255.0
            } else {
                v
            }
        }
    }
}

fn model_modality(convention: &InputConvention) -> Option<Modality> {
    let m = convention.modality.as_deref()?;
    (!m.eq_ignore_ascii_case("mixed")).then(|| Modality::from_code(m))
}

/// Source → samples in the model's bit depth, as 1 (grey) or 3 (R, G, B) channels.
fn to_plane(
    source: &SourcePixels<'_>,
    convention: &InputConvention,
    options: &PrepareOptions,
    sixteen: bool,
    mismatches: &mut Vec<ConventionMismatch>,
) -> (Plane, usize) {
    let model = model_modality(convention);
    let wants_ct = model == Some(Modality::Ct) || convention.ct_window.is_some();
    match source {
        SourcePixels::Image { image, .. } => {
            if let (Some(input), Some(model)) = (&options.input_modality, &model)
                && input != model
            {
                mismatches.push(ConventionMismatch::Modality {
                    input: input.to_string(),
                    model: model.to_string(),
                });
            }
            let keep = match image.layout {
                PixelLayout::Grey | PixelLayout::GreyAlpha => 1,
                PixelLayout::Rgb | PixelLayout::Rgba => 3,
            };
            if matches!(image.layout, PixelLayout::GreyAlpha | PixelLayout::Rgba) {
                mismatches.push(ConventionMismatch::AlphaDropped);
            }
            let n = image.channels();
            let pick = |len: usize| (0..len).filter(move |i| i % n < keep);
            if image.bit_depth != convention.bit_depth {
                mismatches.push(ConventionMismatch::BitDepth {
                    input: image.bit_depth,
                    model: convention.bit_depth,
                });
            }
            let plane = match (&image.samples, sixteen) {
                (Samples::U8(v), false) => Plane::U8(pick(v.len()).map(|i| v[i]).collect()),
                (Samples::U8(v), true) => {
                    Plane::U16(pick(v.len()).map(|i| u16::from(v[i]) * 257).collect())
                }
                (Samples::U16(v), false) => {
                    Plane::U8(pick(v.len()).map(|i| (v[i] >> 8) as u8).collect())
                }
                (Samples::U16(v), true) => Plane::U16(pick(v.len()).map(|i| v[i]).collect()),
            };
            (plane, keep)
        }
        SourcePixels::Scalar(slice) => {
            let input = slice.modality.clone();
            if let (Some(input), Some(model)) = (&input, &model)
                && input != model
            {
                mismatches.push(ConventionMismatch::Modality {
                    input: input.to_string(),
                    model: model.to_string(),
                });
            } else if input.is_some() && input != Some(Modality::Ct) && model.is_none() && wants_ct
            {
                mismatches.push(ConventionMismatch::Modality {
                    input: input.as_ref().map_or("unknown".into(), ToString::to_string),
                    model: "CT".into(),
                });
            }
            let window = match slice.intensity {
                Intensity::Hounsfield => convention.ct_window.unwrap_or_else(|| {
                    mismatches.push(ConventionMismatch::CtWindowUnknown {
                        used: options.fallback_ct_window,
                    });
                    options.fallback_ct_window
                }),
                Intensity::Stored => {
                    let (low, high) = slice.min_max().unwrap_or((0.0, 0.0));
                    mismatches.push(ConventionMismatch::ScaledByRange { low, high });
                    CtWindow {
                        center: (low + high) / 2.0,
                        width: (high - low).max(f32::MIN_POSITIVE),
                    }
                }
            };
            let plane = if sixteen {
                Plane::U16(
                    slice
                        .values
                        .iter()
                        .map(|&v| window::window_u16(v, window))
                        .collect(),
                )
            } else {
                Plane::U8(window::apply_window(&slice.values, window))
            };
            (plane, 1)
        }
    }
}

/// 1- or 3-channel R,G,B plane → the convention's channel set (1 = grey to repeat, or 3 in output order).
fn arrange_channels(
    plane: Plane,
    channels: usize,
    pixels: usize,
    layout: ChannelLayout,
    mismatches: &mut Vec<ConventionMismatch>,
) -> (Plane, usize) {
    if channels == 1 {
        if layout == ChannelLayout::MultiSequence {
            mismatches.push(ConventionMismatch::GreyToMultiSequence);
        }
        return (plane, 1);
    }
    fn reorder<T: Copy>(v: &[T], pixels: usize, order: [usize; 3]) -> Vec<T> {
        (0..pixels)
            .flat_map(|p| order.map(|c| v[p * 3 + c]))
            .collect()
    }
    fn all_grey<T: PartialEq>(v: &[T]) -> bool {
        v.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2])
    }
    match layout {
        ChannelLayout::Rgb | ChannelLayout::MultiSequence => (plane, 3),
        ChannelLayout::Bgr => match plane {
            Plane::U8(v) => (Plane::U8(reorder(&v, pixels, [2, 1, 0])), 3),
            Plane::U16(v) => (Plane::U16(reorder(&v, pixels, [2, 1, 0])), 3),
        },
        ChannelLayout::GreyRepeated => {
            let grey_already = match &plane {
                Plane::U8(v) => all_grey(v),
                Plane::U16(v) => all_grey(v),
            };
            if !grey_already {
                mismatches.push(ConventionMismatch::ColourToGrey);
            }
            // OpenCV RGB2GRAY fixed point: (4899 R + 9617 G + 1868 B + 8192) >> 14.
            let luma = |r: u32, g: u32, b: u32| (4899 * r + 9617 * g + 1868 * b + 8192) >> 14;
            let grey = match plane {
                Plane::U8(v) => Plane::U8(
                    v.chunks_exact(3)
                        .map(|p| luma(u32::from(p[0]), u32::from(p[1]), u32::from(p[2])) as u8)
                        .collect(),
                ),
                Plane::U16(v) => Plane::U16(
                    v.chunks_exact(3)
                        .map(|p| {
                            let l = (4899 * u64::from(p[0])
                                + 9617 * u64::from(p[1])
                                + 1868 * u64::from(p[2])
                                + 8192)
                                >> 14;
                            l as u16
                        })
                        .collect(),
                ),
            };
            (grey, 1)
        }
    }
}
