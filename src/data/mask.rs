//! Masks: turn any stored encoding into a binary [`Mask`] (0 or 1 per pixel) by a stated
//! [`MaskRule`], and say what was found.
//!
//! Encodings recognised, in this order:
//! * **palette PNG**: the palette index is the label (index 0 is background);
//! * **grey** (also RGB whose three channels are equal everywhere):
//!   no non-zero value → empty; one non-zero value (0/1, 0/255, 0/65535, 0/k) → binary;
//!   2–[`MAX_LABELS`] distinct non-zero values → label map (0, 1, 2, …);
//!   more, or any JPEG → *non-binary grey*, binarised as value ≥ half the range
//!   (≥ 128 of 255, ≥ 32768 of 65535) with a warning giving the number of grey pixels;
//! * **colour** (RGB with distinct channels): each non-black colour is a label; more than
//!   [`MAX_LABELS`] colours, or any JPEG, → binarised as max channel ≥ half the range.
//!
//! Alpha channels are ignored. Depends on [`super::image_io`] only.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{DataError, DataWarning};
use super::image_io::{self, FileFormat, PixelLayout, RawImage};

/// Most distinct non-zero values a mask may have and still count as a label map.
pub const MAX_LABELS: usize = 16;

/// A binary mask: one byte per pixel, 0 (background) or 1 (foreground), row-major.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mask {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 0 or 1 per pixel.
    pub data: Vec<u8>,
}

impl Mask {
    /// An all-background mask.
    pub fn empty(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; width as usize * height as usize],
        }
    }

    /// Number of foreground pixels.
    pub fn foreground(&self) -> u64 {
        self.data.iter().map(|&v| u64::from(v)).sum()
    }

    /// Foreground pixels / all pixels (0 for a 0-pixel mask).
    pub fn foreground_fraction(&self) -> f64 {
        if self.data.is_empty() {
            0.0
        } else {
            self.foreground() as f64 / self.data.len() as f64
        }
    }

    /// True when no pixel is foreground.
    pub fn is_empty(&self) -> bool {
        self.data.iter().all(|&v| v == 0)
    }

    /// Value at (`x`, `y`).
    pub fn get(&self, x: u32, y: u32) -> u8 {
        self.data[y as usize * self.width as usize + x as usize]
    }

    /// Logical or with `other`, which must have the same size (checked by the caller).
    pub fn unite(&mut self, other: &Mask) {
        for (a, b) in self.data.iter_mut().zip(&other.data) {
            *a |= *b;
        }
    }
}

/// Which stored values become foreground.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskRule {
    /// Every non-zero value, palette index or non-black colour (default).
    #[default]
    AnyNonZero,
    /// One label value or palette index. On a binary mask, `1` also means "the foreground"
    /// (so `Label(1)` works for 0/255 masks).
    Label(u32),
    /// One exact RGB colour of a colour or palette mask.
    Colour([u8; 3]),
}

impl fmt::Display for MaskRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AnyNonZero => write!(f, "any non-zero"),
            Self::Label(k) => write!(f, "label {k}"),
            Self::Colour([r, g, b]) => write!(f, "colour #{r:02x}{g:02x}{b:02x}"),
        }
    }
}

/// What the stored mask turned out to be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MaskEncoding {
    /// No non-zero value at all.
    Empty,
    /// One non-zero value (e.g. 1, 255 or 65535).
    Binary {
        /// The foreground value.
        foreground_value: u32,
    },
    /// Several small label values.
    LabelMap {
        /// Non-zero labels present.
        labels: Vec<u32>,
    },
    /// Palette PNG.
    Palette {
        /// Non-zero palette indices present.
        indices: Vec<u32>,
    },
    /// Few distinct colours.
    Colour {
        /// Non-black colours present, sorted.
        colours: Vec<[u8; 3]>,
    },
    /// Grey values binarised by threshold (JPEG or many distinct values).
    ThresholdedGrey {
        /// Foreground is value ≥ this.
        threshold: u32,
        /// Pixels neither 0 nor the maximum.
        grey_pixels: u64,
    },
    /// Colour values binarised by threshold on the largest channel.
    ThresholdedColour {
        /// Foreground is max channel ≥ this.
        threshold: u32,
        /// Pixels whose largest channel is neither 0 nor the maximum.
        grey_pixels: u64,
    },
}

/// A mask with what was found and what the user must be told.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedMask {
    /// The binary mask.
    pub mask: Mask,
    /// The stored encoding.
    pub encoding: MaskEncoding,
    /// Warnings (empty, non-binary, several labels, rule not applicable).
    pub warnings: Vec<DataWarning>,
}

