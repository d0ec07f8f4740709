//! Summary statistics of per-image scores: means that skip undefined values, the
//! percentile rule used everywhere in this module, percentile-bootstrap confidence
//! intervals, per-group (e.g. per-patient) aggregation and paired model comparison.
//! Depends only on [`crate::rng::SplitMix64`]; knows nothing of masks.
//!
//! # Undefined values
//! Inputs are anything convertible to `Option<f64>` (`f64` or `Option<f64>`). `None`,
//! NaN and ±∞ are *excluded* from every statistic and counted in `n_excluded`, so an
//! image whose score is undefined under [`super::EmptyPolicy::Exclude`] never drags a
//! mean down or up silently.
//!
//! # Bootstrap
//! Percentile bootstrap: draw `resamples` samples of size n with replacement, take each
//! sample's mean, and report the `(1 − c)/2` and `(1 + c)/2` percentiles of those means
//! ([`percentile_sorted`], linear interpolation). The generator is
//! `SplitMix64::stream(seed, "bootstrap")`, so a seed always gives the same interval.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

/// Default number of bootstrap resamples.
pub const DEFAULT_RESAMPLES: usize = 2000;

/// Default confidence level of bootstrap intervals.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;

/// A mean over the defined values of a list.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mean {
    /// The mean, `None` when no value was defined.
    pub value: Option<f64>,
    /// Number of defined (finite) values averaged.
    pub n: usize,
    /// Number of `None` / NaN / infinite values left out.
    pub n_excluded: usize,
}

/// Settings of a percentile bootstrap.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    /// Number of resamples (must be ≥ 1).
    pub resamples: usize,
    /// Seed of the resampling generator.
    pub seed: u64,
    /// Two-sided confidence level, strictly between 0 and 1.
    pub confidence: f64,
}

impl Default for BootstrapConfig {
    /// 2000 resamples, seed 0, 95 %.
    fn default() -> Self {
        Self {
            resamples: DEFAULT_RESAMPLES,
            seed: 0,
            confidence: DEFAULT_CONFIDENCE,
        }
    }
}

impl BootstrapConfig {
    /// The default settings with another seed.
    pub fn with_seed(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.resamples == 0 {
            return Err("bootstrap needs at least one resample".into());
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(format!(
                "bootstrap confidence must lie strictly between 0 and 1, got {}",
                self.confidence
            ));
        }
        Ok(())
    }
}

/// A mean with its percentile-bootstrap confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanCi {
    /// Mean of the defined values; `None` when there are none.
    pub mean: Option<f64>,
    /// Lower end of the interval; `None` when there are no defined values.
    pub lo: Option<f64>,
    /// Upper end of the interval; `None` when there are no defined values.
    pub hi: Option<f64>,
    /// Number of defined values used.
    pub n: usize,
    /// Number of undefined values left out.
    pub n_excluded: usize,
    /// The bootstrap settings used.
    pub config: BootstrapConfig,
}

/// The mean of one group (e.g. one patient's images).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupMean<K> {
    /// The group key.
    pub key: K,
    /// Mean over the group's defined values.
    pub mean: Mean,
}

/// Per-group means, then the mean over groups with a bootstrap interval that
/// resamples whole groups (a cluster bootstrap: images of one patient are not
/// independent, so they are never split).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupedMeanCi<K> {
    /// Every group in key order, including groups with no defined value.
    pub groups: Vec<GroupMean<K>>,
    /// Mean over group means. Its `n` counts groups with a defined mean and its
    /// `n_excluded` counts groups that had none.
    pub overall: MeanCi,
}

/// Comparison of two models scored on the same images: differences `a − b`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedComparison {
    /// Mean difference `a − b` with a paired-bootstrap interval (pairs are resampled
    /// together). `n` counts pairs where both scores are defined; `n_excluded` the rest.
    pub difference: MeanCi,
    /// Pairs where `a > b`.
    pub a_better: usize,
    /// Pairs where `b > a`.
    pub b_better: usize,
    /// Pairs where `a == b`.
    pub ties: usize,
}

fn defined<T: Into<Option<f64>>>(v: T) -> Option<f64> {
    v.into().filter(|x| x.is_finite())
}

