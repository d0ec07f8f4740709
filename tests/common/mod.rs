//! Shared helpers for the integration tests: fixture loading and tolerance checks.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};

/// The fixtures folder inside the project (copied from the PyTorch reference run).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cmunext")
        .join(name)
}

/// A fixture tensor: shape and f32 values.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Fixture {
    pub fn to_tensor<const D: usize>(&self, device: &Device) -> Tensor<D> {
        Tensor::from_data(
            TensorData::new(self.data.clone(), self.shape.clone()),
            device,
        )
    }

    pub fn max_abs(&self) -> f32 {
        self.data.iter().fold(0.0f32, |m, v| m.max(v.abs()))
    }
}

/// Reads every f32 tensor of a safetensors fixture file.
pub fn read_fixture_file(name: &str) -> BTreeMap<String, Fixture> {
    let bytes = std::fs::read(fixture(name)).expect("fixture file present");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("valid safetensors fixture");
    st.tensors()
        .into_iter()
        .filter(|(_, v)| v.dtype() == safetensors::Dtype::F32)
        .map(|(k, v)| {
            let data = v
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (
                k,
                Fixture {
                    shape: v.shape().to_vec(),
                    data,
                },
            )
        })
        .collect()
}

/// Values of a tensor (any backend) as f32.
pub fn values<const D: usize>(t: Tensor<D>) -> (Vec<usize>, Vec<f32>) {
    let dims = t.dims().to_vec();
    let data = t
        .try_into_data()
        .expect("backend read-back")
        .try_to_vec::<f32>()
        .expect("f32 data");
    (dims, data)
}

/// Largest absolute difference; panics on a length mismatch.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
}

/// The fixture README's activation/logit rule: `max|Δ| ≤ 2e-4 · max|ref| + 1e-5`.
/// Returns the observed difference and the allowed one.
pub fn assert_close_rel(
    name: &str,
    got_shape: &[usize],
    got: &[f32],
    want: &Fixture,
) -> (f32, f32) {
    assert_eq!(got_shape, want.shape.as_slice(), "{name}: shape");
    let diff = max_abs_diff(got, &want.data);
    let allowed = 2e-4 * want.max_abs() + 1e-5;
    assert!(
        diff <= allowed,
        "{name}: max |Δ| = {diff:e} exceeds {allowed:e} (max |ref| {})",
        want.max_abs()
    );
    (diff, allowed)
}
