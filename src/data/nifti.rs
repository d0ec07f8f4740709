//! NIfTI-1 volumes (`.nii`, `.nii.gz`): image and label volumes, browsed as 2D slices
//! along a chosen voxel axis, with the voxel → world affine from the header.
//!
//! World coordinates are **RAS+ millimetres** (x grows towards the patient's Right,
//! y towards Anterior, z towards Superior), as the NIfTI-1 standard defines for both
//! sform and qform; DICOM's LPS+ is `(−x, −y, z)` of it ([`ras_to_lps`]). The affine is
//! taken from the sform when `sform_code > 0`, else from the qform when `qform_code > 0`
//! (quaternion, qfac = `pixdim[0]`), else from `pixdim` alone (ANALYZE "method 1", no
//! orientation; reported as [`AffineSource::PixdimOnly`]).
//!
//! Values are scaled by `scl_slope`/`scl_inter` when the slope is finite and non-zero
//! (NaN or 0 means "no scaling", as in the standard). 4D files: the first volume is used.

use std::path::{Path, PathBuf};

use nifti::{
    Endianness, NiftiHeader, NiftiObject as _, NiftiType, NiftiVolume as _, ReaderOptions,
};
use serde::{Deserialize, Serialize};

use super::error::DataError;
use super::scalar::{Intensity, Modality, ScalarSlice, usable_spacing};

/// Where the voxel → world affine came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AffineSource {
    /// `srow_x/y/z` (sform_code > 0).
    Sform,
    /// Quaternion + offsets (qform_code > 0, sform_code = 0).
    Qform,
    /// Neither code set: diagonal spacing, no orientation or origin.
    PixdimOnly,
}

/// A voxel axis of the stored array (i fastest, then j, then k).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoxelAxis {
    /// First array axis.
    I,
    /// Second array axis.
    J,
    /// Third array axis (the slice axis of most axial acquisitions).
    K,
}

impl VoxelAxis {
    fn index(self) -> usize {
        match self {
            Self::I => 0,
            Self::J => 1,
            Self::K => 2,
        }
    }
}

/// A 3D volume with its geometry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// The file.
    pub path: PathBuf,
    /// Voxels along i, j, k.
    pub dims: [usize; 3],
    /// Voxel size in mm along i, j, k (`pixdim[1..4]`, absolute values).
    pub spacing_mm: [f64; 3],
    /// Values (scaled), i fastest: index = i + j·ni + k·ni·nj.
    pub values: Vec<f32>,
    /// The stored NIfTI datatype, e.g. "Int16".
    pub datatype: String,
    /// Voxel (i, j, k) → RAS mm: rows of a 3×4 matrix.
    pub affine: [[f64; 4]; 3],
    /// Where the affine came from.
    pub affine_source: AffineSource,
    /// Number of volumes in the file (4th dimension); only the first is loaded.
    pub timepoints: usize,
}

/// Whether `path` is named as a NIfTI-1 file (`.nii` or `.nii.gz`, any case).
pub fn is_nifti_path(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".nii") || name.ends_with(".nii.gz")
}

