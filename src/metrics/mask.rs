//! What counts as a mask pixel, and the size checks every metric shares.
//! Owns [`MaskPixel`] and the `(width, height)` validation helpers; depends on nothing.

/// A pixel of a binary mask: `bool`, or `u8` where any non-zero value is foreground
/// (so 0/1 label maps and 0/255 PNG masks both work).
pub trait MaskPixel: Copy {
    /// Whether this pixel is foreground.
    fn is_foreground(self) -> bool;
}

impl MaskPixel for bool {
    fn is_foreground(self) -> bool {
        self
    }
}

impl MaskPixel for u8 {
    fn is_foreground(self) -> bool {
        self != 0
    }
}

/// Number of pixels of a `(width, height)` image, or an error when it overflows `usize`.
pub(crate) fn pixel_count(size: (usize, usize)) -> Result<usize, String> {
    size.0
        .checked_mul(size.1)
        .ok_or_else(|| format!("image size {}×{} overflows", size.0, size.1))
}

/// Checks that a buffer named `what` holds exactly `width · height` pixels.
pub(crate) fn check_len(what: &str, len: usize, size: (usize, usize)) -> Result<(), String> {
    let n = pixel_count(size)?;
    if len == n {
        Ok(())
    } else {
        Err(format!(
            "{what} has {len} pixels but the image is {}×{} = {n}",
            size.0, size.1
        ))
    }
}

/// Checks that two buffers that are compared pixel by pixel have the same length.
pub(crate) fn check_same_len(a: (&str, usize), b: (&str, usize)) -> Result<(), String> {
    if a.1 == b.1 {
        Ok(())
    } else {
        Err(format!(
            "{} has {} pixels but {} has {}",
            a.0, a.1, b.0, b.1
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u8_nonzero_is_foreground() {
        assert!(!0u8.is_foreground());
        assert!(1u8.is_foreground());
        assert!(255u8.is_foreground());
        assert!(true.is_foreground());
        assert!(!false.is_foreground());
    }

    #[test]
    fn length_checks_report_mismatch() {
        assert!(check_len("mask", 6, (3, 2)).is_ok());
        let err = check_len("mask", 5, (3, 2)).expect_err("5 ≠ 3·2");
        assert!(err.contains("3×2 = 6"), "{err}");
        assert!(check_same_len(("a", 4), ("b", 4)).is_ok());
        assert!(check_same_len(("a", 4), ("b", 5)).is_err());
        assert!(pixel_count((usize::MAX, 2)).is_err());
    }
}
