//! seglens: train, inspect and honestly evaluate 2D medical image segmentation models
//! (the CMUNeXt family) on CT and MRI.
//!
//! # Architecture
//! Dependencies point one way: domain modules ([`model`], [`loss`], [`convention`])
//! know nothing of the command line or any UI; [`backend`] decides the compute device
//! in one place; [`bench`] and [`cli`] sit on top.
//!
//! # Failure handling
//! Library errors are typed ([`model::ModelError`]) and name the file and the
//! problem; the command line wraps them with context (`anyhow`) and prints them once.
//! Files are written atomically ([`fsutil::write_atomic`]) so a failure never leaves a
//! half-written checkpoint behind.

pub mod annotate;
pub mod app;
pub mod backend;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod convention;
pub mod data;
pub mod eval;
pub mod fsutil;
pub mod infer;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod rng;
pub mod train;
