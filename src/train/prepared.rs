//! Training samples from dataset files: every pair decoded, checked and prepared to
//! the model's input convention once, in parallel, then held in memory (the study's
//! sets are a few hundred slices). A file that cannot be used is reported and skipped.

use std::path::PathBuf;

use rayon::prelude::*;

use super::source::{InMemorySource, Sample, SampleSource};
use crate::convention::InputConvention;
use crate::data::augment::Augmentation;
use crate::data::mask::MaskRule;
use crate::data::preprocess::{PrepareOptions, prepare_sample};
use crate::data::sample::load_sample;
use crate::data::split::SampleRef;
use crate::data::volume_pairs::VolumeCache;

/// Prepared samples plus what was skipped or changed on the way.
#[derive(Clone, Debug)]
pub struct PreparedSource {
    inner: InMemorySource,
    /// The samples kept, in order.
    pub refs: Vec<SampleRef>,
    /// Files left out, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// Warnings about kept samples (united masks, binarised JPEG masks, convention mismatches).
    pub warnings: Vec<String>,
}

impl PreparedSource {
    /// Loads and prepares `samples` for `convention`.
    pub fn load(samples: &[SampleRef], convention: &InputConvention) -> Self {
        let volumes = VolumeCache::for_threads();
        let prepared: Vec<_> = samples
            .par_iter()
            .map(|s| {
                let pair = load_sample(s, &MaskRule::default(), &volumes)?;
                let opts = PrepareOptions {
                    input_modality: s.modality.clone(),
                    ..PrepareOptions::default()
                };
                let input = prepare_sample(&pair, &s.image, convention, &opts, Augmentation::NONE)?;
                let mut warnings: Vec<String> =
                    pair.warnings.iter().map(|w| format!("{w}")).collect();
                warnings.extend(
                    input
                        .mismatches
                        .iter()
                        .map(|m| format!("{m}: {}", s.image.display())),
                );
                Ok::<_, crate::data::DataError>((input, warnings))
            })
            .collect();
        let mut out = Self {
            inner: InMemorySource {
                samples: Vec::new(),
                names: Vec::new(),
                channels: 3,
                size: convention.size,
            },
            refs: Vec::new(),
            skipped: Vec::new(),
            warnings: Vec::new(),
        };
        for (s, p) in samples.iter().zip(prepared) {
            match p {
                Ok((input, warnings)) => {
                    out.inner.samples.push(Sample {
                        image: input.image,
                        mask: input.mask.unwrap_or_default(),
                    });
                    out.inner.names.push(s.describe());
                    out.refs.push(s.clone());
                    out.warnings.extend(warnings);
                }
                Err(e) => out.skipped.push((s.image.clone(), s.note(e))),
            }
        }
        out
    }
}

impl SampleSource for PreparedSource {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn channels(&self) -> usize {
        self.inner.channels()
    }
    fn size(&self) -> usize {
        self.inner.size()
    }
    fn sample(&self, index: usize) -> Result<Sample, String> {
        self.inner.sample(index)
    }
    fn name(&self, index: usize) -> String {
        self.inner.name(index)
    }
    fn dataset(&self, index: usize) -> String {
        self.refs
            .get(index)
            .map(|r| r.dataset.clone())
            .unwrap_or_default()
    }
}
