//! Model input: OpenCV-exact resizing, the reference normalisation bit for bit, channel
//! layouts, convention mismatches and augmentation applied alike to image and mask.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::*;
use crate::convention::{ChannelLayout, CtWindow, InputConvention, Normalisation};
use crate::data::augment::{Augmentation, Flip};
use crate::data::dicom;
use crate::data::error::DataError;
use crate::data::image_io::{self, FileFormat, PixelLayout, RawImage, Samples};
use crate::data::mask::Mask;
use crate::data::preprocess::{ConventionMismatch, PrepareOptions, SourcePixels, prepare};
use crate::data::resize;
use crate::data::window::WindowPreset;

fn opencv(name: &str) -> Value {
    let path = data_dir().join("opencv").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pattern(w: usize, h: usize, c: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(w * h * c);
    for y in 0..h {
        for x in 0..w {
            for ch in 0..c {
                v.push(((37 * x + 91 * y + (x * y) % 17 + 53 * ch) % 256) as u8);
            }
        }
    }
    v
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn resize_is_bit_exact_with_opencv() {
    let cases = opencv("resize_cases.json");
    for case in cases["cases"].as_array().unwrap() {
        let n = |k: &str| case[k].as_u64().unwrap() as usize;
        let (w, h, c, nw, nh) = (
            n("width"),
            n("height"),
            n("channels"),
            n("new_width"),
            n("new_height"),
        );
        let src = pattern(w, h, c);
        let out = if case["interpolation"] == "linear" {
            resize::resize_linear_u8(&src, w, h, c, nw, nh)
        } else {
            resize::resize_nearest(&src, w, h, c, nw, nh)
        };
        if let Some(expected) = case.get("output") {
            let expected: Vec<u8> = expected
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u8)
                .collect();
            assert_eq!(
                out, expected,
                "{w}×{h}×{c} → {nw}×{nh} {}",
                case["interpolation"]
            );
        }
        assert_eq!(
            sha(&out),
            case["sha256"].as_str().unwrap(),
            "{w}×{h}×{c} → {nw}×{nh} {}",
            case["interpolation"]
        );
    }
}

#[test]
fn reference_normalisation_matches_the_original_script_bit_for_bit() {
    let cases = opencv("reference_cases.json");
    for case in cases["cases"].as_array().unwrap() {
        let file = data_dir()
            .join("opencv")
            .join(case["file"].as_str().unwrap());
        let raw = image_io::decode_image(&file).unwrap();
        let (channels, normalisation) = match case["mode"].as_str().unwrap() {
            "reference" => (ChannelLayout::Bgr, Normalisation::Reference),
            "imagenet" => (ChannelLayout::Rgb, Normalisation::ImageNet),
            _ => (ChannelLayout::Rgb, Normalisation::Unit),
        };
        let convention = InputConvention {
            size: 16,
            channels,
            normalisation,
            ..InputConvention::reference()
        };
        let out = prepare(
            SourcePixels::Image {
                image: &raw,
                path: &file,
            },
            None,
            &convention,
            &PrepareOptions::default(),
            Augmentation::NONE,
        )
        .unwrap();
        assert!(out.mismatches.is_empty(), "{:?}", out.mismatches);
        let expected: Vec<f32> = case["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(out.image.len(), 3 * 16 * 16);
        for (i, (a, b)) in out.image.iter().zip(&expected).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{} {} element {i}: {a} vs {b}",
                case["file"],
                case["mode"]
            );
        }
        let bytes: Vec<u8> = out.image.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(sha(&bytes), case["sha256_f32le"].as_str().unwrap());
    }
}

