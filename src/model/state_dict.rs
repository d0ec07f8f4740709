//! A plain state dict (PyTorch key → f32 tensor) read from safetensors or PyTorch
//! `.pth` files, checked against a model and applied to it, or taken from a model
//! and written as safetensors. Key names are always the PyTorch ones, so seglens
//! checkpoints load in the original code and the original code's weights load here.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Tensor, TensorData};

use super::cmunext::CmuNext;
use super::config::Variant;
use super::error::ModelError;
use super::keys::{is_ignored_torch_key, torch_key};

/// One tensor of a state dict, converted to f32.
#[derive(Clone, Debug, PartialEq)]
pub struct StateTensor {
    /// Extents, outermost first.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// PyTorch key → tensor, plus the file's string metadata (safetensors only).
#[derive(Clone, Debug, Default)]
pub struct StateDict {
    /// The tensors, by PyTorch key.
    pub tensors: BTreeMap<String, StateTensor>,
    /// Free-form metadata (safetensors `__metadata__`).
    pub metadata: HashMap<String, String>,
}

/// Prefixes that wrappers add to every key (`nn.DataParallel`, Lightning, …).
const WRAPPER_PREFIXES: [&str; 3] = ["module.", "model.", "state_dict."];

impl StateDict {
    /// Reads a safetensors or PyTorch (`.pth`/`.pt`, zip or legacy pickle) file; the
    /// format is told by its first bytes, not its extension.
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let unreadable = |reason: String| ModelError::Unreadable {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
        if bytes.is_empty() {
            return Err(unreadable("the file is empty".into()));
        }
        let mut dict = if bytes.starts_with(b"PK\x03\x04") || bytes[0] == 0x80 {
            drop(bytes);
            read_pytorch(path).map_err(unreadable)?
        } else if looks_like_safetensors(&bytes) {
            read_safetensors(&bytes).map_err(unreadable)?
        } else {
            return Err(unreadable(
                "not a safetensors or PyTorch file (unknown header; truncated or another format?)"
                    .into(),
            ));
        };
        dict.strip_wrapper_prefix();
        Ok(dict)
    }

    /// Takes every parameter and BN running statistic of `model`, under PyTorch keys.
    pub fn from_model(model: &CmuNext) -> Result<Self, String> {
        // BN running statistics updated in a train-mode forward live in per-thread
        // slots until synced; `valid()` syncs them (and drops autodiff), so what is
        // saved is what the model will use.
        let model = model.valid();
        let mut collector = Collector::default();
        model.visit(&mut collector);
        if let Some(err) = collector.error {
            return Err(err);
        }
        Ok(Self {
            tensors: collector.tensors,
            metadata: HashMap::new(),
        })
    }

    /// Checks that the dict has exactly the keys and shapes of `model` (ignoring
    /// `num_batches_tracked`) and names the first problem, and which published
    /// variant the file looks like when it is another one.
    pub fn check_fits(
        &self,
        model: &CmuNext,
        expected: &str,
        path: &Path,
    ) -> Result<(), ModelError> {
        let Some(problem) = self.first_problem(&expected_shapes(model)) else {
            return Ok(());
        };
        let hint = self
            .guess_variant()
            .filter(|v| v.paper_name() != expected)
            .map(|v| format!("the file looks like a {v} state dict"));
        Err(ModelError::Mismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            problem,
            hint,
        })
    }

    /// Copies the dict's values into `model` (call [`Self::check_fits`] first).
    pub fn apply(&self, model: CmuNext) -> CmuNext {
        let mut mapper = Applier {
            dict: self,
            path: Vec::new(),
        };
        model.map(&mut mapper)
    }

