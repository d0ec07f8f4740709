//! Where training and validation samples come from: a small trait the loop pulls
//! from, so the loop knows nothing about files, formats or datasets.

/// One preprocessed sample at the model's input size.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Image, CHW, `channels × size × size`, already normalised.
    pub image: Vec<f32>,
    /// Mask, `size × size`, values 0 or 1.
    pub mask: Vec<f32>,
}

/// A list of samples the training loop can draw from.
pub trait SampleSource: Send + Sync {
    /// Number of samples.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Channels of every image.
    fn channels(&self) -> usize;
    /// Side of the square images.
    fn size(&self) -> usize;
    /// Sample `index`, as prepared (the loop augments it).
    fn sample(&self, index: usize) -> Result<Sample, String>;
    /// A name for messages (usually the image file).
    fn name(&self, index: usize) -> String;
    /// The dataset sample `index` comes from ("" when the source does not know), for
    /// per-dataset validation scores.
    fn dataset(&self, _index: usize) -> String {
        String::new()
    }
}

/// Samples held in memory (tests, small sets, cached datasets).
#[derive(Clone, Debug)]
pub struct InMemorySource {
    /// The samples, already at `size`.
    pub samples: Vec<Sample>,
    /// Their names.
    pub names: Vec<String>,
    /// Channels per image.
    pub channels: usize,
    /// Side of the square images.
    pub size: usize,
}

impl SampleSource for InMemorySource {
    fn len(&self) -> usize {
        self.samples.len()
    }
    fn channels(&self) -> usize {
        self.channels
    }
    fn size(&self) -> usize {
        self.size
    }
    fn sample(&self, index: usize) -> Result<Sample, String> {
        self.samples
            .get(index)
            .cloned()
            .ok_or_else(|| format!("no sample {index}"))
    }
    fn name(&self, index: usize) -> String {
        self.names
            .get(index)
            .cloned()
            .unwrap_or_else(|| format!("#{index}"))
    }
}
