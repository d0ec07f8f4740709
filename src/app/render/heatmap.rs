//! The GPU overlay pipeline (shaders/heatmap.wgsl): [`OverlayRenderer`] owns the
//! pipeline and per-pane textures and uniforms; [`OverlayCallback`] is the per-frame
//! paint callback. Also [`render_offscreen`], which draws the same pipeline into a
//! texture and reads it back (pixel tests, benchmarks).

use std::collections::HashMap;
use std::sync::Arc;

use egui_wgpu::wgpu;
use wgpu::util::DeviceExt as _;

use super::OverlayData;
use super::gpu_types::OverlayParams;

/// WGSL source of the overlay compositor.
pub const SHADER_SOURCE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/heatmap.wgsl"));

struct PaneGpu {
    version: u64,
    uniform: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    _textures: [wgpu::Texture; 3],
}

/// Pipeline and per-pane resources. Lives in `callback_resources`.
pub struct OverlayRenderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    panes: HashMap<u64, PaneGpu>,
}

impl OverlayRenderer {
    /// Build the pipeline for a colour target of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("seglens overlay"),
            source: wgpu::ShaderSource::Wgsl(SHADER_SOURCE.into()),
        });
        let tex_entry = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: false },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("seglens overlay"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                tex_entry(1),
                tex_entry(2),
                tex_entry(3),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("seglens overlay"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("seglens overlay"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        Self {
            pipeline,
            layout,
            panes: HashMap::new(),
        }
    }

    /// Upload `data` for `pane` when its version changed, and write `params`.
    pub fn prepare(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        pane: u64,
        data: &OverlayData,
        params: &OverlayParams,
    ) {
        let stale = self
            .panes
            .get(&pane)
            .is_none_or(|p| p.version != data.version);
        if stale {
            let gpu = self.upload(device, queue, data);
            self.panes.insert(pane, gpu);
        }
        if let Some(p) = self.panes.get(&pane) {
            queue.write_buffer(&p.uniform, 0, bytemuck::bytes_of(params));
        }
    }

    fn upload(&self, device: &wgpu::Device, queue: &wgpu::Queue, data: &OverlayData) -> PaneGpu {
        let zero = [0.0f32];
        let make = |label: &str, values: Option<&[f32]>| {
            let (w, h, v) = match values {
                Some(v) => (data.width, data.height, v),
                None => (1, 1, &zero[..]),
            };
            let size = wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: 1,
            };
            let tex = device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size,
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::R32Float,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            });
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &tex,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                bytemuck::cast_slice(v),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(4 * w),
                    rows_per_image: Some(h),
                },
                size,
            );
            tex
        };
        let image = make("seglens image", Some(&data.image));
        let prob = make("seglens probabilities", data.prob.as_deref());
        let gt = make("seglens gt", data.gt.as_deref());
        let uniform = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("seglens overlay params"),
            contents: bytemuck::bytes_of(&OverlayParams::zeroed_default()),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let views = [&image, &prob, &gt].map(|t| t.create_view(&Default::default()));
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("seglens overlay"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&views[0]),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::TextureView(&views[1]),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: wgpu::BindingResource::TextureView(&views[2]),
                },
            ],
        });
        PaneGpu {
            version: data.version,
            uniform,
            bind_group,
            _textures: [image, prob, gt],
        }
    }

    /// Draw `pane` into the current viewport.
    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>, pane: u64) {
        if let Some(p) = self.panes.get(&pane) {
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &p.bind_group, &[]);
            pass.draw(0..3, 0..1);
        }
    }

    /// Drop the resources of panes not in `keep`.
    pub fn retain_panes(&mut self, keep: &[u64]) {
        self.panes.retain(|k, _| keep.contains(k));
    }
}

impl OverlayParams {
    fn zeroed_default() -> Self {
        bytemuck::Zeroable::zeroed()
    }
}

/// The per-frame paint callback of one pane.
pub struct OverlayCallback {
    /// Pane key in the renderer.
    pub pane: u64,
    /// Inputs (uploaded only when their version changes).
    pub data: Arc<OverlayData>,
    /// This frame's parameters (uv of the visible part, threshold, opacities…).
    pub params: OverlayParams,
}

impl egui_wgpu::CallbackTrait for OverlayCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen_descriptor: &egui_wgpu::ScreenDescriptor,
        _egui_encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(r) = resources.get_mut::<OverlayRenderer>() {
            r.prepare(device, queue, self.pane, &self.data, &self.params);
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        render_pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(r) = resources.get::<OverlayRenderer>() {
            r.paint(render_pass, self.pane);
        }
    }
}

/// Register the renderer in egui-wgpu's callback resources. Call once at start-up.
pub fn register(render_state: &egui_wgpu::RenderState) {
    let renderer = OverlayRenderer::new(&render_state.device, render_state.target_format);
    render_state
        .renderer
        .write()
        .callback_resources
        .insert(renderer);
}

/// Draw `data` with `params` (whole image, one pixel per texel) into an RGBA8 texture
/// and read it back, row-major RGBA8. Blocks; for tests and benchmarks.
pub fn render_offscreen(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    renderer: &mut OverlayRenderer,
    data: &OverlayData,
    params: &OverlayParams,
) -> Result<Vec<u8>, String> {
    let (w, h) = (data.width, data.height);
    let mut params = *params;
    params.uv_min = [0.0, 0.0];
    params.uv_max = [1.0, 1.0];
    renderer.prepare(device, queue, u64::MAX, data, &params);
    let size = wgpu::Extent3d {
        width: w,
        height: h,
        depth_or_array_layers: 1,
    };
    let target = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("seglens offscreen"),
        size,
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8Unorm,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = target.create_view(&Default::default());
    let row = (4 * w).div_ceil(256) * 256;
    let readback = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("seglens readback"),
        size: u64::from(row * h),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("seglens offscreen"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: None,
            timestamp_writes: None,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        renderer.paint(&mut pass, u64::MAX);
    }
    encoder.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo {
            texture: &target,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyBufferInfo {
            buffer: &readback,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(row),
                rows_per_image: Some(h),
            },
        },
        size,
    );
    queue.submit([encoder.finish()]);
    let slice = readback.slice(..);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(std::time::Duration::from_secs(30)),
        })
        .map_err(|e| format!("gpu poll failed: {e}"))?;
    rx.recv()
        .map_err(|e| format!("readback lost: {e}"))?
        .map_err(|e| format!("readback failed: {e}"))?;
    let mapped = slice
        .get_mapped_range()
        .map_err(|e| format!("readback map failed: {e:?}"))?;
    let mut out = Vec::with_capacity((4 * w * h) as usize);
    for y in 0..h as usize {
        let start = y * row as usize;
        out.extend_from_slice(&mapped[start..start + 4 * w as usize]);
    }
    drop(mapped);
    readback.unmap();
    Ok(out)
}