/// Mean of the defined values; `None`, NaN and ±∞ are excluded and counted.
pub fn mean<I, T>(values: I) -> Mean
where
    I: IntoIterator<Item = T>,
    T: Into<Option<f64>>,
{
    let (mut sum, mut n, mut n_excluded) = (0.0, 0usize, 0usize);
    for v in values {
        match defined(v) {
            Some(x) => {
                sum += x;
                n += 1;
            }
            None => n_excluded += 1,
        }
    }
    Mean {
        value: (n > 0).then(|| sum / n as f64),
        n,
        n_excluded,
    }
}

/// The `q`-th percentile (`q` in [0, 100]) of an ascending slice, by linear
/// interpolation between closest ranks (NumPy's default `method="linear"`,
/// Hyndman–Fan type 7): position `h = (n − 1)·q/100`, value
/// `x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])`. `None` for an empty slice or `q` outside [0, 100].
pub fn percentile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=100.0).contains(&q) {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q / 100.0;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = h - lo as f64;
    Some(sorted[lo] + frac * (sorted[hi] - sorted[lo]))
}

/// The `q`-th percentile of unsorted values (sorted here with `f64::total_cmp`); see
/// [`percentile_sorted`].
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    percentile_sorted(&v, q)
}

/// Mean and percentile-bootstrap interval of the defined values.
/// With one defined value the interval is that value; with none, everything is `None`.
/// Errors only for invalid settings (0 resamples, confidence outside (0, 1)).
pub fn mean_ci<I, T>(values: I, config: &BootstrapConfig) -> Result<MeanCi, String>
where
    I: IntoIterator<Item = T>,
    T: Into<Option<f64>>,
{
    config.validate()?;
    let mut xs = Vec::new();
    let mut n_excluded = 0;
    for v in values {
        match defined(v) {
            Some(x) => xs.push(x),
            None => n_excluded += 1,
        }
    }
    let m = mean(xs.iter().copied());
    let (lo, hi) = bootstrap_interval(&xs, config);
    Ok(MeanCi {
        mean: m.value,
        lo,
        hi,
        n: xs.len(),
        n_excluded,
        config: *config,
    })
}

