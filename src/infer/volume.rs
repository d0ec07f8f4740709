//! A model on a whole NIfTI volume: every slice across K (the axial slices of most
//! acquisitions) predicted at model size and resized back to the volume's in-plane grid.

use crate::data::augment::Augmentation;
use crate::data::nifti::{Volume, VoxelAxis};
use crate::data::preprocess::{ConventionMismatch, PrepareOptions, SourcePixels, prepare};
use crate::data::scalar::Modality;
use crate::metrics::resize_bilinear;

use super::{Predictor, sigmoid};

/// Foreground probabilities of a volume, in the volume's voxel order (i fastest).
#[derive(Clone, Debug, PartialEq)]
pub struct VolumePrediction {
    /// Voxels along i, j, k (those of the volume).
    pub dims: [usize; 3],
    /// One probability per voxel, index `i + j·ni + k·ni·nj`.
    pub probabilities: Vec<f32>,
    /// Differences from the model's input convention, once each (e.g. "scaled by range").
    pub convention_notes: Vec<String>,
}

impl VolumePrediction {
    /// The label volume at `threshold`: 1 where the probability exceeds it, else 0.
    pub fn labels(&self, threshold: f32) -> Vec<u8> {
        self.probabilities
            .iter()
            .map(|&p| u8::from(p > threshold))
            .collect()
    }
}

/// Predicts every K slice of `volume` in batches of `batch`. `modality` says how to read
/// the values, which NIfTI does not record: `Ct` reads them as Hounsfield units (the
/// model's CT window applies); anything else scales each slice by its own range.
/// `progress(done, total)` is called after each batch.
pub fn predict_volume(
    predictor: &Predictor,
    volume: &Volume,
    modality: Option<Modality>,
    batch: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> anyhow::Result<VolumePrediction> {
    let [ni, nj, nk] = volume.dims;
    let convention = &predictor.loaded.meta.input;
    let size = predictor.input_size();
    let mut probabilities = Vec::with_capacity(ni * nj * nk);
    let mut convention_notes: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let slices: Vec<usize> = (0..nk).collect();
    for chunk in slices.chunks(batch.max(1)) {
        let mut inputs = Vec::with_capacity(chunk.len());
        for &k in chunk {
            let slice = volume.slice(VoxelAxis::K, k, modality.clone())?;
            let input = prepare(
                SourcePixels::Scalar(&slice),
                None,
                convention,
                &PrepareOptions::default(),
                Augmentation::NONE,
            )?;
            for mismatch in input.mismatches {
                // One line per kind: every slice of a volume has the same kinds.
                if !seen.contains(&std::mem::discriminant(&mismatch)) {
                    seen.push(std::mem::discriminant(&mismatch));
                    convention_notes.push(match mismatch {
                        ConventionMismatch::ScaledByRange { .. } => {
                            "stored values scaled by each slice's own range".to_string()
                        }
                        other => other.to_string(),
                    });
                }
            }
            inputs.push(input.image);
        }
        let refs: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
        for logits in predictor.logits(&refs)? {
            // A K slice's row y is voxel j and its column x voxel i, so the resized map
            // is already in voxel order within the slice.
            probabilities.extend(
                resize_bilinear(&sigmoid(&logits), (size, size), (ni, nj))
                    .map_err(anyhow::Error::msg)?,
            );
        }
        progress(probabilities.len() / (ni * nj).max(1), nk);
    }
    Ok(VolumePrediction {
        dims: volume.dims,
        probabilities,
        convention_notes,
    })
}
