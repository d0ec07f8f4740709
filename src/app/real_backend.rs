//! The window's backend on the real engine: datasets, DICOM and NIfTI through
//! [`crate::data`], models through [`crate::infer`]. Called on background threads only.
//!
//! Entry ids say how to load themselves ([`super::entry_ref::EntryRef`]), so the
//! backend keeps no per-dataset state; models are loaded once and cached, and the image
//! volume being browsed too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::backend::{
    AppBackend, EntryId, EntryInfo, ImageF32, LoadedEntry, Mask, Modality, ModelId, ModelInfo,
    Prediction, SourceRef, TrainControl, TrainEvent, TrainingJob, TrainingPlan, Window,
};
use super::entry_ref::EntryRef;
use crate::annotate::nifti_label;
use crate::backend::{BackendRequest, ComputeDevice, select};
use crate::data::augment::Augmentation;
use crate::data::dataset::open_dataset;
use crate::data::dicom::looks_like_dicom;
use crate::data::image_io::{FileFormat, PixelLayout, RawImage, Samples, decode_image};
use crate::data::mask::MaskRule;
use crate::data::nifti::{VoxelAxis, is_nifti_path, read_nifti};
use crate::data::preprocess::{PrepareOptions, SourcePixels, prepare};
use crate::data::sample::load_pair_paths;
use crate::data::scalar::{Intensity, Modality as DataModality, ScalarSlice};
use crate::data::volume_pairs::VolumeCache;
use crate::infer::{Predictor, sigmoid};
use crate::metrics::resize_bilinear;

/// Folder of the bundled demo data and models.
pub fn assets_dir() -> PathBuf {
    let next_to_exe = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|p| p.join("assets")))
        .filter(|p| p.is_dir());
    next_to_exe.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"))
}

/// The real backend.
pub struct RealBackend {
    compute: ComputeDevice,
    models: Mutex<HashMap<ModelId, Arc<Predictor>>>,
    /// Image volumes being browsed, so moving between slices does not read the file again.
    volumes: VolumeCache,
}

impl RealBackend {
    /// A backend on the device `request` picks, with the bundled models in `assets/models`.
    pub fn new(request: BackendRequest) -> Self {
        let compute = select(request)
            .or_else(|_| select(BackendRequest::Cpu))
            .unwrap_or_else(|e| unreachable!("the CPU backend always exists: {e}"));
        let backend = Self {
            compute,
            models: Mutex::new(HashMap::new()),
            volumes: VolumeCache::new(2),
        };
        if let Ok(dir) = std::fs::read_dir(assets_dir().join("models")) {
            let mut paths: Vec<PathBuf> = dir
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
                .collect();
            paths.sort();
            for p in paths {
                let _ = backend.register(&p);
            }
        }
        backend
    }

    fn register(&self, path: &Path) -> Result<ModelInfo, String> {
        let id = ModelId(path.display().to_string());
        let predictor = Predictor::open(path, None, self.compute.clone())
            .map(Arc::new)
            .map_err(|e| format!("{e}"))?;
        let info = model_info(&id, &predictor);
        lock(&self.models).insert(id, predictor);
        Ok(info)
    }
}

