//! Mask encodings: 0/1, 0/255, 16-bit, palette, RGB, multi-label, JPEG, antialiased, empty.

use super::*;
use crate::data::error::DataWarning;
use crate::data::image_io;
use crate::data::mask::{MaskEncoding, MaskRule, load_mask};

#[test]
fn zero_one_mask_is_binary() {
    let d = TempDir::new("mask01");
    let p = d.path().join("m.png");
    write_grey(&p, 4, 3, |x, y| u8::from(x == y));
    let m = load_mask(&p, &MaskRule::AnyNonZero).unwrap();
    assert_eq!(
        m.encoding,
        MaskEncoding::Binary {
            foreground_value: 1
        }
    );
    assert_eq!(m.mask.data, vec![1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    // Label(1) means "the foreground" on a binary mask.
    assert_eq!(
        load_mask(&p, &MaskRule::Label(1))
            .unwrap()
            .mask
            .foreground(),
        3
    );
}

#[test]
fn zero_255_and_16_bit_masks_are_binary() {
    let d = TempDir::new("mask255");
    let p = d.path().join("m.png");
    write_grey(&p, 5, 2, |x, _| if x >= 3 { 255 } else { 0 });
    let m = load_mask(&p, &MaskRule::AnyNonZero).unwrap();
    assert_eq!(
        m.encoding,
        MaskEncoding::Binary {
            foreground_value: 255
        }
    );
    assert_eq!(m.mask.foreground(), 4);

    let p16 = d.path().join("m16.png");
    let img: ImageBuffer<Luma<u16>, Vec<u16>> =
        ImageBuffer::from_fn(4, 4, |x, _| Luma([if x < 1 { 65_535 } else { 0 }]));
    DynamicImage::ImageLuma16(img).save(&p16).unwrap();
    let m = load_mask(&p16, &MaskRule::AnyNonZero).unwrap();
    assert_eq!(
        m.encoding,
        MaskEncoding::Binary {
            foreground_value: 65_535
        }
    );
    assert_eq!(m.mask.foreground(), 4);
}

#[test]
fn palette_mask_keeps_indices() {
    let d = TempDir::new("palette");
    let p = d.path().join("m.png");
    let palette = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]];
    // Row 0: 0 1 2 0, row 1: 2 2 0 1.
    let idx = [[0u8, 1, 2, 0], [2, 2, 0, 1]];
    std::fs::write(
        &p,
        palette_png(4, 2, &palette, |x, y| idx[y as usize][x as usize]),
    )
    .unwrap();
    let raw = image_io::decode_image(&p).unwrap();
    assert_eq!(raw.palette.as_deref(), Some(&palette[..]));

    let any = load_mask(&p, &MaskRule::AnyNonZero).unwrap();
    assert_eq!(
        any.encoding,
        MaskEncoding::Palette {
            indices: vec![1, 2]
        }
    );
    assert_eq!(any.mask.data, vec![0, 1, 1, 0, 1, 1, 0, 1]);
    assert!(
        any.warnings
            .iter()
            .any(|w| matches!(w, DataWarning::MultiLabel { labels, .. } if labels == &[1, 2]))
    );

    let two = load_mask(&p, &MaskRule::Label(2)).unwrap();
    assert_eq!(two.mask.data, vec![0, 0, 1, 0, 1, 1, 0, 0]);
    let red = load_mask(&p, &MaskRule::Colour([255, 0, 0])).unwrap();
    assert_eq!(red.mask.data, vec![0, 1, 0, 0, 0, 0, 0, 1]);
    // Index 3 (blue) is in the palette but not in the picture.
    let blue = load_mask(&p, &MaskRule::Label(3)).unwrap();
    assert!(blue.mask.is_empty());
    assert!(
        blue.warnings
            .iter()
            .any(|w| matches!(w, DataWarning::LabelAbsent { present, .. } if present == &[1, 2]))
    );
}

#[test]
fn rgb_mask_by_colour() {
    let d = TempDir::new("rgbmask");
    let p = d.path().join("m.png");
    write_rgb(&p, 3, 2, |x, y| match (x, y) {
        (0, 0) | (1, 1) => [255, 0, 0],
        (2, 0) => [0, 255, 0],
        _ => [0, 0, 0],
    });
    let any = load_mask(&p, &MaskRule::AnyNonZero).unwrap();
    assert_eq!(
        any.encoding,
        MaskEncoding::Colour {
            colours: vec![[0, 255, 0], [255, 0, 0]]
        }
    );
    assert_eq!(any.mask.data, vec![1, 0, 1, 0, 1, 0]);
    let green = load_mask(&p, &MaskRule::Colour([0, 255, 0])).unwrap();
    assert_eq!(green.mask.data, vec![0, 0, 1, 0, 0, 0]);
    let label = load_mask(&p, &MaskRule::Label(1)).unwrap();
    assert!(
        label
            .warnings
            .iter()
            .any(|w| matches!(w, DataWarning::RuleNotApplicable { .. }))
    );
    assert_eq!(label.mask.foreground(), 3);
}

