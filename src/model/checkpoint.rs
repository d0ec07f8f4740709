//! seglens checkpoints: a safetensors file under the PyTorch key names (so the
//! original code can load it too) whose metadata carries the architecture and the
//! input convention. One path alone rebuilds the right variant and feeds it right.
//! Plain PyTorch weights load too, given the variant they were trained as.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::cmunext::CmuNext;
use super::config::{CmuNextConfig, Variant};
use super::error::ModelError;
use super::state_dict::StateDict;
use crate::convention::InputConvention;

/// Metadata key under which the [`CheckpointMeta`] JSON is stored.
pub const META_KEY: &str = "seglens";
/// Format tag of the current checkpoint layout.
pub const FORMAT: &str = "seglens-checkpoint/1";

/// What a checkpoint says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Layout tag, [`FORMAT`].
    pub format: String,
    /// The architecture.
    pub config: CmuNextConfig,
    /// How inputs must be prepared.
    pub input: InputConvention,
    /// Free-form provenance (training run, epoch, metrics); never needed to load.
    #[serde(default)]
    pub provenance: serde_json::Value,
}

impl CheckpointMeta {
    /// Metadata for a model of `config` fed by `input`.
    pub fn new(config: CmuNextConfig, input: InputConvention) -> Self {
        Self {
            format: FORMAT.to_string(),
            config,
            input,
            provenance: serde_json::Value::Null,
        }
    }

    /// "CMUNeXt-S" for a published variant, "custom CMUNeXt" otherwise.
    pub fn architecture_name(&self) -> String {
        Variant::of_config(&self.config).map_or_else(
            || "custom CMUNeXt".to_string(),
            |v| v.paper_name().to_string(),
        )
    }
}

/// Where a loaded model's weights came from.
#[derive(Clone, Debug, PartialEq)]
pub enum WeightsOrigin {
    /// A seglens checkpoint with its own metadata.
    Checkpoint,
    /// A plain PyTorch state dict, loaded as the given variant; its input convention is
    /// assumed (the reference one) because the file cannot say.
    PytorchStateDict(Variant),
}

/// A model ready to run, with what is known about its input.
#[derive(Debug)]
pub struct LoadedModel {
    /// The network.
    pub model: CmuNext,
    /// Architecture and input convention.
    pub meta: CheckpointMeta,
    /// Where the weights came from.
    pub origin: WeightsOrigin,
}

/// Saves `model` with `meta` to `path` atomically.
pub fn save_checkpoint(
    model: &CmuNext,
    meta: &CheckpointMeta,
    path: &Path,
) -> Result<(), ModelError> {
    let fail = |reason: String| ModelError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let dict = StateDict::from_model(model).map_err(fail)?;
    let json = serde_json::to_string(meta).map_err(|e| fail(e.to_string()))?;
    dict.write_safetensors(path, HashMap::from([(META_KEY.to_string(), json)]))
}

/// Loads a seglens checkpoint, or plain PyTorch weights when `variant` is given.
///
/// A seglens checkpoint needs no variant; if one is given anyway and differs from the
/// checkpoint's own, that is an error rather than a silent choice.
pub fn load_model(
    path: &Path,
    variant: Option<Variant>,
    device: &Device,
) -> Result<LoadedModel, ModelError> {
    let dict = StateDict::read(path)?;
    let meta = match dict.metadata.get(META_KEY) {
        Some(json) => {
            let meta: CheckpointMeta =
                serde_json::from_str(json).map_err(|e| ModelError::Unreadable {
                    path: path.to_path_buf(),
                    reason: format!("its seglens metadata is not valid: {e}"),
                })?;
            if let Some(v) = variant.filter(|v| Variant::of_config(&meta.config) != Some(*v)) {
                return Err(ModelError::Mismatch {
                    path: path.to_path_buf(),
                    expected: v.paper_name().to_string(),
                    problem: format!("the checkpoint is a {}", meta.architecture_name()),
                    hint: Some("leave out --variant for seglens checkpoints".into()),
                });
            }
            Some(meta)
        }
        None => None,
    };
    let (meta, origin) = match (meta, variant) {
        (Some(meta), _) => (meta, WeightsOrigin::Checkpoint),
        (None, Some(v)) => (
            CheckpointMeta::new(v.config(), InputConvention::reference()),
            WeightsOrigin::PytorchStateDict(v),
        ),
        (None, None) => {
            let hint = dict
                .guess_variant()
                .map(|v| format!("it looks like {v}: pass --variant {}", v.short_name()));
            return Err(ModelError::Unreadable {
                path: path.to_path_buf(),
                reason: format!(
                    "no seglens metadata, so the variant is unknown{}",
                    hint.map(|h| format!(" ({h})"))
                        .unwrap_or_else(|| "; pass --variant s|base|l for PyTorch weights".into())
                ),
            });
        }
    };
    let model = CmuNext::new(&meta.config, device)?;
    dict.check_fits(&model, &meta.architecture_name(), path)?;
    let model = dict.apply(model);
    Ok(LoadedModel {
        model,
        meta,
        origin,
    })
}
