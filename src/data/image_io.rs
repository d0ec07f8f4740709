//! Decode 2D raster files (PNG, JPEG, BMP, TIFF) into [`RawImage`], keeping the stored
//! sample values and bit depth (8 or 16) unchanged.
//!
//! The format is detected from the file's bytes, not its extension. A file's own EXIF
//! orientation is applied by [`decode_image`]; [`decode_unoriented`] leaves it to the
//! caller ([`super::sample`] applies one orientation to an image and its mask).
//! Palette PNGs decode to RGB; their palette is kept so masks can recover indices.
//! Decoding happens on demand only; [`decode_many`] decodes in parallel and returns one
//! `Result` per file, so a corrupt file is reported and skipped, never fatal.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder as _, ImageFormat, ImageReader};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::error::DataError;

/// The container format a file was decoded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// PNG (lossless).
    Png,
    /// JPEG (lossy: never exact label values).
    Jpeg,
    /// Windows bitmap.
    Bmp,
    /// TIFF.
    Tiff,
}

impl FileFormat {
    /// Upper-case name, as used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
            Self::Bmp => "BMP",
            Self::Tiff => "TIFF",
        }
    }
}

/// Channel layout of decoded samples (interleaved).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelLayout {
    /// One grey sample per pixel.
    Grey,
    /// Grey + alpha.
    GreyAlpha,
    /// Red, green, blue.
    Rgb,
    /// Red, green, blue, alpha.
    Rgba,
}

impl PixelLayout {
    /// Samples per pixel.
    pub fn channels(self) -> usize {
        match self {
            Self::Grey => 1,
            Self::GreyAlpha => 2,
            Self::Rgb => 3,
            Self::Rgba => 4,
        }
    }
}

/// Stored sample values, interleaved, row-major.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Samples {
    /// 8 bits per sample.
    U8(Vec<u8>),
    /// 16 bits per sample.
    U16(Vec<u16>),
}

impl Samples {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Self::U8(v) => v.len(),
            Self::U16(v) => v.len(),
        }
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sample `i` widened to `u32`.
    pub fn get(&self, i: usize) -> u32 {
        match self {
            Self::U8(v) => u32::from(v[i]),
            Self::U16(v) => u32::from(v[i]),
        }
    }
}

/// A decoded 2D image with its stored values, before any conversion.
#[derive(Clone, Debug, PartialEq)]
pub struct RawImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Channel layout.
    pub layout: PixelLayout,
    /// Bits per sample: 8 or 16 (PNG depths 1, 2 and 4 are widened to 8 by the decoder,
    /// scaled to the full range).
    pub bit_depth: u8,
    /// The samples.
    pub samples: Samples,
    /// The PNG palette when the file was palette-coded (decoded samples are then RGB/RGBA).
    pub palette: Option<Vec<[u8; 3]>>,
    /// The file format.
    pub format: FileFormat,
    /// EXIF orientation code (1–8) applied to these pixels (1 = none).
    pub exif_orientation: u8,
}

impl RawImage {
    /// Samples per pixel.
    pub fn channels(&self) -> usize {
        self.layout.channels()
    }

    /// Largest storable sample value (255 or 65535).
    pub fn max_value(&self) -> u32 {
        if self.bit_depth == 16 { 65_535 } else { 255 }
    }

    /// Number of pixels.
    pub fn pixel_count(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Sample of channel `c` at (`x`, `y`).
    pub fn sample(&self, x: u32, y: u32, c: usize) -> u32 {
        self.samples
            .get((y as usize * self.width as usize + x as usize) * self.channels() + c)
    }

    /// Grey value in [0, 1] per pixel: the grey channel, or BT.601 luma
    /// (0.299 R + 0.587 G + 0.114 B) for colour; alpha is ignored.
    pub fn grey_unit(&self) -> Vec<f32> {
        let max = self.max_value() as f32;
        let n = self.channels();
        (0..self.pixel_count())
            .map(|p| {
                let s = |c: usize| self.samples.get(p * n + c) as f32;
                let v = match self.layout {
                    PixelLayout::Grey | PixelLayout::GreyAlpha => s(0),
                    PixelLayout::Rgb | PixelLayout::Rgba => {
                        0.299 * s(0) + 0.587 * s(1) + 0.114 * s(2)
                    }
                };
                v / max
            })
            .collect()
    }

    /// SHA-256 (hex) of the decoded pixels: size, layout, bit depth and every sample. Two
    /// files with the same hash hold the same picture, whatever their encoding.
    pub fn pixel_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.width.to_le_bytes());
        h.update(self.height.to_le_bytes());
        h.update([self.layout.channels() as u8, self.bit_depth]);
        match &self.samples {
            Samples::U8(v) => h.update(v),
            Samples::U16(v) => v.iter().for_each(|s| h.update(s.to_le_bytes())),
        }
        hex(&h.finalize())
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A decoded image whose EXIF orientation has not been applied yet.
#[derive(Clone, Debug)]
pub struct Unoriented {
    /// The pixels as stored.
    pub image: DynamicImage,
    /// The orientation the file asks for.
    pub orientation: Orientation,
    /// The file format.
    pub format: FileFormat,
    /// PNG palette, when palette-coded.
    pub palette: Option<Vec<[u8; 3]>>,
}

/// Decodes `path` and applies its own EXIF orientation.
pub fn decode_image(path: &Path) -> Result<RawImage, DataError> {
    let mut decoded = decode_unoriented(path)?;
    let exif = decoded.orientation.to_exif();
    decoded.image.apply_orientation(decoded.orientation);
    to_raw(decoded.image, decoded.format, decoded.palette, exif, path)
}

/// Decodes `path` without applying its EXIF orientation.
pub fn decode_unoriented(path: &Path) -> Result<Unoriented, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    decode_bytes_unoriented(&bytes, path)
}

