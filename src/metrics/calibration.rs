//! Calibration of foreground probabilities: a reliability diagram (10 equal-width bins
//! over [0, 1]), expected calibration error (ECE) and predictive entropy, per pixel and
//! averaged. Streamable: [`CalibrationAccumulator`] keeps only per-bin sums. Depends
//! only on [`super::mask`].
//!
//! # Conventions
//! * Binning is over the predicted **foreground probability** p (not the max-class
//!   confidence): bin `b = ⌊10·p⌋` computed in `f32`, with p = 1 in the last bin, so the
//!   bins are [0, 0.1), [0.1, 0.2), …, [0.9, 1.0] and a probability written as a bin
//!   edge (0.7) falls in the bin that starts there.
//! * Each bin reports its pixel count, mean p ("confidence") and the observed
//!   foreground frequency. ECE = Σ_b (n_b / N) · |freq_b − conf_b|.
//! * Entropy is the binary entropy **in bits**: H(p) = −p·log₂p − (1−p)·log₂(1−p), so
//!   H(0) = H(1) = 0 and H(0.5) = 1.
//! * Probabilities outside [0, 1] are clamped into it; NaN pixels are skipped and
//!   counted ([`CalibrationReport::n_ignored`]); [`entropy_map`] keeps them as NaN.

use serde::{Deserialize, Serialize};

use super::mask::{MaskPixel, check_same_len};

/// Number of reliability bins.
pub const CALIBRATION_BINS: usize = 10;

/// One reliability-diagram bin.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge of the bin (inclusive).
    pub lo: f64,
    /// Upper edge of the bin (exclusive, except 1.0 for the last bin).
    pub hi: f64,
    /// Pixels in the bin.
    pub count: u64,
    /// Mean predicted foreground probability; `None` for an empty bin.
    pub mean_confidence: Option<f64>,
    /// Fraction of the bin's pixels that are GT foreground; `None` for an empty bin.
    pub foreground_frequency: Option<f64>,
}

/// Calibration of a set of pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// The 10 bins, ascending.
    pub bins: Vec<ReliabilityBin>,
    /// Expected calibration error; `None` when no pixel was counted.
    pub ece: Option<f64>,
    /// Mean binary entropy per pixel, in bits; `None` when no pixel was counted.
    pub mean_entropy_bits: Option<f64>,
    /// Pixels counted.
    pub n_pixels: u64,
    /// NaN pixels skipped.
    pub n_ignored: u64,
}

/// Binary entropy of a probability in bits (clamped into [0, 1]; NaN stays NaN).
pub fn binary_entropy_bits(p: f32) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    let p = f64::from(p.clamp(0.0, 1.0));
    let term = |q: f64| if q > 0.0 { -q * q.log2() } else { 0.0 };
    term(p) + term(1.0 - p)
}

/// Per-pixel binary entropy (bits) of a probability map, for display.
pub fn entropy_map(probabilities: &[f32]) -> Vec<f32> {
    probabilities
        .iter()
        .map(|&p| binary_entropy_bits(p) as f32)
        .collect()
}

/// The reliability bin of a (non-NaN) probability.
pub fn calibration_bin(p: f32) -> usize {
    let b = (p.clamp(0.0, 1.0) * CALIBRATION_BINS as f32).floor() as usize;
    b.min(CALIBRATION_BINS - 1)
}

/// Accumulates calibration statistics over any number of images.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CalibrationAccumulator {
    count: [u64; CALIBRATION_BINS],
    sum_p: [f64; CALIBRATION_BINS],
    foreground: [u64; CALIBRATION_BINS],
    entropy_sum: f64,
    n_ignored: u64,
}

