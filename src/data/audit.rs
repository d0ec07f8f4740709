//! Dataset audit as a library call: what would make a reported score dishonest.
//!
//! [`audit`] takes dataset folders (a MIX when several) and single files and returns a
//! serde-serialisable [`AuditReport`]:
//! * readability and pairing (unreadable files, unpaired images or masks, size mismatches);
//! * exact duplicates (SHA-256 of decoded pixels) and near-duplicates ([`super::phash`],
//!   flips and rotations included) and whether they straddle the audited split;
//! * patient groups that straddle the split, for an image-level split and a grouped one;
//! * per set: foreground fraction (mean, min, max), empty masks, image sizes, modalities,
//!   and the pixel accuracy an all-background prediction would get.
//!
//! The audited split is the one given in [`AuditOptions::split`], else a seeded split
//! with [`AuditOptions::grouping`] (70/30 by default). **Errors** (exit status 1 in
//! [`super::audit_text::audit_cli`]): unreadable files, unpaired or mismatched pairs,
//! duplicates across sets, patient groups across sets. **Warnings** never change the
//! status: empty or non-binary masks, united masks, duplicates within one set, the leakage
//! an image-level split would have had.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::dataset::{self, Dataset};
use super::dicom;
use super::error::{DataError, DataWarning};
use super::grouping::{DEFAULT_PATTERNS, GroupKeyer, Grouping};
use super::image_io::{self, PixelLayout};
use super::mask::MaskRule;
use super::nifti::{self, LabelStats};
use super::pairing;
use super::phash::{self, Fingerprint, GreyPlane};
use super::sample::{self, LoadedSample, SamplePixels};
use super::scalar::ScalarSlice;
use super::split::{self, SampleRef, Split, SplitConfig, SplitSet, StraddlingGroup};
use super::volume_pairs::VolumeCache;

/// The command-line entry point lives with the text rendering; re-exported here.
pub use super::audit_text::audit_cli;

/// How to audit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditOptions {
    /// Seed of the audited split (when none is given).
    pub seed: u64,
    /// Validation fraction (default 0.3).
    pub val_fraction: f64,
    /// Test fraction (default 0).
    pub test_fraction: f64,
    /// Grouping of the audited split (default: the default patterns).
    pub grouping: Grouping,
    /// Mask rule.
    pub mask_rule: MaskRule,
    /// Audit this split instead of making one.
    pub split: Option<Split>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            val_fraction: 0.3,
            test_fraction: 0.0,
            grouping: Grouping::Default,
            mask_rule: MaskRule::AnyNonZero,
            split: None,
        }
    }
}

/// One problem or notice, with a stable code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable machine-readable code (`unreadable`, `unpaired_image`, `near_duplicate_across_sets`, …).
    pub code: String,
    /// Human-readable message (problem first, path last).
    pub message: String,
}

fn finding(code: &str, message: impl Into<String>) -> Finding {
    Finding {
        code: code.into(),
        message: message.into(),
    }
}

/// What one input path turned out to be.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// A dataset folder (`images/` + `masks/`).
    Dataset,
    /// A folder of DICOM slices.
    DicomFolder,
    /// A single 2D image.
    Image,
    /// A single DICOM file.
    Dicom,
    /// A single NIfTI volume.
    Nifti,
    /// Could not be read.
    Unreadable,
}

/// Summary of one input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputAudit {
    /// The path as given.
    pub path: PathBuf,
    /// What it is.
    pub kind: InputKind,
    /// Dataset name (folders).
    pub dataset: Option<String>,
    /// Modality, when known.
    pub modality: Option<String>,
    /// Where the modality came from.
    pub modality_source: Option<String>,
    /// Image/mask pairs found.
    pub pairs: usize,
    /// NIfTI volumes paired with a label volume.
    #[serde(default)]
    pub volume_pairs: usize,
    /// Their axial slices (each a sample).
    #[serde(default)]
    pub volume_slices: usize,
    /// Images without a mask.
    pub images_without_mask: usize,
    /// Masks without an image.
    pub masks_without_image: usize,
    /// Images with several masks.
    pub several_masks: usize,
    /// Files that are not 2D images (listed in the report's notes).
    pub ignored_files: usize,
    /// Single files: what was read.
    pub file: Option<FileDetails>,
}

