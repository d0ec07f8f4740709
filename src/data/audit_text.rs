//! The audit as a command: a plain-text (or JSON) rendering of [`AuditReport`] and the
//! exit status. Text only; no terminal colours or UI types.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::audit::{self, AuditOptions, AuditReport, DuplicatePair, Finding, InputKind};

/// Runs the audit on `paths` with `seed` (default options otherwise), prints the text
/// report, or JSON when `json`, to standard output, and returns the exit status:
/// 0 without errors, 1 with errors (unreadable files, unpaired or mismatched pairs,
/// duplicates or patient groups across sets). Warnings do not change it.
pub fn audit_cli(paths: &[PathBuf], json: bool, seed: u64) -> i32 {
    let report = audit::audit(
        paths,
        &AuditOptions {
            seed,
            ..AuditOptions::default()
        },
    );
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("cannot serialise the audit report: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", to_text(&report));
    }
    report.exit_status()
}

/// Most findings of one kind listed in the text report (all are in the JSON).
const EXAMPLES_PER_KIND: usize = 5;

/// The report as text.
pub fn to_text(r: &AuditReport) -> String {
    let mut out = String::new();
    let o = &mut out;
    let _ = writeln!(
        o,
        "seglens audit: {} input(s), {} samples analysed",
        r.inputs.len(),
        r.samples_analysed
    );
    let _ = writeln!(o, "\ninputs");
    for i in &r.inputs {
        let modality = match (&i.modality, &i.modality_source) {
            (Some(m), Some(s)) => format!("{m} (from {s})"),
            (Some(m), None) => m.clone(),
            _ => "modality unknown".into(),
        };
        match i.kind {
            InputKind::Dataset => {
                let _ = writeln!(
                    o,
                    "  dataset {}: {modality}; {} pairs{}, {} images without mask, {} masks without image, {} with several masks, {} ignored files: {}",
                    i.dataset.as_deref().unwrap_or("?"),
                    i.pairs,
                    volume_note(i.volume_pairs, i.volume_slices),
                    i.images_without_mask,
                    i.masks_without_image,
                    i.several_masks,
                    i.ignored_files,
                    i.path.display()
                );
            }
            InputKind::Unreadable => {
                let _ = writeln!(o, "  unreadable: {}", i.path.display());
            }
            _ => {
                let d = i.file.clone().unwrap_or_default();
                let range = d
                    .value_range
                    .map_or(String::new(), |(lo, hi)| format!(", values {lo}..{hi}"));
                let labels = d.labels.as_ref().map_or(String::new(), |l| {
                    let c = l.centroid_world_mm.map_or("-".into(), |c| {
                        format!("({:.2}, {:.2}, {:.2}) mm RAS", c[0], c[1], c[2])
                    });
                    format!(
                        ", non-zero voxels {} ({:.1} mm³), centroid {c}",
                        l.voxel_count, l.volume_mm3
                    )
                });
                let _ = writeln!(
                    o,
                    "  {:?} {modality}: {}×{}×{}{range}{labels}, {}: {}",
                    i.kind,
                    d.width,
                    d.height,
                    d.depth,
                    d.encoding.as_deref().unwrap_or(""),
                    i.path.display()
                );
            }
        }
    }

    let s = &r.split;
    if r.samples_analysed > 0 {
        let _ = writeln!(
            o,
            "\nsplit ({}seed {}, val {:.0}%, test {:.0}%, grouping {}): train {}, val {}, test {}; hash {}",
            if s.given { "given, " } else { "" },
            s.seed,
            s.val_fraction * 100.0,
            s.test_fraction * 100.0,
            serde_json::to_string(&s.grouping).unwrap_or_default(),
            s.counts[0],
            s.counts[1],
            s.counts[2],
            &s.hash.get(..16).unwrap_or(&s.hash)
        );
        let l = &r.leakage;
        let _ = writeln!(o, "\npatient groups (patterns: {})", l.patterns);
        let _ = writeln!(
            o,
            "  {} samples carry a key, {} groups",
            l.samples_with_key, l.groups
        );
        for (name, st) in [
            ("image-level split", &l.image_level),
            ("grouped split", &l.grouped),
            ("audited split", &l.audited),
        ] {
            let _ = writeln!(
                o,
                "  {name:<18} {} groups on several sets ({} samples)",
                st.groups_straddling, st.samples_in_straddling_groups
            );
        }

        let _ = writeln!(o, "\nsets");
        let _ = writeln!(
            o,
            "  {:<6} {:>7} {:>8} {:>8} {:>8} {:>6} {:>10} {:>10} {:>10}",
            "set",
            "samples",
            "fg mean",
            "fg min",
            "fg max",
            "empty",
            "bg acc",
            "bg acc/img",
            "bg acc ref"
        );
        for st in &r.sets {
            let _ = writeln!(
                o,
                "  {:<6} {:>7} {:>8.4} {:>8.4} {:>8.4} {:>6} {:>10.4} {:>10.4} {:>10.4}",
                st.set,
                st.samples,
                st.foreground_mean,
                st.foreground_min,
                st.foreground_max,
                st.empty_masks,
                st.all_background_accuracy,
                st.all_background_accuracy_per_image,
                st.all_background_accuracy_reference_metric
            );
            let _ = writeln!(
                o,
                "         sizes {}; modalities {}; formats {}; datasets {}",
                summarise(&st.image_sizes),
                summarise(&st.modalities),
                summarise(&st.sample_formats),
                summarise(&st.datasets)
            );
        }
        let _ = writeln!(
            o,
            "  (bg acc: pixel accuracy of predicting background everywhere, pooled / per image / as the reference ACC scores it, empty masks counting 0)"
        );

        let t = &r.thresholds;
        let _ = writeln!(
            o,
            "\nduplicates: {} exact, {} near ({} candidate pairs; pHash ≤ {}, thumbnails ≥ {}/{}, residual ≤ {} after ±{} px alignment)",
            r.exact_duplicates.len(),
            r.near_duplicates.len(),
            r.candidate_pairs,
            t.phash_candidate_distance,
            t.coarse_min_correlation,
            t.thumb_min_correlation,
            t.residual_max,
            t.max_shift_px
        );
        let across = r
            .exact_duplicates
            .iter()
            .chain(&r.near_duplicates)
            .filter(|p| p.crosses_sets)
            .count();
        let _ = writeln!(o, "  {across} across sets");
        for p in r.exact_duplicates.iter().chain(&r.near_duplicates).take(10) {
            let _ = writeln!(o, "  {}", pair_line(p));
        }
        if !r.closest_distinct.is_empty() {
            let _ = writeln!(o, "  closest candidate pairs that are not duplicates:");
            for p in &r.closest_distinct {
                let _ = writeln!(o, "    {}", pair_line(p));
            }
        }
    }

    findings(o, "errors", &r.errors);
    findings(o, "warnings", &r.warnings);
    if !r.notes.is_empty() {
        let _ = writeln!(o, "\nnotes ({})", r.notes.len());
        for n in r.notes.iter().take(10) {
            let _ = writeln!(o, "  {n}");
        }
        if r.notes.len() > 10 {
            let _ = writeln!(o, "  … {} more", r.notes.len() - 10);
        }
    }
    let _ = writeln!(
        o,
        "\nresult: {} errors, {} warnings; exit status {}",
        r.errors.len(),
        r.warnings.len(),
        r.exit_status()
    );
    out
}

