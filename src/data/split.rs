//! Seeded train/val(/test) splits, grouped by patient when names allow it, stratified by
//! dataset in a MIX, and saved with a hash of their content so a run repeats exactly.
//!
//! Algorithm, per dataset: samples are gathered into units (one per group key; a sample
//! without a key is its own unit), units are sorted by key and shuffled with
//! `SplitMix64::stream(seed, "split/<dataset>")`, then dealt in order: a unit goes to test
//! while test holds fewer than `round(n·test_fraction)` samples, else to val while val
//! holds fewer than `round(n·val_fraction)`, else to train. A set can overshoot its
//! target by at most one unit minus one sample.
//!
//! The hash (SHA-256) covers the configuration and, per set, each sample's dataset, id and
//! file *names* (not folders), so moving a dataset keeps a split valid while renaming or
//! reassigning any file invalidates it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::error::DataError;
use super::grouping::{GroupKeyer, Grouping};
use super::image_io::hex;
use super::scalar::Modality;
use crate::rng::SplitMix64;

/// Format tag written into split files.
pub const SPLIT_FORMAT: &str = "seglens-split/1";

/// One sample: where it is and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleRef {
    /// Source dataset name (folder name).
    pub dataset: String,
    /// Sample id: the pairing stem.
    pub id: String,
    /// Image file.
    pub image: PathBuf,
    /// Mask file(s).
    pub masks: Vec<PathBuf>,
    /// Modality of the source dataset, when known.
    pub modality: Option<Modality>,
    /// Group (patient) key: the default patterns' for a dataset's samples, re-keyed with the
    /// split's own grouping by [`make_split`].
    #[serde(default)]
    pub group: Option<String>,
    /// The axial (K) slice, when `image` is a NIfTI volume and `masks` its label volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice: Option<usize>,
}

impl SampleRef {
    /// The sample for messages: its image file, and the slice for a volume's.
    pub fn describe(&self) -> String {
        match self.slice {
            Some(k) => format!("{} (slice k={k})", self.image.display()),
            None => self.image.display().to_string(),
        }
    }

    /// `reason` about this sample, saying which slice when it is one of a volume's (for
    /// lists of skipped files, which name the file apart).
    pub fn note(&self, reason: impl std::fmt::Display) -> String {
        match self.slice {
            Some(k) => format!("slice k={k}: {reason}"),
            None => reason.to_string(),
        }
    }
}

/// Which set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitSet {
    /// Training.
    Train,
    /// Validation (model selection).
    Val,
    /// Held-out test.
    Test,
}

impl SplitSet {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Val => "val",
            Self::Test => "test",
        }
    }
}

/// How to split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    /// Seed.
    pub seed: u64,
    /// Fraction of samples for validation (default 0.3).
    pub val_fraction: f64,
    /// Fraction for a held-out test set (default 0).
    pub test_fraction: f64,
    /// Patient grouping (default: the default patterns).
    pub grouping: Grouping,
    /// Leave one site out: every sample of this site is the test set (`test_fraction`
    /// must then be 0) and the other sites are split into train and val.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_site: Option<SiteHoldout>,
    /// Cross-validation: the split units (patients) of each dataset are dealt into
    /// `folds` folds of near-equal sample counts; fold `fold` is the test set
    /// (`test_fraction` must then be 0) and the rest is split into train and val.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_fold: Option<TestFold>,
}

/// One fold of a k-fold cross-validation, as the test set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestFold {
    /// 0-based fold held out.
    pub fold: usize,
    /// Folds in all (at least 2).
    pub folds: usize,
}

impl TestFold {
    /// Parses "K/N" (K counted from 1, as people count folds).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("expected K/N with 1 ≤ K ≤ N and N ≥ 2 (e.g. 1/5), got {text:?}");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if n < 2 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Self {
            fold: k - 1,
            folds: n,
        })
    }
}

/// Deals `units` (already shuffled) into `folds` folds, each unit to the fold with the
/// fewest samples so far (ties to the lowest), so folds hold near-equal sample counts.
fn fold_of_units(units: &[Vec<SampleRef>], folds: usize) -> Vec<usize> {
    let mut sizes = vec![0usize; folds];
    units
        .iter()
        .map(|unit| {
            let fold = (0..folds).min_by_key(|&f| (sizes[f], f)).unwrap_or(0);
            sizes[fold] += unit.len();
            fold
        })
        .collect()
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            val_fraction: 0.3,
            test_fraction: 0.0,
            grouping: Grouping::Default,
            test_site: None,
            test_fold: None,
        }
    }
}

