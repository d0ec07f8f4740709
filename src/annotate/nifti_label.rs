//! Mask edits on a NIfTI volume's axial (K) slices, kept in a label volume beside it.
//!
//! The label volume is found by the rule of [`crate::data::volume_pairs`] (the one
//! train and eval pair volumes by). Without one, a save creates `<base>_label` with the
//! image's header.
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
use crate::data::nifti::{WrittenIntent, read_nifti, write_like};
pub use crate::data::volume_pairs::{find_label, label_candidates, label_slice, new_label_path};

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
