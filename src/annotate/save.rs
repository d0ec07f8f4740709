//! Saving an edited mask without ever losing the previous one.
//!
//! Order of operations, each step only after the previous one succeeded:
//! 1. encode the PNG in memory (nothing on disk touched yet);
//! 2. copy the current version of every file that will be replaced or superseded
//!    into the backup folder, under a name that never overwrites an older backup;
//! 3. write the PNG atomically ([`crate::fsutil::write_atomic`]);
//! 4. remove the superseded files (other mask files of the image, e.g. a `.jpg`).
//!
//! A failure at any step leaves the old mask files in place. JPEG is never
//! written: its compression would turn a binary mask into a grey one.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::mask::EditMask;
use super::timestamp::utc_stamp;

/// Where a mask is saved and what it replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavePlan {
    /// File stem of the image (the new mask is `<stem>.png`).
    pub image_stem: String,
    /// Folder that receives `<stem>.png` when no single existing PNG is reused.
    pub masks_dir: PathBuf,
    /// The mask files currently paired with this image (any extension).
    pub existing_masks: Vec<PathBuf>,
    /// Folder for copies of replaced and superseded files.
    pub backup_dir: PathBuf,
}

/// One file copied before it was replaced or removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    pub original: PathBuf,
    pub backup: PathBuf,
}

/// What a successful save did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SaveOutcome {
    /// The PNG that now holds the mask.
    pub written: PathBuf,
    /// Copies made before anything was replaced or removed.
    pub backups: Vec<Backup>,
    /// Superseded mask files removed after the PNG was written.
    pub removed: Vec<PathBuf>,
    /// Superseded files that could not be removed, with the reason. The save itself
    /// succeeded (and they are backed up); the UI should show these as warnings.
    pub not_removed: Vec<(PathBuf, String)>,
}

/// Why a save failed. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("image stem {stem:?} cannot be used as a mask file name")]
    InvalidStem { stem: String },
    #[error("could not encode the mask for {} as PNG: {source}", path.display())]
    Encode {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error("could not create folder {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not back up {} to {}: {source}", path.display(), backup.display())]
    Backup {
        path: PathBuf,
        backup: PathBuf,
        source: std::io::Error,
    },
    #[error("could not write mask {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SavePlan {
    /// Plan for a mask inside a dataset (`<root>/images`, `<root>/masks`): the new
    /// PNG goes next to the existing masks of the image, else into `<root>/masks`
    /// (or `<root>/masks/0` in the reference layout, where `masks/` itself holds no
    /// images). Backups go to `<root>/.seglens/backups/`.
    pub fn for_dataset(
        dataset_root: &Path,
        image_stem: &str,
        existing_masks: Vec<PathBuf>,
    ) -> Self {
        let masks_dir = existing_masks
            .first()
            .and_then(|p| p.parent())
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| default_masks_dir(dataset_root));
        Self {
            image_stem: image_stem.to_owned(),
            masks_dir,
            existing_masks,
            backup_dir: dataset_root.join(".seglens").join("backups"),
        }
    }

    /// Plan for saving into a chosen output folder as `<out_dir>/<stem>.png`. A file
    /// already there is still backed up (to `<out_dir>/.seglens/backups/`) before it
    /// is replaced.
    pub fn to_folder(out_dir: &Path, image_stem: &str) -> Self {
        Self {
            image_stem: image_stem.to_owned(),
            masks_dir: out_dir.to_path_buf(),
            existing_masks: Vec::new(),
            backup_dir: out_dir.join(".seglens").join("backups"),
        }
    }

    /// The file the mask will be written to: the existing mask when there is
    /// exactly one and it is a PNG (keeping its name), otherwise `<stem>.png` in
    /// the masks folder.
    pub fn target(&self) -> PathBuf {
        match self.existing_masks.as_slice() {
            [only] if is_png(only) => only.clone(),
            _ => self.masks_dir.join(format!("{}.png", self.image_stem)),
        }
    }
}

/// Saves `mask` as planned, stamping backups with the current time.
pub fn save_mask(plan: &SavePlan, mask: &EditMask) -> Result<SaveOutcome, SaveError> {
    save_mask_at(plan, mask, SystemTime::now())
}

