//! `seglens predict`: masks (0/255 PNG) and probability maps (16-bit PNG, p·65535) at
//! each image's native size. Never JPEG: a lossy mask is a wrong mask.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::progress::{Progress, bar};
use super::set_threads;
use crate::backend;
use crate::cli::PredictArgs;
use crate::data::augment::Augmentation;
use crate::data::image_io::decode_image;
use crate::data::pairing::pair_dataset;
use crate::data::preprocess::{PrepareOptions, SourcePixels, prepare};
use crate::infer::{Predictor, sigmoid};
use crate::metrics::resize_bilinear;

const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp"];

/// Runs `seglens predict`.
pub fn run(args: PredictArgs) -> anyhow::Result<()> {
    set_threads(None);
    let compute = backend::select(args.backend).map_err(anyhow::Error::msg)?;
    let predictor = Predictor::open(&args.model, args.variant, compute).with_context(|| format!("cannot open the model {}", args.model.display()))?;
    let images = list_images(&args.data)?;
    anyhow::ensure!(!images.is_empty(), "no images found in {}", args.data.display());
    let (mask_dir, prob_dir) = (args.out.join("masks"), args.out.join("probabilities"));
    for d in [&mask_dir, &prob_dir] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut progress = Progress::default();
    let (mut written, mut failed) = (0, 0);
    for (i, path) in images.iter().enumerate() {
        match predict_one(&predictor, path, args.threshold, &mask_dir, &prob_dir) {
            Ok(()) => written += 1,
            Err(e) => {
                failed += 1;
                progress.line(&format!("skipped: {e:#}"));
            }
        }
        progress.update(&format!("{} {}/{}", bar(i + 1, images.len(), 20), i + 1, images.len()));
    }
    progress.line(&format!("wrote {written} masks and probability maps to {} ({failed} skipped)", args.out.display()));
    Ok(())
}

fn predict_one(predictor: &Predictor, path: &Path, threshold: f32, mask_dir: &Path, prob_dir: &Path) -> anyhow::Result<()> {
    let raw = decode_image(path)?;
    let input = prepare(SourcePixels::Image { image: &raw, path }, None, &predictor.loaded.meta.input, &PrepareOptions::default(), Augmentation::NONE)?;
    let logits = predictor.logits(&[input.image.as_slice()])?;
    let size = input.size;
    let (w, h) = (raw.width, raw.height);
    let probs = resize_bilinear(&sigmoid(&logits[0]), (size, size), (w as usize, h as usize)).map_err(anyhow::Error::msg)?;
    let stem = path.file_stem().map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
    let mask: Vec<u8> = probs.iter().map(|&p| if p > threshold { 255 } else { 0 }).collect();
    let prob16: Vec<u16> = probs.iter().map(|&p| (p.clamp(0.0, 1.0) * 65535.0).round() as u16).collect();
    write_png(&mask_dir.join(format!("{stem}.png")), image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, mask).context("mask buffer")?))?;
    let prob_img = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_raw(w, h, prob16).context("probability buffer")?;
    write_png(&prob_dir.join(format!("{stem}.png")), image::DynamicImage::ImageLuma16(prob_img))
}

fn write_png(path: &Path, img: image::DynamicImage) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).with_context(|| format!("cannot encode {}", path.display()))?;
    crate::fsutil::write_atomic(path, &bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Images of a dataset folder (paired or not), of a plain folder, or one file.
fn list_images(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if path.join("images").is_dir() {
        let report = pair_dataset(path)?;
        let mut images: Vec<PathBuf> = report.pairs.into_iter().map(|p| p.image).chain(report.images_without_mask).collect();
        images.sort();
        return Ok(images);
    }
    let mut images: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot list {}", path.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())))
        .collect();
    images.sort();
    Ok(images)
}