    /// Writes the dict as safetensors with `metadata`, atomically: a temporary file
    /// in the same folder, synced, then renamed over `path`.
    pub fn write_safetensors(
        &self,
        path: &Path,
        metadata: HashMap<String, String>,
    ) -> Result<(), ModelError> {
        let fail = |reason: String| ModelError::Write {
            path: path.to_path_buf(),
            reason,
        };
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = self
            .tensors
            .iter()
            .map(|(k, t)| {
                let bytes: &[u8] = bytemuck_f32(&t.data);
                safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    t.shape.clone(),
                    bytes,
                )
                .map(|v| (k.clone(), v))
                .map_err(|e| fail(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let bytes =
            safetensors::serialize(views, Some(metadata)).map_err(|e| fail(e.to_string()))?;
        crate::fsutil::write_atomic(path, &bytes).map_err(|e| fail(e.to_string()))
    }

    fn first_problem(&self, expected: &BTreeMap<String, Vec<usize>>) -> Option<String> {
        for (key, shape) in expected {
            match self.tensors.get(key) {
                None => return Some(format!("missing key '{key}' (shape {shape:?})")),
                Some(t) if &t.shape != shape => {
                    return Some(format!(
                        "key '{key}' has shape {:?}, expected {shape:?}",
                        t.shape
                    ));
                }
                Some(_) => {}
            }
        }
        self.tensors
            .keys()
            .find(|k| !expected.contains_key(*k) && !is_ignored_torch_key(k))
            .map(|k| format!("unexpected key '{k}'"))
    }

    /// The published variant whose keys and shapes this dict has, if any.
    pub fn guess_variant(&self) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| {
            let config = v.config();
            // Compare the first stem and last encoder weights: cheap and specific.
            let stem = self
                .tensors
                .get("stem.conv.0.weight")
                .map(|t| t.shape.clone());
            let deepest = self
                .tensors
                .get("encoder5.up.conv.0.weight")
                .map(|t| t.shape.clone());
            let depth4 = (0..)
                .take_while(|j| {
                    self.tensors
                        .contains_key(&format!("encoder4.block.{j}.1.weight"))
                })
                .count();
            let kernel5 = self
                .tensors
                .get("encoder5.block.0.0.fn.0.weight")
                .map(|t| t.shape[2]);
            stem.as_deref().map(|s| s[0]) == Some(config.dims[0])
                && deepest.as_deref().map(|s| s[0]) == Some(config.dims[4])
                && depth4 == config.depths[3]
                && kernel5 == Some(config.kernels[4])
        })
    }

    fn strip_wrapper_prefix(&mut self) {
        for prefix in WRAPPER_PREFIXES {
            if !self.tensors.is_empty() && self.tensors.keys().all(|k| k.starts_with(prefix)) {
                self.tensors = std::mem::take(&mut self.tensors)
                    .into_iter()
                    .map(|(k, v)| (k[prefix.len()..].to_string(), v))
                    .collect();
            }
        }
    }
}

/// Every PyTorch key the model has, with its shape.
pub fn expected_shapes(model: &CmuNext) -> BTreeMap<String, Vec<usize>> {
    let mut lister = ShapeLister::default();
    model.visit(&mut lister);
    lister.shapes
}

fn looks_like_safetensors(bytes: &[u8]) -> bool {
    bytes.len() >= 9 && bytes[8] == b'{'
}

fn read_safetensors(bytes: &[u8]) -> Result<StateDict, String> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("bad safetensors header: {e}"))?;
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| format!("bad safetensors file: {e}"))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in st.tensors() {
        // Integer tensors are BN batch counters, which carry no weights.
        if is_ignored_torch_key(&name)
            && !matches!(
                view.dtype(),
                safetensors::Dtype::F32
                    | safetensors::Dtype::F64
                    | safetensors::Dtype::F16
                    | safetensors::Dtype::BF16
            )
        {
            continue;
        }
        let data = to_f32(view.dtype(), view.data())
            .ok_or_else(|| format!("tensor '{name}' has unsupported dtype {:?}", view.dtype()))?;
        tensors.insert(
            name,
            StateTensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    let metadata = meta.metadata().clone().unwrap_or_default();
    Ok(StateDict { tensors, metadata })
}

fn read_pytorch(path: &Path) -> Result<StateDict, String> {
    use burn::store::pytorch_reader::{DType as PtDType, PytorchReader};
    let reader = PytorchReader::new(path).map_err(|e| format!("bad PyTorch file: {e}"))?;
    let mut tensors = BTreeMap::new();
    for (name, t) in reader.tensors() {
        let bytes = t.read().map_err(|e| format!("bad PyTorch file: {e}"))?;
        let dtype = match t.dtype() {
            PtDType::F32 => safetensors::Dtype::F32,
            PtDType::F64 => safetensors::Dtype::F64,
            PtDType::F16 => safetensors::Dtype::F16,
            PtDType::BF16 => safetensors::Dtype::BF16,
            // Integer tensors (num_batches_tracked) carry no weights.
            _ => {
                if is_ignored_torch_key(name) {
                    continue;
                }
                return Err(format!(
                    "tensor '{name}' has non-float dtype {:?}",
                    t.dtype()
                ));
            }
        };
        let data =
            to_f32(dtype, &bytes).ok_or_else(|| format!("tensor '{name}' could not be decoded"))?;
        tensors.insert(
            name.clone(),
            StateTensor {
                shape: t.shape().to_vec(),
                data,
            },
        );
    }
    Ok(StateDict {
        tensors,
        metadata: HashMap::new(),
    })
}

/// Decodes little-endian float bytes to f32; `None` for non-float dtypes.
fn to_f32(dtype: safetensors::Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    use safetensors::Dtype;
    Some(match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        // Integer tensors are only BN counters; they decode to nothing useful.
        Dtype::I64 | Dtype::I32 | Dtype::U8 => Vec::new(),
        _ => return None,
    })
}