/// [`save_mask`] with the time used in backup names given (for tests and for
/// stamping several files of one save alike).
pub fn save_mask_at(
    plan: &SavePlan,
    mask: &EditMask,
    now: SystemTime,
) -> Result<SaveOutcome, SaveError> {
    check_stem(&plan.image_stem)?;
    let target = plan.target();
    let png = mask.to_png_bytes().map_err(|source| SaveError::Encode {
        path: target.clone(),
        source,
    })?;

    // Current versions to keep: every existing mask file, plus the target itself
    // even when the plan did not list it (a save never replaces an unbacked file).
    let mut keep: Vec<PathBuf> = Vec::new();
    for path in plan.existing_masks.iter().chain(std::iter::once(&target)) {
        if path.is_file() && !keep.iter().any(|k| same_file(k, path)) {
            keep.push(path.clone());
        }
    }
    let superseded: Vec<PathBuf> = keep
        .iter()
        .filter(|p| !same_file(p, &target))
        .cloned()
        .collect();

    let stamp = utc_stamp(now);
    let mut backups = Vec::new();
    if !keep.is_empty() {
        create_dir(&plan.backup_dir)?;
    }
    for original in keep {
        let backup = backup_copy(&original, &plan.backup_dir, &stamp)?;
        backups.push(Backup { original, backup });
    }

    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    crate::fsutil::write_atomic(&target, &png).map_err(|source| SaveError::Write {
        path: target.clone(),
        source,
    })?;

    let mut outcome = SaveOutcome {
        written: target,
        backups,
        ..SaveOutcome::default()
    };
    for path in superseded {
        match fs::remove_file(&path) {
            Ok(()) => outcome.removed.push(path),
            Err(e) => outcome.not_removed.push((path, e.to_string())),
        }
    }
    Ok(outcome)
}

/// Copies `original` to `<dir>/<file name>.<stamp>.<n>` with the smallest `n ≥ 1`
/// not yet taken. `create_new` makes "not taken" atomic, so two saves in the same
/// second (or two processes) never overwrite each other's backups.
pub(crate) fn backup_copy(original: &Path, dir: &Path, stamp: &str) -> Result<PathBuf, SaveError> {
    let name = original
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mask".into());
    let bytes = fs::read(original).map_err(|source| SaveError::Backup {
        path: original.to_path_buf(),
        backup: dir.to_path_buf(),
        source,
    })?;
    for n in 1u64.. {
        let candidate = dir.join(format!("{name}.{stamp}.{n}"));
        let fail = |source| SaveError::Backup {
            path: original.to_path_buf(),
            backup: candidate.clone(),
            source,
        };
        let mut file = match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(fail(e)),
        };
        if let Err(e) = file.write_all(&bytes).and_then(|()| file.sync_all()) {
            drop(file);
            let _ = fs::remove_file(&candidate);
            return Err(fail(e));
        }
        return Ok(candidate);
    }
    Err(SaveError::Backup {
        path: original.to_path_buf(),
        backup: dir.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "no free backup name"),
    })
}

fn create_dir(path: &Path) -> Result<(), SaveError> {
    fs::create_dir_all(path).map_err(|source| SaveError::CreateDir {
        path: path.to_path_buf(),
        source,
    })
}

/// The stem becomes a file name, so it must not be empty or leave the folder.
fn check_stem(stem: &str) -> Result<(), SaveError> {
    if stem.is_empty() || stem == "." || stem == ".." || stem.contains(['/', '\\', '\0']) {
        return Err(SaveError::InvalidStem {
            stem: stem.to_owned(),
        });
    }
    Ok(())
}

fn is_png(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
}

/// Same path, or two spellings of one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

/// `<root>/masks`, or `<root>/masks/0` when that exists and `masks/` itself holds
/// no image files (the reference repository's layout, as the pairing code reads it).
fn default_masks_dir(root: &Path) -> PathBuf {
    let masks = root.join("masks");
    let reference = masks.join("0");
    if reference.is_dir() {
        let has_images = fs::read_dir(&masks).map(|entries| {
            entries
                .flatten()
                .any(|e| e.path().is_file() && is_image_file(&e.path()))
        });
        if matches!(has_images, Ok(false)) {
            return reference;
        }
    }
    masks
}

fn is_image_file(path: &Path) -> bool {
    const EXTS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff"];
    path.extension()
        .is_some_and(|e| EXTS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}
