//! Writing an evaluation: `report.json` (everything), `per_image.csv`, a sweep CSV,
//! and a plain-text summary that puts every headline next to what it must be read against.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use super::{EvalReport, ImageResult};
use crate::metrics::MeanCi;

/// Below this many values a bootstrap interval is shown with a warning: resampling two
/// or three values (patients, say) gives an interval that looks precise and is not.
pub const FEW_FOR_AN_INTERVAL: usize = 5;

/// "; too few values …" when `n` is below [`FEW_FOR_AN_INTERVAL`].
pub fn few_values_warning(n: usize) -> String {
    if n < FEW_FOR_AN_INTERVAL {
        format!(
            "; only {n} value{}: the interval means little",
            if n == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    }
}

fn fmt_ci(m: &MeanCi) -> String {
    match (m.mean, m.lo, m.hi) {
        (Some(v), Some(lo), Some(hi)) => format!(
            "{v:.4} [{lo:.4}, {hi:.4}] (n={}{}{})",
            m.n,
            excluded(m),
            few_values_warning(m.n)
        ),
        (Some(v), _, _) => format!("{v:.4} (n={}{})", m.n, excluded(m)),
        _ => format!("undefined (n=0{})", excluded(m)),
    }
}

fn excluded(m: &MeanCi) -> String {
    if m.n_excluded > 0 {
        format!(", {} undefined left out", m.n_excluded)
    } else {
        String::new()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".into(), |v| format!("{v:.4}"))
}

/// A plain-text summary for the terminal.
pub fn summary_text(report: &EvalReport, title: &str) -> String {
    let mut s = String::new();
    let p = &report.native.pooled;
    let _ = writeln!(
        s,
        "{title}: {} images ({} skipped), threshold {}, empty-mask policy {:?}{}",
        report.n_images,
        report.skipped.len(),
        report.options.threshold,
        report.native.policy,
        if report.tta {
            ", flip test-time augmentation"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "  per image (mean, 95% bootstrap CI), native resolution:"
    );
    let _ = writeln!(s, "    Dice/F1    {}", fmt_ci(&report.per_image.dice));
    let _ = writeln!(s, "    IoU        {}", fmt_ci(&report.per_image.iou));
    let _ = writeln!(s, "    precision  {}", fmt_ci(&report.per_image.precision));
    let _ = writeln!(s, "    recall     {}", fmt_ci(&report.per_image.recall));
    let _ = writeln!(s, "    HD95 px    {}", fmt_ci(&report.per_image.hd95_px));
    let _ = writeln!(s, "    ASSD px    {}", fmt_ci(&report.per_image.assd_px));
    if let (Some(hd), Some(assd)) = (&report.per_image.hd95_mm, &report.per_image.assd_mm) {
        let _ = writeln!(
            s,
            "    HD95 mm    {}  (images whose spacing is known)",
            fmt_ci(hd)
        );
        let _ = writeln!(s, "    ASSD mm    {}", fmt_ci(assd));
    }
    if let Some(d) = &report.per_patient_dice {
        let _ = writeln!(s, "    Dice per patient {}", fmt_ci(d));
    }
    if let Some(d) = &report.positive_dice {
        let _ = writeln!(
            s,
            "    Dice on images with foreground in the GT {}",
            fmt_ci(d)
        );
    }
    if let Some(d) = &report.per_patient_positive_dice {
        let _ = writeln!(
            s,
            "    the same per patient (each patient's such images averaged first) {}",
            fmt_ci(d)
        );
    }
    let _ = writeln!(
        s,
        "  pooled over all pixels: Dice {} IoU {} precision {} recall {}",
        opt(p.dice),
        opt(p.iou),
        opt(p.precision),
        opt(p.recall)
    );
    let _ = writeln!(
        s,
        "  pixel accuracy {} — an all-background prediction scores {} on the same pixels",
        opt(p.accuracy),
        opt(report.all_background_accuracy)
    );
    let _ = writeln!(
        s,
        "  images with GT and prediction both empty: {}, false alarms on empty GT: {}, missed non-empty GT: {}",
        report.native.n_both_empty, report.native.n_false_alarm, report.native.n_missed
    );
    let m = &report.model_resolution.pooled;
    let _ = writeln!(
        s,
        "  at model resolution (pooled): Dice {} IoU {}",
        opt(m.dice),
        opt(m.iou)
    );
    if let Some(r) = &report.reference_mode {
        let _ = writeln!(
            s,
            "  reference mode (original repository, per-image mean, empty-mask bug included; for comparison only): IoU {:.4} F1 {:.4} ACC {:.4} SE {:.4} PC {:.4}",
            r.iou, r.f1, r.acc, r.se, r.pc
        );
    }
    if let Some(sw) = &report.sweep {
        if let (Some(best), Some(band)) = (&sw.best, &sw.band) {
            let _ = writeln!(
                s,
                "  threshold sweep: best {:.2} (pooled Dice {:.4}); stable band {:.2}–{:.2} (Dice within {} of best)",
                best.threshold, best.dice, band.lo, band.hi, band.tolerance
            );
        }
    }
    if let Some(c) = &report.calibration {
        let _ = writeln!(
            s,
            "  calibration: ECE {} , mean predictive entropy {} bits/pixel",
            opt(c.ece),
            opt(c.mean_entropy_bits)
        );
    }
    for line in skipped_lines(&report.skipped).iter().take(10) {
        let _ = writeln!(s, "  {line}");
    }
    s
}

/// Writes `report.json`, `per_image.csv` and (when swept) `sweep.csv` into `dir`.
pub fn write_all(dir: &Path, report: &EvalReport, images: &[ImageResult]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json =
        serde_json::to_string_pretty(&serde_json::json!({ "report": report, "images": images }))?;
    crate::fsutil::write_atomic(&dir.join("report.json"), json.as_bytes())?;
    let mut csv = String::from(
        "dataset,id,group,width,height,gt_foreground,dice,iou,precision,recall,specificity,accuracy,hd95_px,assd_px,dice_model_res,ref_iou,ref_f1,ref_acc,hd95_mm,assd_mm\n",
    );
    let o = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v}"));
    for r in images {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.dataset,
            r.id,
            r.group.clone().unwrap_or_default(),
            r.native_size.0,
            r.native_size.1,
            r.gt_foreground,
            o(r.native.dice),
            o(r.native.iou),
            o(r.native.precision),
            o(r.native.recall),
            o(r.native.specificity),
            o(r.native.accuracy),
            o(r.surface.as_ref().map(|s| s.hd95)),
            o(r.surface.as_ref().map(|s| s.assd)),
            o(r.model_resolution.dice),
            r.reference.iou,
            r.reference.f1,
            r.reference.acc,
            o(r.surface_mm.as_ref().map(|s| s.hd95)),
            o(r.surface_mm.as_ref().map(|s| s.assd)),
        );
    }
    crate::fsutil::write_atomic(&dir.join("per_image.csv"), csv.as_bytes())?;
    if let Some(sw) = &report.sweep {
        let mut csv = String::from(
            "threshold,pooled_dice,pooled_iou,pooled_precision,pooled_recall,mean_dice,mean_iou\n",
        );
        for t in &sw.per_threshold {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{}",
                t.threshold,
                o(t.pooled.dice),
                o(t.pooled.iou),
                o(t.pooled.precision),
                o(t.pooled.recall),
                o(t.mean_dice.value),
                o(t.mean_iou.value)
            );
        }
        crate::fsutil::write_atomic(&dir.join("sweep.csv"), csv.as_bytes())?;
    }
    Ok(())
}

