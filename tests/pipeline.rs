//! train → eval → predict → sweep end to end through the `seglens` binary, on the real
//! CT and MRI slices bundled in assets/demo, with tiny settings.

use std::path::{Path, PathBuf};
use std::process::Command;

fn seglens(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_seglens")).args(args).output().expect("binary runs");
    assert!(
        out.status.success(),
        "seglens {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn demo(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo").join(name).display().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seglens-pipeline-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).expect("valid json")
}

#[test]
fn train_eval_predict_sweep_on_bundled_slices() {
    let run = scratch("run");
    let run_s = run.display().to_string();
    // A MIX of the CT and MRI demo slices, 32², two epochs, a test split.
    seglens(&[
        "train", "--data", &demo("ct-lungs"), "--data", &demo("mri-lgg"), "--variant", "s", "--size", "32", "--epochs", "2",
        "--batch-size", "4", "--val-fraction", "0.25", "--test-fraction", "0.25", "--out", &run_s, "--backend", "cpu", "--threads", "2",
    ]);
    for f in ["config.json", "split.json", "steps.csv", "epochs.csv", "model_best.safetensors", "model_last.safetensors", "report.json"] {
        assert!(run.join(f).exists(), "run folder has {f}");
    }
    let config = json(&run.join("config.json"));
    assert_eq!(config["train"]["input"]["size"], 32);
    assert_eq!(config["train"]["input"]["modality"], "mixed");
    let split = json(&run.join("split.json"));
    let counts = |k: &str| split[k].as_array().map_or(0, Vec::len);
    assert_eq!(counts("train") + counts("val") + counts("test"), 12, "all 12 demo pairs are in the split");
    assert!(counts("test") > 0);
    let epochs = std::fs::read_to_string(run.join("epochs.csv")).expect("csv");
    assert_eq!(epochs.lines().count(), 3, "header + 2 epochs");
    let report = json(&run.join("report.json"));
    assert!(report["test"]["label"].as_str().is_some_and(|l| l.contains("held-out")));
    assert!(report["val"]["label"].as_str().is_some_and(|l| l.contains("optimistic")));

    // Evaluate the best checkpoint across datasets.
    let model = run.join("model_best.safetensors").display().to_string();
    let eval = scratch("eval");
    let out = seglens(&["eval", "--model", &model, "--data", &demo("ct-lungs"), "--data", &demo("mri-lgg"), "--out", &eval.display().to_string(), "--backend", "cpu"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("all-background prediction scores"), "{text}");
    let summary = json(&eval.join("summary.json"));
    assert_eq!(summary["datasets"]["ct-lungs"]["n_images"], 6);
    assert_eq!(summary["datasets"]["mri-lgg"]["n_images"], 6);
    let per_image = std::fs::read_to_string(eval.join("ct-lungs/per_image.csv")).expect("per-image csv");
    assert_eq!(per_image.lines().count(), 7);

    // Predict: one mask and one 16-bit probability map per image, at native size.
    let pred = scratch("pred");
    seglens(&["predict", "--model", &model, "--data", &demo("ct-lungs"), "--out", &pred.display().to_string(), "--backend", "cpu"]);
    let masks: Vec<_> = std::fs::read_dir(pred.join("masks")).expect("masks dir").collect();
    assert_eq!(masks.len(), 6);
    let prob = image::open(pred.join("probabilities/ID_0000_Z_0142.png")).expect("probability png");
    assert_eq!((prob.width(), prob.height()), (512, 512));
    assert!(matches!(prob, image::DynamicImage::ImageLuma16(_)), "probabilities are 16-bit");
    let mask = image::open(pred.join("masks/ID_0000_Z_0142.png")).expect("mask png").to_luma8();
    assert!(mask.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255), "masks are 0/255");

    // Sweep: 19 thresholds.
    let sweep = scratch("sweep");
    let out = seglens(&["sweep", "--model", &model, "--data", &demo("mri-lgg"), "--out", &sweep.display().to_string(), "--backend", "cpu"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("threshold sweep"));
    let csv = std::fs::read_to_string(sweep.join("sweep.csv")).expect("sweep csv");
    assert_eq!(csv.lines().count(), 20, "header + 19 thresholds");

    for d in [run, eval, pred, sweep] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn resuming_a_run_from_the_command_line_continues_it() {
    let run = scratch("resume");
    let run_s = run.display().to_string();
    seglens(&["train", "--data", &demo("ct-lungs"), "--size", "32", "--epochs", "1", "--batch-size", "4", "--out", &run_s, "--backend", "cpu"]);
    // The finished run can be resumed (nothing left to do) and a second train over it is refused.
    seglens(&["train", "--resume", &run_s, "--backend", "cpu"]);
    let out = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args(["train", "--data", &demo("ct-lungs"), "--size", "32", "--epochs", "1", "--out", &run_s, "--backend", "cpu"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a run"));
    let _ = std::fs::remove_dir_all(run);
}
