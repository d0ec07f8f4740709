//! Autosave of unsaved edits, so a crash or a killed window loses at most the
//! last few seconds of work. Each image's mask is stored as a PNG plus a small
//! JSON sidecar naming the image (its key), written atomically and in that order:
//! the sidecar is the commit marker, so a crash between the two never lists a
//! half-written entry.
//!
//! File names are a readable, sanitised prefix of the key plus a stable 64-bit
//! FNV-1a hash of the full key, so any key (paths, Unicode, slashes) gives a safe,
//! short name; the key in the sidecar is checked on load to rule out collisions.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::mask::EditMask;
use super::timestamp::{unix_seconds, utc_stamp};

const FORMAT: &str = "seglens-recovery/1";
const PREFIX_CHARS: usize = 40;

/// A folder of autosaved masks (convention: `<dataset>/.seglens/recovery/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryStore {
    dir: PathBuf,
}

/// A stored autosave as described by its sidecar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryEntry {
    /// The image key given to [`RecoveryStore::store`].
    pub key: String,
    pub width: u32,
    pub height: u32,
    /// When it was stored, seconds since the Unix epoch.
    pub saved_at_unix_s: u64,
    /// The same time as `yyyymmddThhmmssZ`.
    pub saved_at: String,
    pub png: PathBuf,
    pub sidecar: PathBuf,
}

/// One item of [`RecoveryStore::list`]: a usable entry, or why its files are not
/// usable (so the UI can offer to discard them instead of crashing).
#[derive(Debug)]
pub struct RecoveredEdit {
    pub sidecar: PathBuf,
    pub entry: Result<RecoveryEntry, RecoveryError>,
}

