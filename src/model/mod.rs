//! The CMUNeXt family in Burn: architecture, weights I/O and checkpoints.
//! Depends on Burn only; never on UI code.

mod blocks;
pub mod checkpoint;
mod cmunext;
pub mod config;
mod error;
pub mod keys;
pub mod state_dict;
pub mod upsample;

pub use blocks::{CmuNextLayer, ConvBnRelu, EncoderStage, SkipFusion, UpConv};
pub use checkpoint::{CheckpointMeta, LoadedModel, WeightsOrigin, load_model, save_checkpoint};
pub use cmunext::{Activations, CmuNext};
pub use config::{CmuNextConfig, SIZE_MULTIPLE, Variant};
pub use error::ModelError;
pub use state_dict::StateDict;