/// What a single file holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileDetails {
    /// Width (columns).
    pub width: u32,
    /// Height (rows).
    pub height: u32,
    /// Slices (volumes and DICOM folders), 1 otherwise.
    pub depth: usize,
    /// Bits per sample as stored.
    pub bit_depth: Option<u16>,
    /// Channels (2D images).
    pub channels: Option<usize>,
    /// Smallest and largest value (HU for CT, stored values otherwise).
    pub value_range: Option<(f64, f64)>,
    /// Voxel or pixel spacing in mm.
    pub spacing_mm: Option<Vec<f64>>,
    /// Codec / transfer syntax / NIfTI datatype.
    pub encoding: Option<String>,
    /// NIfTI: where the affine came from.
    pub affine_source: Option<String>,
    /// NIfTI with integer labels: the non-zero voxels.
    pub labels: Option<LabelStats>,
}

/// A sample's identity and set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SampleKey {
    /// Dataset.
    pub dataset: String,
    /// Sample id (stem).
    pub id: String,
    /// Set in the audited split ("train", "val", "test" or "none").
    pub set: String,
}

/// Two images that are the same picture (exact) or nearly (near).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DuplicatePair {
    /// First sample.
    pub a: SampleKey,
    /// Second sample.
    pub b: SampleKey,
    /// "exact" or "near" (or "distinct" in [`AuditReport::closest_distinct`]).
    pub kind: String,
    /// Transform turning a into b (near-duplicates).
    pub transform: String,
    /// pHash Hamming distance under that transform.
    pub phash_distance: u32,
    /// Confirmation residual (99th percentile, grey units); `None` for exact duplicates.
    pub residual: Option<f32>,
    /// True when a and b are in different sets.
    pub crosses_sets: bool,
}

/// Patient groups across sets for one split.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Straddle {
    /// Groups with samples in more than one set.
    pub groups_straddling: usize,
    /// Samples in those groups.
    pub samples_in_straddling_groups: usize,
    /// The first groups (at most 10).
    pub examples: Vec<StraddlingGroup>,
}

fn straddle(split: &Split, keyer: &GroupKeyer) -> Straddle {
    let groups = split.straddling_groups(keyer);
    Straddle {
        groups_straddling: groups.len(),
        samples_in_straddling_groups: groups.iter().map(|g| g.counts.iter().sum::<usize>()).sum(),
        examples: groups.into_iter().take(10).collect(),
    }
}

/// Patient leakage with and without grouping.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Leakage {
    /// Patterns used to find keys.
    pub patterns: String,
    /// Samples whose name gave a key.
    pub samples_with_key: usize,
    /// Distinct (dataset, key) groups.
    pub groups: usize,
    /// An image-level (ungrouped) split with the same seed and fractions.
    pub image_level: Straddle,
    /// A grouped split with the same seed and fractions.
    pub grouped: Straddle,
    /// The audited split.
    pub audited: Straddle,
}

/// Statistics of one set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SetStats {
    /// "train", "val", "test".
    pub set: String,
    /// Samples analysed.
    pub samples: usize,
    /// Mean over samples of the foreground fraction.
    pub foreground_mean: f64,
    /// Smallest foreground fraction.
    pub foreground_min: f64,
    /// Largest foreground fraction.
    pub foreground_max: f64,
    /// Masks with no foreground.
    pub empty_masks: usize,
    /// Pixel accuracy of an all-background prediction, pooled over all pixels.
    pub all_background_accuracy: f64,
    /// The same, averaged per image.
    pub all_background_accuracy_per_image: f64,
    /// The same as the reference code's ACC would report it (per image, averaged), where an
    /// empty mask is scored against an all-foreground target and gets 0.
    pub all_background_accuracy_reference_metric: f64,
    /// Image sizes ("W×H") with counts.
    pub image_sizes: BTreeMap<String, usize>,
    /// Modalities with counts.
    pub modalities: BTreeMap<String, usize>,
    /// Sample formats ("8-bit grey", …) with counts.
    pub sample_formats: BTreeMap<String, usize>,
    /// Samples per dataset.
    pub datasets: BTreeMap<String, usize>,
}