/// Reads a `.nii` or `.nii.gz` file (gzip is detected from the `.gz` name).
pub fn read_nifti(path: &Path) -> Result<Volume, DataError> {
    let err = |message: String| DataError::Nifti {
        message,
        path: path.to_path_buf(),
    };
    let len = std::fs::metadata(path)
        .map_err(|e| DataError::io(path, e))?
        .len();
    if len == 0 {
        return Err(DataError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    check_compression(path).map_err(err)?;
    let object = ReaderOptions::new()
        .read_file(path)
        .map_err(|e| err(describe(e)))?;
    let header = object.header().clone();
    let volume = object.into_volume();
    let dim = volume.dim().to_vec();
    if dim.is_empty() || dim.len() > 4 && dim[4..].iter().any(|&d| d > 1) {
        return Err(err(format!(
            "{}-dimensional data; only 2D, 3D and 4D volumes are read",
            dim.len()
        )));
    }
    let d = |i: usize| dim.get(i).map_or(1, |&v| usize::from(v.max(1)));
    let dims = [d(0), d(1), d(2)];
    let timepoints = d(3);
    let datatype = volume.data_type();
    let count = dims[0] * dims[1] * dims[2];
    let raw = volume.raw_data();
    let mut values = decode_samples(raw, datatype, header.endianness, count).map_err(err)?;
    let (slope, inter) = (header.scl_slope, header.scl_inter);
    if slope.is_finite() && slope != 0.0 {
        let inter = if inter.is_finite() { inter } else { 0.0 };
        for v in &mut values {
            *v = *v * slope + inter;
        }
    }
    let (affine, affine_source) = affine_of(&header);
    let spacing_mm = [1, 2, 3].map(|i| f64::from(header.pixdim[i]).abs());
    Ok(Volume {
        path: path.to_path_buf(),
        dims,
        spacing_mm,
        values,
        datatype: format!("{datatype:?}"),
        affine,
        affine_source,
        timepoints,
    })
}

/// The reader picks gzip by the name alone; say so plainly when name and content disagree.
fn check_compression(path: &Path) -> Result<(), String> {
    use std::io::Read as _;
    let mut magic = [0u8; 2];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    if read.is_err() {
        return Ok(()); // Too short or unreadable: the reader says which.
    }
    let gz_content = magic == [0x1f, 0x8b];
    let gz_name = path.to_string_lossy().to_ascii_lowercase().ends_with(".gz");
    match (gz_name, gz_content) {
        (true, false) => Err("named .gz but not gzip-compressed; rename it to .nii".into()),
        (false, true) => Err("gzip-compressed but not named .gz; rename it to .nii.gz".into()),
        _ => Ok(()),
    }
}

/// The reader's errors in words a user can act on.
pub(crate) fn describe(e: nifti::NiftiError) -> String {
    use nifti::NiftiError as E;
    match e {
        E::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            format!("the file ends early, truncated or damaged ({io})")
        }
        E::Io(io) => io.to_string(),
        E::InvalidFormat => {
            "not a NIfTI-1 file (no n+1 / ni1 magic; NIfTI-2 files are not read)".into()
        }
        E::InconsistentDim(..) => {
            "the header's dim field is invalid (a dimension of size 0, or more than 7 dimensions)"
                .into()
        }
        E::IncompatibleLength(got, expected) => format!(
            "the data holds {got} bytes but the header's dimensions need {expected}; the file is truncated or its header is wrong"
        ),
        other => other.to_string(),
    }
}

/// The first `count` samples of `raw` as f32.
fn decode_samples(
    raw: &[u8],
    datatype: NiftiType,
    endian: Endianness,
    count: usize,
) -> Result<Vec<f32>, String> {
    let size = match datatype {
        NiftiType::Uint8 | NiftiType::Int8 => 1,
        NiftiType::Uint16 | NiftiType::Int16 => 2,
        NiftiType::Uint32 | NiftiType::Int32 | NiftiType::Float32 => 4,
        NiftiType::Uint64 | NiftiType::Int64 | NiftiType::Float64 => 8,
        other => {
            return Err(format!(
                "datatype {other:?} is not supported (only integer and float scalars)"
            ));
        }
    };
    if raw.len() < count * size {
        return Err(format!(
            "volume data has {} bytes, expected {}",
            raw.len(),
            count * size
        ));
    }
    let big = endian == Endianness::Big;
    let word = |c: &[u8]| -> [u8; 8] {
        let mut b = [0u8; 8];
        if big {
            for (i, x) in c.iter().rev().enumerate() {
                b[i] = *x;
            }
        } else {
            b[..c.len()].copy_from_slice(c);
        }
        b
    };
    Ok(raw[..count * size]
        .chunks_exact(size)
        .map(|c| {
            let b = word(c);
            match datatype {
                NiftiType::Uint8 => f32::from(b[0]),
                NiftiType::Int8 => f32::from(b[0] as i8),
                NiftiType::Uint16 => f32::from(u16::from_le_bytes([b[0], b[1]])),
                NiftiType::Int16 => f32::from(i16::from_le_bytes([b[0], b[1]])),
                NiftiType::Uint32 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
                NiftiType::Int32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
                NiftiType::Float32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                NiftiType::Uint64 => u64::from_le_bytes(b) as f32,
                NiftiType::Int64 => i64::from_le_bytes(b) as f32,
                _ => f64::from_le_bytes(b) as f32,
            }
        })
        .collect())
}

/// The voxel → RAS affine of a header, with its source.
pub fn affine_of(h: &NiftiHeader) -> ([[f64; 4]; 3], AffineSource) {
    let f = |r: [f32; 4]| r.map(f64::from);
    if h.sform_code > 0 {
        return ([f(h.srow_x), f(h.srow_y), f(h.srow_z)], AffineSource::Sform);
    }
    let dx = f64::from(h.pixdim[1]);
    let dy = f64::from(h.pixdim[2]);
    let dz = f64::from(h.pixdim[3]);
    if h.qform_code > 0 {
        let (b, c, d) = (
            f64::from(h.quatern_b),
            f64::from(h.quatern_c),
            f64::from(h.quatern_d),
        );
        let a2 = 1.0 - (b * b + c * c + d * d);
        let (a, b, c, d) = if a2 < 1e-7 {
            // Nearly 180°: a = 0 and (b, c, d) renormalised, as nifti1_io does.
            let n = (b * b + c * c + d * d).sqrt();
            (0.0, b / n, c / n, d / n)
        } else {
            (a2.sqrt(), b, c, d)
        };
        let r = [
            [
                a * a + b * b - c * c - d * d,
                2.0 * (b * c - a * d),
                2.0 * (b * d + a * c),
            ],
            [
                2.0 * (b * c + a * d),
                a * a + c * c - b * b - d * d,
                2.0 * (c * d - a * b),
            ],
            [
                2.0 * (b * d - a * c),
                2.0 * (c * d + a * b),
                a * a + d * d - c * c - b * b,
            ],
        ];
        let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let s = [dx, dy, dz * qfac];
        let t = [h.quatern_x, h.quatern_y, h.quatern_z].map(f64::from);
        let row = |i: usize| [r[i][0] * s[0], r[i][1] * s[1], r[i][2] * s[2], t[i]];
        return ([row(0), row(1), row(2)], AffineSource::Qform);
    }
    (
        [
            [dx, 0.0, 0.0, 0.0],
            [0.0, dy, 0.0, 0.0],
            [0.0, 0.0, dz, 0.0],
        ],
        AffineSource::PixdimOnly,
    )
}

/// RAS+ → DICOM LPS+ (x and y negated).
pub fn ras_to_lps(p: [f64; 3]) -> [f64; 3] {
    [-p[0], -p[1], p[2]]
}

impl Volume {
    /// Value at voxel (i, j, k).
    pub fn value(&self, i: usize, j: usize, k: usize) -> f32 {
        self.values[i + self.dims[0] * (j + self.dims[1] * k)]
    }

    /// Number of slices along `axis`.
    pub fn slice_count(&self, axis: VoxelAxis) -> usize {
        self.dims[axis.index()]
    }

    /// Voxel coordinates (may be fractional) → RAS mm.
    pub fn voxel_to_world(&self, ijk: [f64; 3]) -> [f64; 3] {
        let a = &self.affine;
        [0, 1, 2].map(|r| a[r][0] * ijk[0] + a[r][1] * ijk[1] + a[r][2] * ijk[2] + a[r][3])
    }

    /// Slice `index` across `axis` as a 2D plane. Its columns run along the lower remaining
    /// axis and its rows along the higher one: K → (i, j), J → (i, k), I → (j, k).
    /// No flip is applied: row 0 is voxel index 0.
    pub fn slice(
        &self,
        axis: VoxelAxis,
        index: usize,
        modality: Option<Modality>,
    ) -> Result<ScalarSlice, DataError> {
        let count = self.slice_count(axis);
        if index >= count {
            return Err(DataError::SliceOutOfRange {
                axis: format!("{axis:?}"),
                index,
                count,
                path: self.path.clone(),
            });
        }
        let [ni, nj, nk] = self.dims;
        let (w, h, s) = match axis {
            VoxelAxis::K => (ni, nj, [self.spacing_mm[0], self.spacing_mm[1]]),
            VoxelAxis::J => (ni, nk, [self.spacing_mm[0], self.spacing_mm[2]]),
            VoxelAxis::I => (nj, nk, [self.spacing_mm[1], self.spacing_mm[2]]),
        };
        let mut values = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (i, j, k) = match axis {
                    VoxelAxis::K => (x, y, index),
                    VoxelAxis::J => (x, index, y),
                    VoxelAxis::I => (index, x, y),
                };
                values.push(self.value(i, j, k));
            }
        }
        let intensity = if modality == Some(Modality::Ct) {
            Intensity::Hounsfield
        } else {
            Intensity::Stored
        };
        Ok(ScalarSlice {
            width: w as u32,
            height: h as u32,
            values,
            intensity,
            modality,
            spacing_mm: usable_spacing(s),
            own_window: None,
            source: self.path.clone(),
        })
    }
}

