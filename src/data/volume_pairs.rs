//! NIfTI volume pairs: a volume and its label volume, each axial (K) slice one sample,
//! so train, eval, sweep and compare take NIfTI datasets as they take 2D ones.
//!
//! The label volume of `<base>[_image|_img].nii[.gz]` is the first that exists of
//! `<base>_label`, `<base>_seg`, `<base>_mask` (same extension, same folder), or the
//! same name in a sibling `masks/` or `labels/` folder when the volume sits in `images/`.
//! The annotator saves edits to the same file ([`crate::annotate::nifti_label`]).
//!
//! Pairing reads headers only (dimensions); a volume is read when its slices are
//! loaded, once for all of them through a [`VolumeCache`]. The slices of one volume are
//! one patient's: a split keeps them together ([`super::split::make_split`]).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use super::error::{DataError, DataWarning};
use super::mask::Mask;
use super::nifti::{Volume, VoxelAxis, describe, is_nifti_path, read_nifti};
use super::pairing::split_extension;
use super::scalar::{Modality, ScalarSlice};

/// A volume with the label volume on its grid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumePair {
    /// The volume's name without `.nii` / `.nii.gz`.
    pub stem: String,
    /// The image volume.
    pub image: PathBuf,
    /// Its label volume (non-zero voxels are foreground).
    pub label: PathBuf,
    /// Voxels along i, j, k (both files).
    pub dims: [usize; 3],
}

impl VolumePair {
    /// Axial (K) slices, one sample each.
    pub fn slices(&self) -> usize {
        self.dims[2]
    }
}

/// Name endings of label volumes, in the order they are looked for.
const LABEL_SUFFIXES: [&str; 3] = ["_label", "_seg", "_mask"];

/// The sample id of slice `k` of the volume named `stem`.
pub fn slice_id(stem: &str, k: usize) -> String {
    format!("{stem}#k{k}")
}