fn bytemuck_f32(data: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding and any byte pattern is a valid u8; the length is exact.
    // Safetensors stores little-endian, which is what every supported target uses.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data)) }
}

/// Tracks the module path during a visit or map.
fn push_path(path: &mut Vec<String>, name: &str, container: &str) {
    let _ = container;
    path.push(name.to_string());
}

#[derive(Default)]
struct ShapeLister {
    path: Vec<String>,
    shapes: BTreeMap<String, Vec<usize>>,
}

impl ModuleVisitor for ShapeLister {
    fn enter_module(&mut self, name: &str, container: &str) {
        push_path(&mut self.path, name, container);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(key) = torch_key(&self.path) {
            self.shapes.insert(key, param.lazy_shape().to_vec());
        }
    }
}

/// A tensor's shape and f32 values, read back from its device.
fn read_back<const D: usize>(tensor: Tensor<D>) -> Result<StateTensor, String> {
    let shape = tensor.dims().to_vec();
    let data = tensor
        .try_into_data()
        .map_err(|e| format!("{e:?}"))?
        .try_to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))?;
    Ok(StateTensor { shape, data })
}

#[derive(Default)]
struct Collector {
    path: Vec<String>,
    tensors: BTreeMap<String, StateTensor>,
    error: Option<String>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, container: &str) {
        push_path(&mut self.path, name, container);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(key) = torch_key(&self.path) else {
            self.error
                .get_or_insert_with(|| format!("no PyTorch key for '{}'", self.path.join(".")));
            return;
        };
        match read_back(param.val()) {
            Ok(t) => {
                self.tensors.insert(key, t);
            }
            Err(e) => {
                self.error
                    .get_or_insert_with(|| format!("cannot read '{key}': {e}"));
            }
        }
    }
}

struct Applier<'a> {
    dict: &'a StateDict,
    path: Vec<String>,
}

impl ModuleMapper for Applier<'_> {
    fn enter_module(&mut self, name: &str, container: &str) {
        push_path(&mut self.path, name, container);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(t) = torch_key(&self.path).and_then(|k| self.dict.tensors.get(&k)) else {
            return param;
        };
        let device = param.lazy_device();
        let id = torch_key(&self.path).map_or(param.id, |k| stable_param_id(&k));
        let tensor =
            Tensor::<D>::from_data(TensorData::new(t.data.clone(), t.shape.clone()), &device);
        param.transform_for_load(tensor, id)
    }
}

impl StateDict {
    /// The gradient of every trainable parameter of `model` in `grads`, under PyTorch
    /// keys (parameters without a gradient are left out).
    pub fn gradients_of(model: &CmuNext, grads: &burn::tensor::Gradients) -> Result<Self, String> {
        let mut collector = GradCollector {
            path: Vec::new(),
            grads,
            tensors: BTreeMap::new(),
            error: None,
        };
        model.visit(&mut collector);
        if let Some(err) = collector.error {
            return Err(err);
        }
        Ok(Self {
            tensors: collector.tensors,
            metadata: HashMap::new(),
        })
    }
}