fn model_info(id: &ModelId, predictor: &Predictor) -> ModelInfo {
    let modality = predictor
        .loaded
        .meta
        .input
        .modality
        .as_deref()
        .map_or(Modality::Other, modality_of_code);
    let path = Path::new(&id.0);
    let stem = path
        .file_stem()
        .map_or_else(|| id.0.clone(), |s| s.to_string_lossy().into_owned());
    // Checkpoints of a run are all called model_best/model_last: name them by their run.
    let run = path
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned());
    let name = match run {
        Some(run) if stem.starts_with("model_") => format!("{run}/{stem}"),
        _ => stem,
    };
    ModelInfo {
        id: id.clone(),
        name,
        modality,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn modality_of_code(code: &str) -> Modality {
    match code.to_ascii_uppercase().as_str() {
        "CT" => Modality::Ct,
        "MR" | "MRI" => Modality::Mr,
        _ => Modality::Other,
    }
}

fn modality_of(m: Option<&DataModality>) -> Modality {
    match m {
        Some(DataModality::Ct) => Modality::Ct,
        Some(DataModality::Mr) => Modality::Mr,
        _ => Modality::Other,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

fn entry(id: String, name: String, modality: Modality, warnings: Vec<String>) -> EntryInfo {
    EntryInfo {
        id: EntryId(id),
        name,
        modality,
        gt_foreground_fraction: None,
        warnings,
    }
}

impl AppBackend for RealBackend {
    fn demo_sources(&self) -> Vec<SourceRef> {
        let demo = assets_dir().join("demo");
        ["ct-lungs", "mri-lgg"]
            .iter()
            .map(|n| SourceRef {
                name: (*n).to_string(),
                path: demo.join(n),
            })
            .filter(|s| s.path.is_dir())
            .collect()
    }

    fn open(&self, path: &Path) -> Result<Vec<EntryInfo>, String> {
        if path.is_dir() && path.join("images").is_dir() {
            let ds = open_dataset(path).map_err(|e| e.to_string())?;
            let modality = modality_of(ds.modality.as_ref());
            let mut entries: Vec<EntryInfo> = ds
                .pairing
                .pairs
                .iter()
                .map(|p| {
                    let warnings = if p.masks.len() > 1 {
                        vec![format!("{} mask files are united", p.masks.len())]
                    } else {
                        Vec::new()
                    };
                    entry(
                        EntryRef::Pair {
                            image: p.image.clone(),
                            masks: p.masks.clone(),
                        }
                        .id()
                        .0,
                        file_name(&p.image),
                        modality,
                        warnings,
                    )
                })
                .collect();
            for v in &ds.pairing.volume_pairs {
                entries.extend((0..v.slices()).map(|k| {
                    entry(
                        EntryRef::NiftiSlice {
                            volume: v.image.clone(),
                            k,
                        }
                        .id()
                        .0,
                        format!("{} k={k}", file_name(&v.image)),
                        modality,
                        Vec::new(),
                    )
                }));
            }
            entries.extend(ds.pairing.images_without_mask.iter().map(|i| {
                entry(
                    EntryRef::Image(i.clone()).id().0,
                    file_name(i),
                    modality,
                    vec!["no mask".into()],
                )
            }));
            if entries.is_empty() {
                return Err(format!("no images found in {}", path.display()));
            }
            return Ok(entries);
        }
        if path.is_dir() {
            // A folder of DICOM slices: one entry per readable slice, in position order.
            let series = crate::data::dicom::read_dicom_folder(path).map_err(|e| e.to_string())?;
            if series.slices.is_empty() {
                return Err(format!(
                    "no images/ folder and no readable DICOM slices in {}",
                    path.display()
                ));
            }
            let mut notes: Vec<String> = series.warnings.clone();
            notes.extend(
                series
                    .skipped
                    .iter()
                    .map(|(p, why)| format!("skipped {}: {why}", p.display())),
            );
            return Ok(series
                .slices
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    entry(
                        EntryRef::Dicom(s.path.clone()).id().0,
                        file_name(&s.path),
                        modality_of(Some(&s.modality)),
                        if i == 0 { notes.clone() } else { Vec::new() },
                    )
                })
                .collect());
        }
        if is_nifti_path(path) {
            let volume = read_nifti(path).map_err(|e| e.to_string())?;
            let count = volume.slice_count(VoxelAxis::K);
            return Ok((0..count)
                .map(|k| {
                    entry(
                        EntryRef::NiftiSlice {
                            volume: path.to_path_buf(),
                            k,
                        }
                        .id()
                        .0,
                        format!("{} k={k}", file_name(path)),
                        Modality::Other,
                        Vec::new(),
                    )
                })
                .collect());
        }
        if looks_like_dicom(path) {
            let slice = crate::data::dicom::read_dicom(path).map_err(|e| e.to_string())?;
            return Ok(vec![entry(
                EntryRef::Dicom(path.to_path_buf()).id().0,
                file_name(path),
                modality_of(Some(&slice.modality)),
                Vec::new(),
            )]);
        }
        if path.is_file() {
            decode_image(path).map_err(|e| e.to_string())?;
            return Ok(vec![entry(
                EntryRef::Image(path.to_path_buf()).id().0,
                file_name(path),
                Modality::Other,
                vec!["no mask".into()],
            )]);
        }
        Err(format!(
            "not a dataset folder (images/ + masks/), image, DICOM or NIfTI file: {}",
            path.display()
        ))
    }

    fn load(&self, entry: &EntryInfo) -> Result<LoadedEntry, String> {
        let mut info = entry.clone();
        let (image, gt) = match EntryRef::parse(&entry.id)? {
            EntryRef::Pair { image, masks } => {
                let pair = load_pair_paths(&image, &masks, &MaskRule::default())
                    .map_err(|e| e.to_string())?;
                info.warnings
                    .extend(pair.warnings.iter().map(ToString::to_string));
                let gt = Mask {
                    width: pair.mask.width,
                    height: pair.mask.height,
                    data: pair.mask.data.clone(),
                };
                (raw_to_image(&pair.image), Some(gt))
            }
            EntryRef::Image(path) => (
                raw_to_image(&decode_image(&path).map_err(|e| e.to_string())?),
                None,
            ),
            EntryRef::Dicom(path) => (
                scalar_to_image(
                    &crate::data::dicom::read_dicom(&path)
                        .map_err(|e| e.to_string())?
                        .to_scalar(),
                ),
                None,
            ),
            EntryRef::NiftiSlice { volume: path, k } => {
                let volume = self.volumes.get(&path).map_err(|e| e.to_string())?;
                // A volume of a CT dataset holds Hounsfield units; others stored values.
                let modality = (entry.modality == Modality::Ct).then_some(DataModality::Ct);
                let slice = volume
                    .slice(VoxelAxis::K, k, modality)
                    .map_err(|e| e.to_string())?;
                // The label volume beside it, when there is one, is the slice's GT; one
                // that does not fit is a warning, not a failure to show the image.
                let gt = match nifti_label::find_label(&path) {
                    // Read afresh (not cached): mask saves rewrite the label volume.
                    Some(label_path) => match read_nifti(&label_path)
                        .map_err(|e| e.to_string())
                        .and_then(|label| nifti_label::label_slice(&label, volume.dims, k))
                    {
                        Ok(data) => Some(Mask {
                            width: slice.width,
                            height: slice.height,
                            data,
                        }),
                        Err(e) => {
                            info.warnings.push(e);
                            None
                        }
                    },
                    None => None,
                };
                (scalar_to_image(&slice), gt)
            }
        };
        if let Some(m) = &gt {
            info.gt_foreground_fraction =
                Some(m.data.iter().filter(|&&v| v > 0).count() as f32 / m.data.len().max(1) as f32);
        }
        Ok(LoadedEntry { info, image, gt })
    }

    fn models(&self) -> Vec<ModelInfo> {
        let mut models: Vec<ModelInfo> = lock(&self.models)
            .iter()
            .map(|(id, p)| model_info(id, p))
            .collect();
        models.sort_by(|a, b| a.name.cmp(&b.name));
        models
    }

    fn open_model(&self, path: &Path) -> Result<ModelInfo, String> {
        self.register(path)
    }

    fn predict(
        &self,
        model: &ModelId,
        entry: &LoadedEntry,
        tta: bool,
        cancel: &AtomicBool,
    ) -> Result<Prediction, String> {
        let predictor = lock(&self.models)
            .get(model)
            .cloned()
            .ok_or_else(|| format!("unknown model {}", model.0))?;
        if cancel.load(Ordering::SeqCst) {
            return Err("cancelled".into());
        }
        let (w, h) = (entry.image.width, entry.image.height);
        let raw = image_to_raw(&entry.image);
        let options = PrepareOptions::default();
        let input = prepare(
            SourcePixels::Image {
                image: &raw,
                path: Path::new(&entry.info.name),
            },
            None,
            &predictor.loaded.meta.input,
            &options,
            Augmentation::NONE,
        )
        .map_err(|e| e.to_string())?;
        let logits = predictor
            .logits_with(&[input.image.as_slice()], tta)
            .map_err(|e| format!("{e:#}"))?;
        let size = input.size;
        let probabilities =
            resize_bilinear(&sigmoid(&logits[0]), (size, size), (w as usize, h as usize))?;
        Ok(Prediction {
            width: w,
            height: h,
            probabilities,
        })
    }

    fn device_notice(&self) -> String {
        self.compute.reason.clone()
    }

    fn plan_training(&self, job: &TrainingJob) -> Result<TrainingPlan, String> {
        super::real_training::plan(job)
    }

    fn save_mask(&self, entry: &EntryInfo, mask: &Mask) -> Result<String, String> {
        super::real_masks::save(entry, mask)
    }

    fn autosave_mask(&self, entry: &EntryInfo, mask: &Mask) -> Result<(), String> {
        super::real_masks::autosave(entry, mask)
    }

    fn discard_autosave(&self, entry: &EntryInfo) -> Result<(), String> {
        super::real_masks::discard(entry)
    }

    fn recovered_masks(&self, dataset: &Path, entries: &[EntryInfo]) -> Vec<(EntryId, Mask)> {
        super::real_masks::recovered(dataset, entries)
    }

    fn train(
        &self,
        job: &TrainingJob,
        control: &TrainControl,
        on_event: &mut (dyn FnMut(TrainEvent) + Send),
    ) -> Result<(), String> {
        super::real_training::run(job, control, on_event)
    }
}

/// Stored values as f32, channels interleaved (alpha dropped).
fn raw_to_image(raw: &RawImage) -> ImageF32 {
    let c = raw.channels().max(1);
    let keep = if c == 2 || c == 4 { c - 1 } else { c };
    let values: Vec<f32> = match &raw.samples {
        Samples::U8(v) => v.iter().map(|&x| f32::from(x)).collect(),
        Samples::U16(v) => v.iter().map(|&x| f32::from(x)).collect(),
    };
    let data = values
        .chunks_exact(c)
        .flat_map(|px| px[..keep].to_vec())
        .collect();
    let max = if raw.bit_depth == 16 { 65535.0 } else { 255.0 };
    ImageF32 {
        width: raw.width,
        height: raw.height,
        channels: keep as u32,
        data,
        unit: "stored".into(),
        default_window: Window {
            center: max / 2.0,
            width: max,
        },
    }
}

/// A DICOM/NIfTI slice (HU or stored) for display.
fn scalar_to_image(s: &ScalarSlice) -> ImageF32 {
    let (lo, hi) = s.min_max().unwrap_or((0.0, 1.0));
    let (unit, window) = match s.intensity {
        Intensity::Hounsfield => (
            "HU",
            s.own_window.map_or(
                Window {
                    center: 40.0,
                    width: 400.0,
                },
                |w| Window {
                    center: w.center,
                    width: w.width,
                },
            ),
        ),
        Intensity::Stored => (
            "stored",
            Window {
                center: 0.5 * (lo + hi),
                width: (hi - lo).max(1.0),
            },
        ),
    };
    ImageF32 {
        width: s.width,
        height: s.height,
        channels: 1,
        data: s.values.clone(),
        unit: unit.into(),
        default_window: window,
    }
}

/// Back to 8-bit samples for the model's preprocessing: stored 8/16-bit values are
/// scaled to 8 bits, HU slices mapped through their default window.
fn image_to_raw(img: &ImageF32) -> RawImage {
    let (lo, hi) = if img.unit == "HU" {
        img.default_window.range()
    } else {
        (
            0.0,
            if img.default_window.width > 256.0 {
                65535.0
            } else {
                255.0
            },
        )
    };
    let scale = 255.0 / (hi - lo).max(1e-6);
    let samples: Vec<u8> = img
        .data
        .iter()
        .map(|&v| ((v - lo) * scale).round().clamp(0.0, 255.0) as u8)
        .collect();
    let layout = if img.channels == 3 {
        PixelLayout::Rgb
    } else {
        PixelLayout::Grey
    };
    RawImage {
        width: img.width,
        height: img.height,
        layout,
        bit_depth: 8,
        samples: Samples::U8(samples),
        palette: None,
        format: FileFormat::Png,
        exif_orientation: 1,
    }
}