/// The stem of a NIfTI name and its extension as written (`.nii` or `.nii.gz`, any case).
pub fn split_name(path: &Path) -> Option<(String, String)> {
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

/// Whether `path` is named as a label volume (`…_label`, `…_seg`, `…_mask`).
pub fn is_label_name(path: &Path) -> bool {
    split_name(path).is_some_and(|(stem, _)| {
        let lower = stem.to_ascii_lowercase();
        LABEL_SUFFIXES
            .iter()
            .any(|s| lower.ends_with(s) && lower.len() > s.len())
    })
}

/// Where a label volume of `image` is looked for, in order.
pub fn label_candidates(image: &Path) -> Vec<PathBuf> {
    let Some((stem, ext)) = split_name(image) else {
        return Vec::new();
    };
    let dir = image.parent().unwrap_or(Path::new("."));
    let base = base_of(&stem);
    let mut out: Vec<PathBuf> = LABEL_SUFFIXES
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
    check_grid(&label.path, label.dims, image_dims)?;
    let plane = label.dims[0] * label.dims[1];
    let values = label
        .values
        .get(k * plane..(k + 1) * plane)
        .ok_or_else(|| format!("slice {k} is outside {}", label.path.display()))?;
    Ok(values.iter().map(|&v| u8::from(v != 0.0)).collect())
}

fn check_grid(label: &Path, label_dims: [usize; 3], image_dims: [usize; 3]) -> Result<(), String> {
    if label_dims == image_dims {
        Ok(())
    } else {
        Err(format!(
            "the label volume {} is {label_dims:?} voxels, its image {image_dims:?}: not the same grid",
            label.display()
        ))
    }
}

/// Pairs the volume `image` with its label volume, reading both headers only. The
/// error says what is missing or wrong, naming the files; the warnings say what was
/// chosen or assumed (another label volume left unused, other voxel spacing in the
/// label's header, a 4D image of which only the first volume is read).
pub fn pair_volume(image: &Path) -> Result<(VolumePair, Vec<DataWarning>), String> {
    let mut found = label_candidates(image).into_iter().filter(|p| p.is_file());
    let Some(label) = found.next() else {
        let looked: Vec<String> = label_candidates(image)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        return Err(format!(
            "NIfTI volume without a label volume (looked for {})",
            looked.join(", ")
        ));
    };
    let others: Vec<PathBuf> = found.collect();
    let header = read_header(image)?;
    let label_header =
        read_header(&label).map_err(|e| format!("its label volume {}: {e}", label.display()))?;
    check_grid(&label, label_header.dims, header.dims)?;
    let mut warnings = Vec::new();
    if !others.is_empty() {
        warnings.push(DataWarning::LabelVolumeChosen {
            image: image.to_path_buf(),
            used: label.clone(),
            unused: others,
        });
    }
    if !same_spacing(header.spacing_mm, label_header.spacing_mm) {
        warnings.push(DataWarning::LabelSpacingDiffers {
            label: label.clone(),
            label_mm: label_header.spacing_mm,
            image_mm: header.spacing_mm,
        });
    }
    if header.volumes > 1 {
        warnings.push(DataWarning::FirstOfSeveralVolumes {
            path: image.to_path_buf(),
            volumes: header.volumes,
        });
    }
    let stem = split_name(image).map(|(s, _)| s).unwrap_or_default();
    let pair = VolumePair {
        stem,
        image: image.to_path_buf(),
        label,
        dims: header.dims,
    };
    Ok((pair, warnings))
}

/// Spacings that agree to 0.1% (headers written by different tools round differently).
/// An unknown spacing (0 or not finite) agrees with anything: there is nothing to differ.
fn same_spacing(a: [f32; 3], b: [f32; 3]) -> bool {
    let known = |v: f32| v.is_finite() && v > 0.0;
    a.iter()
        .zip(&b)
        .all(|(&x, &y)| !known(x) || !known(y) || (x - y).abs() <= 1e-3 * x.max(y))
}

/// What pairing needs of a NIfTI header.
struct HeaderFacts {
    /// Voxels along i, j, k.
    dims: [usize; 3],
    /// `pixdim[1..4]`, absolute values, as stored (mm by convention).
    spacing_mm: [f32; 3],
    /// Volumes along the 4th dimension (1 for 3D data).
    volumes: usize,
}

/// The sizes in `path`'s header, checked; the error does not name the file.
fn read_header(path: &Path) -> Result<HeaderFacts, String> {
    let header = nifti::NiftiHeader::from_file(path)
        .map_err(|e| format!("cannot read the NIfTI header ({})", describe(e)))?;
    // dim is stored signed; a value past i16::MAX read unsigned was negative.
    let dim = header.dim;
    let rank = usize::from(dim[0].clamp(1, 7));
    if dim[0] < 1
        || dim[1..=rank.min(3)]
            .iter()
            .any(|&d| d == 0 || d > i16::MAX as u16)
    {
        let shown: Vec<i16> = dim[1..=rank].iter().map(|&d| d as i16).collect();
        return Err(format!(
            "the NIfTI header's dimensions are invalid ({shown:?})"
        ));
    }
    let dims = [1, 2, 3].map(|i| if i <= rank { usize::from(dim[i]) } else { 1 });
    // An uncompressed file must hold the voxels its header promises; reading a
    // truncated one slice by slice would fail once per slice.
    if path
        .to_string_lossy()
        .to_ascii_lowercase()
        .ends_with(".nii")
    {
        let voxels = dims.iter().product::<usize>() as u64;
        let needed = header.vox_offset.max(352.0) as u64
            + voxels * u64::from(header.bitpix.max(0).unsigned_abs()) / 8;
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        if size < needed {
            return Err(format!(
                "the file holds {size} bytes but the header's {dims:?} voxels need {needed}; truncated, or a wrong header"
            ));
        }
    }
    let volumes = if rank >= 4 && dim[4] <= i16::MAX as u16 {
        usize::from(dim[4]).max(1)
    } else {
        1
    };
    Ok(HeaderFacts {
        dims,
        spacing_mm: [1, 2, 3].map(|i| header.pixdim[i].abs()),
        volumes,
    })
}

/// Volumes read recently, so the slices of a volume read its file once. Threads asking
/// for a volume being read wait for that read instead of starting their own.
pub struct VolumeCache {
    slots: Mutex<VecDeque<(PathBuf, Slot)>>,
    capacity: usize,
}

type Slot = Arc<Mutex<Option<Arc<Volume>>>>;

impl VolumeCache {
    /// Keeps up to `capacity` volumes (at least 1), dropping the least recently asked.
    pub fn new(capacity: usize) -> Self {
        Self {
            slots: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
        }
    }

    /// A cache for loading in parallel: two volumes per worker thread.
    pub fn for_threads() -> Self {
        Self::new(2 * rayon::current_num_threads())
    }

    /// The volume at `path`, read now or earlier.
    pub fn get(&self, path: &Path) -> Result<Arc<Volume>, DataError> {
        let slot = {
            let mut slots = lock(&self.slots);
            let slot = match slots.iter().position(|(p, _)| p == path) {
                Some(i) => slots.remove(i).map(|(_, s)| s).unwrap_or_default(),
                None => Slot::default(),
            };
            slots.push_front((path.to_path_buf(), slot.clone()));
            slots.truncate(self.capacity);
            slot
        };
        let mut volume = lock(&slot);
        if let Some(v) = volume.as_ref() {
            return Ok(v.clone());
        }
        let read = Arc::new(read_nifti(path)?);
        *volume = Some(read.clone());
        Ok(read)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Slice `k` of `image` (values as stored and scaled; Hounsfield units for CT) with the
/// same slice of `label` as a 0/1 mask.
pub fn load_slice(
    image: &Path,
    label: &Path,
    k: usize,
    modality: Option<Modality>,
    cache: &VolumeCache,
) -> Result<(ScalarSlice, Mask), DataError> {
    let volume = cache.get(image)?;
    let slice = volume.slice(VoxelAxis::K, k, modality)?;
    let labels = cache.get(label)?;
    let data = label_slice(&labels, volume.dims, k).map_err(|message| DataError::Nifti {
        message,
        path: label.to_path_buf(),
    })?;
    let mask = Mask {
        width: slice.width,
        height: slice.height,
        data,
    };
    Ok((slice, mask))
}
