//! `seglens bench`: forward (and optionally training-step) latency of each CMUNeXt
//! variant on each available backend, as a table or as JSON other tools can compare.
//!
//! Every timed region ends with a read-back of the result, so lazy backends (wgpu,
//! fusion) are measured to completion, not to submission.

use std::time::Instant;

use anyhow::Context as _;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Tensor};
use serde::Serialize;

use crate::backend::{self, BackendKind, BackendRequest, ComputeDevice};
use crate::loss::bce_dice_loss;
use crate::model::{CmuNext, Variant};

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Timed runs per measurement (after warm-up).
    pub runs: usize,
    /// Untimed warm-up runs per measurement.
    pub warmup: usize,
    /// Square input size.
    pub size: usize,
    /// Variants to measure.
    pub variants: Vec<Variant>,
    /// Which backends: `Auto` = CPU plus a real GPU if present.
    pub backend: BackendRequest,
    /// Also time a training step (batch 8, BCE+Dice, SGD).
    pub train: bool,
    /// Batch size of the training step.
    pub train_batch: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            runs: 20,
            warmup: 2,
            size: 256,
            variants: Variant::ALL.to_vec(),
            backend: BackendRequest::Auto,
            train: false,
            train_batch: 8,
        }
    }
}

/// One measurement: latency statistics over the timed runs.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// "s", "base" or "l".
    pub variant: &'static str,
    /// "cpu" or "wgpu".
    pub backend: &'static str,
    /// The wgpu adapter, when on wgpu.
    pub adapter: Option<String>,
    /// Whether that adapter is a software one.
    pub software_adapter: bool,
    /// Square input size.
    pub size: usize,
    /// Batch size.
    pub batch: usize,
    /// Timed runs.
    pub runs: usize,
    /// Median latency, ms.
    pub median_ms: f64,
    /// 10th percentile latency, ms.
    pub p10_ms: f64,
    /// 90th percentile latency, ms.
    pub p90_ms: f64,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Forward passes (eval mode, batch 1).
    pub forward: Vec<Record>,
    /// Training steps (train-mode forward, BCE+Dice, backward, SGD update).
    pub train_step: Vec<Record>,
    /// Why each backend was or was not measured.
    pub notes: Vec<String>,
    /// Logical CPUs available.
    pub cpu_threads: usize,
}