/// The audited split in short.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitSummary {
    /// Seed.
    pub seed: u64,
    /// Validation fraction.
    pub val_fraction: f64,
    /// Test fraction.
    pub test_fraction: f64,
    /// Patient grouping.
    pub grouping: Grouping,
    /// True when the split came from [`AuditOptions::split`].
    pub given: bool,
    /// Samples per set: train, val, test.
    pub counts: [usize; 3],
    /// Content hash.
    pub hash: String,
}

/// The thresholds used (so a report says how it decided).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// pHash candidate distance (of 64).
    pub phash_candidate_distance: u32,
    /// 32×32 thumbnail gate.
    pub coarse_min_correlation: f32,
    /// 128×128 thumbnail gate.
    pub thumb_min_correlation: f32,
    /// Confirmation residual limit.
    pub residual_max: f32,
    /// Confirmation shift range, px.
    pub max_shift_px: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            phash_candidate_distance: phash::PHASH_CANDIDATE_DISTANCE,
            coarse_min_correlation: phash::COARSE_MIN_CORRELATION,
            thumb_min_correlation: phash::THUMB_MIN_CORRELATION,
            residual_max: phash::RESIDUAL_MAX,
            max_shift_px: phash::MAX_SHIFT_PX,
        }
    }
}

/// Everything the audit found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Inputs.
    pub inputs: Vec<InputAudit>,
    /// Samples loaded and analysed.
    pub samples_analysed: usize,
    /// The audited split.
    pub split: SplitSummary,
    /// Per-set statistics (train, val, and test when non-empty).
    pub sets: Vec<SetStats>,
    /// Exact duplicates.
    pub exact_duplicates: Vec<DuplicatePair>,
    /// Near-duplicates.
    pub near_duplicates: Vec<DuplicatePair>,
    /// Candidate pairs that were *not* confirmed, closest first (at most 5): how close the
    /// nearest distinct images came.
    pub closest_distinct: Vec<DuplicatePair>,
    /// Stage-1 candidate pairs examined.
    pub candidate_pairs: usize,
    /// Patient leakage.
    pub leakage: Leakage,
    /// Thresholds used.
    pub thresholds: Thresholds,
    /// Errors (exit status 1).
    pub errors: Vec<Finding>,
    /// Warnings.
    pub warnings: Vec<Finding>,
    /// Notes (ignored files and the like).
    pub notes: Vec<String>,
}

impl AuditReport {
    /// 0 without errors, 1 with.
    pub fn exit_status(&self) -> i32 {
        i32::from(!self.errors.is_empty())
    }
}

/// What one sample contributes.
struct SampleInfo {
    foreground: u64,
    pixels: u64,
    size: (u32, u32),
    format: String,
    pixel_hash: String,
    fingerprint: Fingerprint,
}

impl SampleInfo {
    fn of(loaded: &LoadedSample) -> Self {
        let (format, pixel_hash, fingerprint) = match &loaded.pixels {
            SamplePixels::Image(image) => (
                format!("{}-bit {}", image.bit_depth, layout_name(image.layout)),
                image.pixel_hash(),
                Fingerprint::of(image),
            ),
            SamplePixels::Slice(slice) => {
                let plane = GreyPlane::of_pixels(&loaded.pixels);
                (
                    "NIfTI slice".to_owned(),
                    slice_hash(slice),
                    Fingerprint::of_grey(&plane.data, plane.width, plane.height),
                )
            }
        };
        Self {
            foreground: loaded.mask.foreground(),
            pixels: loaded.mask.data.len() as u64,
            size: loaded.size(),
            format,
            pixel_hash,
            fingerprint,
        }
    }
}

/// SHA-256 of a slice's size and values (exact duplicates among volume slices).
fn slice_hash(slice: &ScalarSlice) -> String {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    h.update(slice.width.to_le_bytes());
    h.update(slice.height.to_le_bytes());
    slice.values.iter().for_each(|v| h.update(v.to_le_bytes()));
    image_io::hex(&h.finalize())
}

