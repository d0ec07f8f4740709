//! `seglens predict`: masks (0/255 PNG) and probability maps (16-bit PNG, p·65535) at
//! each image's native size; for a NIfTI volume, a label volume (uint8 0/1) and a
//! probability volume (float32) with the input's header; a DICOM slice is read as its
//! values (HU for CT) and gives PNGs. Never JPEG: a lossy mask is a wrong mask.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::progress::{Progress, bar};
use super::set_threads;
use crate::backend;
use crate::cli::PredictArgs;
use crate::data::augment::Augmentation;
use crate::data::dicom::{looks_like_dicom, read_dicom};
use crate::data::image_io::decode_image;
use crate::data::nifti::{WrittenIntent, is_nifti_path, read_nifti, write_like};
use crate::data::pairing::pair_dataset;
use crate::data::preprocess::{PrepareOptions, SourcePixels, prepare};
use crate::data::scalar::Modality;
use crate::infer::volume::predict_volume;
use crate::infer::{Predictor, sigmoid};
use crate::metrics::resize_bilinear;

const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp"];

/// Where the outputs go and how to threshold.
struct Outputs {
    masks: PathBuf,
    probabilities: PathBuf,
    threshold: f32,
}

/// Runs `seglens predict`.
pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    set_threads(args.threads);
    let compute = backend::select(args.backend).map_err(anyhow::Error::msg)?;
    let predictor = Predictor::open(&args.model, args.variant, compute)
        .with_context(|| format!("cannot open the model {}", args.model.display()))?
        .with_tta(args.tta);
    let inputs = list_inputs(&args.data)?;
    anyhow::ensure!(
        !inputs.is_empty(),
        "no images, DICOM slices or NIfTI volumes found in {}",
        args.data.display()
    );
    let mut progress = Progress::default();
    let outputs = Outputs {
        masks: args.out.join("masks"),
        probabilities: args.out.join("probabilities"),
        threshold: args.threshold,
    };
    refuse_foreign_outputs(&args.out, &outputs)?;
    for d in [&outputs.masks, &outputs.probabilities] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    if predictor.tta {
        progress.line(super::eval::TTA_LINE);
    }
    let modality = args.nifti_modality.as_deref().map(Modality::from_code);
    let ct_model = predictor
        .loaded
        .meta
        .input
        .modality
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("ct"));
    if modality.is_none() && ct_model && inputs.iter().any(|p| is_nifti_path(p)) {
        progress.line("note: a CT model on NIfTI input: pass --nifti-modality ct if the volumes hold Hounsfield units");
    }
    let (mut written, mut failed) = (0, 0);
    let mut names_written: std::collections::BTreeMap<String, PathBuf> =
        std::collections::BTreeMap::new();
    for (i, path) in inputs.iter().enumerate() {
        let out_name = output_name(path);
        let result = match names_written.get(&out_name) {
            Some(first) => Err(anyhow::anyhow!(
                "{}: its outputs would replace those of {} (both are named {out_name})",
                path.display(),
                first.display()
            )),
            None => predict_input(&predictor, path, modality.clone(), &outputs, &mut progress),
        };
        if result.is_ok() {
            names_written.insert(out_name, path.clone());
        }
        match result {
            Ok(()) => written += 1,
            Err(e) => {
                failed += 1;
                progress.line(&format!("skipped: {e:#}"));
            }
        }
        progress.update(&format!(
            "{} {}/{}",
            bar(i + 1, inputs.len(), 20),
            i + 1,
            inputs.len()
        ));
    }
    progress.line(&format!(
        "wrote masks and probabilities of {written} inputs to {} ({failed} skipped)",
        args.out.display()
    ));
    anyhow::ensure!(
        written > 0,
        "nothing was predicted: every input was skipped"
    );
    // The record that marks the folder as predict's own, so a later run may replace it.
    crate::fsutil::write_json(
        &args.out.join(RECORD),
        &serde_json::json!({
            "model": args.model,
            "data": args.data,
            "threshold": args.threshold,
            "tta": args.tta,
            "written": written,
            "skipped": failed,
        }),
    )?;
    Ok(())
}

/// The file predict leaves in its output folder.
const RECORD: &str = "predict.json";

/// Refuses an output folder whose masks/ or probabilities/ hold files that an earlier
/// predict did not write (`--out DATASET` would otherwise overwrite its ground truth).
fn refuse_foreign_outputs(out: &Path, outputs: &Outputs) -> anyhow::Result<()> {
    if out.join(RECORD).is_file() {
        return Ok(());
    }
    for dir in [&outputs.masks, &outputs.probabilities] {
        let holds_files = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
        anyhow::ensure!(
            !holds_files,
            "{} already holds files that seglens predict did not write (is --out a dataset folder?); \
             nothing was written: choose a new --out",
            dir.display()
        );
    }
    Ok(())
}

/// The file name an input's outputs get (images and DICOM: `<stem>.png`; volumes keep their name).
fn output_name(path: &Path) -> String {
    if is_nifti_path(path) {
        return file_name(path);
    }
    format!(
        "{}.png",
        path.file_stem()
            .map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned())
    )
}

/// One input of any kind, by what the file is.
fn predict_input(
    predictor: &Predictor,
    path: &Path,
    modality: Option<Modality>,
    out: &Outputs,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    if is_nifti_path(path) {
        predict_nifti(predictor, path, modality, out, progress)
    } else if looks_like_dicom(path) {
        predict_dicom(predictor, path, out)
    } else {
        predict_image(predictor, path, out)
    }
}