/// Decodes `path` (applying its own EXIF orientation) and interprets it with `rule`.
pub fn load_mask(path: &Path, rule: &MaskRule) -> Result<LoadedMask, DataError> {
    let raw = image_io::decode_image(path)?;
    Ok(interpret_mask(&raw, rule, path))
}

/// Interprets decoded mask pixels with `rule`; `path` is only used in warnings.
pub fn interpret_mask(raw: &RawImage, rule: &MaskRule, path: &Path) -> LoadedMask {
    let mut warnings = Vec::new();
    let (data, encoding) = if let Some(palette) = &raw.palette {
        palette_mask(raw, palette, rule, path, &mut warnings)
    } else if is_grey(raw) {
        grey_mask(raw, rule, path, &mut warnings)
    } else {
        colour_mask(raw, rule, path, &mut warnings)
    };
    let mask = Mask {
        width: raw.width,
        height: raw.height,
        data,
    };
    let told = warnings.iter().any(|w| {
        matches!(
            w,
            DataWarning::LabelAbsent { .. } | DataWarning::EmptyMask { .. }
        )
    });
    if mask.is_empty() && !told {
        warnings.push(DataWarning::EmptyMask {
            path: path.to_path_buf(),
        });
    }
    LoadedMask {
        mask,
        encoding,
        warnings,
    }
}

/// Grey layouts, or colour layouts whose three channels are equal in every pixel.
fn is_grey(raw: &RawImage) -> bool {
    match raw.layout {
        PixelLayout::Grey | PixelLayout::GreyAlpha => true,
        PixelLayout::Rgb | PixelLayout::Rgba => {
            let n = raw.channels();
            (0..raw.pixel_count()).all(|p| {
                let r = raw.samples.get(p * n);
                r == raw.samples.get(p * n + 1) && r == raw.samples.get(p * n + 2)
            })
        }
    }
}

fn grey_mask(
    raw: &RawImage,
    rule: &MaskRule,
    path: &Path,
    warnings: &mut Vec<DataWarning>,
) -> (Vec<u8>, MaskEncoding) {
    let n = raw.channels();
    let values: Vec<u32> = (0..raw.pixel_count())
        .map(|p| raw.samples.get(p * n))
        .collect();
    let max = raw.max_value();
    let mut histogram = vec![0u64; max as usize + 1];
    for &v in &values {
        histogram[v as usize] += 1;
    }
    let labels: Vec<u32> = (1..=max).filter(|&v| histogram[v as usize] > 0).collect();

    if raw.format == FileFormat::Jpeg || labels.len() > MAX_LABELS {
        let threshold = max.div_ceil(2);
        let grey_pixels = values.len() as u64 - histogram[0] - histogram[max as usize];
        if grey_pixels > 0 {
            warnings.push(DataWarning::NonBinaryMask {
                grey_pixels,
                total_pixels: values.len() as u64,
                max,
                threshold,
                path: path.to_path_buf(),
            });
        }
        if *rule != MaskRule::AnyNonZero {
            warnings.push(not_applicable(rule, "non-binary grey", path));
        }
        let data = values.iter().map(|&v| u8::from(v >= threshold)).collect();
        return (
            data,
            MaskEncoding::ThresholdedGrey {
                threshold,
                grey_pixels,
            },
        );
    }
    let encoding = match labels.len() {
        0 => MaskEncoding::Empty,
        1 => MaskEncoding::Binary {
            foreground_value: labels[0],
        },
        _ => MaskEncoding::LabelMap {
            labels: labels.clone(),
        },
    };
    let keep: Vec<u32> = match rule {
        MaskRule::AnyNonZero => labels.clone(),
        MaskRule::Label(k) if labels.len() == 1 && *k == 1 => labels.clone(),
        MaskRule::Label(k) => labels.iter().copied().filter(|v| v == k).collect(),
        MaskRule::Colour(_) => {
            warnings.push(not_applicable(rule, "grey", path));
            labels.clone()
        }
    };
    report_labels(&labels, &keep, rule, path, warnings);
    let mut lut = vec![0u8; max as usize + 1];
    for &k in &keep {
        lut[k as usize] = 1;
    }
    (values.iter().map(|&v| lut[v as usize]).collect(), encoding)
}

