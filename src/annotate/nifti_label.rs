//! Mask edits on a NIfTI volume's axial (K) slices, kept in a label volume beside it.
//!
//! The label volume of `<base>[_image|_img].nii[.gz]` is the first that exists of
//! `<base>_label`, `<base>_seg`, `<base>_mask` (same extension, same folder), or the
//! same name in a sibling `masks/` or `labels/` folder when the volume sits in `images/`.
//! Without one, a save creates `<base>_label` with the image's header.
//!
//! A save replaces one slice: voxels of the edited mask keep their label when they had
//! one (a multi-label volume loses no class it still covers) and get 1 otherwise; the
//! others become 0. Before the file is replaced its current version is copied to
//! `<folder>/.seglens/backups/`, then the new volume is written under a temporary name
//! and renamed ([`crate::data::nifti::write_like`]), so a failure leaves the old file.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::mask::EditMask;
use super::save::backup_copy;
use super::timestamp::utc_stamp;
use crate::data::nifti::{Volume, WrittenIntent, is_nifti_path, read_nifti, write_like};
use crate::data::pairing::split_extension;

/// The stem of a NIfTI name and its extension as written (`.nii` or `.nii.gz`, any case).
fn split_name(path: &Path) -> Option<(String, String)> {
    if !is_nifti_path(path) {
        return None;
    }
    let name = path.file_name()?.to_string_lossy().into_owned();
    let (stem, _) = split_extension(&name);
    let ext = name[stem.len()..].to_owned();
    Some((stem, ext))
}

/// The stem without an `_image` / `_img` suffix.
fn base_of(stem: &str) -> &str {
    let lower = stem.to_ascii_lowercase();
    for suffix in ["_image", "_img"] {
        if lower.ends_with(suffix) && stem.len() > suffix.len() {
            return &stem[..stem.len() - suffix.len()];
        }
    }
    stem
}

/// Where a label volume of `image` is looked for, in order.
pub fn label_candidates(image: &Path) -> Vec<PathBuf> {
    let Some((stem, ext)) = split_name(image) else {
        return Vec::new();
    };
    let dir = image.parent().unwrap_or(Path::new("."));
    let base = base_of(&stem);
    let mut out: Vec<PathBuf> = ["_label", "_seg", "_mask"]
        .iter()
        .map(|s| dir.join(format!("{base}{s}{ext}")))
        .collect();
    if dir.file_name().is_some_and(|n| n == "images")
        && let Some(root) = dir.parent()
    {
        let name = image.file_name().unwrap_or_default();
        out.extend(["masks", "labels"].iter().map(|d| root.join(d).join(name)));
    }
    out
}

/// The existing label volume of `image`, if any.
pub fn find_label(image: &Path) -> Option<PathBuf> {
    label_candidates(image).into_iter().find(|p| p.is_file())
}

/// The label volume a first save of `image` creates.
pub fn new_label_path(image: &Path) -> Option<PathBuf> {
    label_candidates(image).into_iter().next()
}

/// Slice `k` of `label` as a 0/1 mask (non-zero voxels are foreground), checked to lie on
/// `image_dims`' grid.
pub fn label_slice(label: &Volume, image_dims: [usize; 3], k: usize) -> Result<Vec<u8>, String> {
    if label.dims != image_dims {
        return Err(format!(
            "the label volume {} is {:?} voxels, its image {:?}: not the same grid",
            label.path.display(),
            label.dims,
            image_dims
        ));
    }
    let plane = label.dims[0] * label.dims[1];
    let values = label
        .values
        .get(k * plane..(k + 1) * plane)
        .ok_or_else(|| format!("slice {k} is outside {}", label.path.display()))?;
    Ok(values.iter().map(|&v| u8::from(v != 0.0)).collect())
}

/// What a save did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelSave {
    /// The label volume written.
    pub written: PathBuf,
    /// The copy of its previous version, when there was one.
    pub backup: Option<PathBuf>,
}

/// Writes `mask` as slice `k` of `image`'s label volume (found, or created).
pub fn save_label_slice(image: &Path, k: usize, mask: &EditMask) -> Result<LabelSave, String> {
    save_label_slice_at(image, k, mask, SystemTime::now())
}

/// [`save_label_slice`] with the backup time given.
pub fn save_label_slice_at(
    image: &Path,
    k: usize,
    mask: &EditMask,
    now: SystemTime,
) -> Result<LabelSave, String> {
    let volume = read_nifti(image).map_err(|e| e.to_string())?;
    let [ni, nj, nk] = volume.dims;
    if k >= nk || (mask.width() as usize, mask.height() as usize) != (ni, nj) {
        return Err(format!(
            "the mask is {}×{} for slice {k}, but {} has {nk} slices of {ni}×{nj}",
            mask.width(),
            mask.height(),
            image.display()
        ));
    }
    let existing = find_label(image);
    let (reference, mut values, target) = match &existing {
        Some(path) => {
            let label = read_nifti(path).map_err(|e| e.to_string())?;
            label_slice(&label, volume.dims, k)?;
            let values = label
                .values
                .iter()
                .map(|&v| {
                    if v.fract() == 0.0 && (0.0..=255.0).contains(&v) {
                        Ok(v as u8)
                    } else {
                        Err(format!(
                            "{} holds the value {v}; only labels 0–255 can be edited here",
                            path.display()
                        ))
                    }
                })
                .collect::<Result<Vec<u8>, String>>()?;
            (path.clone(), values, path.clone())
        }
        None => {
            let target = new_label_path(image)
                .ok_or_else(|| format!("{} is not a NIfTI name", image.display()))?;
            (image.to_path_buf(), vec![0u8; ni * nj * nk], target)
        }
    };
    let plane = &mut values[k * ni * nj..(k + 1) * ni * nj];
    for (v, &m) in plane.iter_mut().zip(mask.data()) {
        *v = match (m != 0, *v) {
            (true, 0) => 1,
            (true, label) => label,
            (false, _) => 0,
        };
    }
    let backup = match &existing {
        Some(path) => {
            let dir = path
                .parent()
                .unwrap_or(Path::new("."))
                .join(".seglens")
                .join("backups");
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            Some(backup_copy(path, &dir, &utc_stamp(now)).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    write_like(
        &reference,
        &target,
        volume.dims,
        &values,
        WrittenIntent::Label,
        "seglens label",
    )
    .map_err(|e| e.to_string())?;
    Ok(LabelSave {
        written: target,
        backup,
    })
}