/// The default site pattern: the two-character institution code of TCGA names
/// (`TCGA_DU_5849_…` → `DU`), as in lgg-flair-mri.
pub const TCGA_SITE_PATTERN: &str = r"^TCGA_([A-Z0-9]{2})_";

/// A site held out as the test set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteHoldout {
    /// Regular expression whose first capture group (or whole match) is a file stem's site.
    pub pattern: String,
    /// The site that becomes the test set.
    pub site: String,
}

impl SiteHoldout {
    /// Holds out `site` under the TCGA naming ([`TCGA_SITE_PATTERN`]).
    pub fn tcga(site: &str) -> Self {
        Self {
            pattern: TCGA_SITE_PATTERN.into(),
            site: site.into(),
        }
    }

    fn regex(&self) -> Result<regex::Regex, DataError> {
        regex::Regex::new(&self.pattern)
            .map_err(|e| DataError::Invalid(format!("bad site pattern {:?}: {e}", self.pattern)))
    }

    /// The site of a file stem, when the pattern finds one.
    pub fn site_of(re: &regex::Regex, stem: &str) -> Option<String> {
        let c = re.captures(stem)?;
        Some(c.get(1).or_else(|| c.get(0))?.as_str().to_owned())
    }
}

/// A split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// Always [`SPLIT_FORMAT`].
    pub format: String,
    /// How it was made.
    pub config: SplitConfig,
    /// Training samples, sorted by (dataset, id).
    pub train: Vec<SampleRef>,
    /// Validation samples.
    pub val: Vec<SampleRef>,
    /// Test samples.
    pub test: Vec<SampleRef>,
    /// SHA-256 of the content (see the module docs).
    pub hash: String,
}

/// A group found in more than one set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StraddlingGroup {
    /// Dataset.
    pub dataset: String,
    /// Group key.
    pub key: String,
    /// Samples per set: train, val, test.
    pub counts: [usize; 3],
}

