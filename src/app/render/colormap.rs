//! Perceptual colormaps for the heatmap and entropy overlays.
//! Keep in sync with shaders/heatmap.wgsl (`CMAP_*` ids and the coefficients).

/// A perceptual colormap. The discriminant is the id the shader sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Colormap {
    /// matplotlib viridis (polynomial fit).
    Viridis = 0,
    /// matplotlib magma (polynomial fit).
    Magma = 1,
    /// matplotlib inferno (polynomial fit).
    Inferno = 2,
}

impl Colormap {
    /// Every colormap, for pickers.
    pub const ALL: [Self; 3] = [Self::Viridis, Self::Magma, Self::Inferno];

    /// UI text.
    pub fn label(self) -> &'static str {
        match self {
            Self::Viridis => "viridis",
            Self::Magma => "magma",
            Self::Inferno => "inferno",
        }
    }

    /// Shader id.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// Colour of `v` (clamped to `[0, 1]`), RGB in `[0, 1]`, gamma space.
    pub fn rgb(self, v: f32) -> [f32; 3] {
        let c = match self {
            Self::Viridis => &VIRIDIS,
            Self::Magma => &MAGMA,
            Self::Inferno => &INFERNO,
        };
        let t = v.clamp(0.0, 1.0);
        std::array::from_fn(|k| {
            let x = c[0][k]
                + t * (c[1][k]
                    + t * (c[2][k] + t * (c[3][k] + t * (c[4][k] + t * (c[5][k] + t * c[6][k])))));
            x.clamp(0.0, 1.0)
        })
    }
}

// Polynomial fits by Matt Zucker (CC0), as in shaders/heatmap.wgsl.
#[allow(clippy::excessive_precision)]
const VIRIDIS: [[f32; 3]; 7] = [
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];
#[allow(clippy::excessive_precision)]
const MAGMA: [[f32; 3]; 7] = [
    [
        -0.002136485053939582,
        -0.000749655052795221,
        -0.005386127855323933,
    ],
    [0.2516605407371642, 0.6775232436837668, 2.494026599312351],
    [8.353717279216625, -3.577719514958484, 0.3144679030132573],
    [-27.66873308576866, 14.26473078096533, -13.64921318813922],
    [52.17613981234068, -27.94360607168351, 12.94416944238394],
    [-50.76852536473588, 29.04658282127291, 4.23415299384598],
    [18.65570506591883, -11.48977351997711, -5.601961508734096],
];
#[allow(clippy::excessive_precision)]
const INFERNO: [[f32; 3]; 7] = [
    [
        0.0002189403691192265,
        0.001651004631001012,
        -0.01948089843709184,
    ],
    [0.1065134194856116, 0.5639564367884091, 3.932712388889277],
    [11.60249308247187, -3.972853965665698, -15.9423941062914],
    [-41.70399613139459, 17.43639888205313, 44.35414519872813],
    [77.162935699427, -33.40235894210092, -81.80730925738993],
    [-71.31942824499214, 32.62606426397723, 73.20951985803202],
    [25.13112622477341, -12.24266895238567, -23.07032500287172],
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_the_known_colours() {
        // viridis runs from dark purple to yellow.
        let [r, g, b] = Colormap::Viridis.rgb(0.0);
        assert!(r > 0.2 && g < 0.05 && b > 0.3);
        let [r, g, b] = Colormap::Viridis.rgb(1.0);
        assert!(r > 0.9 && g > 0.85 && b < 0.2);
        // magma and inferno start black.
        for c in [Colormap::Magma, Colormap::Inferno] {
            let [r, g, b] = c.rgb(0.0);
            assert!(r < 0.02 && g < 0.02 && b < 0.02);
        }
    }
}
