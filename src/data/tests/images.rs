//! 2D image decoding: bit depths, formats, EXIF orientation, corrupt and empty files.

use super::*;
use crate::data::error::{DataError, DataWarning};
use crate::data::image_io::{self, FileFormat, PixelLayout, Samples};
use crate::data::mask::MaskRule;
use crate::data::sample::load_pair_paths;

#[test]
fn sixteen_bit_png_and_tiff_keep_stored_values() {
    let d = TempDir::new("img16");
    let values: Vec<u16> = vec![0, 1, 257, 1000, 40_000, 65_535];
    for name in ["a.png", "a.tif"] {
        let p = d.path().join(name);
        let img: ImageBuffer<Luma<u16>, Vec<u16>> =
            ImageBuffer::from_raw(3, 2, values.clone()).unwrap();
        DynamicImage::ImageLuma16(img).save(&p).unwrap();
        let raw = image_io::decode_image(&p).unwrap();
        assert_eq!(
            (raw.width, raw.height, raw.bit_depth, raw.layout),
            (3, 2, 16, PixelLayout::Grey)
        );
        assert_eq!(raw.samples, Samples::U16(values.clone()));
        assert_eq!(raw.max_value(), 65_535);
        assert_eq!(
            raw.format,
            if name.ends_with("png") {
                FileFormat::Png
            } else {
                FileFormat::Tiff
            }
        );
    }
}

#[test]
fn bmp_rgba_and_grey_alpha_layouts() {
    let d = TempDir::new("layouts");
    let bmp = d.path().join("a.bmp");
    write_rgb(&bmp, 2, 1, |x, _| [10 * x as u8, 20, 30]);
    let raw = image_io::decode_image(&bmp).unwrap();
    assert_eq!(
        (raw.layout, raw.format),
        (PixelLayout::Rgb, FileFormat::Bmp)
    );
    assert_eq!(raw.samples, Samples::U8(vec![0, 20, 30, 10, 20, 30]));

    let la = d.path().join("la.png");
    let img: ImageBuffer<image::LumaA<u8>, Vec<u8>> =
        ImageBuffer::from_raw(2, 1, vec![5, 255, 6, 0]).unwrap();
    DynamicImage::ImageLumaA8(img).save(&la).unwrap();
    let raw = image_io::decode_image(&la).unwrap();
    assert_eq!(raw.layout, PixelLayout::GreyAlpha);
    assert_eq!(raw.grey_unit(), vec![5.0 / 255.0, 6.0 / 255.0]);
}

#[test]
fn format_is_detected_from_content_not_extension() {
    let d = TempDir::new("misnamed");
    let p = d.path().join("really_a_png.jpg");
    write_grey(&d.path().join("x.png"), 2, 2, |x, y| (x + 2 * y) as u8);
    std::fs::rename(d.path().join("x.png"), &p).unwrap();
    let raw = image_io::decode_image(&p).unwrap();
    assert_eq!(raw.format, FileFormat::Png);
    assert_eq!(raw.samples, Samples::U8(vec![0, 1, 2, 3]));
}

#[test]
fn exif_rotated_pair_is_turned_alike() {
    let d = TempDir::new("exif");
    let image = d.path().join("case.jpg");
    let mask = d.path().join("case_mask.png");
    // Stored 16×8: left half bright, right half dark; the mask marks the left half.
    let plain = jpeg_grey(16, 8, |x, _| if x < 8 { 220 } else { 20 });
    std::fs::write(&image, with_exif_orientation(&plain, 6)).unwrap();
    write_grey(&mask, 16, 8, |x, _| if x < 8 { 255 } else { 0 });

    // On its own the JPEG is shown turned 90° clockwise: 8×16, the bright half on top.
    let alone = image_io::decode_image(&image).unwrap();
    assert_eq!(
        (alone.width, alone.height, alone.exif_orientation),
        (8, 16, 6)
    );

    let pair = load_pair_paths(&image, std::slice::from_ref(&mask), &MaskRule::AnyNonZero).unwrap();
    assert_eq!((pair.image.width, pair.image.height), (8, 16));
    assert_eq!((pair.mask.width, pair.mask.height), (8, 16));
    for y in 0..16 {
        for x in 0..8 {
            let top = y < 8;
            assert_eq!(pair.mask.get(x, y), u8::from(top), "mask at ({x}, {y})");
            let v = pair.image.sample(x, y, 0);
            assert!(
                if top { v > 180 } else { v < 60 },
                "image at ({x}, {y}) = {v}"
            );
        }
    }
    assert_eq!(
        pair.warnings,
        vec![DataWarning::OrientationCopiedToMask {
            exif: 6,
            image: image.clone(),
            mask: mask.clone()
        }]
    );
}

#[test]
fn zero_byte_file_is_an_error() {
    let d = TempDir::new("zero");
    let p = d.path().join("empty.png");
    std::fs::write(&p, b"").unwrap();
    let err = image_io::decode_image(&p).unwrap_err();
    assert!(matches!(err, DataError::EmptyFile { .. }));
    assert_eq!(
        err.to_string(),
        format!("file is empty (0 bytes): {}", p.display())
    );
}

#[test]
fn corrupt_and_truncated_files_are_errors() {
    let d = TempDir::new("corrupt");
    let junk = d.path().join("junk.png");
    std::fs::write(&junk, b"this is not an image at all").unwrap();
    let err = image_io::decode_image(&junk).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot decode unknown image (not a PNG, JPEG, BMP or TIFF file; first bytes 74 68 69 73): {}",
            junk.display()
        )
    );

    let good = d.path().join("good.png");
    write_grey(&good, 64, 64, |x, y| (x * y) as u8);
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.path().join("cut.png");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = image_io::decode_image(&cut).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("cannot decode PNG image ("), "{text}");
    assert!(text.ends_with(&format!("): {}", cut.display())), "{text}");
}

#[test]
fn decode_many_reports_and_skips_a_corrupt_file() {
    let d = TempDir::new("many");
    let paths: Vec<PathBuf> = ["a.png", "bad.png", "c.png"]
        .iter()
        .map(|n| d.path().join(n))
        .collect();
    write_grey(&paths[0], 2, 2, |_, _| 1);
    std::fs::write(&paths[1], b"\x89PNG\r\n\x1a\nbroken").unwrap();
    write_grey(&paths[2], 3, 1, |_, _| 2);
    let results = image_io::decode_many(&paths);
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap().width, 2);
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.path(), Some(paths[1].as_path()));
    assert_eq!(results[2].as_ref().unwrap().width, 3);
}

#[test]
fn pixel_hash_ignores_encoding() {
    let d = TempDir::new("hash");
    let a = d.path().join("a.png");
    let b = d.path().join("b.bmp");
    write_grey(&a, 5, 4, |x, y| (x * 40 + y) as u8);
    write_rgb(&b, 5, 4, |x, y| [(x * 40 + y) as u8; 3]);
    let (ra, rb) = (
        image_io::decode_image(&a).unwrap(),
        image_io::decode_image(&b).unwrap(),
    );
    // Same picture, but stored grey vs RGB: different samples, different hashes.
    assert_ne!(ra.pixel_hash(), rb.pixel_hash());
    let c = d.path().join("c.tif");
    write_grey(&c, 5, 4, |x, y| (x * 40 + y) as u8);
    assert_eq!(
        ra.pixel_hash(),
        image_io::decode_image(&c).unwrap().pixel_hash()
    );
}
