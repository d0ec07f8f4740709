//! DICOM slices (via `dicom-object` / `dicom-pixeldata`): stored values, Hounsfield units
//! for CT (`HU = stored · RescaleSlope + RescaleIntercept`), MR shown as stored (no HU),
//! the file's own window, pixel spacing and position; and a folder of slices sorted by
//! position along the slice normal.
//!
//! Codecs in this build: uncompressed (implicit/explicit VR, little/big endian), deflate,
//! RLE lossless, JPEG baseline/extended/lossless (pure Rust). JPEG 2000, HTJ2K, JPEG-LS and
//! JPEG XL would need `openjp2`/`charls`/`jxl-oxide` features (C libraries or large builds)
//! and are reported as [`DataError::DicomTransferSyntax`].

use std::path::{Path, PathBuf};

use dicom_object::{DefaultDicomObject, Tag};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder as _};
use serde::{Deserialize, Serialize};

use super::error::DataError;
use super::scalar::{Intensity, Modality, ScalarSlice, usable_spacing};
use crate::convention::CtWindow;

const MODALITY: Tag = Tag(0x0008, 0x0060);
const SERIES_UID: Tag = Tag(0x0020, 0x000E);
const INSTANCE_NUMBER: Tag = Tag(0x0020, 0x0013);
const IMAGE_POSITION: Tag = Tag(0x0020, 0x0032);
const IMAGE_ORIENTATION: Tag = Tag(0x0020, 0x0037);
const SLICE_THICKNESS: Tag = Tag(0x0018, 0x0050);
const SAMPLES_PER_PIXEL: Tag = Tag(0x0028, 0x0002);
const PHOTOMETRIC: Tag = Tag(0x0028, 0x0004);
const ROWS: Tag = Tag(0x0028, 0x0010);
const COLUMNS: Tag = Tag(0x0028, 0x0011);
const PIXEL_SPACING: Tag = Tag(0x0028, 0x0030);
const BITS_ALLOCATED: Tag = Tag(0x0028, 0x0100);
const BITS_STORED: Tag = Tag(0x0028, 0x0101);
const PIXEL_REPRESENTATION: Tag = Tag(0x0028, 0x0103);
const PIXEL_PADDING: Tag = Tag(0x0028, 0x0120);
const WINDOW_CENTER: Tag = Tag(0x0028, 0x1050);
const WINDOW_WIDTH: Tag = Tag(0x0028, 0x1051);
const RESCALE_INTERCEPT: Tag = Tag(0x0028, 0x1052);
const RESCALE_SLOPE: Tag = Tag(0x0028, 0x1053);

/// Transfer syntaxes this build cannot decode, with their names.
const UNSUPPORTED_SYNTAXES: &[(&str, &str)] = &[
    ("1.2.840.10008.1.2.4.80", "JPEG-LS lossless"),
    ("1.2.840.10008.1.2.4.81", "JPEG-LS near-lossless"),
    ("1.2.840.10008.1.2.4.90", "JPEG 2000 lossless"),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000"),
    (
        "1.2.840.10008.1.2.4.92",
        "JPEG 2000 multi-component lossless",
    ),
    ("1.2.840.10008.1.2.4.93", "JPEG 2000 multi-component"),
    ("1.2.840.10008.1.2.4.201", "HTJ2K lossless"),
    ("1.2.840.10008.1.2.4.202", "HTJ2K lossless RPCL"),
    ("1.2.840.10008.1.2.4.203", "HTJ2K"),
    ("1.2.840.10008.1.2.4.110", "JPEG XL lossless"),
    ("1.2.840.10008.1.2.4.111", "JPEG XL JPEG recompression"),
    ("1.2.840.10008.1.2.4.112", "JPEG XL"),
    ("1.2.840.10008.1.2.4.100", "MPEG2 video"),
    ("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 video"),
    ("1.2.840.10008.1.2.4.107", "HEVC/H.265 video"),
];

