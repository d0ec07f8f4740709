//! The audit: planted near-duplicates found, distinct slices not matched, corrupt files
//! reported and skipped, leakage with and without grouping, statistics, exit status.

use super::*;
use crate::data::audit::{AuditOptions, InputKind, audit};
use crate::data::audit_text::{audit_cli, to_text};
use crate::data::grouping::Grouping;
use crate::data::nifti::{self, VoxelAxis};
use crate::data::phash::{Fingerprint, GreyPlane, confirm};
use crate::data::window::min_max_u8;

/// Axial slice `k` of the shared NIfTI brain, min–max scaled to 8 bits.
fn brain_slice(k: usize) -> (u32, u32, Vec<u8>) {
    let v = nifti::read_nifti(&data_dir().join("formats").join("brain1_image.nii.gz")).unwrap();
    let s = v.slice(VoxelAxis::K, k, None).unwrap();
    (s.width, s.height, min_max_u8(&s.values))
}

fn save_grey(path: &Path, w: u32, h: u32, px: &[u8]) {
    let img: ImageBuffer<Luma<u8>, Vec<u8>> = ImageBuffer::from_raw(w, h, px.to_vec()).unwrap();
    DynamicImage::ImageLuma8(img).save(path).unwrap();
}

fn save_mask(dir: &Path, name: &str, w: u32, h: u32) {
    write_grey(
        &dir.join("masks").join(format!("{name}.png")),
        w,
        h,
        |x, y| {
            if x > w / 3 && x < w / 2 && y > h / 3 && y < h / 2 {
                255
            } else {
                0
            }
        },
    );
}

/// Distinct slices 6, 9, 12, 15, 18 plus planted copies of slice 12: flipped, JPEG
/// re-encoded, shifted by 2 px right and 1 px down, and an exact copy under another name.
fn planted_dataset() -> TempDir {
    let d = TempDir::dataset("planted");
    let images = d.path().join("images");
    for k in [6, 9, 12, 15, 18] {
        let (w, h, px) = brain_slice(k);
        save_grey(&images.join(format!("slice_{k:02}.png")), w, h, &px);
        save_mask(d.path(), &format!("slice_{k:02}"), w, h);
    }
    let (w, h, px) = brain_slice(12);
    let (wu, hu) = (w as usize, h as usize);
    let flipped: Vec<u8> = (0..wu * hu)
        .map(|p| px[(p / wu) * wu + (wu - 1 - p % wu)])
        .collect();
    save_grey(&images.join("copy_flipped.png"), w, h, &flipped);
    std::fs::write(
        images.join("copy_jpeg.jpg"),
        jpeg_grey(w, h, |x, y| px[(y * w + x) as usize]),
    )
    .unwrap();
    let shifted: Vec<u8> = (0..wu * hu)
        .map(|p| px[(p / wu).saturating_sub(1) * wu + (p % wu).saturating_sub(2)])
        .collect();
    save_grey(&images.join("copy_shifted.png"), w, h, &shifted);
    save_grey(&images.join("copy_exact.png"), w, h, &px);
    for name in ["copy_flipped", "copy_jpeg", "copy_shifted", "copy_exact"] {
        save_mask(d.path(), name, w, h);
    }
    d
}

#[test]
fn planted_copies_are_found_and_distinct_slices_are_not() {
    let d = planted_dataset();
    let r = audit(&[d.path().to_path_buf()], &AuditOptions::default());
    assert_eq!(r.samples_analysed, 9);
    let pair_ids = |p: &crate::data::audit::DuplicatePair| {
        let mut ids = [p.a.id.clone(), p.b.id.clone()];
        ids.sort();
        ids
    };
    let exact: Vec<[String; 2]> = r.exact_duplicates.iter().map(pair_ids).collect();
    assert_eq!(
        exact,
        vec![["copy_exact".to_string(), "slice_12".to_string()]]
    );
    let near: Vec<[String; 2]> = r.near_duplicates.iter().map(pair_ids).collect();
    let copies = [
        "copy_exact",
        "copy_flipped",
        "copy_jpeg",
        "copy_shifted",
        "slice_12",
    ];
    // Every pair among the five versions of slice 12 is a duplicate (1 exact + 9 near) …
    assert_eq!(near.len(), 9, "{near:?}");
    for ids in &near {
        assert!(
            copies.contains(&ids[0].as_str()) && copies.contains(&ids[1].as_str()),
            "{ids:?}"
        );
    }
    let flip = r
        .near_duplicates
        .iter()
        .find(|p| pair_ids(p) == ["copy_flipped".to_string(), "slice_12".to_string()])
        .unwrap();
    assert!(flip.transform.starts_with("flip-h"), "{}", flip.transform);
    // … and no other slice matches anything.
    for other in ["slice_06", "slice_09", "slice_15", "slice_18"] {
        assert!(
            !near
                .iter()
                .chain(&exact)
                .any(|ids| ids.contains(&other.to_string())),
            "{other}"
        );
    }
    // Duplicates across sets are errors, within a set warnings; the status follows the errors.
    let across = r
        .exact_duplicates
        .iter()
        .chain(&r.near_duplicates)
        .filter(|p| p.crosses_sets)
        .count();
    let errors = r
        .errors
        .iter()
        .filter(|e| e.code.ends_with("_duplicate_across_sets"))
        .count();
    assert_eq!(across, errors);
    assert_eq!(r.exit_status(), i32::from(across > 0));
}