/// What a volume written by [`write_like`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrittenIntent {
    /// A label volume (0 = background, 1 = foreground): NIFTI_INTENT_LABEL.
    Label,
    /// Values in [0, 1], written with no intent code: NIfTI has no intent for a
    /// probability map (its statistic intents, e.g. p-values, mean something else).
    Probability,
}

/// Writes `values` (i fastest, `dims` voxels) as a NIfTI-1 file at `out` with the header
/// of `reference`: dims, pixdim, units, qform and sform are kept, so the output lies on the
/// input's grid in any viewer; the datatype follows `T` and scaling is reset (slope 1,
/// intercept 0). `.gz` in the name compresses. Written beside `out` under a temporary name
/// and renamed, so a crash never leaves a half-written volume in its place.
pub fn write_like<T>(
    reference: &Path,
    out: &Path,
    dims: [usize; 3],
    values: &[T],
    intent: WrittenIntent,
    description: &str,
) -> Result<(), DataError>
where
    T: nifti::DataElement + bytemuck::Pod,
{
    let err = |message: String| DataError::NiftiWrite {
        message,
        path: out.to_path_buf(),
    };
    if values.len() != dims.iter().product::<usize>() {
        return Err(err(format!(
            "{} values for a {}×{}×{} volume",
            values.len(),
            dims[0],
            dims[1],
            dims[2]
        )));
    }
    let mut header = NiftiHeader::from_file(reference).map_err(|e| DataError::Nifti {
        message: describe(e),
        path: reference.to_path_buf(),
    })?;
    header.intent_code = match intent {
        WrittenIntent::Label => 1002,
        WrittenIntent::Probability => 0,
    };
    header.intent_name = [0; 16];
    header.cal_min = 0.0;
    header.cal_max = 1.0;
    // Descriptions are at most 80 bytes of ASCII.
    let text: String = description
        .chars()
        .filter(char::is_ascii)
        .take(79)
        .collect();
    header
        .set_description_str(text)
        .map_err(|e| err(e.to_string()))?;
    // i fastest is Fortran order; the writer transposes back to it.
    let array = ndarray::Array3::from_shape_vec(
        ndarray::ShapeBuilder::f((dims[0], dims[1], dims[2])),
        values.to_vec(),
    )
    .map_err(|e| err(e.to_string()))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let gz = lower.ends_with(".gz");
    let stem_len = lower.trim_end_matches(".gz").trim_end_matches(".nii").len();
    let stem = &name[..stem_len];
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // No dot inside the temporary stem: the writer re-derives its extension from the
    // last dot of the name it is given.
    let tmp = dir.join(format!(
        ".{}-partial-{}.nii{}",
        stem.replace('.', "_"),
        std::process::id(),
        if gz { ".gz" } else { "" }
    ));
    if let Err(e) = nifti::writer::WriterOptions::new(&tmp)
        .reference_header(&header)
        .compress(gz)
        .write_nifti(&array)
    {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(describe(e)));
    }
    crate::fsutil::finish_atomic(&tmp, out).map_err(|e| {
        err(format!(
            "cannot sync and move the finished file into place: {e}"
        ))
    })
}