#[test]
fn grey_rgb_mask_is_treated_as_grey() {
    let d = TempDir::new("greyrgb");
    let p = d.path().join("m.png");
    write_rgb(
        &p,
        2,
        2,
        |x, _| if x == 1 { [255, 255, 255] } else { [0, 0, 0] },
    );
    let m = load_mask(&p, &MaskRule::AnyNonZero).unwrap();
    assert_eq!(
        m.encoding,
        MaskEncoding::Binary {
            foreground_value: 255
        }
    );
    assert_eq!(m.mask.data, vec![0, 1, 0, 1]);
}

#[test]
fn multi_label_mask_with_rules() {
    let d = TempDir::new("multilabel");
    let p = d.path().join("m.png");
    write_grey(&p, 3, 1, |x, _| x as u8); // 0 1 2
    let any = load_mask(&p, &MaskRule::AnyNonZero).unwrap();
    assert_eq!(any.encoding, MaskEncoding::LabelMap { labels: vec![1, 2] });
    assert_eq!(any.mask.data, vec![0, 1, 1]);
    assert_eq!(
        any.warnings[0].to_string(),
        format!(
            "mask holds labels [1, 2]; rule 'any non-zero' kept [1, 2]: {}",
            p.display()
        )
    );
    assert_eq!(
        load_mask(&p, &MaskRule::Label(2)).unwrap().mask.data,
        vec![0, 0, 1]
    );
    let absent = load_mask(&p, &MaskRule::Label(5)).unwrap();
    assert!(absent.mask.is_empty());
    assert!(matches!(
        &absent.warnings[0],
        DataWarning::LabelAbsent { .. }
    ));
}

#[test]
fn jpeg_mask_is_thresholded_and_grey_pixels_are_counted() {
    let d = TempDir::new("jpegmask");
    let p = d.path().join("m.jpg");
    // A disc of 255 on 0: JPEG rings around its edge.
    let disc = |x: u32, y: u32| {
        if (x as i32 - 16).pow(2) + (y as i32 - 16).pow(2) <= 100 {
            255
        } else {
            0
        }
    };
    std::fs::write(&p, jpeg_grey(32, 32, disc)).unwrap();
    // Count grey pixels independently, straight from the decoder.
    let decoded = image::open(&p).unwrap().to_luma8();
    let expected_grey = decoded
        .pixels()
        .filter(|px| px.0[0] != 0 && px.0[0] != 255)
        .count() as u64;
    let expected_fg: Vec<u8> = decoded
        .pixels()
        .map(|px| u8::from(px.0[0] >= 128))
        .collect();
    assert!(expected_grey > 0, "the JPEG should have grey pixels");

    let m = load_mask(&p, &MaskRule::AnyNonZero).unwrap();
    assert_eq!(
        m.encoding,
        MaskEncoding::ThresholdedGrey {
            threshold: 128,
            grey_pixels: expected_grey
        }
    );
    assert_eq!(m.mask.data, expected_fg);
    assert_eq!(
        m.warnings,
        vec![DataWarning::NonBinaryMask {
            grey_pixels: expected_grey,
            total_pixels: 1024,
            max: 255,
            threshold: 128,
            path: p.clone()
        }]
    );
    assert!(m.warnings[0].to_string().starts_with(&format!(
        "mask is not binary: {expected_grey} of 1024 pixels"
    )));
    // The disc survives: at most a ring of edge pixels differs from the ideal.
    let ideal: u64 = (0..32 * 32)
        .map(|i| u64::from(disc(i % 32, i / 32) > 0))
        .sum();
    assert!(
        (m.mask.foreground() as i64 - ideal as i64).abs() < 12,
        "{} vs {ideal}",
        m.mask.foreground()
    );
}

#[test]
fn antialiased_png_mask_is_non_binary() {
    let d = TempDir::new("aa");
    let p = d.path().join("m.png");
    write_grey(&p, 40, 1, |x, _| (x * 6) as u8); // 0, 6, …, 234: 39 distinct non-zero values
    let m = load_mask(&p, &MaskRule::AnyNonZero).unwrap();
    assert_eq!(
        m.encoding,
        MaskEncoding::ThresholdedGrey {
            threshold: 128,
            grey_pixels: 39
        }
    );
    assert_eq!(
        m.mask.foreground(),
        (0..40).filter(|x| x * 6 >= 128).count() as u64
    );
}

#[test]
fn empty_mask_warns() {
    let d = TempDir::new("empty");
    let p = d.path().join("m.png");
    write_grey(&p, 3, 3, |_, _| 0);
    let m = load_mask(&p, &MaskRule::AnyNonZero).unwrap();
    assert_eq!(m.encoding, MaskEncoding::Empty);
    assert!(m.mask.is_empty());
    assert_eq!(m.warnings, vec![DataWarning::EmptyMask { path: p.clone() }]);
    assert_eq!(
        m.warnings[0].to_string(),
        format!("mask is empty (no foreground pixel): {}", p.display())
    );
}
