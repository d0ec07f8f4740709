//! The building blocks of CMUNeXt, each a small Burn module with the layer order of
//! the reference implementation (see the field docs: the order is easy to get wrong).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::{gelu, relu};
use burn::tensor::{Device, Tensor};

use super::upsample::upsample_bilinear_x2;

/// A `k×k` convolution with bias and "same" padding, as every conv in CMUNeXt.
fn conv(ci: usize, co: usize, k: usize, groups: usize, device: &Device) -> Conv2d {
    let p = k / 2;
    Conv2dConfig::new([ci, co], [k, k])
        .with_groups(groups)
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(true)
        .init(device)
}

/// PyTorch's `BatchNorm2d` defaults: eps 1e-5, momentum 0.1.
fn bn(c: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c).init(device)
}

/// 3×3 conv → BN → ReLU ("conv_block" in the reference code).
#[derive(Module, Debug)]
pub struct ConvBnRelu {
    /// 3×3 conv, padding 1.
    pub conv: Conv2d,
    /// BatchNorm after the conv.
    pub bn: BatchNorm,
}

impl ConvBnRelu {
    /// A 3×3 conv block from `ci` to `co` channels.
    pub fn new(ci: usize, co: usize, device: &Device) -> Self {
        Self {
            conv: conv(ci, co, 3, 1, device),
            bn: bn(co, device),
        }
    }

    /// # Shapes
    /// `[N, ci, H, W]` → `[N, co, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.bn.forward(self.conv.forward(x)))
    }
}

/// One CMUNeXt layer: a residual large-kernel depthwise conv, then an inverted
/// bottleneck (c → 4c → c) without residual. Activation comes *before* each BN.
#[derive(Module, Debug)]
pub struct CmuNextLayer {
    /// Depthwise k×k conv (groups = c).
    pub depthwise: Conv2d,
    /// BN after GELU(depthwise); the residual adds its output to the input.
    pub depthwise_bn: BatchNorm,
    /// 1×1 conv c → 4c.
    pub expand: Conv2d,
    /// BN after GELU(expand).
    pub expand_bn: BatchNorm,
    /// 1×1 conv 4c → c.
    pub reduce: Conv2d,
    /// BN after GELU(reduce).
    pub reduce_bn: BatchNorm,
}

impl CmuNextLayer {
    /// A layer on `c` channels with depthwise kernel `k`.
    pub fn new(c: usize, k: usize, device: &Device) -> Self {
        Self {
            depthwise: conv(c, c, k, c, device),
            depthwise_bn: bn(c, device),
            expand: conv(c, 4 * c, 1, 1, device),
            expand_bn: bn(4 * c, device),
            reduce: conv(4 * c, c, 1, 1, device),
            reduce_bn: bn(c, device),
        }
    }

    /// # Shapes
    /// `[N, c, H, W]` → `[N, c, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = x.clone() + self.depthwise_bn.forward(gelu(self.depthwise.forward(x)));
        let z = self.expand_bn.forward(gelu(self.expand.forward(y)));
        self.reduce_bn.forward(gelu(self.reduce.forward(z)))
    }
}

/// An encoder stage: `L` CMUNeXt layers at the incoming width, then a conv block that
/// changes the width ("CMUNeXtBlock").
#[derive(Module, Debug)]
pub struct EncoderStage {
    /// The CMUNeXt layers, on the stage's input width.
    pub layers: Vec<CmuNextLayer>,
    /// The width change `ci → co` at the end of the stage.
    pub change: ConvBnRelu,
}

impl EncoderStage {
    /// A stage of `depth` layers with kernel `k`, from `ci` to `co` channels.
    pub fn new(ci: usize, co: usize, depth: usize, k: usize, device: &Device) -> Self {
        let layers = (0..depth)
            .map(|_| CmuNextLayer::new(ci, k, device))
            .collect();
        Self {
            layers,
            change: ConvBnRelu::new(ci, co, device),
        }
    }

    /// # Shapes
    /// `[N, ci, H, W]` → `[N, co, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.layers.iter().fold(x, |x, layer| layer.forward(x));
        self.change.forward(x)
    }
}

/// Bilinear ×2 upsampling (half-pixel centres) → 3×3 conv → BN → ReLU ("up_conv").
#[derive(Module, Debug)]
pub struct UpConv {
    /// 3×3 conv after the upsampling.
    pub conv: Conv2d,
    /// BN after the conv.
    pub bn: BatchNorm,
}

impl UpConv {
    /// An up-conv from `ci` to `co` channels.
    pub fn new(ci: usize, co: usize, device: &Device) -> Self {
        Self {
            conv: conv(ci, co, 3, 1, device),
            bn: bn(co, device),
        }
    }

    /// # Shapes
    /// `[N, ci, H, W]` → `[N, co, 2H, 2W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.bn.forward(self.conv.forward(upsample_bilinear_x2(x))))
    }
}

/// Skip fusion ("fusion_conv"): a grouped 3×3 conv (groups = 2, so skip and decoder
/// halves stay apart), then 1×1 convs 2c → 4c → c that mix them; conv → GELU → BN each.
#[derive(Module, Debug)]
pub struct SkipFusion {
    /// 3×3 conv 2c → 2c, groups 2.
    pub grouped: Conv2d,
    /// BN(2c) after GELU(grouped).
    pub grouped_bn: BatchNorm,
    /// 1×1 conv 2c → 4c.
    pub expand: Conv2d,
    /// BN(4c) after GELU(expand).
    pub expand_bn: BatchNorm,
    /// 1×1 conv 4c → c.
    pub reduce: Conv2d,
    /// BN(c) after GELU(reduce).
    pub reduce_bn: BatchNorm,
}

impl SkipFusion {
    /// A fusion block producing `c` channels from `2c`.
    pub fn new(c: usize, device: &Device) -> Self {
        Self {
            grouped: conv(2 * c, 2 * c, 3, 2, device),
            grouped_bn: bn(2 * c, device),
            expand: conv(2 * c, 4 * c, 1, 1, device),
            expand_bn: bn(4 * c, device),
            reduce: conv(4 * c, c, 1, 1, device),
            reduce_bn: bn(c, device),
        }
    }

    /// Fuses a skip connection with the upsampled decoder path, skip first.
    ///
    /// # Shapes
    /// `skip: [N, c, H, W]`, `up: [N, c, H, W]` → `[N, c, H, W]`
    pub fn forward(&self, skip: Tensor<4>, up: Tensor<4>) -> Tensor<4> {
        let x = Tensor::cat(vec![skip, up], 1);
        let x = self.grouped_bn.forward(gelu(self.grouped.forward(x)));
        let x = self.expand_bn.forward(gelu(self.expand.forward(x)));
        self.reduce_bn.forward(gelu(self.reduce.forward(x)))
    }
}