fn predict_image(predictor: &Predictor, path: &Path, out: &Outputs) -> anyhow::Result<()> {
    let raw = decode_image(path)?;
    predict_plane(
        predictor,
        SourcePixels::Image { image: &raw, path },
        (raw.width, raw.height),
        path,
        out,
    )
}

/// A single DICOM slice: its values (HU for CT) windowed as the model expects, PNG outputs.
fn predict_dicom(predictor: &Predictor, path: &Path, out: &Outputs) -> anyhow::Result<()> {
    let slice = read_dicom(path)?.to_scalar();
    predict_plane(
        predictor,
        SourcePixels::Scalar(&slice),
        (slice.width, slice.height),
        path,
        out,
    )
}

/// One 2D input → a 0/255 mask and a 16-bit probability PNG at its own size.
fn predict_plane(
    predictor: &Predictor,
    source: SourcePixels<'_>,
    (w, h): (u32, u32),
    path: &Path,
    out: &Outputs,
) -> anyhow::Result<()> {
    let input = prepare(
        source,
        None,
        &predictor.loaded.meta.input,
        &PrepareOptions::default(),
        Augmentation::NONE,
    )?;
    let logits = predictor.logits(&[input.image.as_slice()])?;
    let size = input.size;
    let probs = resize_bilinear(&sigmoid(&logits[0]), (size, size), (w as usize, h as usize))
        .map_err(anyhow::Error::msg)?;
    let name = output_name(path);
    let mask: Vec<u8> = probs
        .iter()
        .map(|&p| if p > out.threshold { 255 } else { 0 })
        .collect();
    let prob16: Vec<u16> = probs
        .iter()
        .map(|&p| (p.clamp(0.0, 1.0) * 65535.0).round() as u16)
        .collect();
    write_png(
        &out.masks.join(&name),
        image::DynamicImage::ImageLuma8(
            image::GrayImage::from_raw(w, h, mask).context("mask buffer")?,
        ),
    )?;
    let prob_img = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_raw(w, h, prob16)
        .context("probability buffer")?;
    write_png(
        &out.probabilities.join(&name),
        image::DynamicImage::ImageLuma16(prob_img),
    )
}

/// A volume: every K slice predicted, written as two volumes on the input's grid.
fn predict_nifti(
    predictor: &Predictor,
    path: &Path,
    modality: Option<Modality>,
    out: &Outputs,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let volume = read_nifti(path)?;
    if volume.timepoints > 1 {
        progress.line(&format!(
            "{}: {} volumes in the file; only the first is predicted",
            path.display(),
            volume.timepoints
        ));
    }
    let name = file_name(path);
    let prediction = predict_volume(predictor, &volume, modality, 4, &mut |done, total| {
        progress.update(&format!(
            "{name} {} slice {done}/{total}",
            bar(done, total, 20)
        ));
    })?;
    for note in &prediction.convention_notes {
        progress.line(&format!("{name}: {note}"));
    }
    let description = format!(
        "seglens {} p>{}",
        predictor.loaded.meta.architecture_name(),
        out.threshold
    );
    write_like(
        path,
        &out.masks.join(&name),
        volume.dims,
        &prediction.labels(out.threshold),
        WrittenIntent::Label,
        &description,
    )?;
    write_like(
        path,
        &out.probabilities.join(&name),
        volume.dims,
        &prediction.probabilities,
        WrittenIntent::Probability,
        &format!(
            "seglens {} probability",
            predictor.loaded.meta.architecture_name()
        ),
    )?;
    Ok(())
}

fn write_png(path: &Path, img: image::DynamicImage) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .with_context(|| format!("cannot encode {}", path.display()))?;
    crate::fsutil::write_atomic(path, &bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || "volume.nii.gz".into(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Images and NIfTI volumes of a dataset folder (paired or not), of a plain folder, or one file.
fn list_inputs(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    // A dataset folder; images/ alone (nothing to pair with) is read as a plain folder.
    if path.join("images").is_dir() && !path.join("masks").is_dir() {
        return list_inputs(&path.join("images"));
    }
    if path.join("images").is_dir() {
        let report = pair_dataset(path)?;
        // The paired volumes, and the volumes and DICOM slices pairing leaves out of
        // images/, are inputs too (their labels are not needed to predict).
        let images_dir = report.images_dir.clone();
        let paired_volumes = report
            .volume_pairs
            .into_iter()
            .map(|v| v.image)
            .chain(report.unpaired_volumes.into_iter().map(|f| f.path));
        let volumes = report.ignored.into_iter().map(|f| f.path).filter(|p| {
            p.parent() == Some(images_dir.as_path())
                && p.is_file()
                && (is_nifti_path(p) || looks_like_dicom(p))
        });
        let mut images: Vec<PathBuf> = report
            .pairs
            .into_iter()
            .map(|p| p.image)
            .chain(report.images_without_mask)
            .chain(paired_volumes)
            .chain(volumes)
            .collect();
        images.sort();
        return Ok(images);
    }
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list {}", path.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            is_nifti_path(p)
                || looks_like_dicom(p)
                || p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    inputs.sort();
    Ok(inputs)
}