/// Splits `samples` (their `group` is filled in from the image stems).
pub fn make_split(samples: &[SampleRef], config: &SplitConfig) -> Result<Split, DataError> {
    let (v, t) = (config.val_fraction, config.test_fraction);
    if !(0.0..1.0).contains(&v) || !(0.0..1.0).contains(&t) || v + t >= 1.0 {
        return Err(DataError::Invalid(format!(
            "split fractions must be in [0, 1) and leave room for training (val {v}, test {t})"
        )));
    }
    let keyer = GroupKeyer::new(&config.grouping)?;
    let holdout = match &config.test_site {
        Some(h) if t > 0.0 => {
            return Err(DataError::Invalid(format!(
                "a held-out site ({}) is the test set: the test fraction must be 0, not {t}",
                h.site
            )));
        }
        Some(h) => Some((h.regex()?, h.site.clone())),
        None => None,
    };
    if let Some(f) = config.test_fold {
        let problem = if f.folds < 2 || f.fold >= f.folds {
            Some(format!("fold {} of {} does not exist", f.fold + 1, f.folds))
        } else if t > 0.0 {
            Some(format!("the test fraction must be 0, not {t}"))
        } else if holdout.is_some() {
            Some("a held-out site is already the test set".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(DataError::Invalid(format!(
                "a test fold is the test set: {problem}"
            )));
        }
    }
    let mut sets: [Vec<SampleRef>; 3] = Default::default();
    let mut samples: Vec<SampleRef> = samples.to_vec();
    if let Some((re, site)) = &holdout {
        let (held, rest): (Vec<SampleRef>, Vec<SampleRef>) = samples.into_iter().partition(|s| {
            SiteHoldout::site_of(re, &stem_of(&s.image)).as_deref() == Some(site.as_str())
        });
        if held.is_empty() {
            let found: BTreeSet<String> = rest
                .iter()
                .filter_map(|s| SiteHoldout::site_of(re, &stem_of(&s.image)))
                .collect();
            let found = if found.is_empty() {
                "none".to_string()
            } else {
                found.into_iter().collect::<Vec<_>>().join(", ")
            };
            return Err(DataError::Invalid(format!(
                "no sample belongs to the held-out site {site} (pattern {:?}; sites found: {found})",
                re.as_str()
            )));
        }
        sets[2] = held
            .into_iter()
            .map(|mut s| {
                s.group = group_of(&keyer, &s);
                s
            })
            .collect();
        samples = rest;
    }
    let mut by_dataset: BTreeMap<String, Vec<SampleRef>> = BTreeMap::new();
    for mut s in samples {
        s.group = group_of(&keyer, &s);
        by_dataset.entry(s.dataset.clone()).or_default().push(s);
    }
    for (dataset, items) in by_dataset {
        let n = items.len();
        let target_test = (n as f64 * t).round() as usize;
        let target_val = (n as f64 * v).round() as usize;
        let mut units: BTreeMap<String, Vec<SampleRef>> = BTreeMap::new();
        for s in items {
            let key = s
                .group
                .clone()
                .map_or_else(|| format!("\u{1}{}", s.id), |g| format!("\u{0}{g}"));
            units.entry(key).or_default().push(s);
        }
        let mut units: Vec<Vec<SampleRef>> = units.into_values().collect();
        SplitMix64::stream(config.seed, &format!("split/{dataset}")).shuffle(&mut units);
        let mut target_val = target_val;
        if let Some(f) = config.test_fold {
            // The fold's units are the test set; val is drawn from the others, as its
            // fraction of all samples.
            if units.len() < 2 {
                return Err(DataError::Invalid(format!(
                    "{dataset} has {} split unit (patient, volume or image): it cannot be cross-validated",
                    units.len()
                )));
            }
            if units.len() < f.folds {
                return Err(DataError::Invalid(format!(
                    "{dataset} has {} split units (patients, volumes or images) for {} folds: some folds would test nothing; use at most {} folds",
                    units.len(),
                    f.folds,
                    units.len()
                )));
            }
            let folds = fold_of_units(&units, f.folds);
            let (test, rest): (Vec<_>, Vec<_>) = units
                .into_iter()
                .zip(folds)
                .partition(|(_, fold)| *fold == f.fold);
            sets[2].extend(test.into_iter().flat_map(|(unit, _)| unit));
            units = rest.into_iter().map(|(unit, _)| unit).collect();
            target_val = target_val.min(units.iter().map(Vec::len).sum::<usize>());
        }
        let (mut n_test, mut n_val) = (0, 0);
        for unit in units {
            let set = if n_test < target_test {
                n_test += unit.len();
                2
            } else if n_val < target_val {
                n_val += unit.len();
                1
            } else {
                0
            };
            sets[set].extend(unit);
        }
    }
    for set in &mut sets {
        set.sort_by(|a, b| (&a.dataset, &a.id).cmp(&(&b.dataset, &b.id)));
    }
    let [train, val, test] = sets;
    let mut split = Split {
        format: SPLIT_FORMAT.into(),
        config: config.clone(),
        train,
        val,
        test,
        hash: String::new(),
    };
    split.hash = split.content_hash();
    Ok(split)
}

/// The split unit of `s`: the patient its name gives under the split's grouping; a volume
/// slice without one belongs to its volume, even without grouping, as neighbouring
/// slices of one scan are never independent.
fn group_of(keyer: &GroupKeyer, s: &SampleRef) -> Option<String> {
    let stem = stem_of(&s.image);
    keyer
        .key(&stem)
        .or_else(|| s.slice.is_some().then_some(stem))
}

fn stem_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    super::pairing::split_extension(&name).0
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Split {
    /// Points every sample at the files of the sample with the same dataset and id in
    /// `current` (the datasets as opened now), so a split made before the data moved, or
    /// on another machine, is used on the data where it is. Samples not found keep their
    /// recorded files (and are reported if those cannot be read). The hash is recomputed,
    /// as it covers file names. Returns how many samples now point elsewhere.
    pub fn relocate(&mut self, current: &[SampleRef]) -> usize {
        let by_key: BTreeMap<(&str, &str), &SampleRef> = current
            .iter()
            .map(|s| ((s.dataset.as_str(), s.id.as_str()), s))
            .collect();
        let mut moved = 0;
        for s in self
            .train
            .iter_mut()
            .chain(self.val.iter_mut())
            .chain(self.test.iter_mut())
        {
            let Some(now) = by_key.get(&(s.dataset.as_str(), s.id.as_str())) else {
                continue;
            };
            if (&now.image, &now.masks, now.slice) != (&s.image, &s.masks, s.slice) {
                s.image.clone_from(&now.image);
                s.masks.clone_from(&now.masks);
                s.slice = now.slice;
                moved += 1;
            }
        }
        self.hash = self.content_hash();
        moved
    }

    /// The sets with their names, in order train, val, test.
    pub fn sets(&self) -> [(SplitSet, &[SampleRef]); 3] {
        [
            (SplitSet::Train, &self.train),
            (SplitSet::Val, &self.val),
            (SplitSet::Test, &self.test),
        ]
    }

    /// Which set holds sample `id` of `dataset`.
    pub fn set_of(&self, dataset: &str, id: &str) -> Option<SplitSet> {
        self.sets().into_iter().find_map(|(set, items)| {
            items
                .iter()
                .any(|s| s.dataset == dataset && s.id == id)
                .then_some(set)
        })
    }

    /// Total number of samples.
    pub fn len(&self) -> usize {
        self.train.len() + self.val.len() + self.test.len()
    }

    /// True when the split holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// SHA-256 (hex) of the configuration and assignments (see the module docs).
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        let c = &self.config;
        let grouping = serde_json::to_string(&c.grouping).unwrap_or_default();
        h.update(format!(
            "{SPLIT_FORMAT}\nseed={}\nval={}\ntest={}\ngrouping={grouping}\n",
            c.seed, c.val_fraction, c.test_fraction
        ));
        // Only a held-out site adds a line, so splits made before the option keep their hash.
        if let Some(site) = &c.test_site {
            h.update(format!("test_site={}\t{}\n", site.pattern, site.site));
        }
        for (set, items) in self.sets() {
            for s in items {
                let masks: Vec<String> = s.masks.iter().map(|m| file_name(m)).collect();
                h.update(format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    set.name(),
                    s.dataset,
                    s.id,
                    file_name(&s.image),
                    masks.join("|")
                ));
            }
        }
        hex(&h.finalize())
    }

    /// Groups (by `keyer`) with samples in more than one set.
    pub fn straddling_groups(&self, keyer: &GroupKeyer) -> Vec<StraddlingGroup> {
        let mut counts: BTreeMap<(String, String), [usize; 3]> = BTreeMap::new();
        for (i, (_, items)) in self.sets().into_iter().enumerate() {
            for s in items {
                if let Some(key) = keyer.key(&stem_of(&s.image)) {
                    counts.entry((s.dataset.clone(), key)).or_default()[i] += 1;
                }
            }
        }
        counts
            .into_iter()
            .filter(|(_, c)| c.iter().filter(|&&n| n > 0).count() > 1)
            .map(|((dataset, key), counts)| StraddlingGroup {
                dataset,
                key,
                counts,
            })
            .collect()
    }

    /// Distinct (dataset, group) keys found by `keyer`.
    pub fn group_count(&self, keyer: &GroupKeyer) -> usize {
        let keys: BTreeSet<(String, String)> = self
            .sets()
            .into_iter()
            .flat_map(|(_, items)| items.iter())
            .filter_map(|s| Some((s.dataset.clone(), keyer.key(&stem_of(&s.image))?)))
            .collect();
        keys.len()
    }

    /// Writes the split as JSON (atomically: temporary file + rename).
    pub fn save(&self, path: &Path) -> Result<(), DataError> {
        let json = serde_json::to_string_pretty(self).map_err(|e| DataError::Json {
            message: e.to_string(),
            path: path.to_path_buf(),
        })?;
        crate::fsutil::write_atomic(path, json.as_bytes()).map_err(|e| DataError::io(path, e))
    }

    /// Reads a split written by [`Split::save`] and checks its hash.
    pub fn load(path: &Path) -> Result<Split, DataError> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        let split: Split = serde_json::from_str(&text).map_err(|e| DataError::Json {
            message: e.to_string(),
            path: path.to_path_buf(),
        })?;
        if split.format != SPLIT_FORMAT {
            return Err(DataError::Json {
                message: format!("unknown split format {:?}", split.format),
                path: path.to_path_buf(),
            });
        }
        let computed = split.content_hash();
        if computed != split.hash {
            return Err(DataError::SplitHash {
                stored: split.hash,
                computed,
                path: path.to_path_buf(),
            });
        }
        Ok(split)
    }
}