/// One decoded DICOM slice (first frame of multi-frame files).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DicomSlice {
    /// The file.
    pub path: PathBuf,
    /// Modality (0008,0060).
    pub modality: Modality,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// Stored values (sign-extended from BitsStored), row-major.
    pub stored: Vec<i32>,
    /// Rescale slope (1 when absent).
    pub rescale_slope: f64,
    /// Rescale intercept (0 when absent).
    pub rescale_intercept: f64,
    /// Whether the file has RescaleSlope/Intercept.
    pub has_rescale: bool,
    /// Pixel spacing (between rows, between columns) in mm, as stored in (0028,0030).
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// Slice thickness in mm.
    pub slice_thickness_mm: Option<f64>,
    /// Image Position (Patient): the centre of the first pixel, mm, DICOM LPS.
    pub image_position: Option<[f64; 3]>,
    /// Image Orientation (Patient): row and column direction cosines, LPS.
    pub image_orientation: Option<[f64; 6]>,
    /// Instance number.
    pub instance_number: Option<i32>,
    /// Series Instance UID.
    pub series_uid: Option<String>,
    /// The file's own first window (centre/width), in the units of the rescaled values.
    pub window: Option<CtWindow>,
    /// Bits allocated / stored.
    pub bits_allocated: u16,
    /// Bits stored.
    pub bits_stored: u16,
    /// Two's-complement samples.
    pub signed: bool,
    /// Photometric interpretation (MONOCHROME1 means low values are shown white).
    pub photometric: String,
    /// Pixel padding value (stored units), when declared.
    pub padding_value: Option<i32>,
    /// Transfer syntax UID.
    pub transfer_syntax: String,
    /// Number of frames in the file (only the first is decoded).
    pub frames: u32,
}

impl DicomSlice {
    /// Rescaled value of every pixel: HU for CT. For MR (and other modalities) the
    /// stored values, unscaled, as seglens shows MR "as stored".
    pub fn values(&self) -> Vec<f32> {
        if self.modality == Modality::Ct {
            self.stored
                .iter()
                .map(|&s| (f64::from(s) * self.rescale_slope + self.rescale_intercept) as f32)
                .collect()
        } else {
            self.stored.iter().map(|&s| s as f32).collect()
        }
    }

    /// Hounsfield units, for CT only.
    pub fn hu(&self) -> Option<Vec<f32>> {
        (self.modality == Modality::Ct).then(|| self.values())
    }

    /// As a [`ScalarSlice`] (HU for CT, stored values otherwise).
    pub fn to_scalar(&self) -> ScalarSlice {
        let intensity = if self.modality == Modality::Ct {
            Intensity::Hounsfield
        } else {
            Intensity::Stored
        };
        ScalarSlice {
            width: self.width,
            height: self.height,
            values: self.values(),
            intensity,
            modality: Some(self.modality.clone()),
            // (0028,0030) is row spacing then column spacing; ScalarSlice wants x then y.
            spacing_mm: self
                .pixel_spacing_mm
                .and_then(|[row, col]| usable_spacing([col, row])),
            own_window: self.window,
            source: self.path.clone(),
        }
    }

    /// Position along the slice normal (row × column cosines), mm; sorts a series.
    pub fn normal_position(&self) -> Option<f64> {
        let p = self.image_position?;
        let o = self.image_orientation?;
        let n = [
            o[1] * o[5] - o[2] * o[4],
            o[2] * o[3] - o[0] * o[5],
            o[0] * o[4] - o[1] * o[3],
        ];
        Some(p[0] * n[0] + p[1] * n[1] + p[2] * n[2])
    }
}

/// Whether `path` looks like a DICOM file: a `.dcm` name, or the "DICM" marker after the
/// 128-byte preamble (many DICOM files have no extension). Reads at most 133 bytes.
pub fn looks_like_dicom(path: &Path) -> bool {
    use std::io::Read as _;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".dcm") {
        return true;
    }
    // 133 bytes: the marker and at least one byte of data after it.
    let mut head = [0u8; 133];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head[128..132] == b"DICM"
}

