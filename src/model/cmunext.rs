//! The CMUNeXt network (Tang et al., ISBI 2024), numerically the same as the
//! original PyTorch model: encoder of five stages, four up-convs and skip fusions,
//! a 1×1 head that returns raw logits (no sigmoid).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor};

use super::blocks::{ConvBnRelu, EncoderStage, SkipFusion, UpConv};
use super::config::{CmuNextConfig, SIZE_MULTIPLE};
use super::error::ModelError;

/// A CMUNeXt network built from a [`CmuNextConfig`]; runs on any Burn device.
#[derive(Module, Debug)]
pub struct CmuNext {
    /// 3×3 conv block from the input channels to C1.
    pub stem: ConvBnRelu,
    /// Encoder stages 1..5 (stage i ends at width C_i).
    pub encoders: Vec<EncoderStage>,
    /// Up-convs, deepest first: C5→C4, C4→C3, C3→C2, C2→C1 ("Up5".."Up2").
    pub ups: Vec<UpConv>,
    /// Skip fusions, deepest first, at widths C4, C3, C2, C1 ("Up_conv5".."Up_conv2").
    pub fusions: Vec<SkipFusion>,
    /// 1×1 conv C1 → classes ("Conv_1x1").
    pub head: Conv2d,
}

/// The outputs of every top-level module for one forward pass, named as in the
/// PyTorch reference (`stem`, `encoder1`, …, `Up5`, `Up_conv5`, …, `Conv_1x1`).
pub type Activations = Vec<(String, Tensor<4>)>;

impl CmuNext {
    /// Builds a freshly initialised network (PyTorch's default init) on `device`.
    pub fn new(config: &CmuNextConfig, device: &Device) -> Result<Self, ModelError> {
        config.validate().map_err(ModelError::InvalidConfig)?;
        let d = config.dims;
        let stem = ConvBnRelu::new(config.in_channels, d[0], device);
        let encoders = (0..5)
            .map(|i| {
                let width_in = if i == 0 { d[0] } else { d[i - 1] };
                EncoderStage::new(width_in, d[i], config.depths[i], config.kernels[i], device)
            })
            .collect();
        let ups = (0..4)
            .rev()
            .map(|l| UpConv::new(d[l + 1], d[l], device))
            .collect();
        let fusions = (0..4)
            .rev()
            .map(|l| SkipFusion::new(d[l], device))
            .collect();
        let head = Conv2dConfig::new([d[0], config.num_classes], [1, 1]).init(device);
        // Stable ids let saved optimiser state find its parameters again on resume.
        Ok(super::state_dict::assign_stable_ids(Self {
            stem,
            encoders,
            ups,
            fusions,
            head,
        }))
    }

    /// Input channels the stem expects.
    pub fn in_channels(&self) -> usize {
        self.stem.conv.weight.dims()[1]
    }

    /// Forward pass. `H` and `W` must be multiples of 16 (see [`Self::try_forward`] and
    /// [`Self::forward_padded`] for checked variants).
    ///
    /// # Shapes
    /// `[N, C_in, H, W]` → logits `[N, classes, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_inner(x, None)
    }

    /// Forward pass that checks the input shape first and says what is wrong.
    pub fn try_forward(&self, x: Tensor<4>) -> Result<Tensor<4>, ModelError> {
        self.check_input(x.dims())?;
        Ok(self.forward(x))
    }

    /// Forward pass for any size: pads H and W up to multiples of 16 by repeating
    /// the last row/column, then crops the logits back to the input size.
    pub fn forward_padded(&self, x: Tensor<4>) -> Result<Tensor<4>, ModelError> {
        let [n, c, h, w] = x.dims();
        self.check_channels(c)?;
        if n == 0 || h == 0 || w == 0 {
            return Err(ModelError::EmptyInput { dims: [n, c, h, w] });
        }
        let x = pad_edge(x, 2, h.next_multiple_of(SIZE_MULTIPLE) - h);
        let x = pad_edge(x, 3, w.next_multiple_of(SIZE_MULTIPLE) - w);
        Ok(self.forward(x).narrow(2, 0, h).narrow(3, 0, w))
    }

    /// Forward pass that also returns each top-level module's output (for parity
    /// checks and for inspecting where a network goes wrong).
    pub fn forward_with_activations(&self, x: Tensor<4>) -> (Tensor<4>, Activations) {
        let mut acts = Vec::new();
        let out = self.forward_inner(x, Some(&mut acts));
        (out, acts)
    }

    /// Checks an input shape `[N, C, H, W]` against what the network accepts.
    pub fn check_input(&self, dims: [usize; 4]) -> Result<(), ModelError> {
        let [n, c, h, w] = dims;
        self.check_channels(c)?;
        if n == 0 || h == 0 || w == 0 {
            return Err(ModelError::EmptyInput { dims });
        }
        if h % SIZE_MULTIPLE != 0 || w % SIZE_MULTIPLE != 0 {
            return Err(ModelError::InputSize {
                height: h,
                width: w,
            });
        }
        Ok(())
    }

    fn check_channels(&self, c: usize) -> Result<(), ModelError> {
        let expected = self.in_channels();
        if c != expected {
            return Err(ModelError::InputChannels { expected, found: c });
        }
        Ok(())
    }

    fn forward_inner(&self, x: Tensor<4>, mut acts: Option<&mut Activations>) -> Tensor<4> {
        let mut record = |name: String, t: &Tensor<4>| {
            if let Some(acts) = acts.as_deref_mut() {
                acts.push((name, t.clone()));
            }
        };
        let stem = self.stem.forward(x);
        record("stem".into(), &stem);
        // Encoder: stage 1 at full size, then a 2×2 max-pool before each deeper stage.
        let mut skips = Vec::with_capacity(5);
        let mut x = stem;
        for (i, stage) in self.encoders.iter().enumerate() {
            if i > 0 {
                x = max_pool2d(x, MaxPoolOptions::new([2, 2]).with_stride([2, 2]));
            }
            x = stage.forward(x);
            record(format!("encoder{}", i + 1), &x);
            skips.push(x.clone());
        }
        // Decoder, deepest first: up-convolve, then fuse with the skip of that level.
        let mut d = x;
        for (j, (up, fusion)) in self.ups.iter().zip(&self.fusions).enumerate() {
            let level = 5 - j; // Up5 / Up_conv5 first.
            let u = up.forward(d);
            record(format!("Up{level}"), &u);
            d = fusion.forward(skips[3 - j].clone(), u);
            record(format!("Up_conv{level}"), &d);
        }
        let out = self.head.forward(d);
        record("Conv_1x1".into(), &out);
        out
    }
}

/// Appends `amount` copies of the last slice along `axis`.
fn pad_edge(x: Tensor<4>, axis: usize, amount: usize) -> Tensor<4> {
    if amount == 0 {
        return x;
    }
    let len = x.dims()[axis];
    let edge = x.clone().narrow(axis, len - 1, 1).repeat_dim(axis, amount);
    Tensor::cat(vec![x, edge], axis)
}
