//! Hand-made image results for the evaluation's unit tests.

use super::ImageResult;
use crate::metrics::{Confusion, EmptyPolicy, OverlapScores, RepoIouScore};

/// An image result whose native scores come from a hand-written confusion.
pub(crate) fn result(
    id: &str,
    group: Option<&str>,
    tp: u64,
    fp: u64,
    fn_: u64,
    tn: u64,
) -> ImageResult {
    let confusion = Confusion { tp, fp, fn_, tn };
    let native = OverlapScores::from_confusion(confusion, EmptyPolicy::Exclude);
    ImageResult {
        dataset: "d".into(),
        id: id.into(),
        group: group.map(Into::into),
        image: id.into(),
        native_size: (10, 10),
        gt_foreground: (tp + fn_) as f64 / 100.0,
        native,
        model_resolution: native,
        surface: None,
        surface_mm: None,
        reference: RepoIouScore::default(),
        convention_warnings: Vec::new(),
    }
}
