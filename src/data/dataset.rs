//! A dataset folder: its name, its modality and its pairing; and MIX, several datasets
//! combined into one sample list in which every sample keeps its source and modality.
//!
//! Modality is not stored in PNG files, so it is looked up, in this order, in the
//! folder's `SOURCE.md` (a line containing "Modality:" with the word CT, MR or MRI), then
//! in the folder name's tokens (`…-ct`, `…_mri`). The source of the answer is kept.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::error::DataError;
use super::grouping::{GroupKeyer, Grouping};
use super::pairing::{self, PairingReport};
use super::scalar::Modality;
use super::split::SampleRef;
use super::volume_pairs::slice_id;

/// A paired dataset folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Folder name.
    pub name: String,
    /// The folder.
    pub root: PathBuf,
    /// Modality, when it could be determined.
    pub modality: Option<Modality>,
    /// Where the modality came from ("SOURCE.md", "folder name").
    pub modality_source: Option<String>,
    /// The pairing.
    pub pairing: PairingReport,
}

impl Dataset {
    /// Its pairs as split samples, each with the patient the default patterns find in its
    /// name (TCGA barcodes and the like), so per-patient scores exist without a split;
    /// then every axial slice of its volume pairs, grouped by volume when no pattern
    /// names the patient.
    pub fn samples(&self) -> Vec<SampleRef> {
        let keyer = GroupKeyer::new(&Grouping::Default).ok();
        let key = |stem: &str| keyer.as_ref().and_then(|k| k.key(stem));
        let pairs = self.pairing.pairs.iter().map(|p| SampleRef {
            dataset: self.name.clone(),
            id: p.stem.clone(),
            image: p.image.clone(),
            masks: p.masks.clone(),
            modality: self.modality.clone(),
            group: key(&p.stem),
            slice: None,
        });
        let slices = self.pairing.volume_pairs.iter().flat_map(|v| {
            let group = key(&v.stem).or_else(|| Some(v.stem.clone()));
            (0..v.slices()).map(move |k| SampleRef {
                dataset: self.name.clone(),
                id: slice_id(&v.stem, k),
                image: v.image.clone(),
                masks: vec![v.label.clone()],
                modality: self.modality.clone(),
                group: group.clone(),
                slice: Some(k),
            })
        });
        pairs.chain(slices).collect()
    }
}

/// Opens and pairs a dataset folder.
pub fn open_dataset(root: &Path) -> Result<Dataset, DataError> {
    let pairing = pairing::pair_dataset(root)?;
    let name = root
        .canonicalize()
        .unwrap_or_else(|_| root.to_path_buf())
        .file_name()
        .map_or_else(|| "dataset".into(), |n| n.to_string_lossy().into_owned());
    let (modality, modality_source) = match detect_modality(root, &name) {
        Some((m, s)) => (Some(m), Some(s)),
        None => (None, None),
    };
    Ok(Dataset {
        name,
        root: root.to_path_buf(),
        modality,
        modality_source,
        pairing,
    })
}

static CT_WORD: LazyLock<Regex> = LazyLock::new(|| fixed(r"\bCT\b"));
static MR_WORD: LazyLock<Regex> = LazyLock::new(|| fixed(r"\bMRI?\b"));

fn fixed(pattern: &str) -> Regex {
    Regex::new(pattern).expect("fixed pattern")
}

/// The modality of dataset folder `root` named `name`, with where it was found.
pub fn detect_modality(root: &Path, name: &str) -> Option<(Modality, String)> {
    if let Ok(text) = std::fs::read_to_string(root.join("SOURCE.md")) {
        for line in text.lines().filter(|l| l.contains("Modality")) {
            let ct = CT_WORD.is_match(line);
            let mr = MR_WORD.is_match(line);
            if ct != mr {
                let m = if ct { Modality::Ct } else { Modality::Mr };
                return Some((m, "SOURCE.md".into()));
            }
        }
    }
    let lower = name.to_lowercase();
    let tokens: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let ct = tokens.contains(&"ct");
    let mr = tokens.iter().any(|t| *t == "mr" || *t == "mri");
    match (ct, mr) {
        (true, false) => Some((Modality::Ct, "folder name".into())),
        (false, true) => Some((Modality::Mr, "folder name".into())),
        _ => None,
    }
}

/// MIX: the samples of several datasets, each keeping its dataset name and modality.
/// Datasets with the same folder name get `#2`, `#3`, … appended so samples stay distinct.
pub fn mix_samples(datasets: &[Dataset]) -> Vec<SampleRef> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for d in datasets {
        let mut name = d.name.clone();
        let mut n = 1;
        while seen.contains(&name) {
            n += 1;
            name = format!("{}#{n}", d.name);
        }
        seen.push(name.clone());
        out.extend(d.samples().into_iter().map(|mut s| {
            s.dataset = name.clone();
            s
        }));
    }
    out
}