/// Audits `paths` (dataset folders, DICOM folders or single files).
pub fn audit(paths: &[PathBuf], options: &AuditOptions) -> AuditReport {
    let mut report = AuditReport {
        thresholds: Thresholds::default(),
        ..AuditReport::default()
    };
    let mut datasets: Vec<Dataset> = Vec::new();
    for path in paths {
        audit_input(path, &mut report, &mut datasets);
    }
    let samples = dataset::mix_samples(&datasets);

    // Load every pair once, in parallel; a bad pair is reported and left out.
    let volumes = VolumeCache::for_threads();
    let loaded: Vec<Result<(SampleInfo, Vec<DataWarning>), DataError>> = samples
        .par_iter()
        .map(|s| {
            let loaded = sample::load_sample(s, &options.mask_rule, &volumes)?;
            Ok((SampleInfo::of(&loaded), loaded.warnings))
        })
        .collect();
    let mut good: Vec<(SampleRef, SampleInfo)> = Vec::new();
    for (s, result) in samples.into_iter().zip(loaded) {
        match result {
            Ok((info, warnings)) => {
                report.warnings.extend(
                    warnings
                        .iter()
                        .map(|w| finding(warning_code(w), w.to_string())),
                );
                good.push((s, info));
            }
            Err(e) => report.errors.push(finding(error_code(&e), e.to_string())),
        }
    }
    report.samples_analysed = good.len();
    let refs: Vec<SampleRef> = good.iter().map(|(s, _)| s.clone()).collect();

    // Splits: audited, image-level and grouped (same seed and fractions).
    let config = |grouping: Grouping| SplitConfig {
        seed: options.seed,
        val_fraction: options.val_fraction,
        test_fraction: options.test_fraction,
        grouping,
        test_site: None,
        test_fold: None,
    };
    let made = |grouping: Grouping, report: &mut AuditReport| match split::make_split(
        &refs,
        &config(grouping),
    ) {
        Ok(s) => Some(s),
        Err(e) => {
            report.errors.push(finding("split", e.to_string()));
            None
        }
    };
    let audited = match &options.split {
        Some(s) => Some(s.clone()),
        None => made(options.grouping.clone(), &mut report),
    };
    let detect_grouping = if options.grouping == Grouping::None {
        Grouping::Default
    } else {
        options.grouping.clone()
    };
    let image_level = made(Grouping::None, &mut report);
    let grouped = made(detect_grouping.clone(), &mut report);
    let Some(audited) = audited else {
        return report;
    };

    let mut set_of: HashMap<(String, String), SplitSet> = HashMap::new();
    for (set, items) in audited.sets() {
        for s in items {
            set_of.insert((s.dataset.clone(), s.id.clone()), set);
        }
    }
    let key_of = |s: &SampleRef| SampleKey {
        dataset: s.dataset.clone(),
        id: s.id.clone(),
        set: set_of
            .get(&(s.dataset.clone(), s.id.clone()))
            .map_or("none", |x| x.name())
            .into(),
    };
    if options.split.is_some() {
        let missing = refs
            .iter()
            .filter(|s| !set_of.contains_key(&(s.dataset.clone(), s.id.clone())))
            .count();
        if missing > 0 {
            report.notes.push(format!(
                "{missing} samples are not in the given split and were only checked for readability"
            ));
        }
    }
    report.split = SplitSummary {
        seed: audited.config.seed,
        val_fraction: audited.config.val_fraction,
        test_fraction: audited.config.test_fraction,
        grouping: audited.config.grouping.clone(),
        given: options.split.is_some(),
        counts: [audited.train.len(), audited.val.len(), audited.test.len()],
        hash: audited.hash.clone(),
    };

    let plane_of = |s: &SampleRef| {
        sample::load_pixels(s, &volumes)
            .ok()
            .map(|p| GreyPlane::of_pixels(&p))
    };
    find_duplicates(&good, &key_of, &plane_of, &mut report);

    // Leakage.
    match GroupKeyer::new(&detect_grouping) {
        Ok(keyer) => {
            let patterns = match &detect_grouping {
                Grouping::Pattern(p) => p.clone(),
                _ => DEFAULT_PATTERNS
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let keys: BTreeSet<(String, String)> = refs
                .iter()
                .filter_map(|s| Some((s.dataset.clone(), keyer.key(&file_stem(&s.image))?)))
                .collect();
            report.leakage = Leakage {
                patterns,
                samples_with_key: refs
                    .iter()
                    .filter(|s| keyer.key(&file_stem(&s.image)).is_some())
                    .count(),
                groups: keys.len(),
                image_level: image_level
                    .as_ref()
                    .map(|s| straddle(s, &keyer))
                    .unwrap_or_default(),
                grouped: grouped
                    .as_ref()
                    .map(|s| straddle(s, &keyer))
                    .unwrap_or_default(),
                audited: straddle(&audited, &keyer),
            };
            for g in &report.leakage.audited.examples {
                report.errors.push(finding(
                    "group_across_sets",
                    format!(
                        "patient group {} of {} has samples in several sets (train {}, val {}, test {})",
                        g.key, g.dataset, g.counts[0], g.counts[1], g.counts[2]
                    ),
                ));
            }
            let extra = report
                .leakage
                .audited
                .groups_straddling
                .saturating_sub(report.leakage.audited.examples.len());
            if extra > 0 {
                report.errors.push(finding(
                    "group_across_sets",
                    format!("… and {extra} more patient groups in several sets"),
                ));
            }
            let il = &report.leakage.image_level;
            if il.groups_straddling > 0 && report.leakage.audited.groups_straddling == 0 {
                report.warnings.push(finding(
                    "image_level_split_leaks",
                    format!(
                        "an image-level split (seed {}) would put {} of {} patient groups on both sides ({} samples); the audited split is grouped",
                        options.seed, il.groups_straddling, report.leakage.groups, il.samples_in_straddling_groups
                    ),
                ));
            }
        }
        Err(e) => report.errors.push(finding("grouping", e.to_string())),
    }

    // Per-set statistics.
    let index: HashMap<(String, String), &SampleInfo> = good
        .iter()
        .map(|(s, i)| ((s.dataset.clone(), s.id.clone()), i))
        .collect();
    for (set, items) in audited.sets() {
        if set == SplitSet::Test && items.is_empty() {
            continue;
        }
        let infos: Vec<(&SampleRef, &SampleInfo)> = items
            .iter()
            .filter_map(|s| Some((s, *index.get(&(s.dataset.clone(), s.id.clone()))?)))
            .collect();
        report.sets.push(set_stats(set, &infos));
    }
    report
}

fn layout_name(layout: PixelLayout) -> &'static str {
    match layout {
        PixelLayout::Grey => "grey",
        PixelLayout::GreyAlpha => "grey+alpha",
        PixelLayout::Rgb => "RGB",
        PixelLayout::Rgba => "RGBA",
    }
}

