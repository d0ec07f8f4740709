//! The `seglens` binary as a user runs it.

use std::process::Command;

fn seglens(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args(args)
        .output()
        .expect("binary runs")
}

#[test]
fn bench_json_has_the_documented_shape() {
    let out = seglens(&[
        "bench",
        "--json",
        "--runs",
        "3",
        "--warmup",
        "1",
        "--size",
        "64",
        "--variant",
        "s",
        "--backend",
        "cpu",
        "--train",
    ]);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("valid JSON on stdout");
    for list in ["forward", "train_step"] {
        let records = json[list].as_array().expect("list");
        assert_eq!(
            records.len(),
            1,
            "{list}: one record for one variant on one backend"
        );
        let r = &records[0];
        assert_eq!(r["variant"], "s");
        assert_eq!(r["backend"], "cpu");
        assert_eq!(r["size"], 64);
        assert_eq!(r["runs"], 3);
        let (p10, median, p90) = (
            r["p10_ms"].as_f64().expect("p10"),
            r["median_ms"].as_f64().expect("median"),
            r["p90_ms"].as_f64().expect("p90"),
        );
        assert!(0.0 < p10 && p10 <= median && median <= p90, "{r}");
    }
    assert_eq!(json["forward"][0]["batch"], 1);
    assert_eq!(json["train_step"][0]["batch"], 8);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = seglens(&["bench", "--variant", "xl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected s, base or l"));
    let out = seglens(&["bench", "--size", "50", "--backend", "cpu"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("multiple of 16"));
}

#[test]
fn info_on_a_missing_file_names_it() {
    let out = seglens(&["info", "/nonexistent/model.safetensors"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/model.safetensors"));
}

#[test]
fn a_run_that_cannot_start_leaves_no_folder_behind() {
    // A copy of the MRI demo's site-DU slices: holding DU out leaves nothing to train on.
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/mri-lgg");
    let scratch = std::env::temp_dir().join(format!("seglens-cli-du-only-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let du_only = scratch.join("lgg-du");
    for sub in ["images", "masks"] {
        std::fs::create_dir_all(du_only.join(sub)).expect("dir");
        for entry in std::fs::read_dir(format!("{demo}/{sub}"))
            .expect("demo")
            .map(|e| e.expect("entry"))
        {
            if entry.file_name().to_string_lossy().starts_with("TCGA_DU_") {
                std::fs::copy(entry.path(), du_only.join(sub).join(entry.file_name()))
                    .expect("copy");
            }
        }
    }
    let du_arg = du_only.display().to_string();
    let out_dir = scratch.join("run");
    let out_arg = out_dir.display().to_string();
    let out = seglens(&[
        "train",
        "--data",
        &du_arg,
        "--test-site",
        "DU",
        "--size",
        "32",
        "--epochs",
        "1",
        "--backend",
        "cpu",
        "--threads",
        "1",
        "--out",
        &out_arg,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the training split is empty") && stderr.contains("held-out site"),
        "{stderr}"
    );
    assert!(!out_dir.exists(), "no half-made run folder");
    let out = seglens(&[
        "train",
        "--data",
        demo,
        "--test-site",
        "XX",
        "--size",
        "32",
        "--epochs",
        "1",
        "--backend",
        "cpu",
        "--out",
        &out_arg,
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sites found: DU, HT"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(scratch);
}

#[test]
fn options_that_would_mislead_are_refused() {
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo/ct-lungs");
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/models/cmunext-s-ct-lungs.safetensors"
    );
    let out = seglens(&[
        "predict",
        "--model",
        model,
        "--data",
        demo,
        "--out",
        "/tmp/unused",
        "--threshold",
        "1.5",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("not a probability threshold strictly between 0 and 1")
    );
    // --split-set alone would score every image while the user thinks it scored one set.
    let out = seglens(&[
        "eval",
        "--model",
        model,
        "--data",
        demo,
        "--out",
        "/tmp/unused",
        "--split-set",
        "test",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--split <SPLIT>"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One dataset twice would count every image twice.
    let out = seglens(&[
        "eval",
        "--model",
        model,
        "--data",
        demo,
        "--data",
        &format!("{demo}/"),
        "--out",
        "/tmp/unused",
        "--backend",
        "cpu",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is given twice"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // No augmentation and a set of augmentations contradict each other.
    let out = seglens(&[
        "train",
        "--data",
        demo,
        "--out",
        "/tmp/unused",
        "--no-augment",
        "--augmentation",
        "extended",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("'--no-augment' cannot be used with '--augmentation <AUGMENTATION>'"),
        "{stderr}"
    );
}

#[test]
fn predict_reads_dicom_and_fails_when_nothing_is_written() {
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/models/cmunext-s-ct-lungs.safetensors"
    );
    let dir = std::env::temp_dir().join(format!("seglens-cli-predict-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out_dir = dir.join("out").display().to_string();
    let dcm = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/formats/CT_small.dcm"
    );
    let out = seglens(&[
        "predict",
        "--model",
        model,
        "--data",
        dcm,
        "--out",
        &out_dir,
        "--backend",
        "cpu",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mask = image::open(dir.join("out/masks/CT_small.png"))
        .expect("mask of the DICOM slice")
        .to_luma8();
    assert_eq!(mask.dimensions(), (128, 128), "the slice's own size");
    assert!(matches!(
        image::open(dir.join("out/probabilities/CT_small.png")).expect("probabilities"),
        image::DynamicImage::ImageLuma16(_)
    ));

    std::fs::create_dir_all(dir.join("broken")).expect("dir");
    std::fs::write(dir.join("broken/a.png"), b"not a png").expect("write");
    let out = seglens(&[
        "predict",
        "--model",
        model,
        "--data",
        &dir.join("broken").display().to_string(),
        "--out",
        &out_dir,
        "--backend",
        "cpu",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a.png") && stderr.contains("nothing was predicted"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
