//! Pairing by name: extensions, suffixes, several masks, unpaired files, size mismatch.

use std::time::Instant;

use super::*;
use crate::data::error::{DataError, DataWarning};
use crate::data::mask::MaskRule;
use crate::data::pairing::{PairingOptions, pair_dataset, pair_dataset_with};
use crate::data::sample::{load_pair, load_pair_paths};

#[test]
fn names_match_across_extensions_case_and_suffixes() {
    let d = TempDir::dataset("names");
    let (im, ma) = (d.path().join("images"), d.path().join("masks"));
    write_grey(&im.join("Case1.JPG"), 4, 4, |_, _| 9);
    write_grey(&im.join("case2.png"), 4, 4, |_, _| 9);
    write_grey(&im.join("scan_003_image.png"), 4, 4, |_, _| 9);
    write_grey(&ma.join("case1_mask.png"), 4, 4, |_, _| 255);
    write_grey(&ma.join("CASE2-seg.tif"), 4, 4, |_, _| 255);
    write_grey(&ma.join("scan_003_mask.bmp"), 4, 4, |_, _| 255);
    let r = pair_dataset(d.path()).unwrap();
    let got: Vec<(String, String, String)> = r
        .pairs
        .iter()
        .map(|p| {
            let name = |x: &Path| x.file_name().unwrap().to_string_lossy().into_owned();
            (p.stem.clone(), name(&p.image), name(&p.masks[0]))
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("Case1".into(), "Case1.JPG".into(), "case1_mask.png".into()),
            ("case2".into(), "case2.png".into(), "CASE2-seg.tif".into()),
            (
                "scan_003_image".into(),
                "scan_003_image.png".into(),
                "scan_003_mask.bmp".into()
            ),
        ]
    );
    assert!(r.is_clean());
}

#[test]
fn never_pairs_by_position() {
    let d = TempDir::dataset("position");
    let (im, ma) = (d.path().join("images"), d.path().join("masks"));
    write_grey(&im.join("a.png"), 2, 2, |_, _| 1);
    write_grey(&im.join("b.png"), 2, 2, |_, _| 1);
    write_grey(&ma.join("b_mask.png"), 2, 2, |_, _| 255);
    write_grey(&ma.join("c_mask.png"), 2, 2, |_, _| 255);
    let r = pair_dataset(d.path()).unwrap();
    assert_eq!(r.pairs.len(), 1);
    assert_eq!(r.pairs[0].image, im.join("b.png"));
    assert_eq!(r.images_without_mask, vec![im.join("a.png")]);
    assert_eq!(r.masks_without_image, vec![ma.join("c_mask.png")]);
    assert!(!r.is_clean());
}

#[test]
fn two_masks_for_one_image_are_united_with_a_warning() {
    let d = TempDir::dataset("twomasks");
    let (im, ma) = (d.path().join("images"), d.path().join("masks"));
    write_grey(&im.join("a.png"), 4, 2, |_, _| 100);
    write_grey(
        &ma.join("a_mask_1.png"),
        4,
        2,
        |x, _| if x == 0 { 255 } else { 0 },
    );
    write_grey(&ma.join("a_mask_2.png"), 4, 2, |x, y| {
        if x == 3 && y == 1 { 255 } else { 0 }
    });
    let r = pair_dataset(d.path()).unwrap();
    assert_eq!(r.several_masks, vec!["a".to_string()]);
    assert_eq!(
        r.pairs[0].masks,
        vec![ma.join("a_mask_1.png"), ma.join("a_mask_2.png")]
    );
    assert!(matches!(&r.warnings[0], DataWarning::MasksUnited { masks, .. } if masks.len() == 2));
    let pair = load_pair(&r.pairs[0], &MaskRule::AnyNonZero).unwrap();
    assert_eq!(pair.mask.data, vec![1, 0, 0, 0, 1, 0, 0, 1]);
    assert!(
        pair.warnings
            .iter()
            .any(|w| matches!(w, DataWarning::MasksUnited { .. }))
    );

    let strict = pair_dataset_with(
        d.path(),
        &PairingOptions {
            unite_several_masks: false,
        },
    )
    .unwrap();
    assert!(strict.pairs.is_empty());
    assert_eq!(strict.several_masks, vec!["a".to_string()]);
}

