//! How pixels become model input: the convention a model was trained with travels
//! inside its checkpoint, so one path alone rebuilds the model *and* feeds it right.
//! Plain data (serde), no Burn or UI types.

use serde::{Deserialize, Serialize};

/// How the input channels are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelLayout {
    /// One grey channel repeated into every input channel (CT slices, single MR sequences).
    GreyRepeated,
    /// Colour channels in RGB order.
    Rgb,
    /// Colour channels in BGR order, as OpenCV reads them (the reference training script).
    Bgr,
    /// Each channel is a different acquisition (e.g. lgg-flair-mri's three MR sequences
    /// stored as an RGB PNG): not colour, and never converted to grey.
    MultiSequence,
}

/// Intensity normalisation applied after scaling to [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// Exactly the original script: ImageNet mean/std per channel (applied to BGR
    /// channels), then divided by 255 *again*; input lies in ≈[−0.0083, 0.0104].
    Reference,
    /// ImageNet mean/std per channel, once (the sane default for 3-channel input).
    ImageNet,
    /// Plain [0, 1] scaling.
    Unit,
    /// Each channel of each image standardised on its own: `(p − mean) / std` over the
    /// channel's non-zero (body) pixels of the resized image. MR intensities have no
    /// absolute scale, so a scanner or site with brighter images is not a different input.
    PerImage,
}

impl Normalisation {
    /// Every normalisation, in the order `--normalisation` lists them.
    pub const ALL: [Normalisation; 4] = [
        Normalisation::ImageNet,
        Normalisation::Unit,
        Normalisation::PerImage,
        Normalisation::Reference,
    ];

    /// The name `--normalisation` takes.
    pub fn cli_name(self) -> &'static str {
        match self {
            Normalisation::Reference => "reference",
            Normalisation::ImageNet => "imagenet",
            Normalisation::Unit => "unit",
            Normalisation::PerImage => "per-image",
        }
    }

    /// The normalisation a `--normalisation` name means.
    pub fn from_cli_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.cli_name() == name)
    }
}

/// ImageNet channel means (R, G, B) used by the reference recipe.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (R, G, B).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// A CT intensity window in Hounsfield units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CtWindow {
    /// Window centre (level), HU.
    pub center: f32,
    /// Window width, HU.
    pub width: f32,
}

/// Everything needed to turn a stored image into the tensor a model was trained on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputConvention {
    /// Square input size the model was trained at (images are resized to it).
    pub size: usize,
    /// Channel layout.
    pub channels: ChannelLayout,
    /// Normalisation after scaling to [0, 1].
    pub normalisation: Normalisation,
    /// Bits per sample of the training images (8 for PNG/JPEG sets).
    pub bit_depth: u8,
    /// Modality of the training data ("CT", "MR", or "mixed"), when known.
    #[serde(default)]
    pub modality: Option<String>,
    /// The CT window the training PNGs were made with, when known: DICOM/NIfTI CT
    /// input is windowed the same way before inference.
    #[serde(default)]
    pub ct_window: Option<CtWindow>,
}

impl InputConvention {
    /// The original training script's convention: 256², BGR, reference normalisation.
    pub fn reference() -> Self {
        Self {
            size: 256,
            channels: ChannelLayout::Bgr,
            normalisation: Normalisation::Reference,
            bit_depth: 8,
            modality: None,
            ct_window: None,
        }
    }

    /// seglens' default: RGB order, ImageNet normalisation applied once.
    pub fn default_for_size(size: usize) -> Self {
        Self {
            size,
            channels: ChannelLayout::Rgb,
            normalisation: Normalisation::ImageNet,
            ..Self::reference()
        }
    }
}
