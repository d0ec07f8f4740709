//! Pair images with masks by name: `NAME/images/*` with `NAME/masks/*`.
//!
//! Matching is by file stem, case-insensitively, tolerant of different extensions
//! (`a.jpg` ↔ `a.png`) and of mask suffixes (`a_mask.png`, `a-seg.tif`, `a_gt_1.png`),
//! never by sorted position. Listing only reads directory entries: nothing is opened or
//! decoded, so a 1,000-image folder lists in milliseconds.
//!
//! Depends on nothing but `std` and `regex`; decoding lives in [`super::image_io`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::error::{DataError, DataWarning};
use super::nifti::is_nifti_path;
use super::volume_pairs::{VolumePair, find_label, is_label_name, pair_volume};

/// Extensions of 2D raster files that are paired (lower case).
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "bmp", "tif", "tiff"];

/// Extensions of volume formats that have their own loaders and are not paired as 2D images.
pub const VOLUME_EXTENSIONS: &[&str] = &["dcm", "nii", "nii.gz", "nrrd", "mha", "mhd"];

/// Mask name suffixes removed before matching (case-insensitive), each optionally preceded
/// by `_`, `-`, `.` or a space and optionally followed by a number (`_mask_1`).
pub const MASK_SUFFIXES: &[&str] = &[
    "mask",
    "masks",
    "seg",
    "segmentation",
    "label",
    "labels",
    "labelmap",
    "gt",
    "groundtruth",
    "annotation",
    "anno",
];

/// Image name suffixes removed as a second matching attempt (`a_image.png` ↔ `a_mask.png`).
pub const IMAGE_SUFFIXES: &[&str] = &["image", "img", "orig", "raw"];

static MASK_SUFFIX_RE: LazyLock<Regex> = LazyLock::new(|| suffix_regex(MASK_SUFFIXES));
static IMAGE_SUFFIX_RE: LazyLock<Regex> = LazyLock::new(|| suffix_regex(IMAGE_SUFFIXES));

fn suffix_regex(words: &[&str]) -> Regex {
    let alternatives = words.join("|");
    // The words are fixed ASCII literals, so this pattern always compiles.
    Regex::new(&format!(
        r"(?i)[ _.\-]?(?:{alternatives})(?:[ _\-]?\d{{1,4}})?$"
    ))
    .expect("fixed suffix pattern")
}

/// One image with the mask file(s) that matched it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// The image's file name without extension, as on disk (matching ignores case).
    pub stem: String,
    /// The image file.
    pub image: PathBuf,
    /// The mask files (one usually; several are united when loaded, with a warning).
    pub masks: Vec<PathBuf>,
}

/// A file that was listed but not paired, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredFile {
    /// The file or folder.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
}

/// The outcome of pairing one dataset folder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PairingReport {
    /// The images folder that was listed.
    pub images_dir: PathBuf,
    /// The masks folder that was listed.
    pub masks_dir: PathBuf,
    /// Matched pairs, sorted by stem.
    pub pairs: Vec<Pair>,
    /// Images for which no mask was found.
    pub images_without_mask: Vec<PathBuf>,
    /// Masks for which no image was found.
    pub masks_without_image: Vec<PathBuf>,
    /// Image stems with more than one mask (kept in `pairs` when uniting is on).
    pub several_masks: Vec<String>,
    /// Image files that share one stem (`a.png` and `a.jpg`): only the first is paired,
    /// the others are listed here and left out.
    pub ambiguous_images: Vec<Vec<PathBuf>>,
    /// NIfTI volumes in the images folder paired with their label volumes
    /// ([`super::volume_pairs`]); each axial slice is a sample.
    #[serde(default)]
    pub volume_pairs: Vec<VolumePair>,
    /// NIfTI volumes in the images folder that could not be paired (no label volume,
    /// one on another grid, an unreadable header), with the reason.
    #[serde(default)]
    pub unpaired_volumes: Vec<IgnoredFile>,
    /// Files that are not 2D images (text, hidden files, folders, DICOM volumes, NIfTI
    /// volumes without a usable label volume, with the reason).
    pub ignored: Vec<IgnoredFile>,
    /// Warnings (several masks united; for volumes, what was chosen or assumed).
    pub warnings: Vec<DataWarning>,
}

impl PairingReport {
    /// Axial slices of the paired volumes (each a sample).
    pub fn volume_slices(&self) -> usize {
        self.volume_pairs.iter().map(VolumePair::slices).sum()
    }

    /// True when every image has exactly one mask and every mask an image.
    pub fn is_clean(&self) -> bool {
        self.images_without_mask.is_empty()
            && self.masks_without_image.is_empty()
            && self.several_masks.is_empty()
            && self.ambiguous_images.is_empty()
    }
}

/// How to pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingOptions {
    /// Unite several masks of one image (default). When off, such images are left out of
    /// `pairs` and only listed in `several_masks`.
    pub unite_several_masks: bool,
}

impl Default for PairingOptions {
    fn default() -> Self {
        Self {
            unite_several_masks: true,
        }
    }
}