/// Why recovery files could not be written or read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("could not access recovery file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("recovery sidecar {} is not valid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("recovery image {} could not be encoded or decoded: {source}", path.display())]
    Png {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error("recovery file {} is not usable: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

#[derive(Serialize, Deserialize)]
struct Sidecar {
    format: String,
    key: String,
    width: u32,
    height: u32,
    saved_at_unix_s: u64,
    saved_at: String,
}

impl RecoveryStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The store of a dataset: `<root>/.seglens/recovery/`.
    pub fn for_dataset(dataset_root: &Path) -> Self {
        Self::new(dataset_root.join(".seglens").join("recovery"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Autosaves `mask` under `key`, replacing an earlier autosave of the same key.
    pub fn store(&self, key: &str, mask: &EditMask) -> Result<RecoveryEntry, RecoveryError> {
        self.store_at(key, mask, SystemTime::now())
    }

    /// [`RecoveryStore::store`] with the time recorded given.
    pub fn store_at(
        &self,
        key: &str,
        mask: &EditMask,
        now: SystemTime,
    ) -> Result<RecoveryEntry, RecoveryError> {
        let (png, sidecar) = self.paths(key);
        fs::create_dir_all(&self.dir).map_err(|source| RecoveryError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let bytes = mask.to_png_bytes().map_err(|source| RecoveryError::Png {
            path: png.clone(),
            source,
        })?;
        crate::fsutil::write_atomic(&png, &bytes).map_err(|source| RecoveryError::Io {
            path: png.clone(),
            source,
        })?;
        let meta = Sidecar {
            format: FORMAT.into(),
            key: key.into(),
            width: mask.width(),
            height: mask.height(),
            saved_at_unix_s: unix_seconds(now),
            saved_at: utc_stamp(now),
        };
        let json = serde_json::to_vec_pretty(&meta).map_err(|source| RecoveryError::Json {
            path: sidecar.clone(),
            source,
        })?;
        crate::fsutil::write_atomic(&sidecar, &json).map_err(|source| RecoveryError::Io {
            path: sidecar.clone(),
            source,
        })?;
        Ok(entry_from(meta, png, sidecar))
    }

    /// Every autosave in the folder, sorted by file name; an entry whose sidecar
    /// or PNG is missing, corrupt or inconsistent comes back as an error. A
    /// missing folder is an empty list.
    pub fn list(&self) -> Vec<RecoveredEdit> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(source) => {
                let path = self.dir.clone();
                return vec![RecoveredEdit {
                    sidecar: path.clone(),
                    entry: Err(RecoveryError::Io { path, source }),
                }];
            }
        };
        let mut sidecars: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // Hidden names are write_atomic's temporary files.
                !name.starts_with('.') && name.ends_with(".json")
            })
            .collect();
        sidecars.sort();
        sidecars
            .into_iter()
            .map(|sidecar| RecoveredEdit {
                entry: read_entry(&sidecar),
                sidecar,
            })
            .collect()
    }

    /// The autosaved mask of `key`, or `None` when there is none.
    pub fn load(&self, key: &str) -> Result<Option<EditMask>, RecoveryError> {
        let (png, sidecar) = self.paths(key);
        if !sidecar.exists() {
            return Ok(None);
        }
        let entry = read_entry(&sidecar)?;
        if entry.key != key {
            return Ok(None); // a different key with the same hash
        }
        let bytes = fs::read(&png).map_err(|source| RecoveryError::Io {
            path: png.clone(),
            source,
        })?;
        let mask = EditMask::from_image_bytes(&bytes).map_err(|source| RecoveryError::Png {
            path: png.clone(),
            source,
        })?;
        if (mask.width(), mask.height()) != (entry.width, entry.height) {
            return Err(size_mismatch(&png, &entry, mask.width(), mask.height()));
        }
        Ok(Some(mask))
    }

    /// Removes the autosave of `key` (after a save, or when the user declines to
    /// restore it). Returns whether anything was removed.
    pub fn discard(&self, key: &str) -> Result<bool, RecoveryError> {
        let (_, sidecar) = self.paths(key);
        self.discard_files(&sidecar)
    }

    /// Removes a listed entry by its sidecar path, also when it is corrupt and its
    /// key is unknown. The sidecar goes first so a half-removed entry is not listed.
    pub fn discard_files(&self, sidecar: &Path) -> Result<bool, RecoveryError> {
        let png = sidecar.with_extension("png");
        let mut removed = false;
        for path in [sidecar, png.as_path()] {
            match fs::remove_file(path) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(RecoveryError::Io {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
        Ok(removed)
    }

    /// PNG and sidecar paths of `key`.
    fn paths(&self, key: &str) -> (PathBuf, PathBuf) {
        let base = file_base(key);
        (
            self.dir.join(format!("{base}.png")),
            self.dir.join(format!("{base}.json")),
        )
    }
}

/// Reads a sidecar and checks that its PNG exists with the recorded size (header
/// only, so listing stays cheap).
fn read_entry(sidecar: &Path) -> Result<RecoveryEntry, RecoveryError> {
    let bytes = fs::read(sidecar).map_err(|source| RecoveryError::Io {
        path: sidecar.to_path_buf(),
        source,
    })?;
    let meta: Sidecar = serde_json::from_slice(&bytes).map_err(|source| RecoveryError::Json {
        path: sidecar.to_path_buf(),
        source,
    })?;
    if meta.format != FORMAT {
        return Err(RecoveryError::Invalid {
            path: sidecar.to_path_buf(),
            reason: format!("unknown format {:?} (expected {FORMAT:?})", meta.format),
        });
    }
    let png = sidecar.with_extension("png");
    let (w, h) = image::ImageReader::open(&png)
        .and_then(|r| r.with_guessed_format())
        .map_err(|source| RecoveryError::Io {
            path: png.clone(),
            source,
        })?
        .into_dimensions()
        .map_err(|source| RecoveryError::Png {
            path: png.clone(),
            source,
        })?;
    let entry = entry_from(meta, png, sidecar.to_path_buf());
    if (w, h) != (entry.width, entry.height) {
        return Err(size_mismatch(&entry.png, &entry, w, h));
    }
    Ok(entry)
}

fn entry_from(meta: Sidecar, png: PathBuf, sidecar: PathBuf) -> RecoveryEntry {
    RecoveryEntry {
        key: meta.key,
        width: meta.width,
        height: meta.height,
        saved_at_unix_s: meta.saved_at_unix_s,
        saved_at: meta.saved_at,
        png,
        sidecar,
    }
}

fn size_mismatch(png: &Path, entry: &RecoveryEntry, w: u32, h: u32) -> RecoveryError {
    RecoveryError::Invalid {
        path: png.to_path_buf(),
        reason: format!(
            "image is {w}×{h} but its sidecar says {}×{}",
            entry.width, entry.height
        ),
    }
}

/// `<sanitised prefix>-<16 hex digits of FNV-1a(key)>`: ASCII letters, digits,
/// `-`, `_` and `.` only, never starting with a dot, at most 57 characters.
pub(crate) fn file_base(key: &str) -> String {
    let mut prefix: String = key
        .chars()
        .take(PREFIX_CHARS)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if prefix.starts_with('.') {
        prefix.replace_range(0..1, "_");
    }
    format!("{prefix}-{:016x}", fnv1a64(key.as_bytes()))
}

/// FNV-1a, 64 bit: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