/// Size and position of one label in a label volume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelStats {
    /// Label value counted (`None` = every non-zero voxel).
    pub label: Option<i64>,
    /// Number of voxels.
    pub voxel_count: u64,
    /// Volume in mm³ (voxel count × |det| of the affine's 3×3 part).
    pub volume_mm3: f64,
    /// Mean voxel index (i, j, k); `None` when the label is absent.
    pub centroid_voxel: Option<[f64; 3]>,
    /// The centroid in RAS mm (affine applied to the mean index).
    pub centroid_world_mm: Option<[f64; 3]>,
}

/// Voxel count and centroid of `label` (or of every non-zero voxel when `None`).
/// Label values are compared after rounding to the nearest integer.
pub fn label_stats(volume: &Volume, label: Option<i64>) -> LabelStats {
    let [ni, nj, nk] = volume.dims;
    let mut count = 0u64;
    let mut sum = [0f64; 3];
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                let v = volume.value(i, j, k).round() as i64;
                let hit = match label {
                    Some(l) => v == l,
                    None => v != 0,
                };
                if hit {
                    count += 1;
                    sum[0] += i as f64;
                    sum[1] += j as f64;
                    sum[2] += k as f64;
                }
            }
        }
    }
    let a = &volume.affine;
    let det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
        - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
        + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
    let centroid_voxel = (count > 0).then(|| sum.map(|s| s / count as f64));
    LabelStats {
        label,
        voxel_count: count,
        volume_mm3: count as f64 * det.abs(),
        centroid_voxel,
        centroid_world_mm: centroid_voxel.map(|c| volume.voxel_to_world(c)),
    }
}