fn file_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    pairing::split_extension(&name).0
}

fn warning_code(w: &DataWarning) -> &'static str {
    match w {
        DataWarning::EmptyMask { .. } => "empty_mask",
        DataWarning::NonBinaryMask { .. } => "non_binary_mask",
        DataWarning::MultiLabel { .. } => "multi_label_mask",
        DataWarning::LabelAbsent { .. } => "label_absent",
        DataWarning::RuleNotApplicable { .. } => "rule_not_applicable",
        DataWarning::MasksUnited { .. } => "masks_united",
        DataWarning::OrientationCopiedToMask { .. } => "orientation_copied_to_mask",
        DataWarning::OrientationDiffers { .. } => "orientation_differs",
        DataWarning::PaletteAmbiguous { .. } => "palette_ambiguous",
        DataWarning::LabelVolumeChosen { .. } => "label_volume_chosen",
        DataWarning::LabelSpacingDiffers { .. } => "label_spacing_differs",
        DataWarning::FirstOfSeveralVolumes { .. } => "first_of_several_volumes",
    }
}

fn error_code(e: &DataError) -> &'static str {
    match e {
        DataError::SizeMismatch { .. } => "size_mismatch",
        _ => "unreadable",
    }
}

/// Reads one input path into the report (and `datasets` for dataset folders).
fn audit_input(path: &Path, report: &mut AuditReport, datasets: &mut Vec<Dataset>) {
    let mut input = InputAudit {
        path: path.to_path_buf(),
        kind: InputKind::Unreadable,
        dataset: None,
        modality: None,
        modality_source: None,
        pairs: 0,
        volume_pairs: 0,
        volume_slices: 0,
        images_without_mask: 0,
        masks_without_image: 0,
        several_masks: 0,
        ignored_files: 0,
        file: None,
    };
    if path.is_dir() {
        match dataset::open_dataset(path) {
            Ok(d) => {
                let p = &d.pairing;
                input.kind = InputKind::Dataset;
                input.dataset = Some(d.name.clone());
                input.modality = d.modality.as_ref().map(ToString::to_string);
                input.modality_source.clone_from(&d.modality_source);
                input.pairs = p.pairs.len();
                input.volume_pairs = p.volume_pairs.len();
                input.volume_slices = p.volume_slices();
                input.images_without_mask = p.images_without_mask.len();
                input.masks_without_image = p.masks_without_image.len();
                input.several_masks = p.several_masks.len();
                input.ignored_files = p.ignored.len();
                for image in &p.images_without_mask {
                    report.errors.push(finding(
                        "unpaired_image",
                        format!("image has no mask: {}", image.display()),
                    ));
                }
                for volume in &p.unpaired_volumes {
                    report.errors.push(finding(
                        "unpaired_volume",
                        format!("{}: {}", volume.reason, volume.path.display()),
                    ));
                }
                // Pairing's own volume warnings; the 2D pairs' (masks united) come again
                // with each sample's load.
                for w in p
                    .warnings
                    .iter()
                    .filter(|w| !matches!(w, DataWarning::MasksUnited { .. }))
                {
                    report
                        .warnings
                        .push(finding(warning_code(w), w.to_string()));
                }
                for mask in &p.masks_without_image {
                    report.errors.push(finding(
                        "unpaired_mask",
                        format!("mask has no image: {}", mask.display()),
                    ));
                }
                for group in &p.ambiguous_images {
                    let names: Vec<String> =
                        group.iter().map(|g| g.display().to_string()).collect();
                    report.errors.push(finding(
                        "ambiguous_image",
                        format!(
                            "several images share one name; only the first is used: {}",
                            names.join(", ")
                        ),
                    ));
                }
                for ignored in &p.ignored {
                    report.notes.push(format!(
                        "ignored ({}): {}",
                        ignored.reason,
                        ignored.path.display()
                    ));
                }
                if d.modality.is_none() {
                    report.notes.push(format!(
                        "modality unknown (no SOURCE.md line, no ct/mr in the name): {}",
                        path.display()
                    ));
                }
                datasets.push(d);
            }
            Err(not_dataset) => match dicom::read_dicom_folder(path) {
                Ok(series) if !series.slices.is_empty() => {
                    input.kind = InputKind::DicomFolder;
                    let first = &series.slices[0];
                    input.modality = Some(first.modality.to_string());
                    let range = series
                        .slices
                        .iter()
                        .flat_map(|s| s.values())
                        .fold(None, fold_range);
                    input.file = Some(FileDetails {
                        width: first.width,
                        height: first.height,
                        depth: series.slices.len(),
                        bit_depth: Some(first.bits_stored),
                        value_range: range,
                        spacing_mm: first.pixel_spacing_mm.map(|s| s.to_vec()),
                        encoding: Some(first.transfer_syntax.clone()),
                        ..FileDetails::default()
                    });
                    for (p, message) in &series.skipped {
                        report.errors.push(finding(
                            "unreadable",
                            format!("{message} (in DICOM folder {})", p.display()),
                        ));
                    }
                    report.warnings.extend(
                        series
                            .warnings
                            .iter()
                            .map(|w| finding("dicom_series", w.clone())),
                    );
                }
                _ => report
                    .errors
                    .push(finding("not_a_dataset", not_dataset.to_string())),
            },
        }
    } else {
        match audit_file(path) {
            Ok((kind, details, modality)) => {
                input.kind = kind;
                input.file = Some(details);
                input.modality = modality;
            }
            Err(e) => report.errors.push(finding(error_code(&e), e.to_string())),
        }
    }
    report.inputs.push(input);
}