#[test]
fn distinct_slices_stay_apart_under_the_two_stage_rule() {
    // Neighbouring slices of one brain (6.5 mm apart) are similar but not duplicates.
    let planes: Vec<(Fingerprint, GreyPlane)> = (8..17)
        .map(|k| {
            let (w, h, px) = brain_slice(k);
            let grey: Vec<f32> = px.iter().map(|&v| f32::from(v) / 255.0).collect();
            (
                Fingerprint::of_grey(&grey, w as usize, h as usize),
                GreyPlane {
                    width: w as usize,
                    height: h as usize,
                    data: grey,
                },
            )
        })
        .collect();
    for i in 0..planes.len() {
        for j in i + 1..planes.len() {
            if let Some((_, t, _)) = planes[i].0.candidate(&planes[j].0) {
                let r = confirm(&planes[i].1, &planes[j].1, t).unwrap();
                assert!(
                    r > crate::data::phash::RESIDUAL_MAX,
                    "slices {} and {}: residual {r}",
                    i + 8,
                    j + 8
                );
            }
        }
    }
}

#[test]
fn corrupt_file_in_a_folder_is_reported_and_skipped() {
    let d = TempDir::dataset("auditcorrupt");
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        write_grey(
            &d.path().join("images").join(format!("{name}.png")),
            8,
            8,
            |x, y| (x * 30 + y * (i as u32 + 1) * 7) as u8,
        );
        write_grey(
            &d.path().join("masks").join(format!("{name}.png")),
            8,
            8,
            |x, _| if x < 4 { 255 } else { 0 },
        );
    }
    let bad = d.path().join("images").join("b.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n garbage").unwrap();
    let r = audit(&[d.path().to_path_buf()], &AuditOptions::default());
    assert_eq!(r.samples_analysed, 2);
    let unreadable: Vec<&str> = r
        .errors
        .iter()
        .filter(|e| e.code == "unreadable")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(unreadable.len(), 1);
    assert!(
        unreadable[0].ends_with(&bad.display().to_string()),
        "{}",
        unreadable[0]
    );
    assert_eq!(r.exit_status(), 1);
    assert!(to_text(&r).contains("unreadable: 1"));
    assert_eq!(audit_cli(&[d.path().to_path_buf()], true, 0), 1);
}

#[test]
fn clean_dataset_exits_zero_and_warnings_do_not_count() {
    let d = TempDir::dataset("clean");
    for (i, name) in ["p", "q", "r", "s"].iter().enumerate() {
        let (w, h, px) = brain_slice(6 + 3 * i);
        save_grey(
            &d.path().join("images").join(format!("{name}.png")),
            w,
            h,
            &px,
        );
        if i == 0 {
            write_grey(&d.path().join("masks").join("p.png"), w, h, |_, _| 0); // empty: a warning
        } else {
            save_mask(d.path(), name, w, h);
        }
    }
    let r = audit(&[d.path().to_path_buf()], &AuditOptions::default());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        r.warnings.iter().filter(|w| w.code == "empty_mask").count(),
        1
    );
    assert_eq!(r.exit_status(), 0);
    assert_eq!(audit_cli(&[d.path().to_path_buf()], false, 3), 0);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["samples_analysed"], 4);
}

