//! CT windows (centre/width in HU) and their application to 8-bit grey.
//!
//! The mapping is the plain linear window `v = clip((HU − (c − w/2)) / w, 0, 1) · 255`,
//! rounded half away from zero. This is the formula the finding-lungs-ct PNGs were made with
//! (W1500/L−600, see its SOURCE.md), so DICOM input windowed here matches that training data.
//! DICOM's own VOI LUT "LINEAR" function differs by at most one grey level (it uses
//! `c − 0.5` and `w − 1`).
//!
//! Preset values and sources (I could not open Radiopaedia's "Windowing (CT)" article from
//! here; these are the values commonly quoted from it, checked against the sources named):
//! * lung −600/1500: the lung window used to make finding-lungs-ct; a radiologist's
//!   teaching deck (slidepub.com, "Understanding CT scan windowing") gives W1500–1600 / L−500 to −600;
//! * mediastinum 40/400: soft-tissue mediastinal window as specified for seglens;
//! * abdomen 50/350: the same deck's soft-tissue window (W350/L50) and a radiography
//!   flash-card set (gizmo.ai, "Understanding Windowing for CT": abdomen W350/L50);
//!   40/400 is the other common choice, which equals the mediastinum preset here;
//! * brain 40/80: standard brain window (a radiography Q&A page, hotelsabruzzo.com, quotes
//!   "60–80 HU width and 40 HU level");
//! * bone 400/1800: the commonly quoted bone window (the deck above gives W2000/L500 as an alternative).

use serde::{Deserialize, Serialize};

pub use crate::convention::CtWindow;

/// A named window preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowPreset {
    /// Lung: centre −600, width 1500.
    Lung,
    /// Mediastinum: centre 40, width 400.
    Mediastinum,
    /// Abdomen soft tissue: centre 50, width 350.
    Abdomen,
    /// Brain: centre 40, width 80.
    Brain,
    /// Bone: centre 400, width 1800.
    Bone,
}

impl WindowPreset {
    /// Every preset, in menu order.
    pub const ALL: [WindowPreset; 5] = [
        Self::Lung,
        Self::Mediastinum,
        Self::Abdomen,
        Self::Brain,
        Self::Bone,
    ];

    /// The window in HU.
    pub fn window(self) -> CtWindow {
        let (center, width) = match self {
            Self::Lung => (-600.0, 1500.0),
            Self::Mediastinum => (40.0, 400.0),
            Self::Abdomen => (50.0, 350.0),
            Self::Brain => (40.0, 80.0),
            Self::Bone => (400.0, 1800.0),
        };
        CtWindow { center, width }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lung => "lung",
            Self::Mediastinum => "mediastinum",
            Self::Abdomen => "abdomen",
            Self::Brain => "brain",
            Self::Bone => "bone",
        }
    }
}

/// One HU value to 8-bit grey through `window`.
pub fn window_u8(hu: f32, window: CtWindow) -> u8 {
    let width = window.width.max(f32::MIN_POSITIVE);
    let low = window.center - width / 2.0;
    let t = ((hu - low) / width).clamp(0.0, 1.0);
    if t.is_nan() {
        0
    } else {
        (t * 255.0).round() as u8
    }
}

/// One HU value to 16-bit grey through `window`.
pub fn window_u16(hu: f32, window: CtWindow) -> u16 {
    let width = window.width.max(f32::MIN_POSITIVE);
    let t = ((hu - (window.center - width / 2.0)) / width).clamp(0.0, 1.0);
    if t.is_nan() {
        0
    } else {
        (t * 65_535.0).round() as u16
    }
}

/// Many values to 8-bit grey.
pub fn apply_window(values: &[f32], window: CtWindow) -> Vec<u8> {
    values.iter().map(|&v| window_u8(v, window)).collect()
}

/// Values to 8-bit grey by their own range: min → 0, max → 255 (for MR, which has no
/// physical scale). A constant plane maps to 0.
pub fn min_max_u8(values: &[f32]) -> Vec<u8> {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if hi <= lo {
        return vec![0; values.len()];
    }
    values
        .iter()
        .map(|&v| {
            window_u8(
                v,
                CtWindow {
                    center: (lo + hi) / 2.0,
                    width: hi - lo,
                },
            )
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lung_window_matches_the_finding_lungs_conversion() {
        let w = WindowPreset::Lung.window();
        // clip((HU + 1350) / 1500, 0, 1) · 255, rounded.
        assert_eq!(window_u8(-1350.0, w), 0);
        assert_eq!(window_u8(-2000.0, w), 0);
        assert_eq!(window_u8(150.0, w), 255);
        assert_eq!(window_u8(-600.0, w), 128); // 127.5 rounds up
        assert_eq!(window_u8(-1000.0, w), 60); // 350/1500·255 = 59.5
        assert_eq!(window_u8(-930.0, w), 71); // "air reads about −930 … about 70"
    }

    #[test]
    fn min_max_spans_the_range() {
        assert_eq!(min_max_u8(&[10.0, 20.0, 15.0]), vec![0, 255, 128]);
        assert_eq!(min_max_u8(&[3.0, 3.0]), vec![0, 0]);
    }
}