struct GradCollector<'a> {
    path: Vec<String>,
    grads: &'a burn::tensor::Gradients,
    tensors: BTreeMap<String, StateTensor>,
    error: Option<String>,
}

impl ModuleVisitor for GradCollector<'_> {
    fn enter_module(&mut self, name: &str, container: &str) {
        push_path(&mut self.path, name, container);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let (Some(key), Some(grad)) = (torch_key(&self.path), param.val().grad(self.grads)) else {
            return;
        };
        match read_back(grad) {
            Ok(t) => {
                self.tensors.insert(key, t);
            }
            Err(e) => {
                self.error
                    .get_or_insert_with(|| format!("cannot read the gradient of '{key}': {e}"));
            }
        }
    }
}

/// A parameter id derived from the PyTorch key alone (FNV-1a), so the same parameter
/// has the same id in every process: optimiser state saved by one run then resumes in
/// another (Burn keys optimiser state by parameter id, and fresh ids are random).
pub fn stable_param_id(torch_key: &str) -> ParamId {
    let h = torch_key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    ParamId::from(h)
}

/// Gives every parameter of `model` its [`stable_param_id`].
pub fn assign_stable_ids(model: CmuNext) -> CmuNext {
    let mut mapper = StableIds { path: Vec::new() };
    model.map(&mut mapper)
}

struct StableIds {
    path: Vec<String>,
}

impl ModuleMapper for StableIds {
    fn enter_module(&mut self, name: &str, container: &str) {
        push_path(&mut self.path, name, container);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(key) = torch_key(&self.path) else {
            return param;
        };
        let (_, tensor, mapper) = param.consume();
        Param::from_mapped_value(stable_param_id(&key), tensor, mapper)
    }
}

/// Re-initialises every conv weight and bias of `model` as PyTorch's default does
/// (kaiming-uniform with a = √5, i.e. U(±1/√fan_in), for weights and biases), drawing
/// from a stream of `seed` per parameter key: the same seed gives the same initial
/// network in every process and thread, whatever else draws random numbers.
/// BN parameters and statistics keep their fixed defaults (γ = 1, β = 0, μ = 0, σ² = 1).
pub fn init_deterministic(model: CmuNext, seed: u64) -> CmuNext {
    let shapes = expected_shapes(&model);
    let mut mapper = SeededInit {
        path: Vec::new(),
        shapes,
        seed,
    };
    model.map(&mut mapper)
}

struct SeededInit {
    path: Vec<String>,
    shapes: BTreeMap<String, Vec<usize>>,
    seed: u64,
}

impl SeededInit {
    /// fan_in of the conv a `.weight`/`.bias` key belongs to, `None` for BN parameters.
    fn conv_fan_in(&self, key: &str) -> Option<usize> {
        let prefix = key
            .strip_suffix(".weight")
            .or_else(|| key.strip_suffix(".bias"))?;
        let w = self.shapes.get(&format!("{prefix}.weight"))?;
        (w.len() == 4).then(|| w[1] * w[2] * w[3])
    }
}

impl ModuleMapper for SeededInit {
    fn enter_module(&mut self, name: &str, container: &str) {
        push_path(&mut self.path, name, container);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(key) = torch_key(&self.path) else {
            return param;
        };
        let Some(fan_in) = self.conv_fan_in(&key) else {
            return param;
        };
        let shape = param.lazy_shape().to_vec();
        let bound = 1.0 / (fan_in as f64).sqrt();
        let mut rng = crate::rng::SplitMix64::stream(self.seed, &format!("init-{key}"));
        let data: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|_| ((2.0 * rng.next_f64() - 1.0) * bound) as f32)
            .collect();
        let device = param.lazy_device();
        let tensor = Tensor::<D>::from_data(TensorData::new(data, shape), &device);
        param.transform_for_load(tensor, stable_param_id(&key))
    }
}
