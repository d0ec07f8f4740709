use std::fs;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use super::{TempDir, names};
use crate::annotate::{EditMask, SaveError, SavePlan, save_mask, save_mask_at};

/// 2024-01-02 03:04:05 UTC.
fn t0() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_164_645)
}
const STAMP: &str = "20240102T030405Z";

fn dataset(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    fs::create_dir_all(dir.path().join("images")).unwrap();
    fs::create_dir_all(dir.path().join("masks")).unwrap();
    dir
}

fn sample_mask() -> EditMask {
    EditMask::from_binary(3, 2, vec![0, 1, 1, 0, 0, 1]).unwrap()
}

fn read_mask(path: &Path) -> EditMask {
    EditMask::from_image_bytes(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn creates_a_new_mask() {
    let ds = dataset("save-new");
    let plan = SavePlan::for_dataset(ds.path(), "case1", vec![]);
    let out = save_mask(&plan, &sample_mask()).unwrap();
    assert_eq!(out.written, ds.path().join("masks/case1.png"));
    assert!(out.backups.is_empty() && out.removed.is_empty());
    assert_eq!(read_mask(&out.written), sample_mask());
    assert!(!ds.path().join(".seglens").exists()); // nothing to back up
    assert_eq!(names(&ds.path().join("masks")), ["case1.png"]);
}

#[test]
fn reference_layout_uses_masks_0() {
    let ds = dataset("save-ref");
    fs::create_dir_all(ds.path().join("masks/0")).unwrap();
    let plan = SavePlan::for_dataset(ds.path(), "case1", vec![]);
    assert_eq!(plan.target(), ds.path().join("masks/0/case1.png"));
}

#[test]
fn replaces_an_existing_png_after_backing_it_up() {
    let ds = dataset("save-replace");
    let old = ds.path().join("masks/case1_mask.png");
    let old_bytes = EditMask::empty(3, 2).to_png_bytes().unwrap();
    fs::write(&old, &old_bytes).unwrap();
    let plan = SavePlan::for_dataset(ds.path(), "case1", vec![old.clone()]);
    let out = save_mask_at(&plan, &sample_mask(), t0()).unwrap();
    assert_eq!(out.written, old); // the single existing PNG keeps its name
    assert_eq!(out.backups.len(), 1);
    let backup = &out.backups[0].backup;
    assert_eq!(
        *backup,
        ds.path()
            .join(format!(".seglens/backups/case1_mask.png.{STAMP}.1"))
    );
    assert_eq!(fs::read(backup).unwrap(), old_bytes);
    assert!(out.removed.is_empty());
    assert_eq!(read_mask(&old), sample_mask());
}

#[test]
fn jpg_is_superseded_by_png() {
    let ds = dataset("save-jpg");
    let jpg = ds.path().join("masks/case1.jpg");
    fs::write(&jpg, b"jpeg bytes").unwrap();
    let plan = SavePlan::for_dataset(ds.path(), "case1", vec![jpg.clone()]);
    let out = save_mask_at(&plan, &sample_mask(), t0()).unwrap();
    assert_eq!(out.written, ds.path().join("masks/case1.png"));
    assert_eq!(out.removed, std::slice::from_ref(&jpg));
    assert_eq!(out.backups.len(), 1);
    assert_eq!(out.backups[0].original, jpg);
    assert_eq!(fs::read(&out.backups[0].backup).unwrap(), b"jpeg bytes");
    assert_eq!(names(&ds.path().join("masks")), ["case1.png"]);
}

#[test]
fn several_masks_are_merged_and_superseded() {
    let ds = dataset("save-several");
    let masks = ds.path().join("masks");
    let a = EditMask::from_binary(3, 2, vec![1, 0, 0, 0, 0, 0]).unwrap();
    let b = EditMask::from_binary(3, 2, vec![0, 0, 0, 0, 0, 1]).unwrap();
    let files = [
        masks.join("case1.png"),
        masks.join("case1_a.png"),
        masks.join("case1.jpg"),
    ];
    fs::write(&files[0], a.to_png_bytes().unwrap()).unwrap();
    fs::write(&files[1], b.to_png_bytes().unwrap()).unwrap();
    fs::write(&files[2], b"jpeg").unwrap();
    let merged = a.union(&b).unwrap();
    let plan = SavePlan::for_dataset(ds.path(), "case1", files.to_vec());
    let out = save_mask_at(&plan, &merged, t0()).unwrap();
    assert_eq!(out.written, files[0]); // <stem>.png, listed, so replaced
    assert_eq!(out.backups.len(), 3);
    assert_eq!(out.removed, [files[1].clone(), files[2].clone()]);
    assert_eq!(names(&masks), ["case1.png"]);
    assert_eq!(read_mask(&files[0]).data(), &[1, 0, 0, 0, 0, 1]);
    assert_eq!(
        names(&ds.path().join(".seglens/backups")),
        [
            format!("case1.jpg.{STAMP}.1"),
            format!("case1.png.{STAMP}.1"),
            format!("case1_a.png.{STAMP}.1")
        ]
    );
}

#[test]
fn failed_write_keeps_old_files_and_removes_nothing() {
    let ds = dataset("save-fail");
    let masks = ds.path().join("masks");
    let jpg = masks.join("case1.jpg");
    fs::write(&jpg, b"old jpeg").unwrap();
    fs::create_dir(masks.join("case1.png")).unwrap(); // the target is a directory
    let plan = SavePlan::for_dataset(ds.path(), "case1", vec![jpg.clone()]);
    let err = save_mask_at(&plan, &sample_mask(), t0()).unwrap_err();
    match &err {
        SaveError::Write { path, .. } => assert_eq!(*path, masks.join("case1.png")),
        other => panic!("expected a write error, got {other:?}"),
    }
    assert!(err.to_string().contains("case1.png"));
    assert_eq!(fs::read(&jpg).unwrap(), b"old jpeg");
    assert!(masks.join("case1.png").is_dir());
    assert_eq!(names(&masks), ["case1.jpg", "case1.png"]); // no temporary file left
}

#[test]
fn two_saves_in_one_second_keep_two_backups() {
    let ds = dataset("save-twice");
    let target = ds.path().join("masks/case1.png");
    let v0 = EditMask::empty(3, 2).to_png_bytes().unwrap();
    fs::write(&target, &v0).unwrap();
    let plan = SavePlan::for_dataset(ds.path(), "case1", vec![target.clone()]);
    let first = save_mask_at(&plan, &sample_mask(), t0()).unwrap();
    let v1 = fs::read(&target).unwrap();
    let second = save_mask_at(
        &plan,
        &EditMask::from_binary(3, 2, vec![1; 6]).unwrap(),
        t0(),
    )
    .unwrap();
    let b1 = &first.backups[0].backup;
    let b2 = &second.backups[0].backup;
    assert_eq!(
        b1.file_name().unwrap().to_string_lossy(),
        format!("case1.png.{STAMP}.1")
    );
    assert_eq!(
        b2.file_name().unwrap().to_string_lossy(),
        format!("case1.png.{STAMP}.2")
    );
    assert_eq!(fs::read(b1).unwrap(), v0);
    assert_eq!(fs::read(b2).unwrap(), v1);
}

#[test]
fn backup_names_use_the_real_clock_format() {
    let ds = dataset("save-clock");
    let target = ds.path().join("masks/case1.png");
    fs::write(&target, b"old").unwrap();
    let plan = SavePlan::for_dataset(ds.path(), "case1", vec![target]);
    let out = save_mask(&plan, &sample_mask()).unwrap();
    let name = out.backups[0]
        .backup
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // case1.png.yyyymmddThhmmssZ.1
    let stamp = name
        .strip_prefix("case1.png.")
        .unwrap()
        .strip_suffix(".1")
        .unwrap();
    assert_eq!(stamp.len(), 16);
    assert_eq!((&stamp[8..9], &stamp[15..]), ("T", "Z"));
    assert!(
        stamp[..8]
            .bytes()
            .chain(stamp[9..15].bytes())
            .all(|b| b.is_ascii_digit())
    );
}

#[test]
fn to_folder_backs_up_an_unlisted_file_it_replaces() {
    let out_dir = TempDir::new("save-folder");
    let target = out_dir.path().join("case1.png");
    fs::write(&target, b"previous export").unwrap();
    let plan = SavePlan::to_folder(out_dir.path(), "case1");
    let out = save_mask_at(&plan, &sample_mask(), t0()).unwrap();
    assert_eq!(out.written, target);
    assert_eq!(out.backups.len(), 1);
    assert!(
        out.backups[0]
            .backup
            .starts_with(out_dir.path().join(".seglens/backups"))
    );
    assert_eq!(
        fs::read(&out.backups[0].backup).unwrap(),
        b"previous export"
    );
    assert!(out.removed.is_empty());
}

#[test]
fn stems_that_leave_the_folder_are_refused() {
    let dir = TempDir::new("save-stem");
    for stem in ["", "..", "../evil", "a/b"] {
        let plan = SavePlan::to_folder(dir.path(), stem);
        assert!(
            matches!(
                save_mask(&plan, &sample_mask()),
                Err(SaveError::InvalidStem { .. })
            ),
            "{stem:?}"
        );
    }
    assert!(names(dir.path()).is_empty());
}
