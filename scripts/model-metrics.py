#!/usr/bin/env python3
"""Builds a bundled model's metrics.json from seglens' own outputs.

    scripts/model-metrics.py RUN_DIR OUT.json ["DATASET LABEL=EVAL_DIR"]...

RUN_DIR is a finished training run: its report.json (written by `seglens train`) gives
the test (headline) and validation (selection set) sections. Each further argument is a
`seglens eval` output folder of the model on another dataset's test split, for the
cross-dataset section. Nothing is computed here that seglens did not report; this only
picks and renames fields so the bundled models' files read alike.
"""

import json
import sys
from pathlib import Path


def split_section(entry):
    rep = entry["report"]
    native = rep["native"]
    return {
        "label": entry["label"],
        "n_images": rep["n_images"],
        "dice": rep["per_image"]["dice"],
        "iou": rep["per_image"]["iou"],
        "hd95_px": rep["per_image"]["hd95_px"],
        "pooled": {
            key: native["pooled"][key]
            for key in ["dice", "iou", "precision", "recall", "accuracy", "background_baseline"]
        },
        "reference_mode": rep["reference_mode"],
        "best_threshold": rep["sweep"]["best"],
        "stable_band": rep["sweep"]["band"],
        "ece": rep["calibration"]["ece"],
        "dice_on_images_with_foreground": rep["positive_dice"],
        "per_patient_dice": rep["per_patient_dice"],
        "false_alarms_on_empty_gt": native["n_false_alarm"],
        "missed_non_empty_gt": native["n_missed"],
        "both_empty": native["n_both_empty"],
    }


def cross_section(label, eval_dir):
    rep = json.loads((Path(eval_dir) / "report.json").read_text())["report"]
    native = rep["native"]
    return {
        "dataset": label,
        "scores": {
            "n_images": rep["n_images"],
            "dice_per_image": rep["per_image"]["dice"],
            "dice_on_images_with_foreground": rep["positive_dice"],
            "pooled_dice": native["pooled"]["dice"],
            "pooled_iou": native["pooled"]["iou"],
            "accuracy": native["pooled"]["accuracy"],
            "all_background_accuracy": rep["all_background_accuracy"],
            "false_alarms_on_empty_gt": native["n_false_alarm"],
            "missed_non_empty_gt": native["n_missed"],
        },
    }


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    run_dir, out = Path(argv[1]), Path(argv[2])
    report = json.loads((run_dir / "report.json").read_text())
    metrics = {name: split_section(report[name]) for name in ["test", "val"] if name in report}
    cross = []
    for arg in argv[3:]:
        label, _, eval_dir = arg.rpartition("=")
        if not label:
            sys.exit(f"expected LABEL=EVAL_DIR, got {arg!r}")
        cross.append(cross_section(label, eval_dir))
    if cross:
        metrics["cross_dataset"] = {
            "note": "the model evaluated on other datasets' test splits; lungs and brain tumours "
            "are different targets, so this measures transfer to another task and modality, "
            "not only another scanner",
            "evaluations": cross,
        }
    out.write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv)
