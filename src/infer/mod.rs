//! Inference: a loaded model on a compute device turning prepared inputs into logits
//! and probabilities. No UI types; the window and the command line share it.

pub mod volume;

use burn::tensor::{Tensor, TensorData};

use crate::backend::ComputeDevice;
use crate::data::augment::{Augmentation, Flip};
use crate::model::{LoadedModel, ModelError, load_model};

/// A model ready to predict on one device.
#[derive(Debug)]
pub struct Predictor {
    /// The model and what it expects.
    pub loaded: LoadedModel,
    /// Where it runs.
    pub compute: ComputeDevice,
    /// Flip test-time augmentation: the logits are the mean over the input as it is,
    /// flipped left–right, up–down and both, each map flipped back (4× the work).
    pub tta: bool,
}

impl Predictor {
    /// Loads `path` (a seglens checkpoint, or PyTorch weights with `variant`) onto `compute`.
    pub fn open(
        path: &std::path::Path,
        variant: Option<crate::model::Variant>,
        compute: ComputeDevice,
    ) -> Result<Self, ModelError> {
        let loaded = load_model(path, variant, &compute.device)?;
        Ok(Self {
            loaded,
            compute,
            tta: false,
        })
    }

    /// The same predictor with flip test-time augmentation on or off.
    pub fn with_tta(mut self, tta: bool) -> Self {
        self.tta = tta;
        self
    }

    /// Side of the square input the model was trained at.
    pub fn input_size(&self) -> usize {
        self.loaded.meta.input.size
    }

    /// Logits for a batch of prepared inputs (each `3 × size × size`, CHW), one
    /// `size × size` map per input; with [`Self::tta`], the mean over the four flips.
    pub fn logits(&self, inputs: &[&[f32]]) -> anyhow::Result<Vec<Vec<f32>>> {
        self.logits_with(inputs, self.tta)
    }

    /// [`Self::logits`] with flip test-time augmentation chosen per call (the window
    /// shares one predictor between both settings).
    pub fn logits_with(&self, inputs: &[&[f32]], tta: bool) -> anyhow::Result<Vec<Vec<f32>>> {
        if !tta {
            return self.plain_logits(inputs);
        }
        let s = self.input_size();
        // One forward pass over every flip of every input, grouped by flip.
        let variants: Vec<Vec<f32>> = FLIPS
            .iter()
            .flat_map(|f| inputs.iter().map(move |input| f.apply_planes(input, s)))
            .collect();
        let refs: Vec<&[f32]> = variants.iter().map(Vec::as_slice).collect();
        let maps = self.plain_logits(&refs)?;
        let n = inputs.len();
        Ok((0..n)
            .map(|i| {
                let mut mean = vec![0f32; s * s];
                for (k, f) in FLIPS.iter().enumerate() {
                    // A flip is its own inverse.
                    for (m, v) in mean.iter_mut().zip(f.apply_planes(&maps[k * n + i], s)) {
                        *m += v;
                    }
                }
                mean.iter_mut().for_each(|m| *m /= FLIPS.len() as f32);
                mean
            })
            .collect())
    }

    fn plain_logits(&self, inputs: &[&[f32]]) -> anyhow::Result<Vec<Vec<f32>>> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let s = self.input_size();
        let c = self.loaded.model.in_channels();
        let mut data = Vec::with_capacity(inputs.len() * c * s * s);
        for (i, input) in inputs.iter().enumerate() {
            anyhow::ensure!(
                input.len() == c * s * s,
                "input {i} has {} values, the model takes {c}×{s}×{s}",
                input.len()
            );
            data.extend_from_slice(input);
        }
        let x = Tensor::<4>::from_data(
            TensorData::new(data, [inputs.len(), c, s, s]),
            &self.compute.device,
        );
        let out = self.loaded.model.forward_padded(x)?;
        let values = out
            .try_into_data()
            .map_err(|e| anyhow::anyhow!("the {} backend failed: {e:?}", self.compute.kind.name()))?
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Ok(values.chunks(s * s).map(<[f32]>::to_vec).collect())
    }
}

/// The flips of test-time augmentation: none, left–right, up–down and both.
const FLIPS: [Augmentation; 4] = [
    Augmentation::NONE,
    Augmentation {
        rot90: 0,
        flip: Some(Flip::Horizontal),
    },
    Augmentation {
        rot90: 0,
        flip: Some(Flip::Vertical),
    },
    Augmentation {
        rot90: 0,
        flip: Some(Flip::Both),
    },
];

/// Elementwise logistic function.
pub fn sigmoid(logits: &[f32]) -> Vec<f32> {
    logits
        .iter()
        .map(|&x| crate::metrics::sigmoid_f32(x))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flip_tta_is_the_mean_of_the_flipped_back_maps_and_commutes_with_a_flip() {
        let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/models/cmunext-s-ct-lungs.safetensors");
        let compute = crate::backend::select(crate::backend::BackendRequest::Cpu).expect("cpu");
        let plain = Predictor::open(&model, None, compute.clone()).expect("model");
        let tta = Predictor::open(&model, None, compute)
            .expect("model")
            .with_tta(true);
        let s = plain.input_size();
        // A smooth, asymmetric input, so every flip gives the network something different.
        let input: Vec<f32> = (0..3 * s * s)
            .map(|i| (((i % s) as f32 * 0.07).sin() + ((i / s % s) as f32 * 0.05).cos()) * 0.8)
            .collect();
        let by_hand: Vec<f32> = {
            let maps: Vec<Vec<f32>> = FLIPS
                .iter()
                .map(|f| {
                    f.apply_planes(
                        &plain
                            .logits(&[f.apply_planes(&input, s).as_slice()])
                            .unwrap()[0],
                        s,
                    )
                })
                .collect();
            (0..s * s)
                .map(|p| maps.iter().map(|m| m[p]).sum::<f32>() / 4.0)
                .collect()
        };
        let got = tta.logits(&[input.as_slice()]).unwrap().remove(0);
        let worst = got
            .iter()
            .zip(&by_hand)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst < 1e-4,
            "TTA differs from the hand-made mean by {worst}"
        );
        // The mean over all flips does not depend on which way up the image came in.
        let mirrored = tta
            .logits(&[FLIPS[1].apply_planes(&input, s).as_slice()])
            .unwrap()
            .remove(0);
        let back = FLIPS[1].apply_planes(&mirrored, s);
        let worst = back
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst < 1e-4,
            "TTA of a mirrored image, mirrored back, differs by {worst}"
        );
        // And it is not the plain prediction.
        let single = plain.logits(&[input.as_slice()]).unwrap().remove(0);
        assert!(single.iter().zip(&got).any(|(a, b)| (a - b).abs() > 1e-3));
    }
}
