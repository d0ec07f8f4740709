//! The report a finished run leaves in its folder: its best checkpoint evaluated on
//! the validation set (labelled as the selection set, so optimistic) and on the test
//! set when there is one (the headline), as `eval_val/`, `eval_test/` and `report.json`.

use std::path::Path;

use super::run::files;
use crate::backend::ComputeDevice;
use crate::data::split::Split;
use crate::eval::{EvalOptions, evaluate, report};
use crate::fsutil::write_json;
use crate::infer::Predictor;

/// Evaluates the best checkpoint of `run_dir` and writes the reports; returns the
/// human-readable summary.
pub fn write_run_report(
    run_dir: &Path,
    split: &Split,
    compute: ComputeDevice,
) -> anyhow::Result<String> {
    let predictor = Predictor::open(&run_dir.join(files::BEST), None, compute)?;
    let options = EvalOptions::default();
    let mut summary = serde_json::Map::new();
    let mut text = String::new();
    for (name, samples, label) in [
        (
            "val",
            &split.val,
            "validation set — it chose the best epoch, so this score is optimistic",
        ),
        ("test", &split.test, "held-out test set — the headline"),
    ] {
        if samples.is_empty() {
            continue;
        }
        let (rep, images) = evaluate(&predictor, samples, &options, &mut |_, _| {})?;
        report::write_all(&run_dir.join(format!("eval_{name}")), &rep, &images)?;
        text += &report::summary_text(&rep, &format!("best checkpoint on the {label}"));
        summary.insert(
            name.to_string(),
            serde_json::json!({ "label": label, "report": rep }),
        );
    }
    write_json(&run_dir.join("report.json"), &summary)?;
    Ok(text)
}