#[test]
fn non_images_are_ignored_with_a_reason() {
    let d = TempDir::dataset("ignored");
    let (im, ma) = (d.path().join("images"), d.path().join("masks"));
    write_grey(&im.join("x.png"), 2, 2, |_, _| 1);
    write_grey(&ma.join("x.png"), 2, 2, |_, _| 1);
    std::fs::write(im.join("notes.txt"), "hello").unwrap();
    std::fs::write(im.join(".DS_Store"), "junk").unwrap();
    std::fs::write(im.join("volume.nii.gz"), "junk").unwrap();
    std::fs::create_dir(ma.join("extra")).unwrap();
    let r = pair_dataset(d.path()).unwrap();
    assert_eq!(r.pairs.len(), 1);
    let reasons: Vec<(String, String)> = r
        .ignored
        .iter()
        .map(|i| {
            (
                i.path.file_name().unwrap().to_string_lossy().into_owned(),
                i.reason.clone(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (".DS_Store".into(), "hidden file".into()),
            ("notes.txt".into(), "not a 2D image (.txt)".into()),
            ("extra".into(), "folder (not listed recursively)".into()),
        ]
    );
    // A NIfTI volume is data, not a stray file: it is listed apart, with why it is unused.
    let looked_for: Vec<String> = [
        "images/volume_label.nii.gz",
        "images/volume_seg.nii.gz",
        "images/volume_mask.nii.gz",
        "masks/volume.nii.gz",
        "labels/volume.nii.gz",
    ]
    .iter()
    .map(|n| d.path().join(n).display().to_string())
    .collect();
    assert_eq!(r.unpaired_volumes.len(), 1);
    assert_eq!(r.unpaired_volumes[0].path, im.join("volume.nii.gz"));
    assert_eq!(
        r.unpaired_volumes[0].reason,
        format!(
            "NIfTI volume without a label volume (looked for {})",
            looked_for.join(", ")
        )
    );
}

#[test]
fn reference_layout_masks_0_is_used() {
    let d = TempDir::dataset("masks0");
    std::fs::create_dir(d.path().join("masks").join("0")).unwrap();
    write_grey(&d.path().join("images").join("k.png"), 2, 2, |_, _| 1);
    write_grey(
        &d.path().join("masks").join("0").join("k.png"),
        2,
        2,
        |_, _| 255,
    );
    let r = pair_dataset(d.path()).unwrap();
    assert_eq!(r.pairs.len(), 1);
    assert_eq!(r.masks_dir, d.path().join("masks").join("0"));
}

#[test]
fn not_a_dataset_names_the_folder() {
    let d = TempDir::new("notds");
    let err = pair_dataset(d.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "not a dataset folder (expected subfolders images/ and masks/ (for NIfTI volumes: labels/, or label volumes beside them in images/)): {}",
            d.path().display()
        )
    );
}

#[test]
fn size_mismatch_names_both_files_and_sizes() {
    let d = TempDir::new("mismatch");
    let image = d.path().join("a.png");
    let mask = d.path().join("a_mask.png");
    write_grey(&image, 8, 6, |_, _| 1);
    write_grey(&mask, 6, 8, |_, _| 255);
    let err =
        load_pair_paths(&image, std::slice::from_ref(&mask), &MaskRule::AnyNonZero).unwrap_err();
    assert!(matches!(
        err,
        DataError::SizeMismatch {
            image_size: (8, 6),
            mask_size: (6, 8),
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!(
            "mask is 6×8 but its image is 8×6: mask {}, image {}",
            mask.display(),
            image.display()
        )
    );
}

#[test]
fn a_thousand_files_list_quickly_without_decoding() {
    let d = TempDir::dataset("thousand");
    // The bytes are not valid images: listing must not open them.
    for i in 0..1000 {
        std::fs::write(
            d.path().join("images").join(format!("img_{i:04}.png")),
            b"x",
        )
        .unwrap();
        std::fs::write(
            d.path().join("masks").join(format!("img_{i:04}_mask.png")),
            b"x",
        )
        .unwrap();
    }
    let start = Instant::now();
    let r = pair_dataset(d.path()).unwrap();
    let elapsed = start.elapsed();
    assert_eq!(r.pairs.len(), 1000);
    assert!(r.is_clean());
    assert_eq!(r.pairs[417].stem, "img_0417");
    // Typically a few milliseconds; the bound only guards against decoding or quadratic work.
    assert!(elapsed.as_secs_f64() < 1.0, "listing took {elapsed:?}");
}
