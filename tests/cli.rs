//! The `seglens` binary as a user runs it.

use std::process::Command;

fn seglens(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_seglens")).args(args).output().expect("binary runs")
}

#[test]
fn bench_json_has_the_documented_shape() {
    let out = seglens(&["bench", "--json", "--runs", "3", "--warmup", "1", "--size", "64", "--variant", "s", "--backend", "cpu", "--train"]);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON on stdout");
    for list in ["forward", "train_step"] {
        let records = json[list].as_array().expect("list");
        assert_eq!(records.len(), 1, "{list}: one record for one variant on one backend");
        let r = &records[0];
        assert_eq!(r["variant"], "s");
        assert_eq!(r["backend"], "cpu");
        assert_eq!(r["size"], 64);
        assert_eq!(r["runs"], 3);
        let (p10, median, p90) = (r["p10_ms"].as_f64().expect("p10"), r["median_ms"].as_f64().expect("median"), r["p90_ms"].as_f64().expect("p90"));
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