fn palette_mask(
    raw: &RawImage,
    palette: &[[u8; 3]],
    rule: &MaskRule,
    path: &Path,
    warnings: &mut Vec<DataWarning>,
) -> (Vec<u8>, MaskEncoding) {
    // A repeated colour maps to its first index.
    let mut index_of: HashMap<[u8; 3], u32> = HashMap::new();
    let mut ambiguous = false;
    for (i, colour) in palette.iter().enumerate() {
        if index_of.contains_key(colour) {
            ambiguous = true;
        } else {
            index_of.insert(*colour, i as u32);
        }
    }
    if ambiguous {
        warnings.push(DataWarning::PaletteAmbiguous {
            path: path.to_path_buf(),
        });
    }
    let n = raw.channels();
    let indices: Vec<u32> = (0..raw.pixel_count())
        .map(|p| {
            let c = [0, 1, 2].map(|k| raw.samples.get(p * n + k) as u8);
            index_of.get(&c).copied().unwrap_or(0)
        })
        .collect();
    let mut present: Vec<u32> = indices.iter().copied().filter(|&i| i != 0).collect();
    present.sort_unstable();
    present.dedup();
    let keep: Vec<u32> = match rule {
        MaskRule::AnyNonZero => present.clone(),
        MaskRule::Label(k) => present.iter().copied().filter(|v| v == k).collect(),
        MaskRule::Colour(c) => present
            .iter()
            .copied()
            .filter(|&i| palette.get(i as usize) == Some(c))
            .collect(),
    };
    report_labels(&present, &keep, rule, path, warnings);
    let data = indices.iter().map(|i| u8::from(keep.contains(i))).collect();
    (data, MaskEncoding::Palette { indices: present })
}

fn colour_mask(
    raw: &RawImage,
    rule: &MaskRule,
    path: &Path,
    warnings: &mut Vec<DataWarning>,
) -> (Vec<u8>, MaskEncoding) {
    let n = raw.channels();
    let max = raw.max_value();
    let to8 = |v: u32| (v * 255 / max) as u8;
    let pixels: Vec<[u32; 3]> = (0..raw.pixel_count())
        .map(|p| [0, 1, 2].map(|k| raw.samples.get(p * n + k)))
        .collect();
    let mut counts: BTreeMap<[u8; 3], u64> = BTreeMap::new();
    for px in &pixels {
        *counts.entry(px.map(to8)).or_default() += 1;
    }
    counts.remove(&[0, 0, 0]);
    let colours: Vec<[u8; 3]> = counts.keys().copied().collect();

    if raw.format == FileFormat::Jpeg || colours.len() > MAX_LABELS {
        let threshold = max.div_ceil(2);
        let top = |px: &[u32; 3]| px.iter().copied().max().unwrap_or(0);
        let grey_pixels = pixels
            .iter()
            .map(top)
            .filter(|&t| t != 0 && t != max)
            .count() as u64;
        if grey_pixels > 0 {
            warnings.push(DataWarning::NonBinaryMask {
                grey_pixels,
                total_pixels: pixels.len() as u64,
                max,
                threshold,
                path: path.to_path_buf(),
            });
        }
        if *rule != MaskRule::AnyNonZero {
            warnings.push(not_applicable(rule, "non-binary colour", path));
        }
        let data = pixels
            .iter()
            .map(|px| u8::from(top(px) >= threshold))
            .collect();
        return (
            data,
            MaskEncoding::ThresholdedColour {
                threshold,
                grey_pixels,
            },
        );
    }
    let ranks: Vec<u32> = (1..=colours.len() as u32).collect();
    let keep: Vec<[u8; 3]> = match rule {
        MaskRule::AnyNonZero => colours.clone(),
        MaskRule::Colour(c) => colours.iter().copied().filter(|x| x == c).collect(),
        MaskRule::Label(_) => {
            warnings.push(not_applicable(rule, "colour", path));
            colours.clone()
        }
    };
    let kept_ranks: Vec<u32> = colours
        .iter()
        .zip(&ranks)
        .filter(|(c, _)| keep.contains(c))
        .map(|(_, r)| *r)
        .collect();
    report_labels(&ranks, &kept_ranks, rule, path, warnings);
    let data = pixels
        .iter()
        .map(|px| u8::from(keep.contains(&px.map(to8))))
        .collect();
    (data, MaskEncoding::Colour { colours })
}

fn not_applicable(rule: &MaskRule, encoding: &str, path: &Path) -> DataWarning {
    DataWarning::RuleNotApplicable {
        rule: rule.to_string(),
        encoding: encoding.into(),
        path: path.to_path_buf(),
    }
}

/// Warns when several labels were present, or when the rule kept none of those present.
fn report_labels(
    present: &[u32],
    kept: &[u32],
    rule: &MaskRule,
    path: &Path,
    warnings: &mut Vec<DataWarning>,
) {
    if kept.is_empty() && *rule != MaskRule::AnyNonZero {
        warnings.push(DataWarning::LabelAbsent {
            rule: rule.to_string(),
            present: present.to_vec(),
            path: path.to_path_buf(),
        });
    } else if present.len() > 1 {
        warnings.push(DataWarning::MultiLabel {
            labels: present.to_vec(),
            rule: rule.to_string(),
            kept: kept.to_vec(),
            path: path.to_path_buf(),
        });
    }
}
