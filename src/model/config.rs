//! The CMUNeXt family's hyper-parameters: the three published variants and the
//! plain-data config a model is built from. No Burn types beyond `Device` here.

use serde::{Deserialize, Serialize};

/// One of the three published CMUNeXt variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// CMUNeXt-S: 0.42 M trainable parameters.
    S,
    /// CMUNeXt: 3.15 M trainable parameters.
    Base,
    /// CMUNeXt-L: 8.29 M trainable parameters.
    L,
}

impl Variant {
    /// All variants, smallest first.
    pub const ALL: [Variant; 3] = [Variant::S, Variant::Base, Variant::L];

    /// Short name as used on the command line and in JSON ("s", "base", "l").
    pub fn short_name(self) -> &'static str {
        match self {
            Variant::S => "s",
            Variant::Base => "base",
            Variant::L => "l",
        }
    }

    /// The name the original paper and code use ("CMUNeXt-S", "CMUNeXt", "CMUNeXt-L").
    pub fn paper_name(self) -> &'static str {
        match self {
            Variant::S => "CMUNeXt-S",
            Variant::Base => "CMUNeXt",
            Variant::L => "CMUNeXt-L",
        }
    }

    /// The variant's architecture, with 3 input channels and 1 output class as in the study.
    pub fn config(self) -> CmuNextConfig {
        let (dims, depths, kernels) = match self {
            Variant::S => ([8, 16, 32, 64, 128], [1, 1, 1, 1, 1], [3, 3, 7, 7, 9]),
            Variant::Base => ([16, 32, 128, 160, 256], [1, 1, 1, 3, 1], [3, 3, 7, 7, 7]),
            Variant::L => ([32, 64, 128, 256, 512], [1, 1, 1, 6, 3], [3, 3, 7, 7, 7]),
        };
        CmuNextConfig {
            dims,
            depths,
            kernels,
            in_channels: 3,
            num_classes: 1,
        }
    }

    /// The variant whose architecture equals `config` (ignoring channel counts), if any.
    pub fn of_config(config: &CmuNextConfig) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| {
            let c = v.config();
            c.dims == config.dims && c.depths == config.depths && c.kernels == config.kernels
        })
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.paper_name())
    }
}

impl std::str::FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "s" | "cmunext-s" | "small" => Ok(Variant::S),
            "base" | "b" | "cmunext" => Ok(Variant::Base),
            "l" | "cmunext-l" | "large" => Ok(Variant::L),
            other => Err(format!(
                "unknown CMUNeXt variant '{other}': expected s, base or l"
            )),
        }
    }
}

/// Architecture of a CMUNeXt network: five encoder stages and a mirrored decoder.
///
/// `dims[i]` is the width after stage `i + 1`, `depths[i]` its number of CMUNeXt
/// layers and `kernels[i]` their depthwise kernel size (odd).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmuNextConfig {
    /// Stage widths C1..C5.
    pub dims: [usize; 5],
    /// CMUNeXt layers per stage L1..L5.
    pub depths: [usize; 5],
    /// Depthwise kernel size per stage k1..k5.
    pub kernels: [usize; 5],
    /// Input channels (3 in the study: grey images are repeated).
    pub in_channels: usize,
    /// Output channels (1: binary segmentation logits).
    pub num_classes: usize,
}

/// Spatial sizes must be multiples of this: four 2×2 max-pools and matching skips.
pub const SIZE_MULTIPLE: usize = 16;

impl CmuNextConfig {
    /// Checks that the config describes a network that can be built.
    pub fn validate(&self) -> Result<(), String> {
        if self.dims.contains(&0) {
            return Err(format!(
                "every stage width must be positive, got dims {:?}",
                self.dims
            ));
        }
        if self.depths.contains(&0) {
            return Err(format!(
                "every stage needs at least one layer, got depths {:?}",
                self.depths
            ));
        }
        if let Some(k) = self.kernels.iter().find(|k| **k % 2 == 0 || **k == 0) {
            return Err(format!(
                "depthwise kernels must be odd, got {k} in {:?}",
                self.kernels
            ));
        }
        if self.in_channels == 0 || self.num_classes == 0 {
            return Err("input channels and classes must be positive".into());
        }
        Ok(())
    }

    /// Number of trainable parameters (weights, biases, BN γ and β), computed from the
    /// architecture alone; BN running statistics are not counted.
    pub fn trainable_params(&self) -> usize {
        let conv = |ci: usize, co: usize, k: usize, groups: usize| ci / groups * co * k * k + co;
        let bn = |c: usize| 2 * c;
        let conv_bn = |ci, co| conv(ci, co, 3, 1) + bn(co);
        let layer = |c: usize, k: usize| {
            conv(c, c, k, c)
                + bn(c)
                + conv(c, 4 * c, 1, 1)
                + bn(4 * c)
                + conv(4 * c, c, 1, 1)
                + bn(c)
        };
        let fusion = |c: usize| {
            conv(2 * c, 2 * c, 3, 2)
                + bn(2 * c)
                + conv(2 * c, 4 * c, 1, 1)
                + bn(4 * c)
                + conv(4 * c, c, 1, 1)
                + bn(c)
        };
        let d = self.dims;
        let mut total = conv_bn(self.in_channels, d[0]);
        for stage in 0..5 {
            let width_in = if stage == 0 { d[0] } else { d[stage - 1] };
            total += self.depths[stage] * layer(width_in, self.kernels[stage]);
            total += conv_bn(width_in, d[stage]);
        }
        for level in (0..4).rev() {
            total += conv_bn(d[level + 1], d[level]) + fusion(d[level]);
        }
        total + conv(d[0], self.num_classes, 1, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_parameter_counts() {
        assert_eq!(Variant::S.config().trainable_params(), 417_505);
        assert_eq!(Variant::Base.config().trainable_params(), 3_149_185);
        assert_eq!(Variant::L.config().trainable_params(), 8_286_721);
    }

    #[test]
    fn variant_names_round_trip() {
        for v in Variant::ALL {
            assert_eq!(v.short_name().parse::<Variant>(), Ok(v));
            assert_eq!(Variant::of_config(&v.config()), Some(v));
        }
        assert!(
            "xl".parse::<Variant>()
                .unwrap_err()
                .contains("expected s, base or l")
        );
    }

    #[test]
    fn invalid_configs_are_refused() {
        let mut c = Variant::S.config();
        c.kernels[2] = 4;
        assert!(c.validate().unwrap_err().contains("odd"));
        let mut c = Variant::S.config();
        c.depths[0] = 0;
        assert!(c.validate().is_err());
    }
}