/// Lists `root/images` and `root/masks` and pairs them with default options.
///
/// A `masks/0/` subfolder (the reference repository's layout) is used when `masks/`
/// itself holds no image files.
pub fn pair_dataset(root: &Path) -> Result<PairingReport, DataError> {
    pair_dataset_with(root, &PairingOptions::default())
}

/// Like [`pair_dataset`], with options.
pub fn pair_dataset_with(
    root: &Path,
    options: &PairingOptions,
) -> Result<PairingReport, DataError> {
    let images_dir = root.join("images");
    // Label volumes may sit in labels/ (a common NIfTI layout) or beside their volumes in
    // images/, so only 2D sets need masks/.
    let mask_folder = ["masks", "labels"]
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.is_dir());
    let holds_volumes = || {
        list_dir(&images_dir).is_ok_and(|entries| entries.iter().any(|e| is_nifti_path(&e.path)))
    };
    let masks_dir = match mask_folder {
        Some(dir) if images_dir.is_dir() => Some(dir),
        None if images_dir.is_dir() && holds_volumes() => Some(root.join("masks")),
        _ => None,
    };
    let Some(mut masks_dir) = masks_dir else {
        return Err(DataError::NotADataset {
            reason: "expected subfolders images/ and masks/ (for NIfTI volumes: labels/, or label volumes beside them in images/)".into(),
            path: root.to_path_buf(),
        });
    };
    let reference_layout = masks_dir.join("0");
    if reference_layout.is_dir()
        && !list_dir(&masks_dir)?
            .iter()
            .any(|e| e.kind == EntryKind::Image)
    {
        masks_dir = reference_layout;
    }
    pair_folders(&images_dir, &masks_dir, options)
}