impl CalibrationAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one image's probabilities and ground truth.
    pub fn push<G: MaskPixel>(&mut self, probabilities: &[f32], gt: &[G]) -> Result<(), String> {
        check_same_len(
            ("probability map", probabilities.len()),
            ("ground truth", gt.len()),
        )?;
        for (&p, &g) in probabilities.iter().zip(gt) {
            if p.is_nan() {
                self.n_ignored += 1;
                continue;
            }
            let b = calibration_bin(p);
            self.count[b] += 1;
            self.sum_p[b] += f64::from(p.clamp(0.0, 1.0));
            self.foreground[b] += u64::from(g.is_foreground());
            self.entropy_sum += binary_entropy_bits(p);
        }
        Ok(())
    }

    /// Adds another accumulator's pixels.
    pub fn merge(&mut self, other: &Self) {
        for b in 0..CALIBRATION_BINS {
            self.count[b] += other.count[b];
            self.sum_p[b] += other.sum_p[b];
            self.foreground[b] += other.foreground[b];
        }
        self.entropy_sum += other.entropy_sum;
        self.n_ignored += other.n_ignored;
    }

    /// The report over everything pushed so far.
    pub fn report(&self) -> CalibrationReport {
        let n: u64 = self.count.iter().sum();
        let bins: Vec<ReliabilityBin> = (0..CALIBRATION_BINS)
            .map(|b| {
                let c = self.count[b];
                let per = |v: f64| (c > 0).then(|| v / c as f64);
                ReliabilityBin {
                    lo: b as f64 / CALIBRATION_BINS as f64,
                    hi: (b + 1) as f64 / CALIBRATION_BINS as f64,
                    count: c,
                    mean_confidence: per(self.sum_p[b]),
                    foreground_frequency: per(self.foreground[b] as f64),
                }
            })
            .collect();
        let ece = (n > 0).then(|| {
            bins.iter()
                .filter_map(|bin| {
                    let gap = (bin.foreground_frequency? - bin.mean_confidence?).abs();
                    Some(bin.count as f64 / n as f64 * gap)
                })
                .sum()
        });
        CalibrationReport {
            bins,
            ece,
            mean_entropy_bits: (n > 0).then(|| self.entropy_sum / n as f64),
            n_pixels: n,
            n_ignored: self.n_ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_values() {
        // H(0.5) = 1; H(0.25) = 0.25·2 + 0.75·log₂(4/3) = 0.5 + 0.311278 = 0.811278.
        assert_eq!(binary_entropy_bits(0.5), 1.0);
        assert!((binary_entropy_bits(0.25) - 0.811_278_124_459_132_8).abs() < 1e-9);
        assert_eq!(binary_entropy_bits(0.0), 0.0);
        assert_eq!(binary_entropy_bits(1.0), 0.0);
        assert_eq!(binary_entropy_bits(1.5), 0.0);
        assert!(binary_entropy_bits(f32::NAN).is_nan());
        let m = entropy_map(&[0.5, 0.0, 0.25]);
        assert_eq!(m.len(), 3);
        assert_eq!((m[0], m[1]), (1.0, 0.0));
        assert!((m[2] - 0.811_278).abs() < 1e-6);
    }

    #[test]
    fn bins_by_decimal_edges() {
        assert_eq!(calibration_bin(0.0), 0);
        assert_eq!(calibration_bin(0.099), 0);
        assert_eq!(calibration_bin(0.1), 1);
        assert_eq!(calibration_bin(0.3), 3);
        assert_eq!(calibration_bin(0.7), 7);
        assert_eq!(calibration_bin(0.95), 9);
        assert_eq!(calibration_bin(1.0), 9);
        assert_eq!(calibration_bin(-0.2), 0);
    }

    #[test]
    fn ece_on_constructed_case() {
        // 10 pixels at p = 0.95 of which 9 are foreground: conf 0.95, freq 0.9, gap 0.05.
        // 10 pixels at p = 0.25 of which 5 are foreground: conf 0.25, freq 0.5, gap 0.25.
        // ECE = (10·0.05 + 10·0.25)/20 = 0.15.
        // Mean entropy = (H(0.95) + H(0.25))/2 = (0.286397 + 0.811278)/2 = 0.548838.
        let mut p = vec![0.95f32; 10];
        p.extend([0.25f32; 10]);
        let g: Vec<bool> = (0..20).map(|i| i < 9 || (10..15).contains(&i)).collect();
        let mut acc = CalibrationAccumulator::new();
        // Pushed as two images to exercise streaming.
        acc.push(&p[..7], &g[..7]).expect("same length");
        acc.push(&p[7..], &g[7..]).expect("same length");
        let r = acc.report();
        assert_eq!(r.n_pixels, 20);
        assert_eq!(r.bins[9].count, 10);
        assert!((r.bins[9].foreground_frequency.expect("non-empty") - 0.9).abs() < 1e-12);
        assert!((r.bins[9].mean_confidence.expect("non-empty") - 0.95).abs() < 1e-6);
        assert_eq!(r.bins[2].count, 10);
        assert_eq!(r.bins[5].count, 0);
        assert_eq!(r.bins[5].mean_confidence, None);
        assert!((r.ece.expect("pixels counted") - 0.15).abs() < 1e-6);
        assert!((r.mean_entropy_bits.expect("pixels counted") - 0.548_838).abs() < 1e-5);
        assert!((r.bins[3].lo - 0.3).abs() < 1e-12 && (r.bins[3].hi - 0.4).abs() < 1e-12);
    }

    #[test]
    fn perfectly_calibrated_has_zero_ece_and_nan_is_ignored() {
        // p = 0.5 on 4 pixels with 2 foreground → gap 0; p = 0 on background, p = 1 on foreground.
        let p = [0.5f32, 0.5, 0.5, 0.5, 0.0, 1.0, f32::NAN];
        let g = [1u8, 1, 0, 0, 0, 1, 1];
        let mut acc = CalibrationAccumulator::new();
        acc.push(&p, &g).expect("same length");
        let r = acc.report();
        assert_eq!(r.ece, Some(0.0));
        assert_eq!((r.n_pixels, r.n_ignored), (6, 1));
        // Entropy: 4 pixels of 1 bit, 2 of 0 → 4/6.
        assert!((r.mean_entropy_bits.expect("pixels counted") - 4.0 / 6.0).abs() < 1e-12);
        let mut merged = CalibrationAccumulator::new();
        merged.merge(&acc);
        merged.merge(&acc);
        assert_eq!(merged.report().n_pixels, 12);
        let empty = CalibrationAccumulator::new().report();
        assert_eq!(
            (empty.ece, empty.mean_entropy_bits, empty.n_pixels),
            (None, None, 0)
        );
        assert!(acc.push(&p, &g[..2]).is_err());
    }
}