fn pair_line(p: &DuplicatePair) -> String {
    let residual = p
        .residual
        .map_or(String::new(), |r| format!(", residual {r:.4}"));
    format!(
        "{} {}/{} [{}] ~ {}/{} [{}] ({}, pHash {}{residual})",
        p.kind,
        p.a.dataset,
        p.a.id,
        p.a.set,
        p.b.dataset,
        p.b.id,
        p.b.set,
        p.transform,
        p.phash_distance
    )
}

fn summarise(map: &BTreeMap<String, usize>) -> String {
    let mut items: Vec<(&String, &usize)> = map.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let shown: Vec<String> = items
        .iter()
        .take(3)
        .map(|(k, v)| format!("{k} ×{v}"))
        .collect();
    if items.len() > 3 {
        format!("{} (+{} more)", shown.join(", "), items.len() - 3)
    } else {
        shown.join(", ")
    }
}

fn findings(o: &mut String, title: &str, list: &[Finding]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n{title} ({})", list.len());
    let mut by_code: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in list {
        by_code.entry(&f.code).or_default().push(f);
    }
    for (code, items) in by_code {
        let _ = writeln!(o, "  {code}: {}", items.len());
        for f in items.iter().take(EXAMPLES_PER_KIND) {
            let _ = writeln!(o, "    {}", f.message);
        }
        if items.len() > EXAMPLES_PER_KIND {
            let _ = writeln!(
                o,
                "    … {} more (see --json)",
                items.len() - EXAMPLES_PER_KIND
            );
        }
    }
}

/// ", N volume pairs (M slices)", or nothing without volumes.
pub fn volume_note(pairs: usize, slices: usize) -> String {
    if pairs == 0 {
        String::new()
    } else {
        format!(
            ", {pairs} volume pair{} ({slices} slices)",
            if pairs == 1 { "" } else { "s" }
        )
    }
}