fn bootstrap_interval(xs: &[f64], config: &BootstrapConfig) -> (Option<f64>, Option<f64>) {
    if xs.is_empty() {
        return (None, None);
    }
    let n = xs.len();
    let mut rng = SplitMix64::stream(config.seed, "bootstrap");
    let mut means: Vec<f64> = (0..config.resamples)
        .map(|_| {
            let sum: f64 = (0..n).map(|_| xs[rng.below(n as u64) as usize]).sum();
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - config.confidence) / 2.0 * 100.0;
    (
        percentile_sorted(&means, tail),
        percentile_sorted(&means, 100.0 - tail),
    )
}

/// Aggregates per group: the mean of each group's defined values, then the mean over
/// groups (each group weighs the same, however many images it has) with a bootstrap
/// interval over groups. Groups come out in key order, so the result is deterministic.
pub fn grouped_mean_ci<K, I, T>(
    items: I,
    config: &BootstrapConfig,
) -> Result<GroupedMeanCi<K>, String>
where
    K: Ord + Clone,
    I: IntoIterator<Item = (K, T)>,
    T: Into<Option<f64>>,
{
    config.validate()?;
    let mut by_group: BTreeMap<K, Vec<Option<f64>>> = BTreeMap::new();
    for (k, v) in items {
        by_group.entry(k).or_default().push(v.into());
    }
    let groups: Vec<GroupMean<K>> = by_group
        .into_iter()
        .map(|(key, vs)| GroupMean {
            key,
            mean: mean(vs),
        })
        .collect();
    let overall = mean_ci(groups.iter().map(|g| g.mean.value), config)?;
    Ok(GroupedMeanCi { groups, overall })
}

/// Paired comparison of model A and model B on the same images (`a[i]` and `b[i]` are
/// the same image): the mean of `a − b` with a paired-bootstrap interval, and how often
/// each model wins. Pairs where either score is undefined are excluded and counted.
/// Errors when the lists differ in length or the settings are invalid.
pub fn paired_comparison<TA, TB>(
    a: &[TA],
    b: &[TB],
    config: &BootstrapConfig,
) -> Result<PairedComparison, String>
where
    TA: Into<Option<f64>> + Copy,
    TB: Into<Option<f64>> + Copy,
{
    if a.len() != b.len() {
        return Err(format!(
            "paired comparison needs the same images: model A has {} scores, model B {}",
            a.len(),
            b.len()
        ));
    }
    let (mut a_better, mut b_better, mut ties) = (0, 0, 0);
    let diffs: Vec<Option<f64>> = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let (x, y) = (defined(x)?, defined(y)?);
            if x > y {
                a_better += 1;
            } else if y > x {
                b_better += 1;
            } else {
                ties += 1;
            }
            Some(x - y)
        })
        .collect();
    Ok(PairedComparison {
        difference: mean_ci(diffs, config)?,
        a_better,
        b_better,
        ties,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_skips_and_counts_undefined() {
        // (1 + 2 + 6) / 3 = 3; None, NaN and ∞ are excluded.
        let m = mean([
            Some(1.0),
            None,
            Some(2.0),
            Some(f64::NAN),
            Some(6.0),
            Some(f64::INFINITY),
        ]);
        assert_eq!(
            m,
            Mean {
                value: Some(3.0),
                n: 3,
                n_excluded: 3
            }
        );
        let empty = mean(Vec::<f64>::new());
        assert_eq!(
            empty,
            Mean {
                value: None,
                n: 0,
                n_excluded: 0
            }
        );
    }

    #[test]
    fn percentile_is_numpy_linear() {
        // x = [1, 2, 3, 4, 10]: q=50 → h = 2 → 3; q=95 → h = 3.8 → 4 + 0.8·6 = 8.8;
        // q=25 → h = 1 → 2; q=10 → h = 0.4 → 1.4; q=100 → 10.
        let x = [10.0, 2.0, 4.0, 1.0, 3.0];
        assert_eq!(percentile(&x, 50.0), Some(3.0));
        assert!((percentile(&x, 95.0).expect("non-empty") - 8.8).abs() < 1e-12);
        assert_eq!(percentile(&x, 25.0), Some(2.0));
        assert!((percentile(&x, 10.0).expect("non-empty") - 1.4).abs() < 1e-12);
        assert_eq!(percentile(&x, 100.0), Some(10.0));
        assert_eq!(percentile(&x, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&x, 101.0), None);
    }

    #[test]
    fn bootstrap_ci_contains_mean_matches_theory_and_is_seeded() {
        // Values 0..=99: mean 49.5, population sd = √((100² − 1)/12) = 28.866, so the
        // standard error is 2.887 and a 95 % interval is about 49.5 ± 1.96·2.887 = [43.8, 55.2].
        let xs: Vec<f64> = (0..100).map(f64::from).collect();
        let cfg = BootstrapConfig::with_seed(7);
        let ci = mean_ci(xs.iter().copied(), &cfg).expect("valid config");
        assert_eq!(ci.mean, Some(49.5));
        let (lo, hi) = (ci.lo.expect("n > 0"), ci.hi.expect("n > 0"));
        assert!(lo < 49.5 && 49.5 < hi, "{lo} {hi}");
        assert!((42.5..45.0).contains(&lo), "{lo}");
        assert!((54.0..56.5).contains(&hi), "{hi}");
        assert_eq!((ci.n, ci.n_excluded, ci.config.resamples), (100, 0, 2000));
        // The same seed reproduces the interval bit for bit; another seed moves it.
        let again = mean_ci(xs.iter().copied(), &cfg).expect("valid config");
        assert_eq!(again, ci);
        let other =
            mean_ci(xs.iter().copied(), &BootstrapConfig::with_seed(8)).expect("valid config");
        assert_ne!((other.lo, other.hi), (ci.lo, ci.hi));
    }

    #[test]
    fn bootstrap_edge_cases() {
        let cfg = BootstrapConfig::default();
        let none = mean_ci([None, Some(f64::NAN)], &cfg).expect("valid config");
        assert_eq!(
            (none.mean, none.lo, none.hi, none.n, none.n_excluded),
            (None, None, None, 0, 2)
        );
        let one = mean_ci([0.25], &cfg).expect("valid config");
        assert_eq!(
            (one.mean, one.lo, one.hi),
            (Some(0.25), Some(0.25), Some(0.25))
        );
        let bad = BootstrapConfig {
            confidence: 1.0,
            ..cfg
        };
        assert!(mean_ci([1.0], &bad).is_err());
        let zero = BootstrapConfig {
            resamples: 0,
            ..cfg
        };
        assert!(mean_ci([1.0], &zero).is_err());
    }

    #[test]
    fn grouped_means_weigh_groups_equally() {
        // Patient "a": 0.2, 0.4 → 0.3. Patient "b": 0.9 → 0.9. Patient "c": only undefined.
        // Per-patient mean = (0.3 + 0.9) / 2 = 0.6, while the per-image mean would be 0.5.
        let items = vec![
            ("b", Some(0.9)),
            ("a", Some(0.2)),
            ("c", None),
            ("a", Some(0.4)),
        ];
        let g = grouped_mean_ci(items, &BootstrapConfig::default()).expect("valid config");
        let keys: Vec<&str> = g.groups.iter().map(|x| x.key).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert!((g.groups[0].mean.value.expect("defined") - 0.3).abs() < 1e-12);
        assert_eq!(
            g.groups[2].mean,
            Mean {
                value: None,
                n: 0,
                n_excluded: 1
            }
        );
        assert!((g.overall.mean.expect("defined") - 0.6).abs() < 1e-12);
        assert_eq!((g.overall.n, g.overall.n_excluded), (2, 1));
        // Resampling two groups can only give means 0.3, 0.6 or 0.9.
        let (lo, hi) = (g.overall.lo.expect("n > 0"), g.overall.hi.expect("n > 0"));
        assert!(
            (lo - 0.3).abs() < 1e-12 && (hi - 0.9).abs() < 1e-12,
            "{lo} {hi}"
        );
    }

    #[test]
    fn paired_comparison_sign_and_counts() {
        // A beats B by 0.05 on four images, loses by 0.01 on one, ties on one; one pair
        // is undefined. Mean difference = (4·0.05 − 0.01 + 0) / 6 = 0.19 / 6.
        let a = [
            Some(0.80),
            Some(0.70),
            Some(0.60),
            Some(0.90),
            Some(0.50),
            Some(0.40),
            None,
        ];
        let b = [
            Some(0.75),
            Some(0.65),
            Some(0.55),
            Some(0.85),
            Some(0.51),
            Some(0.40),
            Some(0.3),
        ];
        let p = paired_comparison(&a, &b, &BootstrapConfig::with_seed(1)).expect("same length");
        assert_eq!((p.a_better, p.b_better, p.ties), (4, 1, 1));
        assert_eq!((p.difference.n, p.difference.n_excluded), (6, 1));
        let d = p.difference.mean.expect("defined");
        assert!((d - 0.19 / 6.0).abs() < 1e-12, "{d}");
        assert!(p.difference.lo.expect("n > 0") <= d && d <= p.difference.hi.expect("n > 0"));
        // Swapping the models flips the sign and the win counts.
        let q = paired_comparison(&b, &a, &BootstrapConfig::with_seed(1)).expect("same length");
        assert!((q.difference.mean.expect("defined") + d).abs() < 1e-12);
        assert_eq!((q.a_better, q.b_better), (1, 4));
        assert!(paired_comparison(&a, &b[..3], &BootstrapConfig::default()).is_err());
    }

    #[test]
    fn paired_comparison_interval_excludes_zero_for_consistent_gain() {
        // A is 0.1 ± 0.01 better on 20 images: every resampled mean difference lies in
        // [0.09, 0.11], so the interval does too.
        let b: Vec<f64> = (0..20).map(|i| 0.5 + f64::from(i) * 0.01).collect();
        let a: Vec<f64> = b
            .iter()
            .enumerate()
            .map(|(i, x)| x + 0.1 + if i % 2 == 0 { 0.01 } else { -0.01 })
            .collect();
        let p = paired_comparison(&a, &b, &BootstrapConfig::default()).expect("same length");
        let (lo, hi) = (
            p.difference.lo.expect("n > 0"),
            p.difference.hi.expect("n > 0"),
        );
        assert!(
            lo >= 0.09 - 1e-12 && hi <= 0.11 + 1e-12 && lo > 0.0,
            "{lo} {hi}"
        );
        assert_eq!(p.a_better, 20);
    }
}