fn fold_range(acc: Option<(f64, f64)>, v: f32) -> Option<(f64, f64)> {
    if !v.is_finite() {
        return acc;
    }
    let v = f64::from(v);
    Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
}

/// Reads a single file by its extension (DICOM, NIfTI, else a 2D image).
fn audit_file(path: &Path) -> Result<(InputKind, FileDetails, Option<String>), DataError> {
    if !path.exists() {
        return Err(DataError::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (_, ext) = pairing::split_extension(&name);
    match ext.as_str() {
        "dcm" => {
            let s = dicom::read_dicom(path)?;
            let details = FileDetails {
                width: s.width,
                height: s.height,
                depth: 1,
                bit_depth: Some(s.bits_stored),
                value_range: s.values().into_iter().fold(None, fold_range),
                spacing_mm: s.pixel_spacing_mm.map(|v| v.to_vec()),
                encoding: Some(s.transfer_syntax.clone()),
                ..FileDetails::default()
            };
            Ok((InputKind::Dicom, details, Some(s.modality.to_string())))
        }
        "nii" | "nii.gz" => {
            let v = nifti::read_nifti(path)?;
            let integer = v.values.iter().all(|x| x.fract() == 0.0);
            let distinct: BTreeSet<i64> = if integer {
                v.values.iter().take(5_000_000).map(|&x| x as i64).collect()
            } else {
                BTreeSet::new()
            };
            let labels = (integer && distinct.len() <= 32).then(|| nifti::label_stats(&v, None));
            let details = FileDetails {
                width: v.dims[0] as u32,
                height: v.dims[1] as u32,
                depth: v.dims[2],
                value_range: v.values.iter().copied().fold(None, fold_range),
                spacing_mm: Some(v.spacing_mm.to_vec()),
                encoding: Some(v.datatype.clone()),
                affine_source: Some(format!("{:?}", v.affine_source)),
                labels,
                ..FileDetails::default()
            };
            Ok((InputKind::Nifti, details, None))
        }
        _ => {
            let raw = image_io::decode_image(path)?;
            let details = FileDetails {
                width: raw.width,
                height: raw.height,
                depth: 1,
                bit_depth: Some(u16::from(raw.bit_depth)),
                channels: Some(raw.channels()),
                value_range: (0..raw.samples.len())
                    .map(|i| raw.samples.get(i) as f32)
                    .fold(None, fold_range),
                encoding: Some(raw.format.name().into()),
                ..FileDetails::default()
            };
            Ok((InputKind::Image, details, None))
        }
    }
}

/// Exact and near-duplicates among the analysed samples.
fn find_duplicates(
    good: &[(SampleRef, SampleInfo)],
    key_of: &dyn Fn(&SampleRef) -> SampleKey,
    plane_of: &(dyn Fn(&SampleRef) -> Option<GreyPlane> + Sync),
    report: &mut AuditReport,
) {
    let mut by_hash: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, info)) in good.iter().enumerate() {
        by_hash.entry(&info.pixel_hash).or_default().push(i);
    }
    let mut exact: BTreeSet<(usize, usize)> = BTreeSet::new();
    for members in by_hash.values().filter(|m| m.len() > 1) {
        for (n, &i) in members.iter().enumerate() {
            for &j in &members[n + 1..] {
                exact.insert((i, j));
            }
        }
    }
    let pair = |i: usize, j: usize, kind: &str, transform: &str, d: u32, residual: Option<f32>| {
        let (a, b) = (key_of(&good[i].0), key_of(&good[j].0));
        let crosses_sets = a.set != b.set;
        DuplicatePair {
            a,
            b,
            kind: kind.into(),
            transform: transform.into(),
            phash_distance: d,
            residual,
            crosses_sets,
        }
    };
    for &(i, j) in &exact {
        report
            .exact_duplicates
            .push(pair(i, j, "exact", "identity", 0, None));
    }

    // Stage 1 in parallel over the first image of each pair.
    let candidates: Vec<(usize, usize, u32, usize)> = (0..good.len())
        .into_par_iter()
        .flat_map_iter(|i| {
            (i + 1..good.len()).filter_map(move |j| {
                let (d, t, _) = good[i].1.fingerprint.candidate(&good[j].1.fingerprint)?;
                Some((i, j, d, t))
            })
        })
        .filter(|(i, j, _, _)| !exact.contains(&(*i, *j)))
        .collect();
    report.candidate_pairs = candidates.len();

    // Stage 2: decode the images involved once.
    let involved: BTreeSet<usize> = candidates.iter().flat_map(|c| [c.0, c.1]).collect();
    let planes: HashMap<usize, GreyPlane> = involved
        .par_iter()
        .filter_map(|&i| Some((i, plane_of(&good[i].0)?)))
        .collect();
    let mut confirmed: Vec<(usize, usize, u32, usize, f32)> = candidates
        .par_iter()
        .filter_map(|&(i, j, d, t)| {
            Some((
                i,
                j,
                d,
                t,
                phash::confirm(planes.get(&i)?, planes.get(&j)?, t)?,
            ))
        })
        .collect();
    confirmed.sort_by(|a, b| a.4.total_cmp(&b.4).then((a.0, a.1).cmp(&(b.0, b.1))));
    for &(i, j, d, t, r) in &confirmed {
        if r <= phash::RESIDUAL_MAX {
            report
                .near_duplicates
                .push(pair(i, j, "near", phash::TRANSFORM_NAMES[t], d, Some(r)));
        } else if report.closest_distinct.len() < 5 {
            report.closest_distinct.push(pair(
                i,
                j,
                "distinct",
                phash::TRANSFORM_NAMES[t],
                d,
                Some(r),
            ));
        }
    }
    for p in report
        .exact_duplicates
        .iter()
        .chain(&report.near_duplicates)
    {
        let what = if p.kind == "exact" {
            "exact duplicate".to_string()
        } else {
            format!("near-duplicate ({})", p.transform)
        };
        let message = format!(
            "{what}: {}/{} ({}) and {}/{} ({})",
            p.a.dataset, p.a.id, p.a.set, p.b.dataset, p.b.id, p.b.set
        );
        if p.crosses_sets {
            report.errors.push(finding(
                &format!("{}_duplicate_across_sets", p.kind),
                message,
            ));
        } else {
            report.warnings.push(finding(
                &format!("{}_duplicate_within_set", p.kind),
                message,
            ));
        }
    }
}

