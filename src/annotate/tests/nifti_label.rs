//! Saving mask edits into the label volume of a NIfTI image, on the real brain volume
//! and its label (tests/data/formats).

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use super::{TempDir, names};
use crate::annotate::EditMask;
use crate::annotate::nifti_label::{
    find_label, label_candidates, label_slice, save_label_slice_at,
};
use crate::data::nifti::{AffineSource, Volume, read_nifti};

fn formats(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/formats")
        .join(name)
}

/// The left half of an `ni × nj` slice.
fn left_half(ni: usize, nj: usize) -> EditMask {
    let data = (0..ni * nj).map(|p| u8::from(p % ni < ni / 2)).collect();
    EditMask::from_binary(ni as u32, nj as u32, data).unwrap()
}

#[test]
fn label_volumes_are_looked_for_beside_and_in_sibling_folders() {
    let found = label_candidates(Path::new("/d/images/x_image.nii.gz"));
    let expected: Vec<PathBuf> = [
        "/d/images/x_label.nii.gz",
        "/d/images/x_seg.nii.gz",
        "/d/images/x_mask.nii.gz",
        "/d/masks/x_image.nii.gz",
        "/d/labels/x_image.nii.gz",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(found, expected);
    assert_eq!(
        label_candidates(Path::new("scan.NII"))[0],
        PathBuf::from("scan_label.NII")
    );
    assert!(label_candidates(Path::new("scan.png")).is_empty());
}

#[test]
fn a_save_replaces_one_slice_keeps_the_rest_and_backs_up_the_old_label() {
    let dir = TempDir::new("nifti-label");
    let image = dir.path().join("brain1_image.nii.gz");
    std::fs::copy(formats("brain1_image.nii.gz"), &image).unwrap();
    std::fs::copy(
        formats("brain1_label.nii.gz"),
        dir.path().join("brain1_label.nii.gz"),
    )
    .unwrap();
    let label_path = find_label(&image).expect("label found beside");
    let old_bytes = std::fs::read(&label_path).unwrap();
    let old = read_nifti(&label_path).unwrap();
    let [ni, nj, nk] = old.dims;
    let plane = ni * nj;
    // The slice with the most labelled voxels, so the edit meets labels and background.
    let k = (0..nk)
        .max_by_key(|&k| {
            old.values[k * plane..(k + 1) * plane]
                .iter()
                .filter(|&&v| v != 0.0)
                .count()
        })
        .unwrap();
    assert!(
        old.values[k * plane..(k + 1) * plane]
            .iter()
            .any(|&v| v != 0.0),
        "the fixture has labels"
    );

    let saved = save_label_slice_at(
        &image,
        k,
        &left_half(ni, nj),
        UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    )
    .expect("saved");
    assert_eq!(saved.written, label_path);
    let backup = saved.backup.expect("old label backed up");
    assert_eq!(
        std::fs::read(&backup).unwrap(),
        old_bytes,
        "the backup is the old file, byte for byte"
    );
    assert_eq!(names(&dir.path().join(".seglens/backups")).len(), 1);

    let new = read_nifti(&label_path).unwrap();
    assert_eq!(
        (new.dims, new.affine, new.spacing_mm),
        (old.dims, old.affine, old.spacing_mm),
        "same grid"
    );
    for (p, (&n, &o)) in new.values.iter().zip(&old.values).enumerate() {
        let expected = if p / plane != k {
            o
        } else if p % ni < ni / 2 {
            if o != 0.0 { o } else { 1.0 }
        } else {
            0.0
        };
        assert_eq!(n, expected, "voxel {p} (slice {})", p / plane);
    }
    assert!(
        names(dir.path()).iter().all(|n| !n.contains("partial")),
        "no temporary file left"
    );
}

#[test]
fn a_first_save_creates_the_label_volume_on_the_image_grid() {
    let dir = TempDir::new("nifti-new-label");
    std::fs::create_dir_all(dir.path().join("images")).unwrap();
    let image = dir.path().join("images/brain1_image.nii.gz");
    std::fs::copy(formats("brain1_image.nii.gz"), &image).unwrap();
    assert_eq!(find_label(&image), None);
    let volume = read_nifti(&image).unwrap();
    let [ni, nj, _] = volume.dims;
    let saved = save_label_slice_at(&image, 3, &left_half(ni, nj), UNIX_EPOCH).expect("saved");
    assert_eq!(saved.written, dir.path().join("images/brain1_label.nii.gz"));
    assert_eq!(saved.backup, None);
    let label = read_nifti(&saved.written).unwrap();
    assert_eq!(
        (label.dims, label.affine, label.datatype.as_str()),
        (volume.dims, volume.affine, "Uint8")
    );
    let slice = label_slice(&label, volume.dims, 3).unwrap();
    assert_eq!(slice, left_half(ni, nj).data());
    assert_eq!(
        label.values.iter().filter(|&&v| v != 0.0).count(),
        (ni / 2) * nj,
        "only slice 3 is labelled"
    );
}

#[test]
fn masks_and_labels_off_the_grid_are_refused_with_the_files_named() {
    let dir = TempDir::new("nifti-bad");
    let image = dir.path().join("brain1_image.nii.gz");
    std::fs::copy(formats("brain1_image.nii.gz"), &image).unwrap();
    let wrong = EditMask::from_binary(4, 4, vec![0; 16]).unwrap();
    let err = save_label_slice_at(&image, 0, &wrong, UNIX_EPOCH).unwrap_err();
    assert!(
        err.contains("the mask is 4×4") && err.contains("brain1_image.nii.gz"),
        "{err}"
    );
    assert_eq!(
        names(dir.path()),
        ["brain1_image.nii.gz"],
        "nothing written"
    );

    let small = Volume {
        path: PathBuf::from("other_label.nii"),
        dims: [2, 2, 1],
        spacing_mm: [1.0; 3],
        values: vec![0.0; 4],
        datatype: "Uint8".into(),
        affine: [
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
        ],
        affine_source: AffineSource::Sform,
        timepoints: 1,
    };
    let err = label_slice(&small, [3, 3, 1], 0).unwrap_err();
    assert!(
        err.contains("other_label.nii") && err.contains("not the same grid"),
        "{err}"
    );
}
