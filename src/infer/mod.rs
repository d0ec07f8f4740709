//! Inference: a loaded model on a compute device turning prepared inputs into logits
//! and probabilities. No UI types; the window and the command line share it.

pub mod volume;

use burn::tensor::{Tensor, TensorData};

use crate::backend::ComputeDevice;
use crate::model::{LoadedModel, ModelError, load_model};

/// A model ready to predict on one device.
#[derive(Debug)]
pub struct Predictor {
    /// The model and what it expects.
    pub loaded: LoadedModel,
    /// Where it runs.
    pub compute: ComputeDevice,
}

impl Predictor {
    /// Loads `path` (a seglens checkpoint, or PyTorch weights with `variant`) onto `compute`.
    pub fn open(
        path: &std::path::Path,
        variant: Option<crate::model::Variant>,
        compute: ComputeDevice,
    ) -> Result<Self, ModelError> {
        let loaded = load_model(path, variant, &compute.device)?;
        Ok(Self { loaded, compute })
    }

    /// Side of the square input the model was trained at.
    pub fn input_size(&self) -> usize {
        self.loaded.meta.input.size
    }

    /// Logits for a batch of prepared inputs (each `3 × size × size`, CHW), one
    /// `size × size` map per input.
    pub fn logits(&self, inputs: &[&[f32]]) -> anyhow::Result<Vec<Vec<f32>>> {
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

/// Elementwise logistic function.
pub fn sigmoid(logits: &[f32]) -> Vec<f32> {
    logits
        .iter()
        .map(|&x| crate::metrics::sigmoid_f32(x))
        .collect()
}
