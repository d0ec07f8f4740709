use crate::annotate::{EditMask, MaskError};

#[test]
fn empty_has_no_foreground() {
    let m = EditMask::empty(3, 2);
    assert_eq!((m.width(), m.height(), m.len()), (3, 2, 6));
    assert_eq!(m.foreground_count(), 0);
}

#[test]
fn from_binary_checks_length_and_normalises() {
    assert_eq!(
        EditMask::from_binary(3, 2, vec![0; 5]),
        Err(MaskError::BadLength {
            width: 3,
            height: 2,
            expected: 6,
            actual: 5
        })
    );
    let m = EditMask::from_binary(2, 2, vec![0, 1, 255, 0]).unwrap();
    assert_eq!(m.data(), &[0, 1, 1, 0]);
}

#[test]
fn from_gray8_thresholds_above_127() {
    let m = EditMask::from_gray8(4, 1, &[0, 127, 128, 255]).unwrap();
    assert_eq!(m.data(), &[0, 0, 1, 1]);
    assert_eq!(m.foreground_count(), 2);
    assert!(EditMask::from_gray8(4, 1, &[0; 3]).is_err());
}

#[test]
fn get_and_set_respect_bounds() {
    let mut m = EditMask::empty(3, 2);
    assert_eq!(m.set(2, 1, 7), Some(0)); // non-zero stored as 1
    assert_eq!(m.get(2, 1), Some(1));
    assert_eq!(m.data()[5], 1); // index 1 * 3 + 2
    assert_eq!(m.set(3, 0, 1), None);
    assert_eq!(m.get(0, 2), None);
    assert_eq!(m.foreground_count(), 1);
}

#[test]
fn png_is_single_channel_0_255() {
    let m = EditMask::from_binary(3, 1, vec![0, 1, 1]).unwrap();
    let bytes = m.to_png_bytes().unwrap();
    let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).unwrap();
    assert_eq!(img.color(), image::ColorType::L8);
    assert_eq!(img.into_luma8().into_raw(), vec![0, 255, 255]);
    assert_eq!(EditMask::from_image_bytes(&bytes).unwrap(), m);
}

#[test]
fn union_is_pixelwise_or() {
    let a = EditMask::from_binary(2, 2, vec![1, 0, 0, 0]).unwrap();
    let b = EditMask::from_binary(2, 2, vec![0, 0, 1, 0]).unwrap();
    assert_eq!(a.union(&b).unwrap().data(), &[1, 0, 1, 0]);
    assert!(matches!(
        a.union(&EditMask::empty(1, 4)),
        Err(MaskError::SizeMismatch { .. })
    ));
}