/// Pairs the files of `images_dir` with those of `masks_dir` (non-recursive).
pub fn pair_folders(
    images_dir: &Path,
    masks_dir: &Path,
    options: &PairingOptions,
) -> Result<PairingReport, DataError> {
    let mut report = PairingReport {
        images_dir: images_dir.to_path_buf(),
        masks_dir: masks_dir.to_path_buf(),
        ..PairingReport::default()
    };

    // Images by key; the first (sorted) file of each key is the one paired.
    let mut images: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in list_dir(images_dir)? {
        match entry.kind {
            EntryKind::Image => images
                .entry(entry.stem.to_lowercase())
                .or_default()
                .push(entry.path),
            EntryKind::Ignored(_) if is_nifti_path(&entry.path) && !is_label_name(&entry.path) => {
                match pair_volume(&entry.path) {
                    Ok((pair, warnings)) => {
                        report.volume_pairs.push(pair);
                        report.warnings.extend(warnings);
                    }
                    Err(reason) => report.unpaired_volumes.push(IgnoredFile {
                        path: entry.path,
                        reason,
                    }),
                }
            }
            EntryKind::Ignored(reason) => report.ignored.push(IgnoredFile {
                path: entry.path,
                reason,
            }),
        }
    }
    for (_, paths) in images.iter_mut().filter(|(_, p)| p.len() > 1) {
        paths.sort();
        report.ambiguous_images.push(paths.clone());
    }
    // Second-chance keys: image stems with an image suffix removed.
    let mut alt_keys: BTreeMap<String, String> = BTreeMap::new();
    for key in images.keys() {
        let stripped = IMAGE_SUFFIX_RE.replace(key, "").into_owned();
        if !stripped.is_empty() && stripped != *key && !images.contains_key(&stripped) {
            alt_keys.entry(stripped).or_insert_with(|| key.clone());
        }
    }

    let mut masks_of: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    // Absent only for volume sets whose labels sit beside the volumes.
    let mask_entries = if masks_dir.is_dir() {
        list_dir(masks_dir)?
    } else {
        Vec::new()
    };
    for entry in mask_entries {
        let EntryKind::Image = entry.kind else {
            if let EntryKind::Ignored(reason) = entry.kind {
                report.ignored.push(IgnoredFile {
                    path: entry.path,
                    reason,
                });
            }
            continue;
        };
        match match_mask(&entry.stem, &images, &alt_keys) {
            Some(key) => masks_of.entry(key).or_default().push(entry.path),
            None => report.masks_without_image.push(entry.path),
        }
    }

    for (key, paths) in &images {
        let image = paths[0].clone();
        let name = image
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = split_extension(&name).0;
        let Some(mut masks) = masks_of.remove(key) else {
            report.images_without_mask.push(image);
            continue;
        };
        masks.sort();
        if masks.len() > 1 {
            report.several_masks.push(stem.clone());
            if !options.unite_several_masks {
                continue;
            }
            report.warnings.push(DataWarning::MasksUnited {
                image: image.clone(),
                masks: masks.clone(),
            });
        }
        report.pairs.push(Pair { stem, image, masks });
    }
    // Label volumes that were paired are used, not ignored; those of volumes that could
    // not be paired say so.
    let labels: Vec<&PathBuf> = report.volume_pairs.iter().map(|v| &v.label).collect();
    let used = |p: &PathBuf| labels.iter().any(|l| same_file(l, p));
    report.ignored.retain(|f| !used(&f.path));
    // Label volumes left unused because another one was found first.
    for w in &report.warnings {
        if let DataWarning::LabelVolumeChosen {
            image,
            used,
            unused,
        } = w
        {
            for f in report
                .ignored
                .iter_mut()
                .filter(|f| unused.iter().any(|u| same_file(u, &f.path)))
            {
                f.reason = format!(
                    "another label volume of {}, not used: {} is",
                    image.display(),
                    used.display()
                );
            }
        }
    }
    for volume in &report.unpaired_volumes {
        if let Some(label) = find_label(&volume.path) {
            for f in report
                .ignored
                .iter_mut()
                .filter(|f| same_file(&f.path, &label))
            {
                f.reason = format!(
                    "label volume of {}, which could not be paired (see there)",
                    volume.path.display()
                );
            }
        }
    }
    report.masks_without_image.sort();
    report.ignored.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The image key a mask stem belongs to: the exact stem first, then the stem with a mask
/// suffix removed, each looked up among image stems and then among suffix-stripped ones.
fn match_mask(
    stem: &str,
    images: &BTreeMap<String, Vec<PathBuf>>,
    alt_keys: &BTreeMap<String, String>,
) -> Option<String> {
    let exact = stem.to_lowercase();
    let stripped = MASK_SUFFIX_RE.replace(&exact, "").into_owned();
    for candidate in [&exact, &stripped] {
        if candidate.is_empty() {
            continue;
        }
        if images.contains_key(candidate) {
            return Some(candidate.clone());
        }
        if let Some(key) = alt_keys.get(candidate) {
            return Some(key.clone());
        }
    }
    None
}

/// The key a mask file name is matched by (lower-case stem without mask suffix).
pub fn mask_key(file_name: &str) -> String {
    let (stem, _) = split_extension(file_name);
    MASK_SUFFIX_RE
        .replace(&stem.to_lowercase(), "")
        .into_owned()
}

/// Splits a file name into stem and lower-case extension, treating `.nii.gz` as one
/// extension. A name without a dot has an empty extension.
pub fn split_extension(file_name: &str) -> (String, String) {
    let lower = file_name.to_lowercase();
    if lower.ends_with(".nii.gz") {
        return (
            file_name[..file_name.len() - 7].to_string(),
            "nii.gz".into(),
        );
    }
    match file_name.rfind('.') {
        Some(dot) if dot > 0 => (file_name[..dot].to_string(), lower[dot + 1..].to_string()),
        _ => (file_name.to_string(), String::new()),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum EntryKind {
    Image,
    Ignored(String),
}

struct Entry {
    path: PathBuf,
    stem: String,
    kind: EntryKind,
}

/// Lists one folder, sorting entries by path; uses only the directory entries' names and
/// types (no `stat` per file on most platforms).
fn list_dir(dir: &Path) -> Result<Vec<Entry>, DataError> {
    let reader = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut entries = Vec::new();
    for item in reader {
        let item = item.map_err(|e| DataError::io(dir, e))?;
        let path = item.path();
        let name = item.file_name().to_string_lossy().into_owned();
        let is_dir = item.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let (stem, ext) = split_extension(&name);
        let kind = if is_dir {
            EntryKind::Ignored("folder (not listed recursively)".into())
        } else if name.starts_with('.') {
            EntryKind::Ignored("hidden file".into())
        } else if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
            EntryKind::Image
        } else if VOLUME_EXTENSIONS.contains(&ext.as_str()) {
            EntryKind::Ignored(format!(
                "volume file (.{ext}): open it with the DICOM/NIfTI loaders"
            ))
        } else if ext.is_empty() {
            EntryKind::Ignored("no file extension".into())
        } else {
            EntryKind::Ignored(format!("not a 2D image (.{ext})"))
        };
        entries.push(Entry { path, stem, kind });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_stripped_case_insensitively() {
        assert_eq!(mask_key("Case1_MASK.png"), "case1");
        assert_eq!(mask_key("case1-seg.tif"), "case1");
        assert_eq!(mask_key("benign (3)_mask_1.png"), "benign (3)");
        assert_eq!(mask_key("x_gt.bmp"), "x");
        assert_eq!(mask_key("ID_0000_Z_0142.png"), "id_0000_z_0142");
        // A number alone is not a suffix.
        assert_eq!(
            mask_key("TCGA_DU_5849_19950405_13.png"),
            "tcga_du_5849_19950405_13"
        );
    }

    #[test]
    fn nii_gz_is_one_extension() {
        assert_eq!(
            split_extension("brain.nii.gz"),
            ("brain".into(), "nii.gz".into())
        );
        assert_eq!(split_extension("a.b.PNG"), ("a.b".into(), "png".into()));
        assert_eq!(split_extension("README"), ("README".into(), String::new()));
    }
}