/// "skipped: why (path)", without the path a second time when the reason already names it.
pub fn skipped_line(path: &std::path::Path, why: &str) -> String {
    let shown = path.display().to_string();
    if why.contains(&shown) {
        format!("skipped: {why}")
    } else {
        format!("skipped: {why} ({shown})")
    }
}

/// One line per distinct file and reason, in first-seen order: the slices of a broken
/// volume fail alike and are said once, with their number.
pub fn skipped_lines<'a>(
    skipped: impl IntoIterator<Item = &'a (std::path::PathBuf, String)>,
) -> Vec<String> {
    let mut groups: Vec<(&std::path::Path, &str, usize)> = Vec::new();
    for (path, why) in skipped {
        match groups
            .iter_mut()
            .find(|(p, w, _)| *p == path.as_path() && *w == why.as_str())
        {
            Some(group) => group.2 += 1,
            None => groups.push((path, why, 1)),
        }
    }
    groups
        .into_iter()
        .map(|(path, why, n)| match n {
            1 => skipped_line(path, why),
            _ => format!("{} ({n} samples)", skipped_line(path, why)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{skipped_line, skipped_lines};
    use std::path::Path;

    #[test]
    fn an_interval_from_few_values_carries_a_warning() {
        assert_eq!(
            super::few_values_warning(2),
            "; only 2 values: the interval means little"
        );
        assert_eq!(super::few_values_warning(5), "");
    }

    #[test]
    fn a_skipped_file_is_named_once() {
        let p = Path::new("/d/images/a.png");
        assert_eq!(
            skipped_line(p, "cannot decode image: /d/images/a.png"),
            "skipped: cannot decode image: /d/images/a.png"
        );
        assert_eq!(
            skipped_line(p, "mask missing"),
            "skipped: mask missing (/d/images/a.png)"
        );
    }

    #[test]
    fn the_slices_of_a_broken_volume_are_one_line() {
        let volume = std::path::PathBuf::from("/d/images/scan.nii.gz");
        let png = std::path::PathBuf::from("/d/images/a.png");
        let why = "cannot read NIfTI (truncated)".to_string();
        let skipped = vec![
            (volume.clone(), why.clone()),
            (png.clone(), "mask missing".to_string()),
            (volume.clone(), why.clone()),
            (volume.clone(), why),
        ];
        assert_eq!(
            skipped_lines(&skipped),
            [
                "skipped: cannot read NIfTI (truncated) (/d/images/scan.nii.gz) (3 samples)",
                "skipped: mask missing (/d/images/a.png)",
            ]
        );
    }
}
