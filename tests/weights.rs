//! Loading and saving weights: seglens checkpoints round-trip with their metadata;
//! wrong variants, truncated, random and empty files give errors that name the file
//! and the problem; the model refuses bad input shapes with a message, not a panic.

mod common;

use std::path::PathBuf;

use burn::tensor::{Device, Distribution, Tensor};
use common::{fixture, max_abs_diff, values};
use seglens::convention::{CtWindow, InputConvention};
use seglens::model::{
    CheckpointMeta, CmuNext, ModelError, StateDict, Variant, WeightsOrigin, load_model,
    save_checkpoint,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seglens-weights-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn error_text(result: Result<seglens::model::LoadedModel, ModelError>) -> String {
    format!("{:#}", result.expect_err("loading must fail"))
}

#[test]
fn checkpoint_round_trip_keeps_weights_config_and_input_convention() {
    let device = Device::flex();
    let model = CmuNext::new(&Variant::S.config(), &device).expect("model");
    let mut input = InputConvention::default_for_size(128);
    input.modality = Some("CT".into());
    input.ct_window = Some(CtWindow {
        center: -600.0,
        width: 1500.0,
    });
    let mut meta = CheckpointMeta::new(Variant::S.config(), input);
    meta.provenance = serde_json::json!({ "epoch": 3 });
    let path = scratch("roundtrip.safetensors");
    save_checkpoint(&model, &meta, &path).expect("save");

    // No variant needed: the checkpoint knows its own.
    let loaded = load_model(&path, None, &device).expect("load");
    assert_eq!(loaded.meta, meta);
    assert_eq!(loaded.origin, WeightsOrigin::Checkpoint);
    let a = StateDict::from_model(&model).expect("dict");
    let b = StateDict::from_model(&loaded.model).expect("dict");
    assert_eq!(
        a.tensors, b.tensors,
        "every tensor identical after the round trip"
    );

    let x = Tensor::<4>::random([1, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let (_, ya) = values(model.forward(x.clone()));
    let (_, yb) = values(loaded.model.forward(x));
    assert_eq!(max_abs_diff(&ya, &yb), 0.0);
}

#[test]
fn checkpoint_of_another_variant_is_refused_with_both_names() {
    let device = Device::flex();
    let model = CmuNext::new(&Variant::S.config(), &device).expect("model");
    let path = scratch("s.safetensors");
    save_checkpoint(
        &model,
        &CheckpointMeta::new(Variant::S.config(), InputConvention::reference()),
        &path,
    )
    .expect("save");
    let text = error_text(load_model(&path, Some(Variant::L), &device));
    assert!(
        text.contains("CMUNeXt-L") && text.contains("checkpoint is a CMUNeXt-S"),
        "{text}"
    );
    assert!(text.contains("s.safetensors"), "names the file: {text}");
}

#[test]
fn pytorch_weights_of_another_variant_name_the_first_bad_key() {
    let text = error_text(load_model(
        &fixture("cmunext_s_state_dict.safetensors"),
        Some(Variant::Base),
        &Device::flex(),
    ));
    assert!(text.contains("do not fit CMUNeXt:"), "{text}");
    assert!(
        text.contains("'Conv_1x1.weight' has shape [1, 8, 1, 1], expected [1, 16, 1, 1]"),
        "{text}"
    );
    assert!(text.contains("looks like a CMUNeXt-S state dict"), "{text}");
    assert!(text.contains("cmunext_s_state_dict.safetensors"), "{text}");
}

#[test]
fn pytorch_weights_without_variant_ask_for_one() {
    let text = error_text(load_model(
        &fixture("cmunext_s_state_dict.safetensors"),
        None,
        &Device::flex(),
    ));
    assert!(
        text.contains("no seglens metadata") && text.contains("--variant s"),
        "{text}"
    );
}

#[test]
fn missing_and_unexpected_keys_are_named() {
    let device = Device::flex();
    let mut dict = StateDict::read(&fixture("cmunext_s_state_dict.safetensors")).expect("read");
    let removed = dict
        .tensors
        .remove("encoder4.block.0.0.fn.0.weight")
        .expect("key exists");
    let path = scratch("missing.safetensors");
    dict.write_safetensors(&path, Default::default())
        .expect("write");
    let text = error_text(load_model(&path, Some(Variant::S), &device));
    assert!(
        text.contains("missing key 'encoder4.block.0.0.fn.0.weight'"),
        "{text}"
    );

    dict.tensors
        .insert("encoder4.block.0.0.fn.0.weight".into(), removed);
    dict.tensors.insert(
        "extra.head.weight".into(),
        seglens::model::state_dict::StateTensor {
            shape: vec![1],
            data: vec![0.0],
        },
    );
    let path = scratch("unexpected.safetensors");
    dict.write_safetensors(&path, Default::default())
        .expect("write");
    let text = error_text(load_model(&path, Some(Variant::S), &device));
    assert!(
        text.contains("unexpected key 'extra.head.weight'"),
        "{text}"
    );
}

#[test]
fn truncated_random_and_empty_files_are_reported_not_panicked() {
    let device = Device::flex();
    let bytes = std::fs::read(fixture("cmunext_s_state_dict.safetensors")).expect("fixture");
    let truncated = scratch("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let text = error_text(load_model(&truncated, Some(Variant::S), &device));
    assert!(
        text.contains("cannot read weights") && text.contains("truncated.safetensors"),
        "{text}"
    );

    let random = scratch("random.pth");
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&random, noise).expect("write");
    let text = error_text(load_model(&random, Some(Variant::S), &device));
    assert!(
        text.contains("cannot read weights") && text.contains("random.pth"),
        "{text}"
    );

    let empty = scratch("empty.safetensors");
    std::fs::write(&empty, b"").expect("write");
    assert!(
        error_text(load_model(&empty, Some(Variant::S), &device)).contains("the file is empty")
    );

    let absent = scratch("absent.safetensors");
    assert!(
        error_text(load_model(&absent, Some(Variant::S), &device)).contains("absent.safetensors")
    );

    // A zip that is not a PyTorch archive.
    let zip = scratch("fake.pth");
    std::fs::write(&zip, b"PK\x03\x04 not really a zip").expect("write");
    assert!(error_text(load_model(&zip, Some(Variant::S), &device)).contains("fake.pth"));
}

#[test]
fn input_sizes_that_are_not_multiples_of_16_are_refused_or_padded() {
    let device = Device::flex();
    let model = CmuNext::new(&Variant::S.config(), &device).expect("model");
    let odd = Tensor::<4>::random([1, 3, 50, 40], Distribution::Normal(0.0, 1.0), &device);
    let err = model
        .try_forward(odd.clone())
        .expect_err("50×40 must be refused");
    assert!(
        err.to_string().contains("50×40") && err.to_string().contains("multiples of 16"),
        "{err}"
    );
    assert_eq!(
        model.forward_padded(odd).expect("padded").dims(),
        [1, 1, 50, 40]
    );

    let grey = Tensor::<4>::random([1, 1, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let err = model
        .try_forward(grey)
        .expect_err("1 channel must be refused");
    assert!(
        err.to_string().contains("1 channels, the model expects 3"),
        "{err}"
    );

    // Padding a size that is already valid changes nothing.
    let x = Tensor::<4>::random([1, 3, 32, 48], Distribution::Normal(0.0, 1.0), &device);
    let (_, a) = values(model.forward(x.clone()));
    let (_, b) = values(model.forward_padded(x).expect("padded"));
    assert_eq!(a, b);
}
