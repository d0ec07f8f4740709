//! Scalar slices: one 2D plane of real-valued intensities (CT Hounsfield units or MR
//! stored values) as read from DICOM or NIfTI, with the modality and spacing that came
//! with them. Plain data; windowing to 8 bits lives in [`super::window`].

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::convention::CtWindow;

/// Imaging modality.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Computed tomography (values in Hounsfield units after rescale).
    Ct,
    /// Magnetic resonance (arbitrary units; no physical scale).
    Mr,
    /// Any other DICOM modality code (US, CR, PT, …), upper case.
    Other(String),
}

impl Modality {
    /// From a DICOM Modality code or a convention string ("CT", "MR", "MRI", case-insensitive).
    pub fn from_code(code: &str) -> Self {
        match code.trim().to_uppercase().as_str() {
            "CT" => Self::Ct,
            "MR" | "MRI" => Self::Mr,
            other => Self::Other(other.to_string()),
        }
    }

    /// The DICOM code ("CT", "MR", …), as stored in [`crate::convention::InputConvention::modality`].
    pub fn code(&self) -> &str {
        match self {
            Self::Ct => "CT",
            Self::Mr => "MR",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What the values of a [`ScalarSlice`] mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intensity {
    /// Hounsfield units (CT after rescale slope/intercept).
    Hounsfield,
    /// Values as stored (MR and anything without a physical scale), after any NIfTI
    /// `scl_slope`/`scl_inter`.
    Stored,
}

/// One 2D plane of real-valued samples, row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalarSlice {
    /// Width (columns).
    pub width: u32,
    /// Height (rows).
    pub height: u32,
    /// One value per pixel.
    pub values: Vec<f32>,
    /// What the values mean.
    pub intensity: Intensity,
    /// Modality when known.
    pub modality: Option<Modality>,
    /// Pixel spacing in mm: (between columns, between rows), when known.
    pub spacing_mm: Option<[f64; 2]>,
    /// The file's own display window (DICOM WindowCenter/Width), when present.
    pub own_window: Option<CtWindow>,
    /// The file it came from.
    pub source: PathBuf,
}

/// `spacing` when both values are usable distances (finite, > 0): headers with 0 or
/// NaN pixel sizes exist, and they mean "unknown", not a metric to compute with.
pub fn usable_spacing(spacing: [f64; 2]) -> Option<[f64; 2]> {
    spacing
        .iter()
        .all(|v| v.is_finite() && *v > 0.0)
        .then_some(spacing)
}

impl ScalarSlice {
    /// Smallest and largest finite value (`None` when there is none).
    pub fn min_max(&self) -> Option<(f32, f32)> {
        self.values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(None, |acc, v| match acc {
                None => Some((v, v)),
                Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
            })
    }

    /// Value at (`x`, `y`).
    pub fn get(&self, x: u32, y: u32) -> f32 {
        self.values[y as usize * self.width as usize + x as usize]
    }
}
