//! train → eval → predict → sweep end to end through the `seglens` binary, on the real
//! CT and MRI slices bundled in assets/demo, with tiny settings.

use std::path::{Path, PathBuf};
use std::process::Command;

fn seglens(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args(args)
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "seglens {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn demo(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/demo")
        .join(name)
        .display()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seglens-pipeline-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A scratch dataset folder whose images/ holds the real brain volume under each of
/// `names` (`<name>.nii.gz`), each with the label volume in masks/ under the same name.
fn volume_dataset(scratch_name: &str, names: &[&str]) -> PathBuf {
    let formats = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/formats");
    let data = scratch(scratch_name);
    std::fs::create_dir_all(data.join("images")).unwrap();
    std::fs::create_dir_all(data.join("masks")).unwrap();
    for name in names {
        for (source, folder) in [("brain1_image", "images"), ("brain1_label", "masks")] {
            std::fs::copy(
                formats.join(format!("{source}.nii.gz")),
                data.join(folder).join(format!("{name}.nii.gz")),
            )
            .unwrap();
        }
    }
    data
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("valid json")
}

#[test]
fn train_eval_predict_sweep_on_bundled_slices() {
    let run = scratch("run");
    let run_s = run.display().to_string();
    // A MIX of the CT and MRI demo slices, 32², two epochs, a test split.
    seglens(&[
        "train",
        "--data",
        &demo("ct-lungs"),
        "--data",
        &demo("mri-lgg"),
        "--variant",
        "s",
        "--size",
        "32",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--val-fraction",
        "0.25",
        "--test-fraction",
        "0.25",
        "--out",
        &run_s,
        "--backend",
        "cpu",
        "--threads",
        "2",
    ]);
    for f in [
        "config.json",
        "split.json",
        "steps.csv",
        "epochs.csv",
        "model_best.safetensors",
        "model_last.safetensors",
        "report.json",
    ] {
        assert!(run.join(f).exists(), "run folder has {f}");
    }
    let config = json(&run.join("config.json"));
    assert_eq!(config["train"]["input"]["size"], 32);
    assert_eq!(config["train"]["input"]["modality"], "mixed");
    let split = json(&run.join("split.json"));
    let counts = |k: &str| split[k].as_array().map_or(0, Vec::len);
    assert_eq!(
        counts("train") + counts("val") + counts("test"),
        12,
        "all 12 demo pairs are in the split"
    );
    assert!(counts("test") > 0);
    let epochs = std::fs::read_to_string(run.join("epochs.csv")).expect("csv");
    assert_eq!(epochs.lines().count(), 3, "header + 2 epochs");
    let report = json(&run.join("report.json"));
    assert!(
        report["test"]["label"]
            .as_str()
            .is_some_and(|l| l.contains("held-out"))
    );
    assert!(
        report["val"]["label"]
            .as_str()
            .is_some_and(|l| l.contains("optimistic"))
    );

    // Evaluate the best checkpoint across datasets.
    let model = run.join("model_best.safetensors").display().to_string();
    let eval = scratch("eval");
    let out = seglens(&[
        "eval",
        "--model",
        &model,
        "--data",
        &demo("ct-lungs"),
        "--data",
        &demo("mri-lgg"),
        "--out",
        &eval.display().to_string(),
        "--backend",
        "cpu",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("all-background prediction scores"), "{text}");
    let summary = json(&eval.join("summary.json"));
    assert_eq!(summary["datasets"]["ct-lungs"]["n_images"], 6);
    assert_eq!(summary["datasets"]["mri-lgg"]["n_images"], 6);
    let per_image =
        std::fs::read_to_string(eval.join("ct-lungs/per_image.csv")).expect("per-image csv");
    assert_eq!(per_image.lines().count(), 7);

    // Predict: one mask and one 16-bit probability map per image, at native size.
    let pred = scratch("pred");
    seglens(&[
        "predict",
        "--model",
        &model,
        "--data",
        &demo("ct-lungs"),
        "--out",
        &pred.display().to_string(),
        "--backend",
        "cpu",
        "--threads",
        "1",
    ]);
    let masks: Vec<_> = std::fs::read_dir(pred.join("masks"))
        .expect("masks dir")
        .collect();
    assert_eq!(masks.len(), 6);
    let prob = image::open(pred.join("probabilities/ID_0000_Z_0142.png")).expect("probability png");
    assert_eq!((prob.width(), prob.height()), (512, 512));
    assert!(
        matches!(prob, image::DynamicImage::ImageLuma16(_)),
        "probabilities are 16-bit"
    );
    let mask = image::open(pred.join("masks/ID_0000_Z_0142.png"))
        .expect("mask png")
        .to_luma8();
    assert!(
        mask.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255),
        "masks are 0/255"
    );

    // Sweep: 19 thresholds.
    let sweep = scratch("sweep");
    let out = seglens(&[
        "sweep",
        "--model",
        &model,
        "--data",
        &demo("mri-lgg"),
        "--out",
        &sweep.display().to_string(),
        "--backend",
        "cpu",
    ]);
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
    seglens(&[
        "train",
        "--data",
        &demo("ct-lungs"),
        "--size",
        "32",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--out",
        &run_s,
        "--backend",
        "cpu",
    ]);
    // The finished run can be resumed (nothing left to do, and it says only that) and a
    // second train over it is refused.
    let again = seglens(&["train", "--resume", &run_s, "--backend", "cpu"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already finished all its epochs") && !stderr.contains("training "),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args([
            "train",
            "--data",
            &demo("ct-lungs"),
            "--size",
            "32",
            "--epochs",
            "1",
            "--out",
            &run_s,
            "--backend",
            "cpu",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a run"));
    // Options a resumed run would ignore are refused, not silently dropped.
    let out = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args([
            "train",
            "--resume",
            &run_s,
            "--epochs",
            "5",
            "--backend",
            "cpu",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'--resume <RESUME>' cannot be used with '--epochs <EPOCHS>'"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(run);
}

#[test]
fn train_fine_tunes_a_bundled_model_and_records_it() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mri_model = manifest.join("assets/models/cmunext-s-mri-lgg.safetensors");
    let mri_model_s = mri_model.display().to_string();
    let run = scratch("fine-tune");
    let run_s = run.display().to_string();
    let data = demo("mri-lgg");
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            &data,
            "--size",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--out",
            &run_s,
            "--backend",
            "cpu",
            "--init",
        ];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_seglens"))
            .args(&args)
            .output()
            .expect("runs")
    };
    // Weights that would be fed other input, or are another variant, are refused
    // before anything is written.
    for (extra, expected) in [
        (vec![mri_model_s.as_str()], "pass --normalisation per-image"),
        (
            vec![
                mri_model_s.as_str(),
                "--normalisation",
                "per-image",
                "--variant",
                "base",
            ],
            "is a CMUNeXt-S (--variant s), not a CMUNeXt (--variant base): pass --variant s",
        ),
        (
            vec!["no-such-weights.safetensors"],
            "cannot open the initial weights no-such-weights",
        ),
    ] {
        let out = train(&extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
        assert!(!run.exists(), "a refused run writes nothing");
    }
    let out = train(&[&mri_model_s, "--normalisation", "per-image"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("starting from the weights in")
            && stderr.contains("; trained on MR at 128², this run: MR at 32²)"),
        "{stderr}"
    );
    let config = json(&run.join("config.json"));
    let init = &config["train"]["init"];
    assert_eq!(init["path"], mri_model_s.as_str());
    use sha2::{Digest as _, Sha256};
    let sha: String = Sha256::digest(std::fs::read(&mri_model).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(init["sha256"], sha.as_str());
    // The best checkpoint carries it too, for when it travels without its run folder.
    let dict = seglens::model::StateDict::read(&run.join("model_best.safetensors")).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&dict.metadata["seglens"]).unwrap();
    assert_eq!(
        meta["provenance"]["initialised_from"]["sha256"],
        sha.as_str()
    );
    let _ = std::fs::remove_dir_all(run);
}

#[test]
fn a_test_fold_is_the_test_set_of_a_cross_validation() {
    let run = scratch("fold");
    let run_s = run.display().to_string();
    let data = demo("ct-lungs");
    let args = |fold: &'static str| {
        [
            "train",
            "--data",
            &data,
            "--size",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--out",
            &run_s,
            "--backend",
            "cpu",
            "--test-fold",
            fold,
        ]
        .map(String::from)
    };
    // 6 slices without patient ids: 3 folds of 2; fold 2 is the test set.
    seglens(&args("2/3").each_ref().map(String::as_str));
    let split = json(&run.join("split.json"));
    assert_eq!(split["config"]["test_fold"]["fold"], 1);
    assert_eq!(split["config"]["test_fold"]["folds"], 3);
    assert_eq!(split["test"].as_array().unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(&run);
    // A fold and a test fraction both asking to be the test set: refused.
    let mut refused = args("1/3").to_vec();
    refused.extend(["--test-fraction".to_string(), "0.2".to_string()]);
    let out = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args(&refused)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("a test fold is the test set: the test fraction must be 0"),
        "{stderr}"
    );
    assert!(!run.exists());
}

/// Trains folds 1/2 and 2/2 of `data` (tiny settings) into `root`/fold1 and fold2.
fn train_two_folds(data: &str, root: &Path, extra: &[&str]) -> Vec<String> {
    let runs: Vec<String> = (1..=2)
        .map(|k| root.join(format!("fold{k}")).display().to_string())
        .collect();
    for (k, run) in runs.iter().enumerate() {
        let fold = format!("{}/2", k + 1);
        let mut args = vec![
            "train",
            "--data",
            data,
            "--size",
            "32",
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--out",
            run,
            "--backend",
            "cpu",
            "--test-fold",
            &fold,
        ];
        args.extend_from_slice(extra);
        seglens(&args);
    }
    runs
}

#[test]
fn crossval_scores_every_image_once_with_the_model_of_its_fold() {
    let data = demo("ct-lungs");
    let root = scratch("crossval");
    let runs = train_two_folds(&data, &root, &[]);
    let out = root.join("cv");
    let out_s = out.display().to_string();
    let printed = seglens(&[
        "crossval",
        &runs[0],
        &runs[1],
        "--out",
        &out_s,
        "--backend",
        "cpu",
    ]);
    let stdout = String::from_utf8_lossy(&printed.stdout);
    assert!(
        stdout.contains("cross-validation, 2 folds: 6 images"),
        "{stdout}"
    );
    // The demo's CT names carry no patient id: every slice was its own unit, and it says so.
    assert!(
        stdout.contains("warning: 6 of 6 images have no patient id"),
        "{stdout}"
    );
    // The demo's 6 slices, each once, with the fold that held it out.
    let csv = std::fs::read_to_string(out.join("crossval.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 6);
    let ids: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[2]).collect();
    assert_eq!(ids.len(), 6);
    for (k, run) in runs.iter().enumerate() {
        let test = json(&Path::new(run).join("split.json"))["test"].clone();
        let in_fold: Vec<&str> = rows
            .iter()
            .filter(|r| r[0] == (k + 1).to_string())
            .map(|r| r[2])
            .collect();
        let expected: Vec<&str> = test
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(in_fold, expected, "fold {}", k + 1);
    }
    // The pooled mean is the mean over the images' own Dice, whichever model scored them.
    let cv = json(&out.join("crossval.json"))["crossval"].clone();
    let dice: Vec<f64> = rows.iter().filter_map(|r| r[5].parse().ok()).collect();
    let pooled = cv["pooled"]["per_image"]["dice"]["mean"].as_f64();
    // Every slice has lungs, so every Dice is defined (0 when nothing is predicted).
    assert_eq!(dice.len(), 6);
    let by_hand = dice.iter().sum::<f64>() / dice.len() as f64;
    assert!(
        (pooled.unwrap() - by_hand).abs() < 1e-12,
        "{pooled:?} vs {by_hand}"
    );
    assert_eq!(cv["pooled"]["n_images"], 6);
    // The pooled threshold sweep adds the folds' counts threshold by threshold, and at 0.5
    // it counts what the pooled report counts.
    let sweep = &cv["pooled"]["sweep"];
    assert_eq!(sweep["n_images"], 6);
    assert_eq!(
        sweep["per_threshold"][9]["pooled"]["confusion"],
        cv["pooled"]["native"]["pooled"]["confusion"]
    );
    let folds: Vec<serde_json::Value> = (1..=2)
        .map(|k| json(&out.join(format!("fold-{k}/report.json")))["report"]["sweep"].clone())
        .collect();
    for t in [0, 9, 18] {
        for field in ["tp", "fp", "fn_", "tn"] {
            let count = |s: &serde_json::Value| {
                s["per_threshold"][t]["pooled"]["confusion"][field]
                    .as_u64()
                    .unwrap()
            };
            assert_eq!(
                count(sweep),
                count(&folds[0]) + count(&folds[1]),
                "{t} {field}"
            );
        }
    }
    let pixels = |v: &serde_json::Value| v["calibration"]["n_pixels"].as_u64().unwrap();
    let fold_pixels: Vec<u64> = (1..=2)
        .map(|k| pixels(&json(&out.join(format!("fold-{k}/report.json")))["report"]))
        .collect();
    assert_eq!(pixels(&cv["pooled"]), fold_pixels[0] + fold_pixels[1]);
    assert_eq!(cv["per_fold"].as_array().unwrap().len(), 2);
    assert!(out.join("fold-1/report.json").is_file() && out.join("fold-2/per_image.csv").is_file());
    // One fold alone is no cross-validation: refused, naming the missing fold.
    let alone = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args(["crossval", &runs[0], "--out", &out_s, "--backend", "cpu"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&alone.stderr);
    assert_eq!(alone.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("fold 2/2 has no run"), "{stderr}");
    // A run folder as --out would lose its report: refused, the run untouched.
    let report = std::fs::read(Path::new(&runs[0]).join("report.json")).unwrap();
    let into_run = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args([
            "crossval",
            &runs[0],
            &runs[1],
            "--out",
            &runs[0],
            "--backend",
            "cpu",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&into_run.stderr);
    assert_eq!(into_run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is a training run folder"), "{stderr}");
    assert_eq!(
        std::fs::read(Path::new(&runs[0]).join("report.json")).unwrap(),
        report
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn crossval_with_patients_tests_each_patient_in_one_fold() {
    // Four patients of three slices: the two demo MR patients and a renamed copy of each.
    let root = scratch("crossval-patients");
    let data = root.join("lgg4");
    let demo_dir = PathBuf::from(demo("mri-lgg"));
    for sub in ["images", "masks"] {
        std::fs::create_dir_all(data.join(sub)).unwrap();
        for entry in std::fs::read_dir(demo_dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            std::fs::copy(&path, data.join(sub).join(&name)).unwrap();
            let copy = name
                .replace("DU_6404", "DU_0001")
                .replace("HT_A5RC", "HT_0002");
            std::fs::copy(&path, data.join(sub).join(copy)).unwrap();
        }
    }
    let data_s = data.display().to_string();
    // Validation takes whole patients until 0.2 of 12 slices: one patient of 3.
    let extra = ["--normalisation", "per-image", "--val-fraction", "0.2"];
    let runs = train_two_folds(&data_s, &root, &extra);
    let out = root.join("cv").display().to_string();
    let printed = seglens(&[
        "crossval",
        &runs[0],
        &runs[1],
        "--out",
        &out,
        "--backend",
        "cpu",
    ]);
    let stdout = String::from_utf8_lossy(&printed.stdout);
    assert!(
        stdout.contains("cross-validation, 2 folds: 12 images of 4 patients"),
        "{stdout}"
    );
    assert!(!stdout.contains("no patient id"), "{stdout}");
    let cv = json(&Path::new(&out).join("crossval.json"))["crossval"].clone();
    let fold_patients: Vec<Vec<&str>> = cv["per_fold"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["test_patients"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect()
        })
        .collect();
    // Two patients a fold, none in both: all four tested once.
    assert_eq!(fold_patients[0].len(), 2, "{fold_patients:?}");
    assert_eq!(fold_patients[1].len(), 2, "{fold_patients:?}");
    assert!(
        fold_patients[0]
            .iter()
            .all(|p| !fold_patients[1].contains(p))
    );
    let patients = &cv["per_patient"];
    let keys: Vec<&str> = patients["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "lgg4/TCGA_DU_0001",
            "lgg4/TCGA_DU_6404",
            "lgg4/TCGA_HT_0002",
            "lgg4/TCGA_HT_A5RC"
        ]
    );
    let n = |field: &str| patients["overall"][field].as_u64().unwrap();
    assert_eq!(n("n") + n("n_excluded"), 4);
    // per_patient.csv: each patient's fold is the fold that tested them, and their lesion
    // Dice the mean over their rows of crossval.csv with foreground.
    let out = Path::new(&out);
    let rows = |file: &str| -> Vec<Vec<String>> {
        std::fs::read_to_string(out.join(file))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    };
    let (per_patient, per_image) = (rows("per_patient.csv"), rows("crossval.csv"));
    assert_eq!(per_patient.len(), 4);
    for p in &per_patient {
        let fold: usize = p[1].parse().unwrap();
        assert!(fold_patients[fold - 1].contains(&p[0].as_str()), "{p:?}");
        let lesion: Vec<f64> = per_image
            .iter()
            .filter(|r| format!("{}/{}", r[1], r[3]) == p[0])
            .filter(|r| r[4].parse::<f64>().unwrap() > 0.0)
            .map(|r| r[5].parse().unwrap())
            .collect();
        assert_eq!(p[3], lesion.len().to_string(), "{p:?}");
        if !lesion.is_empty() {
            let by_hand = lesion.iter().sum::<f64>() / lesion.len() as f64;
            assert!(
                (p[5].parse::<f64>().unwrap() - by_hand).abs() < 1e-12,
                "{p:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn ctrl_c_stops_a_training_saved_and_resumable() {
    use std::io::Read as _;
    let run = scratch("ctrl-c");
    let run_s = run.display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args([
            "train",
            "--data",
            &demo("ct-lungs"),
            "--size",
            "32",
            "--epochs",
            "500",
            "--batch-size",
            "4",
            "--out",
            &run_s,
            "--backend",
            "cpu",
            "--threads",
            "1",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // Interrupt once the first epoch has been validated.
    let mut stderr = child.stderr.take().expect("piped");
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("epoch 1:") {
        let n = stderr.read(&mut byte).expect("reads");
        assert!(n == 1, "ended early: {}", String::from_utf8_lossy(&seen));
        seen.push(byte[0]);
    }
    // SAFETY: kill(2) on our own child's pid.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    stderr.read_to_end(&mut seen).expect("reads the rest");
    let status = child.wait().expect("ends");
    let text = String::from_utf8_lossy(&seen);
    assert_eq!(status.code(), Some(130), "{text}");
    assert!(
        text.contains("stopping after this step and saving")
            && text.contains(&format!("stopped; resume with --resume {run_s}")),
        "{text}"
    );
    let state = json(&run.join("state.json"));
    let next_step = state["next_step"].as_u64().expect("a step count");
    assert!(next_step >= 1, "an epoch ran before the stop: {state}");
    assert_eq!(state["finished"], false);
    let _ = std::fs::remove_dir_all(run);
}

#[test]
fn predict_on_a_nifti_volume_writes_volumes_on_its_grid() {
    use seglens::data::nifti::{VoxelAxis, read_nifti};
    let input =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/formats/brain1_image.nii.gz");
    let model =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/cmunext-s-mri-lgg.safetensors");
    let out = scratch("nifti");
    let run = seglens(&[
        "predict",
        "--model",
        &model.display().to_string(),
        "--data",
        &input.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--backend",
        "cpu",
        "--threshold",
        "0.3",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("of 1 inputs") && stderr.contains("scaled by each slice's own range"),
        "{stderr}"
    );

    let volume = read_nifti(&input).expect("input");
    let labels = read_nifti(&out.join("masks/brain1_image.nii.gz")).expect("label volume");
    let probs =
        read_nifti(&out.join("probabilities/brain1_image.nii.gz")).expect("probability volume");
    for v in [&labels, &probs] {
        assert_eq!(
            (v.dims, v.spacing_mm, v.affine),
            (volume.dims, volume.spacing_mm, volume.affine),
            "{}",
            v.path.display()
        );
    }
    assert_eq!(
        (labels.datatype.as_str(), probs.datatype.as_str()),
        ("Uint8", "Float32")
    );
    assert!(probs.values.iter().all(|p| (0.0..=1.0).contains(p)));
    assert!(
        labels
            .values
            .iter()
            .zip(&probs.values)
            .all(|(&l, &p)| l == f32::from(u8::from(p > 0.3))),
        "labels are the probabilities above --threshold"
    );

    // Slice k of the probability volume is the model's map of the input's slice k, resized
    // back: predicted here through the library, one slice at a time.
    let predictor = seglens::infer::Predictor::open(
        &model,
        None,
        seglens::backend::select(seglens::backend::BackendRequest::Cpu).expect("cpu"),
    )
    .expect("model");
    let size = predictor.input_size();
    let [ni, nj, _] = volume.dims;
    for k in [3, 12] {
        let slice = volume.slice(VoxelAxis::K, k, None).expect("slice");
        let input = seglens::data::preprocess::prepare(
            seglens::data::preprocess::SourcePixels::Scalar(&slice),
            None,
            &predictor.loaded.meta.input,
            &Default::default(),
            seglens::data::augment::Augmentation::NONE,
        )
        .expect("prepared");
        let logits = predictor.logits(&[input.image.as_slice()]).expect("logits");
        let expected = seglens::metrics::resize_bilinear(
            &seglens::infer::sigmoid(&logits[0]),
            (size, size),
            (ni, nj),
        )
        .expect("resize");
        let got = &probs.values[k * ni * nj..(k + 1) * ni * nj];
        let worst = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "slice {k}: max difference {worst}");
        assert_eq!(
            probs.value(40, 200, k),
            expected[200 * ni + 40],
            "row j, column i"
        );
    }
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn predict_on_a_dataset_folder_takes_the_volumes_in_its_images_too() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // A label volume in masks/ is not an input.
    let data = volume_dataset("dataset-with-volume", &["brain1_image"]);
    let slice = "TCGA_DU_6404_19850629_34.png";
    std::fs::copy(
        root.join("assets/demo/mri-lgg/images").join(slice),
        data.join("images").join(slice),
    )
    .unwrap();
    std::fs::copy(
        root.join("assets/demo/mri-lgg/masks").join(slice),
        data.join("masks").join(slice),
    )
    .unwrap();
    let out = scratch("dataset-with-volume-out");
    let model = root.join("assets/models/cmunext-s-mri-lgg.safetensors");
    let run = seglens(&[
        "predict",
        "--model",
        &model.display().to_string(),
        "--data",
        &data.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--backend",
        "cpu",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("of 2 inputs"), "{stderr}");
    assert!(
        out.join("masks/TCGA_DU_6404_19850629_34.png").is_file(),
        "{stderr}"
    );
    let labels = seglens::data::nifti::read_nifti(&out.join("masks/brain1_image.nii.gz"))
        .expect("label volume written");
    let input =
        seglens::data::nifti::read_nifti(&data.join("images/brain1_image.nii.gz")).expect("input");
    assert_eq!(labels.dims, input.dims);
    // predict's own folder may be written again; a dataset's masks/ may not.
    let model_arg = model.display().to_string();
    let data_arg = data.display().to_string();
    let again = [
        "predict",
        "--model",
        &model_arg,
        "--data",
        &data_arg,
        "--backend",
        "cpu",
        "--out",
    ];
    seglens(&[&again[..], &[out.display().to_string().as_str()]].concat());
    let gt_before = std::fs::read(data.join("masks").join(slice)).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args(again)
        .arg(&data)
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success()
            && stderr.contains("is --out a dataset folder?")
            && stderr.contains("masks"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(data.join("masks").join(slice)).unwrap(),
        gt_before,
        "the ground truth is untouched"
    );
    assert!(!data.join("probabilities").exists(), "nothing was written");
    // images/ without masks/ is a folder of inputs.
    std::fs::remove_dir_all(data.join("masks")).unwrap();
    let only_images = scratch("images-only-out");
    let run = seglens(&[&again[..], &[only_images.display().to_string().as_str()]].concat());
    assert!(String::from_utf8_lossy(&run.stderr).contains("of 2 inputs"));
    let _ = std::fs::remove_dir_all(only_images);
    let _ = std::fs::remove_dir_all(data);
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn eval_and_audit_take_a_nifti_volume_dataset_slice_by_slice() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = volume_dataset("volume-dataset", &["brain1", "unlabelled"]);
    // A volume whose label is missing is reported, not fatal.
    std::fs::remove_file(data.join("masks/unlabelled.nii.gz")).unwrap();
    // A second label beside brain1: it is the one used, and eval says so in its summary.
    std::fs::copy(
        data.join("masks/brain1.nii.gz"),
        data.join("images/brain1_label.nii.gz"),
    )
    .unwrap();
    let out = scratch("volume-dataset-eval");
    // The CT model at a low threshold marks some pixels on the slices with a label, so
    // surface distances exist (the scores themselves mean nothing on brain MR).
    let model = root.join("assets/models/cmunext-s-ct-lungs.safetensors");
    let run = seglens(&[
        "eval",
        "--model",
        &model.display().to_string(),
        "--data",
        &data.display().to_string(),
        "--out",
        &out.display().to_string(),
        "--threshold",
        "0.05",
        "--backend",
        "cpu",
        "--threads",
        "1",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("0 pairs, 1 volume pair (25 slices)")
            && stderr.contains("unlabelled.nii.gz: NIfTI volume without a label volume"),
        "{stderr}"
    );
    let summary = json(&out.join("summary.json"));
    let (_, entry) = summary["datasets"]
        .as_object()
        .and_then(|d| d.iter().next())
        .expect("one dataset");
    let warnings = entry["data_warnings"].as_array().expect("listed");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = warnings[0].as_str().unwrap();
    assert!(
        warning.starts_with("several label volumes for")
            && warning.contains("images/brain1_label.nii.gz is used")
            && stderr.contains(warning),
        "{warning}"
    );
    let report = json(&out.join("report.json"));
    assert_eq!(report["report"]["n_images"], 25);
    let images = report["images"].as_array().unwrap();
    assert_eq!(images[12]["id"], "brain1#k12");
    assert_eq!(images[12]["group"], "brain1");
    // In-plane spacing 0.78125 mm: every distance in mm is the pixel one times it.
    let mut with_distances = 0;
    for image in images {
        match (&image["surface"], &image["surface_mm"]) {
            (serde_json::Value::Null, serde_json::Value::Null) => {}
            (px, mm) => {
                with_distances += 1;
                let (px, mm) = (px["hd95"].as_f64().unwrap(), mm["hd95"].as_f64().unwrap());
                assert!((mm - 0.78125 * px).abs() < 1e-9, "{mm} vs {px}");
                assert_eq!(image["surface_mm"]["unit"], "millimetres");
            }
        }
    }
    assert!(with_distances > 0, "some slices have surface distances");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("HD95 mm"), "{stdout}");

    // The audit counts the slices and calls the unlabelled volume an error.
    let audit = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args(["audit", &data.display().to_string()])
        .output()
        .expect("binary runs");
    let text = String::from_utf8_lossy(&audit.stdout);
    assert!(
        text.contains("25 samples analysed")
            && text.contains("NIfTI slice ×25")
            && text.contains("1 volume pair (25 slices)")
            && text.contains("NIfTI volume without a label volume"),
        "{text}"
    );
    assert_eq!(audit.status.code(), Some(1), "{text}");
    let _ = std::fs::remove_dir_all(data);
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn train_on_volume_pairs_splits_by_volume() {
    let data = volume_dataset("volume-train", &["a", "b", "c"]);
    let out = scratch("volume-train-run");
    let run = seglens(&[
        "train",
        "--data",
        &data.display().to_string(),
        "--size",
        "32",
        "--epochs",
        "1",
        "--val-fraction",
        "0.3",
        "--test-fraction",
        "0",
        "--no-grouping",
        "--out",
        &out.display().to_string(),
        "--backend",
        "cpu",
        "--threads",
        "1",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let split = json(&out.join("split.json"));
    let mut seen = std::collections::BTreeMap::new();
    for set in ["train", "val", "test"] {
        for s in split[set].as_array().unwrap() {
            let volume = s["image"].as_str().unwrap().to_owned();
            assert!(s["slice"].is_u64(), "a slice sample: {s}");
            let previous = seen.insert(volume.clone(), set);
            assert!(
                previous.is_none_or(|p| p == set),
                "{volume} is in {previous:?} and {set}"
            );
        }
    }
    assert_eq!(seen.len(), 3, "three volumes: {seen:?}");
    assert_eq!(
        split["train"].as_array().unwrap().len() + split["val"].as_array().unwrap().len(),
        75
    );
    // A validation volume gone: eval of the split's val set says so and fails.
    let val_volume = split["val"][0]["image"].as_str().unwrap().to_owned();
    std::fs::remove_file(&val_volume).unwrap();
    let n_val = split["val"].as_array().unwrap().len();
    let eval = Command::new(env!("CARGO_BIN_EXE_seglens"))
        .args(["eval", "--model"])
        .arg(out.join("model_best.safetensors"))
        .arg("--data")
        .arg(&data)
        .arg("--split")
        .arg(out.join("split.json"))
        .args(["--split-set", "val", "--backend", "cpu", "--out"])
        .arg(out.join("eval-val"))
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&eval.stderr);
    assert_eq!(eval.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: {n_val} of the split's val samples are not in"
        )) && stderr.contains("nothing was evaluated"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(data);
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn compare_pairs_two_models_image_by_image() {
    let lungs = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models/cmunext-s-ct-lungs.safetensors")
        .display()
        .to_string();
    let mix = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models/cmunext-s-mix.safetensors")
        .display()
        .to_string();
    let (out, eval) = (scratch("compare"), scratch("compare-eval"));
    let run = seglens(&[
        "compare",
        "--model-a",
        &lungs,
        "--model-b",
        &mix,
        "--data",
        &demo("ct-lungs"),
        "--out",
        &out.display().to_string(),
        "--backend",
        "cpu",
    ]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        text.contains("ct-lungs: 6 images scored by both models") && text.contains("A − B"),
        "{text}"
    );
    // Each model's per-image Dice is what `eval` gives it alone.
    seglens(&[
        "eval",
        "--model",
        &lungs,
        "--data",
        &demo("ct-lungs"),
        "--out",
        &eval.display().to_string(),
        "--backend",
        "cpu",
    ]);
    let eval_csv = std::fs::read_to_string(eval.join("per_image.csv")).expect("eval csv");
    let eval_dice: std::collections::BTreeMap<String, f64> = eval_csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[6].parse().expect("dice"))
        })
        .collect();
    let csv = std::fs::read_to_string(out.join("compare.csv")).expect("compare csv");
    assert_eq!(csv.lines().count(), 7, "header + 6 images");
    let mut diffs = Vec::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (a, b, d): (f64, f64, f64) = (
            f[4].parse().expect("a"),
            f[5].parse().expect("b"),
            f[6].parse().expect("a-b"),
        );
        assert!(
            (a - eval_dice[f[1]]).abs() < 1e-6,
            "{}: compare {a} vs eval {}",
            f[1],
            eval_dice[f[1]]
        );
        assert!((d - (a - b)).abs() < 2e-6);
        diffs.push(a - b);
    }
    let report = json(&out.join("compare.json"));
    let mean = report["all"]["dice"]["difference"]["difference"]["mean"]
        .as_f64()
        .expect("mean difference");
    assert!(
        (mean - diffs.iter().sum::<f64>() / 6.0).abs() < 1e-5,
        "{mean}"
    );
    assert_eq!(report["all"]["n_paired"], 6);
    assert!(
        report["all"]["dice_per_patient"].is_null(),
        "finding-lungs-ct names carry no patient"
    );

    // TCGA names carry the patient: the per-patient comparison exists, one pair per patient.
    let (lgg, mri) = (
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets/models/cmunext-s-mri-lgg.safetensors")
            .display()
            .to_string(),
        scratch("compare-mri"),
    );
    seglens(&[
        "compare",
        "--model-a",
        &lgg,
        "--model-b",
        &mix,
        "--data",
        &demo("mri-lgg"),
        "--out",
        &mri.display().to_string(),
        "--backend",
        "cpu",
    ]);
    let report = json(&mri.join("compare.json"));
    let csv = std::fs::read_to_string(mri.join("compare.csv")).expect("compare csv");
    let patients: std::collections::BTreeSet<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).expect("group"))
        .collect();
    assert!(
        !patients.contains(""),
        "every TCGA slice has its patient: {patients:?}"
    );
    let per_patient = &report["all"]["dice_per_patient"]["difference"]["difference"];
    assert_eq!(
        per_patient["n"].as_u64().expect("n")
            + per_patient["n_excluded"].as_u64().expect("excluded"),
        patients.len() as u64
    );
    // Each model's mean is over the images both score, so A − B is the difference of the means.
    let dice = &report["all"]["dice"];
    assert_eq!(dice["a"]["n"], dice["difference"]["difference"]["n"]);
    assert_eq!(dice["b"]["n"], dice["difference"]["difference"]["n"]);
    let (a, b, d) = (
        dice["a"]["mean"].as_f64().expect("a"),
        dice["b"]["mean"].as_f64().expect("b"),
        dice["difference"]["difference"]["mean"]
            .as_f64()
            .expect("d"),
    );
    assert!((a - b - d).abs() < 1e-9, "A {a} − B {b} ≠ {d}");
    let _ = std::fs::remove_dir_all(mri);
    let _ = std::fs::remove_dir_all(out);
    let _ = std::fs::remove_dir_all(eval);
}
