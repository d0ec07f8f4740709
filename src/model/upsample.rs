//! Exact ×2 bilinear upsampling (PyTorch `nn.Upsample(scale_factor=2, mode="bilinear")`,
//! i.e. `align_corners = false`), composed of slices, scalar blends and reshapes.
//!
//! Why not `interpolate`: Burn 0.22.1's wgpu (cubecl) backend has no backward pass for
//! bilinear interpolation, so a network that calls it cannot train on the GPU. Nearest
//! upsampling would be a different network. With scale 2 and half-pixel centres every
//! output is a 0.75/0.25 blend of the two nearest inputs along each axis (edges clamped),
//! which any backend differentiates.

use burn::tensor::Tensor;

/// Upsamples `[N, C, H, W]` to `[N, C, 2H, 2W]`, bilinear with half-pixel centres.
///
/// # Shapes
/// - input: `[N, C, H, W]`
/// - output: `[N, C, 2H, 2W]`
pub fn upsample_bilinear_x2(x: Tensor<4>) -> Tensor<4> {
    let x = upsample_axis_x2(x, 2);
    upsample_axis_x2(x, 3)
}

/// Doubles one spatial axis (`axis` is 2 for H, 3 for W).
fn upsample_axis_x2(x: Tensor<4>, axis: usize) -> Tensor<4> {
    let dims = x.dims();
    let len = dims[axis];
    // Neighbour before and after each position, clamped at the edges.
    let (before, after) = if len == 1 {
        (x.clone(), x.clone())
    } else {
        let first = x.clone().narrow(axis, 0, 1);
        let last = x.clone().narrow(axis, len - 1, 1);
        let before = Tensor::cat(vec![first, x.clone().narrow(axis, 0, len - 1)], axis);
        let after = Tensor::cat(vec![x.clone().narrow(axis, 1, len - 1), last], axis);
        (before, after)
    };
    let centre = x.mul_scalar(0.75);
    let even = centre.clone().add(before.mul_scalar(0.25));
    let odd = centre.add(after.mul_scalar(0.25));
    // Interleave: stack a new axis right after `axis`, then merge the two.
    let stacked: Tensor<5> = Tensor::stack(vec![even, odd], axis + 1);
    let mut out_dims = dims;
    out_dims[axis] = 2 * len;
    stacked.reshape(out_dims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn matches_hand_computed_1d_blend() {
        let device = Device::flex();
        // A 1×1×1×3 row [0, 4, 8] upsamples along W to
        // [0, 1, 3, 5, 7, 8] (0.75/0.25 blends, edges clamped).
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![0.0f32, 4.0, 8.0], [1, 1, 1, 3]),
            &device,
        );
        let y = upsample_bilinear_x2(x);
        assert_eq!(y.dims(), [1, 1, 2, 6]);
        let v: Vec<f32> = y.into_data().try_to_vec::<f32>().expect("f32 data");
        assert_eq!(
            v,
            vec![0.0, 1.0, 3.0, 5.0, 7.0, 8.0, 0.0, 1.0, 3.0, 5.0, 7.0, 8.0]
        );
    }
}
