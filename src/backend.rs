//! Picking the compute device, in one place.
//!
//! The CPU backend is Burn's `flex`: pure Rust, always available, and the fastest
//! Burn CPU backend that passes the parity tests here (≈2.6× faster than `ndarray`
//! on a CMUNeXt forward, and `ndarray` is deprecated in Burn 0.22 and has no bilinear
//! backward). The GPU backend is Burn's wgpu. [`select`] prefers a real GPU adapter;
//! a software adapter (Mesa's lavapipe, `DeviceType::Cpu`) is slower than flex, so it
//! is only used when asked for explicitly. The choice always comes with its reason.

use burn::tensor::Device;

/// Which backend runs the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Burn's flex CPU backend.
    Cpu,
    /// Burn's wgpu backend.
    Wgpu,
}

impl BackendKind {
    /// Name as used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Wgpu => "wgpu",
        }
    }
}

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum BackendRequest {
    /// A real GPU through wgpu when one exists, else the CPU.
    #[default]
    Auto,
    /// The CPU backend (flex).
    Cpu,
    /// wgpu, even on a software adapter.
    Wgpu,
}

/// A wgpu adapter as seen by enumeration.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterSummary {
    /// Adapter name, e.g. "NVIDIA H200" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// The graphics API, e.g. "Vulkan".
    pub api: String,
    /// Whether this is a software (CPU) implementation.
    pub is_software: bool,
}

/// The device chosen, and why.
#[derive(Clone, Debug)]
pub struct ComputeDevice {
    /// The Burn device (without autodiff; call `.autodiff()` to train).
    pub device: Device,
    /// Which backend it is.
    pub kind: BackendKind,
    /// The adapter, for wgpu.
    pub adapter: Option<AdapterSummary>,
    /// One sentence for the user: what was chosen and why.
    pub reason: String,
}

/// Lists the wgpu adapters this machine offers (empty without the `gpu` feature).
pub fn wgpu_adapters() -> Vec<AdapterSummary> {
    #[cfg(feature = "gpu")]
    {
        use burn::tensor::wgpu::wgpu;
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        block_on(instance.enumerate_adapters(wgpu::Backends::all()))
            .into_iter()
            .map(|a| {
                let info = a.get_info();
                AdapterSummary {
                    name: info.name,
                    api: format!("{:?}", info.backend),
                    is_software: info.device_type == wgpu::DeviceType::Cpu,
                }
            })
            .collect()
    }
    #[cfg(not(feature = "gpu"))]
    Vec::new()
}

/// Picks the device for `request`. Fails only when wgpu is requested and unavailable.
pub fn select(request: BackendRequest) -> Result<ComputeDevice, String> {
    let cpu = |reason: String| ComputeDevice {
        device: Device::flex(),
        kind: BackendKind::Cpu,
        adapter: None,
        reason,
    };
    match request {
        BackendRequest::Cpu => Ok(cpu("CPU backend (flex), as requested".into())),
        BackendRequest::Auto => {
            let adapters = wgpu_adapters();
            match adapters.iter().find(|a| !a.is_software) {
                Some(gpu) => Ok(wgpu_device(
                    gpu.clone(),
                    format!("GPU '{}' through wgpu ({})", gpu.name, gpu.api),
                )),
                None if adapters.is_empty() => {
                    Ok(cpu(format!("CPU backend (flex): {}", no_adapter_reason())))
                }
                None => Ok(cpu(format!(
                    "CPU backend (flex): the only wgpu adapter is a software one ('{}'), which is slower than flex",
                    adapters[0].name
                ))),
            }
        }
        BackendRequest::Wgpu => {
            let adapters = wgpu_adapters();
            let best = adapters
                .iter()
                .find(|a| !a.is_software)
                .or(adapters.first());
            match best {
                Some(a) => {
                    let kind = if a.is_software {
                        "software adapter"
                    } else {
                        "GPU"
                    };
                    Ok(wgpu_device(
                        a.clone(),
                        format!("wgpu on {kind} '{}' ({}), as requested", a.name, a.api),
                    ))
                }
                None => Err(format!("wgpu was requested but {}", no_adapter_reason())),
            }
        }
    }
}

fn no_adapter_reason() -> String {
    if cfg!(feature = "gpu") {
        "no wgpu adapter was found (install a GPU driver, or Mesa's Vulkan driver for a software one)".into()
    } else {
        "this build has no GPU support (built without the `gpu` feature)".into()
    }
}

#[cfg(feature = "gpu")]
fn wgpu_device(adapter: AdapterSummary, reason: String) -> ComputeDevice {
    // wgpu's own default selection prefers high-performance GPUs, so it lands on the
    // adapter found above; a software adapter is chosen only when it is the only one.
    let device = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice);
    ComputeDevice {
        device,
        kind: BackendKind::Wgpu,
        adapter: Some(adapter),
        reason,
    }
}

#[cfg(not(feature = "gpu"))]
fn wgpu_device(_: AdapterSummary, _: String) -> ComputeDevice {
    unreachable!("no adapters are listed without the gpu feature")
}

/// Drives a future that completes without a reactor (wgpu's native futures do).
#[cfg(feature = "gpu")]
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}
