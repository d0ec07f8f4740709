//! Saving edited masks and their autosaves for [`super::real_backend::RealBackend`].
//!
//! An entry id names its files ([`super::entry_ref::EntryRef`]), so the dataset folder
//! is the parent of the `images/` folder the image sits in (or the image's own folder). Saves follow [`crate::annotate::save_mask`]: 0/255 PNG, atomic,
//! previous versions in `<dataset>/.seglens/backups/`; a NIfTI slice goes into the volume's
//! label volume ([`crate::annotate::nifti_label`]); autosaves go to
//! `<dataset>/.seglens/recovery/`.

use std::path::{Path, PathBuf};

use super::backend::{EntryId, EntryInfo, Mask};
use super::entry_ref::EntryRef;
use crate::annotate::{EditMask, RecoveryStore, SavePlan, nifti_label, save_mask};

/// The image and mask files of an entry (a NIfTI slice's volume, with no mask files).
fn files_of(entry: &EntryInfo) -> Result<(PathBuf, Vec<PathBuf>), String> {
    match EntryRef::parse(&entry.id)? {
        EntryRef::Pair { image, masks } => Ok((image, masks)),
        EntryRef::Image(image) | EntryRef::NiftiSlice { volume: image, .. } => {
            Ok((image, Vec::new()))
        }
        EntryRef::Dicom(_) => {
            Err("edits of DICOM slices cannot be saved: DICOM has no mask file to write".into())
        }
    }
}

/// The dataset folder of an image: the parent of the nearest `images` folder above it,
/// else the image's own folder.
pub fn dataset_root_of(image: &Path) -> PathBuf {
    let parent = image.parent().unwrap_or(Path::new("."));
    parent
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "images"))
        .and_then(Path::parent)
        .unwrap_or(parent)
        .to_path_buf()
}

fn edit_mask(mask: &Mask) -> Result<EditMask, String> {
    EditMask::from_binary(mask.width, mask.height, mask.data.clone()).map_err(|e| e.to_string())
}

/// Saves `mask` as the entry's mask file; returns what happened, in words.
pub fn save(entry: &EntryInfo, mask: &Mask) -> Result<String, String> {
    if let EntryRef::NiftiSlice { volume, k } = EntryRef::parse(&entry.id)? {
        let saved = nifti_label::save_label_slice(&volume, k, &edit_mask(mask)?)?;
        let mut message = format!("saved slice k={k} in {}", saved.written.display());
        if let Some(b) = saved.backup {
            message += &format!(" (previous version kept as {})", b.display());
        }
        return Ok(message);
    }
    let (image, masks) = files_of(entry)?;
    let stem = image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{} has no file name", image.display()))?;
    let plan = SavePlan::for_dataset(&dataset_root_of(&image), &stem, masks);
    let outcome = save_mask(&plan, &edit_mask(mask)?).map_err(|e| e.to_string())?;
    let mut message = format!("saved {}", outcome.written.display());
    if let Some(b) = outcome.backups.first() {
        message += &format!(" (previous version kept as {})", b.backup.display());
    }
    if !outcome.removed.is_empty() {
        message += &format!(
            "; {} superseded mask file(s) moved to the backups",
            outcome.removed.len()
        );
    }
    Ok(message)
}

fn store_of(entry: &EntryInfo) -> Result<RecoveryStore, String> {
    let (image, _) = files_of(entry)?;
    Ok(RecoveryStore::for_dataset(&dataset_root_of(&image)))
}

/// Writes an autosave of unsaved edits.
pub fn autosave(entry: &EntryInfo, mask: &Mask) -> Result<(), String> {
    store_of(entry)?
        .store(&entry.id.0, &edit_mask(mask)?)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Removes an entry's autosave, if any.
pub fn discard(entry: &EntryInfo) -> Result<(), String> {
    store_of(entry)?
        .discard(&entry.id.0)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Autosaves of `entries` left in `dataset` by an earlier session.
pub fn recovered(dataset: &Path, entries: &[EntryInfo]) -> Vec<(EntryId, Mask)> {
    let store = RecoveryStore::for_dataset(dataset);
    if !store.dir().is_dir() {
        return Vec::new();
    }
    entries
        .iter()
        .filter_map(|e| {
            let m = store.load(&e.id.0).ok().flatten()?;
            Some((
                e.id.clone(),
                Mask {
                    width: m.width(),
                    height: m.height(),
                    data: m.data().to_vec(),
                },
            ))
        })
        .collect()
}
