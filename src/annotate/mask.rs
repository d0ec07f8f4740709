//! The binary mask being edited. One byte per pixel (0 = background,
//! 1 = foreground) keeps the tools simple and lets an edit be reverted exactly;
//! PNG files on disk use 0/255 so other tools see a visible mask.

use image::ImageEncoder as _;

/// Why a mask could not be built or combined.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MaskError {
    /// The pixel buffer does not hold `width × height` values.
    #[error("mask data has {actual} values but a {width}×{height} mask needs {expected}")]
    BadLength {
        width: u32,
        height: u32,
        expected: usize,
        actual: usize,
    },
    /// Two masks (or a mask and a probability map) of different sizes were combined.
    #[error(
        "size mismatch: expected {expected_width}×{expected_height}, got {actual_width}×{actual_height}"
    )]
    SizeMismatch {
        expected_width: u32,
        expected_height: u32,
        actual_width: u32,
        actual_height: u32,
    },
    /// A per-pixel buffer has the wrong number of values for this mask.
    #[error("expected {expected} values (one per pixel), got {actual}")]
    BadValueCount { expected: usize, actual: usize },
}

/// A binary mask, row-major, one byte per pixel holding 0 or 1.
///
/// The fields are private so that the 0/1 invariant and the length always hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditMask {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl EditMask {
    /// An all-background mask.
    pub fn empty(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; pixel_count(width, height)],
        }
    }

    /// Wraps 0/1 data. Any non-zero value is taken as foreground, so a 0/255
    /// buffer works too; the length must be `width × height`.
    pub fn from_binary(width: u32, height: u32, mut data: Vec<u8>) -> Result<Self, MaskError> {
        check_len(width, height, data.len())?;
        for v in &mut data {
            *v = u8::from(*v != 0);
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Thresholds an 8-bit grey image: values above 127 are foreground (the usual
    /// reading of 0/255 masks, robust to JPEG ringing around the edges).
    pub fn from_gray8(width: u32, height: u32, gray: &[u8]) -> Result<Self, MaskError> {
        check_len(width, height, gray.len())?;
        Ok(Self {
            width,
            height,
            data: gray.iter().map(|&v| u8::from(v > 127)).collect(),
        })
    }

    /// Decodes any image the `image` crate reads (PNG, JPEG, BMP, TIFF) as a mask:
    /// converted to 8-bit grey, then thresholded like [`EditMask::from_gray8`].
    pub fn from_image_bytes(bytes: &[u8]) -> Result<Self, image::ImageError> {
        let gray = image::load_from_memory(bytes)?.into_luma8();
        let (w, h) = gray.dimensions();
        Ok(Self {
            width: w,
            height: h,
            data: gray.into_raw().iter().map(|&v| u8::from(v > 127)).collect(),
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The 0/1 pixels, row-major.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Number of pixels (`width × height`).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True for a mask without pixels (0 wide or 0 high).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Whether `other` has the same width and height.
    pub fn same_size(&self, other: &EditMask) -> bool {
        self.width == other.width && self.height == other.height
    }

    /// Number of foreground pixels.
    pub fn foreground_count(&self) -> usize {
        self.data.iter().filter(|&&v| v != 0).count()
    }

    /// The value at `(x, y)`, or `None` outside the mask.
    pub fn get(&self, x: u32, y: u32) -> Option<u8> {
        self.index(x, y).map(|i| self.data[i])
    }

    /// Sets `(x, y)` to foreground when `value` is non-zero, else background.
    /// Returns the previous value, or `None` (and changes nothing) outside the mask.
    pub fn set(&mut self, x: u32, y: u32, value: u8) -> Option<u8> {
        let i = self.index(x, y)?;
        let old = self.data[i];
        self.data[i] = u8::from(value != 0);
        Some(old)
    }

    /// Row-major index of `(x, y)`, or `None` outside the mask.
    pub fn index(&self, x: u32, y: u32) -> Option<usize> {
        (x < self.width && y < self.height).then(|| y as usize * self.width as usize + x as usize)
    }

    /// Mutable access for the tools in this module; they keep values 0/1.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Encodes as a single-channel 8-bit PNG with values 0/255.
    pub fn to_png_bytes(&self) -> Result<Vec<u8>, image::ImageError> {
        let pixels: Vec<u8> = self
            .data
            .iter()
            .map(|&v| if v != 0 { 255 } else { 0 })
            .collect();
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out).write_image(
            &pixels,
            self.width,
            self.height,
            image::ExtendedColorType::L8,
        )?;
        Ok(out)
    }

    /// Pixel-wise OR, used to unite several mask files of one image.
    pub fn union(&self, other: &EditMask) -> Result<EditMask, MaskError> {
        if !self.same_size(other) {
            return Err(MaskError::SizeMismatch {
                expected_width: self.width,
                expected_height: self.height,
                actual_width: other.width,
                actual_height: other.height,
            });
        }
        let data = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(&a, &b)| a | b)
            .collect();
        Ok(EditMask {
            width: self.width,
            height: self.height,
            data,
        })
    }
}

fn pixel_count(width: u32, height: u32) -> usize {
    width as usize * height as usize
}

fn check_len(width: u32, height: u32, actual: usize) -> Result<(), MaskError> {
    let expected = pixel_count(width, height);
    if actual == expected {
        Ok(())
    } else {
        Err(MaskError::BadLength {
            width,
            height,
            expected,
            actual,
        })
    }
}