/// Decodes in-memory file `bytes` (named `path` in errors) without applying orientation.
pub fn decode_bytes_unoriented(bytes: &[u8], path: &Path) -> Result<Unoriented, DataError> {
    if bytes.is_empty() {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let decode_error = |format: &str, message: String| DataError::Decode {
        format: format.into(),
        message,
        path: path.to_path_buf(),
    };
    let image_format = image::guess_format(bytes).map_err(|_| {
        let magic: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        decode_error(
            "unknown",
            format!(
                "not a PNG, JPEG, BMP or TIFF file; first bytes {}",
                magic.join(" ")
            ),
        )
    })?;
    let format = match image_format {
        ImageFormat::Png => FileFormat::Png,
        ImageFormat::Jpeg => FileFormat::Jpeg,
        ImageFormat::Bmp => FileFormat::Bmp,
        ImageFormat::Tiff => FileFormat::Tiff,
        other => {
            return Err(decode_error(
                &format!("{other:?}"),
                "format not supported by seglens".into(),
            ));
        }
    };
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), image_format)
        .into_decoder()
        .map_err(|e| decode_error(format.name(), e.to_string()))?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder)
        .map_err(|e| decode_error(format.name(), e.to_string()))?;
    let palette = if format == FileFormat::Png {
        png_palette(bytes)
    } else {
        None
    };
    Ok(Unoriented {
        image,
        orientation,
        format,
        palette,
    })
}

/// Converts a decoded image into stored samples.
pub(crate) fn to_raw(
    image: DynamicImage,
    format: FileFormat,
    palette: Option<Vec<[u8; 3]>>,
    exif_orientation: u8,
    path: &Path,
) -> Result<RawImage, DataError> {
    let (width, height) = (image.width(), image.height());
    let (layout, bit_depth, samples) = match image {
        DynamicImage::ImageLuma8(b) => (PixelLayout::Grey, 8, Samples::U8(b.into_raw())),
        DynamicImage::ImageLumaA8(b) => (PixelLayout::GreyAlpha, 8, Samples::U8(b.into_raw())),
        DynamicImage::ImageRgb8(b) => (PixelLayout::Rgb, 8, Samples::U8(b.into_raw())),
        DynamicImage::ImageRgba8(b) => (PixelLayout::Rgba, 8, Samples::U8(b.into_raw())),
        DynamicImage::ImageLuma16(b) => (PixelLayout::Grey, 16, Samples::U16(b.into_raw())),
        DynamicImage::ImageLumaA16(b) => (PixelLayout::GreyAlpha, 16, Samples::U16(b.into_raw())),
        DynamicImage::ImageRgb16(b) => (PixelLayout::Rgb, 16, Samples::U16(b.into_raw())),
        DynamicImage::ImageRgba16(b) => (PixelLayout::Rgba, 16, Samples::U16(b.into_raw())),
        other => {
            return Err(DataError::UnsupportedPixels {
                what: format!(
                    "{:?} samples (only 8- and 16-bit integer images are read)",
                    other.color()
                ),
                path: path.to_path_buf(),
            });
        }
    };
    Ok(RawImage {
        width,
        height,
        layout,
        bit_depth,
        samples,
        palette,
        format,
        exif_orientation,
    })
}

/// Decodes many files in parallel; results are in the order of `paths`, one per file.
pub fn decode_many(paths: &[PathBuf]) -> Vec<Result<RawImage, DataError>> {
    paths.par_iter().map(|p| decode_image(p)).collect()
}

/// Reads the palette (`PLTE` chunk) of a PNG file's bytes, without decompressing
/// anything. `None` for non-PNG data, PNGs without a palette and malformed chunks.
/// True-colour PNGs may carry a suggested palette too, so this alone does not make a
/// file palette-coded; the colour-type byte of `IHDR` (3) is checked as well.
pub fn png_palette(bytes: &[u8]) -> Option<Vec<[u8; 3]>> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return None;
    }
    let mut pos = SIGNATURE.len();
    let mut indexed = false;
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().ok()?) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = bytes.get(pos + 8..pos + 8 + len)?;
        match kind {
            b"IHDR" => indexed = data.get(9) == Some(&3),
            b"PLTE" if indexed => {
                return Some(data.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect());
            }
            b"IDAT" | b"IEND" => return None,
            _ => {}
        }
        pos += 12 + len;
    }
    None
}