/// Reads and decodes one DICOM file.
pub fn read_dicom(path: &Path) -> Result<DicomSlice, DataError> {
    let err = |message: String| DataError::Dicom {
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
    let unsupported = |ts: &str| {
        let ts = ts.trim_end_matches(['\0', ' ']);
        UNSUPPORTED_SYNTAXES
            .iter()
            .find(|(uid, _)| *uid == ts)
            .map(|(uid, name)| DataError::DicomTransferSyntax {
                uid: (*uid).into(),
                name: (*name).into(),
                path: path.to_path_buf(),
            })
    };
    let obj = match dicom_object::open_file(path) {
        Ok(obj) => obj,
        Err(e) => {
            // The data set may not parse under a codec this build lacks: name the codec if so.
            let meta_only = dicom_object::OpenFileOptions::new()
                .read_until(MODALITY)
                .open_file(path);
            if let Some(ts_error) = meta_only
                .ok()
                .and_then(|m| unsupported(m.meta().transfer_syntax()))
            {
                return Err(ts_error);
            }
            return Err(err(e.to_string()));
        }
    };
    let transfer_syntax = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_string();
    if let Some(ts_error) = unsupported(&transfer_syntax) {
        return Err(ts_error);
    }
    let width = int(&obj, COLUMNS).ok_or_else(|| err("no Columns (0028,0011)".into()))? as u32;
    let height = int(&obj, ROWS).ok_or_else(|| err("no Rows (0028,0010)".into()))? as u32;
    let samples_per_pixel = int(&obj, SAMPLES_PER_PIXEL).unwrap_or(1);
    if samples_per_pixel != 1 {
        return Err(err(format!(
            "{samples_per_pixel} samples per pixel; only greyscale slices are read"
        )));
    }
    let bits_allocated = int(&obj, BITS_ALLOCATED).unwrap_or(16) as u16;
    let bits_stored = int(&obj, BITS_STORED).map_or(bits_allocated, |b| b as u16);
    let signed = int(&obj, PIXEL_REPRESENTATION) == Some(1);

    let decoded = obj
        .decode_pixel_data()
        .map_err(|e| err(format!("cannot decode pixel data: {e}")))?;
    let frames = decoded.number_of_frames();
    let options = ConvertOptions::new().with_modality_lut(ModalityLutOption::None);
    let mut stored: Vec<i32> = decoded
        .to_vec_frame_with_options(0, &options)
        .map_err(|e| err(format!("cannot convert pixel data: {e}")))?;
    if stored.len() != width as usize * height as usize {
        return Err(err(format!(
            "pixel data holds {} samples, expected {width}×{height}",
            stored.len()
        )));
    }
    if bits_stored < bits_allocated && bits_stored < 32 {
        let mask = (1i64 << bits_stored) - 1;
        for v in &mut stored {
            let mut x = i64::from(*v) & mask;
            if signed && x >> (bits_stored - 1) & 1 == 1 {
                x -= 1 << bits_stored;
            }
            *v = x as i32;
        }
    }

    let slope = float(&obj, RESCALE_SLOPE);
    let intercept = float(&obj, RESCALE_INTERCEPT);
    let window = match (float(&obj, WINDOW_CENTER), float(&obj, WINDOW_WIDTH)) {
        (Some(c), Some(w)) if w > 0.0 => Some(CtWindow {
            center: c as f32,
            width: w as f32,
        }),
        _ => None,
    };
    Ok(DicomSlice {
        path: path.to_path_buf(),
        modality: text(&obj, MODALITY).map_or(Modality::Other("unknown".into()), |m| {
            Modality::from_code(&m)
        }),
        width,
        height,
        stored,
        rescale_slope: slope.unwrap_or(1.0),
        rescale_intercept: intercept.unwrap_or(0.0),
        has_rescale: slope.is_some() || intercept.is_some(),
        pixel_spacing_mm: floats(&obj, PIXEL_SPACING).and_then(|v| Some([*v.first()?, *v.get(1)?])),
        slice_thickness_mm: float(&obj, SLICE_THICKNESS),
        image_position: floats(&obj, IMAGE_POSITION).and_then(|v| v.get(..3)?.try_into().ok()),
        image_orientation: floats(&obj, IMAGE_ORIENTATION)
            .and_then(|v| v.get(..6)?.try_into().ok()),
        instance_number: int(&obj, INSTANCE_NUMBER).map(|v| v as i32),
        series_uid: text(&obj, SERIES_UID),
        window,
        bits_allocated,
        bits_stored,
        signed,
        photometric: text(&obj, PHOTOMETRIC).unwrap_or_default(),
        padding_value: int(&obj, PIXEL_PADDING).map(|v| v as i32),
        transfer_syntax,
        frames,
    })
}

fn text(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let s = obj
        .element_opt(tag)
        .ok()??
        .to_str()
        .ok()?
        .trim()
        .trim_end_matches('\0')
        .to_string();
    (!s.is_empty()).then_some(s)
}

fn float(obj: &DefaultDicomObject, tag: Tag) -> Option<f64> {
    floats(obj, tag)?.first().copied()
}

fn floats(obj: &DefaultDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let v = obj.element_opt(tag).ok()??.to_multi_float64().ok()?;
    (!v.is_empty()).then_some(v)
}

fn int(obj: &DefaultDicomObject, tag: Tag) -> Option<i64> {
    obj.element_opt(tag).ok()??.to_int::<i64>().ok()
}

/// How a series was ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesOrder {
    /// By position along the slice normal (ImagePositionPatient · normal).
    Position,
    /// By InstanceNumber (positions missing).
    InstanceNumber,
    /// By file name (neither available).
    FileName,
}