fn set_stats(set: SplitSet, infos: &[(&SampleRef, &SampleInfo)]) -> SetStats {
    let mut s = SetStats {
        set: set.name().into(),
        samples: infos.len(),
        foreground_min: f64::INFINITY,
        ..SetStats::default()
    };
    let (mut fg_pixels, mut all_pixels) = (0u64, 0u64);
    let (mut sum_fraction, mut sum_bg, mut sum_repo) = (0f64, 0f64, 0f64);
    for (r, info) in infos {
        let fraction = if info.pixels > 0 {
            info.foreground as f64 / info.pixels as f64
        } else {
            0.0
        };
        sum_fraction += fraction;
        s.foreground_min = s.foreground_min.min(fraction);
        s.foreground_max = s.foreground_max.max(fraction);
        fg_pixels += info.foreground;
        all_pixels += info.pixels;
        sum_bg += 1.0 - fraction;
        if info.foreground == 0 {
            s.empty_masks += 1;
        } else {
            sum_repo += 1.0 - fraction;
        }
        *s.image_sizes
            .entry(format!("{}×{}", info.size.0, info.size.1))
            .or_default() += 1;
        *s.modalities
            .entry(
                r.modality
                    .as_ref()
                    .map_or("unknown".into(), ToString::to_string),
            )
            .or_default() += 1;
        *s.sample_formats.entry(info.format.clone()).or_default() += 1;
        *s.datasets.entry(r.dataset.clone()).or_default() += 1;
    }
    let n = infos.len().max(1) as f64;
    s.foreground_mean = sum_fraction / n;
    if infos.is_empty() {
        s.foreground_min = 0.0;
    }
    s.all_background_accuracy = if all_pixels > 0 {
        1.0 - fg_pixels as f64 / all_pixels as f64
    } else {
        0.0
    };
    s.all_background_accuracy_per_image = sum_bg / n;
    s.all_background_accuracy_reference_metric = sum_repo / n;
    s
}