#[test]
fn unpaired_and_mismatched_pairs_are_errors() {
    let d = TempDir::dataset("unpaired");
    write_grey(&d.path().join("images").join("a.png"), 4, 4, |_, _| 1);
    write_grey(&d.path().join("images").join("lonely.png"), 4, 4, |_, _| 1);
    write_grey(&d.path().join("images").join("big.png"), 8, 8, |_, _| 1);
    write_grey(&d.path().join("masks").join("a.png"), 4, 4, |_, _| 255);
    write_grey(&d.path().join("masks").join("big.png"), 4, 4, |_, _| 255);
    write_grey(
        &d.path().join("masks").join("orphan_mask.png"),
        4,
        4,
        |_, _| 255,
    );
    let r = audit(&[d.path().to_path_buf()], &AuditOptions::default());
    let codes: Vec<&str> = r.errors.iter().map(|e| e.code.as_str()).collect();
    assert!(codes.contains(&"unpaired_image"));
    assert!(codes.contains(&"unpaired_mask"));
    assert!(codes.contains(&"size_mismatch"));
    assert_eq!(r.samples_analysed, 1);
    assert_eq!(r.exit_status(), 1);
}

#[test]
fn leakage_with_and_without_grouping_and_set_statistics() {
    let d = TempDir::dataset("leak");
    // 5 patients × 4 slices; slice 0 of each patient has an empty mask, the others 25 %.
    for p in 0..5 {
        for s in 0..4 {
            let name = format!("TCGA_HT_{:04}_20000101_{s}", 7000 + p);
            write_grey(
                &d.path().join("images").join(format!("{name}.png")),
                8,
                8,
                |x, y| ((x * 31 + y * 17 + p * 50 + s * 13) % 256) as u8,
            );
            write_grey(
                &d.path().join("masks").join(format!("{name}.png")),
                8,
                8,
                |x, y| if s > 0 && x < 4 && y < 4 { 255 } else { 0 },
            );
        }
    }
    let r = audit(
        &[d.path().to_path_buf()],
        &AuditOptions {
            seed: 2,
            ..AuditOptions::default()
        },
    );
    assert_eq!((r.leakage.samples_with_key, r.leakage.groups), (20, 5));
    assert!(r.leakage.image_level.groups_straddling > 0);
    assert_eq!(r.leakage.grouped.groups_straddling, 0);
    assert_eq!(r.leakage.audited.groups_straddling, 0);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.code == "image_level_split_leaks")
    );
    for st in &r.sets {
        let n = st.samples as f64;
        assert_eq!(st.empty_masks * 4, st.samples); // whole patients per set
        assert!((st.foreground_mean - 0.25 * 0.75).abs() < 1e-12);
        assert_eq!((st.foreground_min, st.foreground_max), (0.0, 0.25));
        assert!((st.all_background_accuracy - (1.0 - 0.25 * 0.75)).abs() < 1e-12);
        // The reference ACC scores the empty quarter as 0: 0.75 · 0.75.
        assert!(
            (st.all_background_accuracy_reference_metric - 0.75 * 0.75).abs() < 1e-12,
            "{n}"
        );
        assert_eq!(st.image_sizes.get("8×8"), Some(&st.samples));
    }
    // Auditing an image-level split reports the straddling patients as errors.
    let ungrouped = audit(
        &[d.path().to_path_buf()],
        &AuditOptions {
            seed: 2,
            grouping: Grouping::None,
            ..AuditOptions::default()
        },
    );
    assert!(
        ungrouped
            .errors
            .iter()
            .any(|e| e.code == "group_across_sets")
    );
    assert_eq!(ungrouped.exit_status(), 1);
}

#[test]
fn single_files_are_described() {
    let f = data_dir().join("formats");
    let r = audit(
        &[
            f.join("brain1_label.nii.gz"),
            f.join("CT_small.dcm"),
            f.join("missing.png"),
        ],
        &AuditOptions::default(),
    );
    assert_eq!(r.inputs[0].kind, InputKind::Nifti);
    let labels = r.inputs[0].file.as_ref().unwrap().labels.as_ref().unwrap();
    assert_eq!(labels.voxel_count, 4137);
    assert_eq!(r.inputs[1].kind, InputKind::Dicom);
    assert_eq!(r.inputs[1].modality.as_deref(), Some("CT"));
    assert_eq!(
        r.inputs[1].file.as_ref().unwrap().value_range,
        Some((-896.0, 1167.0))
    );
    assert_eq!(r.inputs[2].kind, InputKind::Unreadable);
    assert_eq!(r.exit_status(), 1);
}
