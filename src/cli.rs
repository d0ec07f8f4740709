//! The command line: the same engine as the window, for headless and batch work.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::backend::{self, BackendRequest};
use crate::bench::{self, BenchOptions};
use crate::convention::InputConvention;
use crate::model::{self, CheckpointMeta, Variant};

/// seglens: train, inspect and honestly evaluate CMUNeXt segmentation models on CT and MRI.
#[derive(Debug, Parser)]
#[command(name = "seglens", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure forward (and training-step) latency of each variant per backend.
    Bench {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Timed runs per measurement, after warm-up; the median is reported.
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Untimed warm-up runs per measurement.
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Square input size (a multiple of 16).
        #[arg(long, default_value_t = 256)]
        size: usize,
        /// Variants to measure (repeatable): s, base, l. Default: all three.
        #[arg(long = "variant", value_parser = parse_variant)]
        variants: Vec<Variant>,
        /// auto: CPU, plus wgpu on a real GPU; cpu: CPU only; wgpu: wgpu only, even on a software adapter.
        #[arg(long, value_enum, default_value_t = BackendRequest::Auto)]
        backend: BackendRequest,
        /// Also time a training step (batch 8, train-mode forward, BCE+Dice, backward, SGD).
        #[arg(long)]
        train: bool,
    },
    /// Show what a model file is: architecture, input convention, provenance.
    Info {
        /// A seglens checkpoint or PyTorch weights (.safetensors, .pth).
        model: PathBuf,
        /// Architecture of plain PyTorch weights (seglens checkpoints know their own).
        #[arg(long, value_parser = parse_variant)]
        variant: Option<Variant>,
    },
    /// Turn PyTorch CMUNeXt weights into a seglens checkpoint that knows its variant and input convention.
    Import {
        /// PyTorch state dict (.pth/.pt or .safetensors) under the original key names.
        weights: PathBuf,
        /// The variant the weights were trained as.
        #[arg(long, value_parser = parse_variant)]
        variant: Variant,
        /// Input size the model was trained at.
        #[arg(long, default_value_t = 256)]
        size: usize,
        /// Input normalisation it was trained with: reference (the original script, BGR and double scaling) or imagenet.
        #[arg(long, default_value = "reference", value_parser = ["reference", "imagenet", "unit"])]
        normalisation: String,
        /// Where to write the checkpoint (.safetensors).
        #[arg(long)]
        out: PathBuf,
    },
    /// List the compute devices and say which one seglens would use.
    Devices,
}

fn parse_variant(s: &str) -> Result<Variant, String> {
    s.parse()
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Bench { json, runs, warmup, size, variants, backend, train } => {
            let variants = if variants.is_empty() { Variant::ALL.to_vec() } else { variants };
            let report = bench::run(&BenchOptions { runs, warmup, size, variants, backend, train, train_batch: 8 })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", bench::table(&report));
            }
        }
        Command::Info { model, variant } => {
            let device = burn::tensor::Device::flex();
            let loaded = model::load_model(&model, variant, &device)?;
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({
                "file": model,
                "architecture": loaded.meta.architecture_name(),
                "origin": format!("{:?}", loaded.origin),
                "trainable_params": loaded.meta.config.trainable_params(),
                "config": loaded.meta.config,
                "input": loaded.meta.input,
                "provenance": loaded.meta.provenance,
            }))?);
        }
        Command::Import { weights, variant, size, normalisation, out } => {
            let device = burn::tensor::Device::flex();
            let loaded = model::load_model(&weights, Some(variant), &device)?;
            let mut input = InputConvention::reference();
            input.size = size;
            if normalisation != "reference" {
                input = InputConvention::default_for_size(size);
                if normalisation == "unit" {
                    input.normalisation = crate::convention::Normalisation::Unit;
                }
            }
            let mut meta = CheckpointMeta::new(variant.config(), input);
            meta.provenance = serde_json::json!({ "imported_from": weights });
            model::save_checkpoint(&loaded.model, &meta, &out).with_context(|| format!("importing {}", weights.display()))?;
            println!("wrote {} ({variant}, {} tensors)", out.display(), model::StateDict::from_model(&loaded.model).map_err(anyhow::Error::msg)?.tensors.len());
        }
        Command::Devices => {
            let adapters = backend::wgpu_adapters();
            if adapters.is_empty() {
                println!("no wgpu adapters");
            }
            for a in &adapters {
                println!("wgpu adapter: {} ({}){}", a.name, a.api, if a.is_software { ", software" } else { "" });
            }
            let chosen = backend::select(BackendRequest::Auto).map_err(anyhow::Error::msg)?;
            println!("seglens would use: {}", chosen.reason);
        }
    }
    Ok(())
}
