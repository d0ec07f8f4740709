//! Patient / case keys taken from file names, so that a split never puts one patient on
//! both sides. Slices of one patient are highly correlated; an image-level split of such
//! data measures memory, not generalisation.
//!
//! Default patterns (first match wins, case-insensitive, key upper-cased):
//! * TCGA barcodes `TCGA_XX_NNNN` / `TCGA-XX-NNNN` (site + patient; lgg-flair-mri);
//! * `LIDC-IDRI-NNNN`;
//! * BraTS `BraTS…_NNN` case numbers;
//! * `patient` / `subject` / `case` / `pat` / `sub` followed by a number.
//!
//! Running slice indices such as finding-lungs-ct's `ID_0000` are deliberately *not*
//! keys: they number slices, not patients. A user pattern replaces the defaults; its first
//! capture group is the key when it has one, else the whole match.

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::error::DataError;

/// The default patterns, with a name for reports.
pub const DEFAULT_PATTERNS: &[(&str, &str)] = &[
    ("TCGA patient", r"(?i)TCGA[_-][A-Z0-9]{2}[_-][A-Z0-9]{4}"),
    ("LIDC-IDRI patient", r"(?i)LIDC[_-]IDRI[_-]\d{4}"),
    (
        "BraTS case",
        r"(?i)BraTS\d*[_-](?:(?:Training|Validation|GLI)[_-])*\d{3,5}",
    ),
    (
        "patient/subject/case number",
        r"(?i)(?:^|[^a-z])((?:patient|subject|case|pat|sub)[ _-]?\d+)",
    ),
];

/// How samples are grouped for splitting.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// Every sample is its own group (an image-level split).
    None,
    /// [`DEFAULT_PATTERNS`] (default).
    #[default]
    Default,
    /// A user regular expression.
    Pattern(String),
}

/// Compiled grouping patterns.
#[derive(Clone, Debug)]
pub struct GroupKeyer {
    patterns: Vec<Regex>,
}

impl GroupKeyer {
    /// Compiles `grouping`.
    pub fn new(grouping: &Grouping) -> Result<Self, DataError> {
        let sources: Vec<String> = match grouping {
            Grouping::None => Vec::new(),
            Grouping::Default => DEFAULT_PATTERNS
                .iter()
                .map(|(_, p)| (*p).to_string())
                .collect(),
            Grouping::Pattern(p) => vec![p.clone()],
        };
        let patterns = sources
            .iter()
            .map(|p| {
                Regex::new(p).map_err(|e| DataError::Pattern {
                    pattern: p.clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// The group key of a file name or stem, if a pattern matches.
    pub fn key(&self, name: &str) -> Option<String> {
        self.patterns.iter().find_map(|re| {
            let caps = re.captures(name)?;
            let m = caps.get(1).or_else(|| caps.get(0))?;
            Some(m.as_str().to_uppercase().replace('-', "_"))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_patterns_find_patients_and_skip_slice_ids() {
        let k = GroupKeyer::new(&Grouping::Default).unwrap();
        assert_eq!(
            k.key("TCGA_DU_5849_19950405_13").as_deref(),
            Some("TCGA_DU_5849")
        );
        assert_eq!(
            k.key("tcga-hT-A5RC-19990831_4").as_deref(),
            Some("TCGA_HT_A5RC")
        );
        assert_eq!(
            k.key("LIDC-IDRI-0042_slice3").as_deref(),
            Some("LIDC_IDRI_0042")
        );
        assert_eq!(
            k.key("BraTS20_Training_001_flair_75").as_deref(),
            Some("BRATS20_TRAINING_001")
        );
        assert_eq!(
            k.key("Patient_007_slice_12").as_deref(),
            Some("PATIENT_007")
        );
        assert_eq!(k.key("case12").as_deref(), Some("CASE12"));
        assert_eq!(k.key("img_sub-03_t1").as_deref(), Some("SUB_03"));
        assert_eq!(k.key("showcase12"), None);
        assert_eq!(k.key("ID_0000_Z_0142"), None);
        assert_eq!(k.key("medseg_covid_000"), None);
    }

    #[test]
    fn user_pattern_uses_its_capture_group() {
        let k = GroupKeyer::new(&Grouping::Pattern(r"^(\w+?)_slice".into())).unwrap();
        assert_eq!(k.key("scanA_slice_3").as_deref(), Some("SCANA"));
        assert!(matches!(
            GroupKeyer::new(&Grouping::Pattern("(".into())),
            Err(DataError::Pattern { .. })
        ));
        assert_eq!(
            GroupKeyer::new(&Grouping::None)
                .unwrap()
                .key("TCGA_DU_5849_1"),
            None
        );
    }
}