/// Runs the benchmark.
pub fn run(options: &BenchOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(options.runs > 0, "--runs must be at least 1");
    anyhow::ensure!(
        options.size > 0 && options.size % 16 == 0,
        "--size must be a positive multiple of 16, got {}",
        options.size
    );
    let mut notes = Vec::new();
    let mut devices = Vec::new();
    match options.backend {
        BackendRequest::Cpu => {
            devices.push(backend::select(BackendRequest::Cpu).map_err(anyhow::Error::msg)?)
        }
        BackendRequest::Wgpu => {
            devices.push(backend::select(BackendRequest::Wgpu).map_err(anyhow::Error::msg)?)
        }
        BackendRequest::Auto => {
            devices.push(backend::select(BackendRequest::Cpu).map_err(anyhow::Error::msg)?);
            let auto = backend::select(BackendRequest::Auto).map_err(anyhow::Error::msg)?;
            if auto.kind == BackendKind::Wgpu {
                devices.push(auto);
            } else {
                notes.push(format!(
                    "wgpu not measured: {} (use --backend wgpu to force it)",
                    auto.reason
                ));
            }
        }
    }
    let mut report = Report {
        forward: Vec::new(),
        train_step: Vec::new(),
        notes,
        cpu_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    for dev in &devices {
        report.notes.push(dev.reason.clone());
        for &variant in &options.variants {
            let times = time_forward(dev, variant, options)
                .with_context(|| format!("forward of {variant} on {}", dev.kind.name()))?;
            report
                .forward
                .push(record(dev, variant, options.size, 1, &times));
            if options.train {
                let times = time_train_step(dev, variant, options).with_context(|| {
                    format!("training step of {variant} on {}", dev.kind.name())
                })?;
                report.train_step.push(record(
                    dev,
                    variant,
                    options.size,
                    options.train_batch,
                    &times,
                ));
            }
        }
    }
    Ok(report)
}

fn time_forward(
    dev: &ComputeDevice,
    variant: Variant,
    o: &BenchOptions,
) -> anyhow::Result<Vec<f64>> {
    let model = CmuNext::new(&variant.config(), &dev.device)?;
    let input = Tensor::<4>::random(
        [1, 3, o.size, o.size],
        Distribution::Normal(0.0, 1.0),
        &dev.device,
    );
    timed(o, || {
        let out = model.forward(input.clone());
        read_back(out.sum())
    })
}

fn time_train_step(
    dev: &ComputeDevice,
    variant: Variant,
    o: &BenchOptions,
) -> anyhow::Result<Vec<f64>> {
    let device: Device = dev.device.clone().autodiff();
    let mut model = Some(CmuNext::new(&variant.config(), &device)?);
    let mut optim = SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new().with_momentum(0.9).with_dampening(0.0),
        ))
        .with_weight_decay(Some(WeightDecayConfig::new(1e-4)))
        .init();
    let input = Tensor::<4>::random(
        [o.train_batch, 3, o.size, o.size],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let target = Tensor::<4>::random(
        [o.train_batch, 1, o.size, o.size],
        Distribution::Bernoulli(0.3),
        &device,
    );
    timed(o, || {
        let m = model.take().context("model lost after a failed step")?;
        let loss = bce_dice_loss(m.forward(input.clone()), target.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        let m = optim.step(0.01, m, grads);
        // Reading a parameter back waits for the update itself to finish.
        read_back(m.head.weight.val().sum())?;
        model = Some(m);
        Ok(())
    })
}

fn timed(o: &BenchOptions, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Vec<f64>> {
    for _ in 0..o.warmup {
        f()?;
    }
    let mut times = Vec::with_capacity(o.runs);
    for _ in 0..o.runs {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    Ok(times)
}

fn read_back(t: Tensor<1>) -> anyhow::Result<()> {
    let data = t
        .try_into_data()
        .map_err(|e| anyhow::anyhow!("backend error at read-back: {e:?}"))?;
    let v: Vec<f32> = data
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    anyhow::ensure!(
        v.iter().all(|x| x.is_finite()),
        "the result is not finite: {v:?}"
    );
    Ok(())
}

fn record(
    dev: &ComputeDevice,
    variant: Variant,
    size: usize,
    batch: usize,
    times: &[f64],
) -> Record {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    Record {
        variant: variant.short_name(),
        backend: dev.kind.name(),
        adapter: dev.adapter.as_ref().map(|a| a.name.clone()),
        software_adapter: dev.adapter.as_ref().is_some_and(|a| a.is_software),
        size,
        batch,
        runs: times.len(),
        median_ms: percentile(&sorted, 0.5),
        p10_ms: percentile(&sorted, 0.1),
        p90_ms: percentile(&sorted, 0.9),
    }
}

/// Linear-interpolated percentile of sorted values (`q` in [0, 1]).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Renders the report as a plain-text table.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    for (title, records) in [
        ("forward", &report.forward),
        ("train step", &report.train_step),
    ] {
        if records.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "{title}\n{:<6} {:<6} {:>5} {:>5} {:>11} {:>11} {:>11}  adapter\n",
            "model", "device", "size", "batch", "median ms", "p10 ms", "p90 ms"
        ));
        for r in records {
            out.push_str(&format!(
                "{:<6} {:<6} {:>5} {:>5} {:>11.1} {:>11.1} {:>11.1}  {}\n",
                r.variant,
                r.backend,
                r.size,
                r.batch,
                r.median_ms,
                r.p10_ms,
                r.p90_ms,
                r.adapter.as_deref().unwrap_or("-")
            ));
        }
    }
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert!((percentile(&v, 0.1) - 1.4).abs() < 1e-12);
        assert!((percentile(&v, 0.9) - 4.6).abs() < 1e-12);
        assert_eq!(percentile(&[7.0], 0.9), 7.0);
    }
}
