//! The command line's jobs: each turns parsed arguments into calls of the library
//! (data, train, eval, infer) and prints progress. Shared by nothing but `cli`.

pub mod compare;
pub mod crossval;
pub mod eval;
pub mod predict;
pub mod progress;
pub mod train;

use std::path::PathBuf;

pub use crate::eval::report::skipped_lines;
pub use crate::fsutil::write_json;

use crate::data::audit_text::volume_note;
use crate::data::dataset::Dataset;

/// Opens dataset folders (absolute paths, so run folders stay valid from anywhere) and
/// prints their pairing.
pub fn open_datasets(paths: &[PathBuf]) -> anyhow::Result<Vec<Dataset>> {
    let datasets = crate::train::setup::open_datasets(paths)?;
    datasets.iter().for_each(report_pairing);
    Ok(datasets)
}

/// Prints a dataset's pairing summary and its first warnings.
pub(crate) fn report_pairing(ds: &Dataset) {
    let p = &ds.pairing;
    eprintln!(
        "{}: {} pairs{}{}{}{}",
        ds.name,
        p.pairs.len(),
        volume_note(p.volume_pairs.len(), p.volume_slices()),
        if p.images_without_mask.is_empty() {
            String::new()
        } else {
            format!(", {} images without mask", p.images_without_mask.len())
        },
        if p.masks_without_image.is_empty() {
            String::new()
        } else {
            format!(", {} masks without image", p.masks_without_image.len())
        },
        ds.modality
            .as_ref()
            .map(|m| format!(", modality {m}"))
            .unwrap_or_default()
    );
    for w in p.warnings.iter().take(5) {
        eprintln!("  warning: {w}");
    }
    // Volumes are data the user meant to use: say why one was left out.
    for f in p.unpaired_volumes.iter().take(5) {
        eprintln!("  skipped {}: {}", f.path.display(), f.reason);
    }
    if p.unpaired_volumes.len() > 5 {
        eprintln!("  … {} more volumes skipped", p.unpaired_volumes.len() - 5);
    }
}

/// Makes the output folder before any work, so a bad --out fails at once.
pub fn prepare_out_dir(out: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !out.exists() || out.is_dir(),
        "--out {} is a file, not a folder",
        out.display()
    );
    std::fs::create_dir_all(out)
        .map_err(|e| anyhow::anyhow!("cannot create the output folder {}: {e}", out.display()))
}

/// Configures the global thread pool (decoding and the CPU backend): `threads`, or all
/// cores but one so the machine stays usable.
pub fn set_threads(threads: Option<usize>) {
    let n = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
    });
    // Fails only if the pool was already built, which is harmless.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
}