fn raw_rgb(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> RawImage {
    let mut v = Vec::new();
    for y in 0..h {
        for x in 0..w {
            v.extend_from_slice(&f(x, y));
        }
    }
    RawImage {
        width: w,
        height: h,
        layout: PixelLayout::Rgb,
        bit_depth: 8,
        samples: Samples::U8(v),
        palette: None,
        format: FileFormat::Png,
        exif_orientation: 1,
    }
}

fn unit(size: usize, channels: ChannelLayout) -> InputConvention {
    InputConvention {
        size,
        channels,
        normalisation: Normalisation::Unit,
        ..InputConvention::reference()
    }
}

fn run(
    raw: &RawImage,
    mask: Option<&Mask>,
    c: &InputConvention,
    aug: Augmentation,
) -> crate::data::preprocess::ModelInput {
    prepare(
        SourcePixels::Image {
            image: raw,
            path: Path::new("mem.png"),
        },
        mask,
        c,
        &PrepareOptions::default(),
        aug,
    )
    .unwrap()
}

#[test]
fn channel_layouts() {
    let raw = raw_rgb(2, 2, |_, _| [10, 20, 30]);
    let first = |out: &crate::data::preprocess::ModelInput| {
        [0, 1, 2].map(|c| (out.image[c * 4] * 255.0).round() as u8)
    };
    // Multi-sequence (e.g. T1 / FLAIR / T1c stored as R, G, B) keeps stored order; never greyed.
    let ms = run(
        &raw,
        None,
        &unit(2, ChannelLayout::MultiSequence),
        Augmentation::NONE,
    );
    assert_eq!(first(&ms), [10, 20, 30]);
    assert!(ms.mismatches.is_empty());
    assert_eq!(
        first(&run(
            &raw,
            None,
            &unit(2, ChannelLayout::Rgb),
            Augmentation::NONE
        )),
        [10, 20, 30]
    );
    assert_eq!(
        first(&run(
            &raw,
            None,
            &unit(2, ChannelLayout::Bgr),
            Augmentation::NONE
        )),
        [30, 20, 10]
    );
    // Colour into a grey model: OpenCV's integer luma, reported.
    let grey = run(
        &raw,
        None,
        &unit(2, ChannelLayout::GreyRepeated),
        Augmentation::NONE,
    );
    let luma = ((4899 * 10 + 9617 * 20 + 1868 * 30 + 8192) >> 14) as u8;
    assert_eq!(first(&grey), [luma; 3]);
    assert_eq!(grey.mismatches, vec![ConventionMismatch::ColourToGrey]);
    // Grey into a multi-sequence model: repeated, reported.
    let g = RawImage {
        layout: PixelLayout::Grey,
        samples: Samples::U8(vec![7; 4]),
        ..raw.clone()
    };
    let out = run(
        &g,
        None,
        &unit(2, ChannelLayout::MultiSequence),
        Augmentation::NONE,
    );
    assert_eq!(first(&out), [7, 7, 7]);
    assert_eq!(
        out.mismatches,
        vec![ConventionMismatch::GreyToMultiSequence]
    );
}

#[test]
fn sixteen_bit_input_to_an_eight_bit_model_is_reported_and_refused_in_strict_mode() {
    let raw = RawImage {
        width: 2,
        height: 1,
        layout: PixelLayout::Grey,
        bit_depth: 16,
        samples: Samples::U16(vec![0x1234, 0xFF00]),
        palette: None,
        format: FileFormat::Png,
        exif_orientation: 1,
    };
    let c = unit(2, ChannelLayout::GreyRepeated);
    let out = prepare(
        SourcePixels::Image {
            image: &raw,
            path: Path::new("x.png"),
        },
        None,
        &c,
        &PrepareOptions::default(),
        Augmentation::NONE,
    )
    .unwrap();
    // 2×1 → 2×2: rows repeat; values are v >> 8.
    assert_eq!(
        out.mismatches,
        vec![ConventionMismatch::BitDepth {
            input: 16,
            model: 8
        }]
    );
    assert_eq!((out.image[0] * 255.0).round() as u8, 0x12);
    assert_eq!((out.image[1] * 255.0).round() as u8, 0xFF);
    let strict = PrepareOptions {
        strict: true,
        ..PrepareOptions::default()
    };
    let err = prepare(
        SourcePixels::Image {
            image: &raw,
            path: Path::new("x.png"),
        },
        None,
        &c,
        &strict,
        Augmentation::NONE,
    )
    .unwrap_err();
    assert!(matches!(err, DataError::Convention { .. }));
    assert_eq!(
        err.to_string(),
        "input does not match the model's convention (16-bit input to a 8-bit model): x.png"
    );
}

fn ct_model(size: usize, window: Option<CtWindow>) -> InputConvention {
    InputConvention {
        size,
        channels: ChannelLayout::GreyRepeated,
        normalisation: Normalisation::Unit,
        bit_depth: 8,
        modality: Some("CT".into()),
        ct_window: window,
    }
}

#[test]
fn ct_dicom_is_windowed_with_the_checkpoint_window() {
    let s = dicom::read_dicom(&data_dir().join("formats").join("CT_small.dcm"))
        .unwrap()
        .to_scalar();
    let out = prepare(
        SourcePixels::Scalar(&s),
        None,
        &ct_model(128, Some(WindowPreset::Lung.window())),
        &PrepareOptions::default(),
        Augmentation::NONE,
    )
    .unwrap();
    assert!(out.mismatches.is_empty(), "{:?}", out.mismatches);
    // HU −849 at (0, 0) → 85 through the lung window; HU 904 at (64, 64) → 255.
    assert_eq!((out.image[0] * 255.0).round() as u8, 85);
    assert_eq!((out.image[64 * 128 + 64] * 255.0).round() as u8, 255);
    let unknown = prepare(
        SourcePixels::Scalar(&s),
        None,
        &ct_model(128, None),
        &PrepareOptions::default(),
        Augmentation::NONE,
    )
    .unwrap();
    assert_eq!(
        unknown.mismatches,
        vec![ConventionMismatch::CtWindowUnknown {
            used: WindowPreset::Lung.window()
        }]
    );
}

#[test]
fn mr_input_to_a_ct_model_is_a_visible_mismatch() {
    let s = dicom::read_dicom(&data_dir().join("formats").join("MR_small.dcm"))
        .unwrap()
        .to_scalar();
    let (lo, hi) = s.min_max().unwrap();
    let out = prepare(
        SourcePixels::Scalar(&s),
        None,
        &ct_model(64, Some(WindowPreset::Lung.window())),
        &PrepareOptions::default(),
        Augmentation::NONE,
    )
    .unwrap();
    assert_eq!(
        out.mismatches,
        vec![
            ConventionMismatch::Modality {
                input: "MR".into(),
                model: "CT".into()
            },
            ConventionMismatch::ScaledByRange { low: lo, high: hi },
        ]
    );
    assert_eq!(out.mismatches[0].to_string(), "MR input to a CT model");
    // A modality given for a 2D image is checked too.
    let raw = raw_rgb(2, 2, |_, _| [1, 1, 1]);
    let opts = PrepareOptions {
        input_modality: Some(crate::data::scalar::Modality::Mr),
        ..PrepareOptions::default()
    };
    let out = prepare(
        SourcePixels::Image {
            image: &raw,
            path: Path::new("m.png"),
        },
        None,
        &ct_model(2, None),
        &opts,
        Augmentation::NONE,
    )
    .unwrap();
    assert_eq!(
        out.mismatches,
        vec![ConventionMismatch::Modality {
            input: "MR".into(),
            model: "CT".into()
        }]
    );
}

#[test]
fn augmentation_moves_image_and_mask_together() {
    // 6×4 image with one bright pixel at (4, 1); the mask marks the same pixel.
    let (w, h) = (6u32, 4u32);
    let raw = raw_rgb(
        w,
        h,
        |x, y| if (x, y) == (4, 1) { [250; 3] } else { [5; 3] },
    );
    let mut mask = Mask::empty(w, h);
    mask.data[(w + 4) as usize] = 1;
    let aug = Augmentation {
        rot90: 1,
        flip: Some(Flip::Horizontal),
    };
    // Square, no resize: bright pixel (2, 0) of a 4×4 → np.rot90 → (0, 4 − 1 − 2) = (0, 1)
    // → mirror → (3, 1).
    let square = raw_rgb(
        4,
        4,
        |x, y| if (x, y) == (2, 0) { [250; 3] } else { [5; 3] },
    );
    let mut sq_mask = Mask::empty(4, 4);
    sq_mask.data[2] = 1;
    let out = run(
        &square,
        Some(&sq_mask),
        &unit(4, ChannelLayout::GreyRepeated),
        aug,
    );
    let m = out.mask.unwrap();
    let fg: Vec<usize> = (0..16).filter(|&i| m[i] == 1.0).collect();
    let bright: Vec<usize> = (0..16).filter(|&i| out.image[i] > 0.9).collect();
    assert_eq!(fg, vec![4 + 3]);
    assert_eq!(bright, fg);
    assert_eq!(out.augmentation, aug);
    // Non-square, with a resize: np.rot90 turns 6×4 into 4×6 and (4, 1) into
    // (x' = y, y' = w − 1 − x) = (1, 1); the mirror gives (4 − 1 − 1, 1) = (2, 1).
    let out = run(
        &raw,
        Some(&mask),
        &unit(12, ChannelLayout::GreyRepeated),
        aug,
    );
    let m = out.mask.unwrap();
    let fg: Vec<(usize, usize)> = (0..144)
        .filter(|&i| m[i] == 1.0)
        .map(|i| (i % 12, i / 12))
        .collect();
    // 4×6 after augmentation, bright at (2, 1); ×3 horizontally, ×2 vertically.
    assert_eq!(fg, vec![(6, 2), (7, 2), (8, 2), (6, 3), (7, 3), (8, 3)]);
    let peak = (0..144)
        .max_by(|&a, &b| out.image[a].total_cmp(&out.image[b]))
        .unwrap();
    assert!(fg.contains(&(peak % 12, peak / 12)), "peak at {peak}");
}

#[test]
fn per_image_standardisation_uses_the_body_pixels() {
    use crate::data::preprocess::standardise;
    // 20 background zeros, 8 × 10 and 8 × 30: body mean 20, sd 10.
    let mut c: Vec<f32> = [vec![0.0; 20], vec![10.0; 8], vec![30.0; 8]].concat();
    standardise(&mut c, 255.0);
    assert_eq!((c[0], c[20], c[28]), (-2.0, -1.0, 1.0));
    // Fewer than 16 non-zero pixels: all pixels count (mean 1, sd √3).
    let mut few = vec![0.0, 0.0, 0.0, 4.0];
    standardise(&mut few, 255.0);
    let r3 = 3f32.sqrt();
    assert!(
        (few[0] + 1.0 / r3).abs() < 1e-6 && (few[3] - 3.0 / r3).abs() < 1e-6,
        "{few:?}"
    );
    // A flat channel becomes 0, not NaN.
    let mut flat = vec![7.0; 32];
    standardise(&mut flat, 255.0);
    assert!(flat.iter().all(|&v| v == 0.0));
}

#[test]
fn per_image_input_does_not_change_with_a_brighter_scanner() {
    let convention = InputConvention {
        normalisation: Normalisation::PerImage,
        ..unit(8, ChannelLayout::MultiSequence)
    };
    let dim = raw_rgb(8, 8, |x, y| [(x * 10 + y) as u8, (y * 12) as u8 + 1, 40]);
    // Every channel twice as bright plus a constant: same anatomy, another scanner's scale.
    let bright = raw_rgb(8, 8, |x, y| {
        [(x * 20 + 2 * y) as u8 + 5, (y * 24) as u8 + 7, 90]
    });
    let (a, b) = (
        run(&dim, None, &convention, Augmentation::NONE),
        run(&bright, None, &convention, Augmentation::NONE),
    );
    // Channel 1 is a linear map of the dim one (×2 + 5) and channel 2 flat in both.
    // (Channel 0 is not: its one zero pixel at x = y = 0 is background in the dim image only.)
    for p in 0..64 {
        assert!(
            (a.image[64 + p] - b.image[64 + p]).abs() < 1e-4,
            "pixel {p}: {} vs {}",
            a.image[64 + p],
            b.image[64 + p]
        );
        assert_eq!(
            (a.image[128 + p], b.image[128 + p]),
            (0.0, 0.0),
            "flat channel, pixel {p}"
        );
    }
    // Channel 0's body pixels have mean 0 and sd 1.
    let body: Vec<f32> = (1..64).map(|p| a.image[p]).collect();
    let mean = body.iter().sum::<f32>() / 63.0;
    let sd = (body.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 63.0).sqrt();
    assert!(
        mean.abs() < 1e-5 && (sd - 1.0).abs() < 1e-5,
        "mean {mean} sd {sd}"
    );
}