/// A folder of DICOM slices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DicomSeries {
    /// Slices, sorted.
    pub slices: Vec<DicomSlice>,
    /// How they were sorted.
    pub order: SeriesOrder,
    /// Files that could not be read, with the error message (skipped, not fatal).
    pub skipped: Vec<(PathBuf, String)>,
    /// Consistency warnings (several series, differing sizes or spacing).
    pub warnings: Vec<String>,
}

/// Reads every file of `dir` (non-recursive, hidden files skipped) as DICOM, in parallel,
/// and sorts the readable slices by position. Unreadable files are listed in `skipped`.
pub fn read_dicom_folder(dir: &Path) -> Result<DicomSeries, DataError> {
    use rayon::prelude::*;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    paths.sort();
    let results: Vec<_> = paths
        .par_iter()
        .map(|p| (p.clone(), read_dicom(p)))
        .collect();
    let mut slices = Vec::new();
    let mut skipped = Vec::new();
    for (path, result) in results {
        match result {
            Ok(s) => slices.push(s),
            Err(e) => skipped.push((path, e.to_string())),
        }
    }
    let order = if slices.iter().all(|s| s.normal_position().is_some()) {
        slices.sort_by(|a, b| {
            a.normal_position()
                .unwrap_or(0.0)
                .total_cmp(&b.normal_position().unwrap_or(0.0))
        });
        SeriesOrder::Position
    } else if slices.iter().all(|s| s.instance_number.is_some()) {
        slices.sort_by_key(|s| s.instance_number);
        SeriesOrder::InstanceNumber
    } else {
        SeriesOrder::FileName
    };
    let mut warnings = Vec::new();
    let mut series: Vec<&str> = slices
        .iter()
        .filter_map(|s| s.series_uid.as_deref())
        .collect();
    series.sort_unstable();
    series.dedup();
    if series.len() > 1 {
        warnings.push(format!(
            "folder mixes {} series; slices of different series are interleaved: {}",
            series.len(),
            dir.display()
        ));
    }
    if let Some(first) = slices.first() {
        if slices
            .iter()
            .any(|s| (s.width, s.height) != (first.width, first.height))
        {
            warnings.push(format!("slices differ in size: {}", dir.display()));
        }
        if slices
            .iter()
            .any(|s| s.pixel_spacing_mm != first.pixel_spacing_mm)
        {
            warnings.push(format!("slices differ in pixel spacing: {}", dir.display()));
        }
    }
    Ok(DicomSeries {
        slices,
        order,
        skipped,
        warnings,
    })
}
