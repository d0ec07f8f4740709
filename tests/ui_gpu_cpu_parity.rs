//! The wgpu overlay shader and the CPU compositor give the same pixels (within 1/255)
//! on a synthetic image, for several overlay combinations. Renders offscreen on
//! whatever adapter egui_kittest's setup finds (lavapipe here).

use seglens::app::backend::{AppBackend as _, EntryInfo, FakeBackend, ModelId};
use seglens::app::render::colormap::Colormap;
use seglens::app::render::gpu_types::OverlayParams;
use seglens::app::render::heatmap::{OverlayRenderer, render_offscreen};
use seglens::app::render::{OverlayData, cpu};
use seglens::app::settings::{Layer, MaskStyle, OverlaySettings};

fn test_data() -> std::sync::Arc<OverlayData> {
    let b = FakeBackend::new(67); // Odd size: exercises row padding in the readback.
    let entries: Vec<EntryInfo> = b.open(std::path::Path::new("fake://demo")).expect("open");
    let loaded = b.load(&entries[1]).expect("load");
    let pred = b
        .predict(
            &ModelId("fake-soft".into()),
            &loaded,
            false,
            &Default::default(),
        )
        .expect("predict");
    OverlayData::new(1, &loaded, Some(&pred))
}

fn cases() -> Vec<(&'static str, OverlaySettings, f32)> {
    let mut all = OverlaySettings::default();
    all.heatmap = Layer::new(true, 0.5);
    all.entropy = Layer::new(true, 0.3);
    all.error = Layer::new(true, 0.6);
    let mut contours = OverlaySettings::default();
    contours.pred_style = MaskStyle::Contour;
    contours.gt_style = MaskStyle::Contour;
    let mut magma = OverlaySettings::default();
    magma.heatmap = Layer::new(true, 1.0);
    magma.colormap = Colormap::Magma;
    magma.gt.visible = false;
    magma.pred.visible = false;
    let mut inferno_entropy = magma;
    inferno_entropy.colormap = Colormap::Inferno;
    inferno_entropy.heatmap.visible = false;
    inferno_entropy.entropy = Layer::new(true, 1.0);
    let mut fills = OverlaySettings::default();
    fills.gt_style = MaskStyle::Fill;
    vec![
        ("default", OverlaySettings::default(), 0.5),
        ("everything", all, 0.35),
        ("contours", contours, 0.7),
        ("magma heatmap", magma, 0.5),
        ("inferno entropy", inferno_entropy, 0.5),
        ("fills", fills, 0.2),
    ]
}

#[test]
fn gpu_and_cpu_overlays_match() {
    let rs = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        Default::default(),
    );
    eprintln!("adapter: {:?}", rs.adapter.get_info());
    let mut renderer = OverlayRenderer::new(&rs.device, egui_wgpu::wgpu::TextureFormat::Rgba8Unorm);
    let data = test_data();
    for (name, overlays, t) in cases() {
        let params = OverlayParams::new(&overlays, (-160.0, 240.0), t, true, true);
        let gpu =
            render_offscreen(&rs.device, &rs.queue, &mut renderer, &data, &params).expect("render");
        let cpu = cpu::composite(&data, &params);
        assert_eq!(gpu.len(), cpu.len());
        let mut worst = 0u8;
        let mut n_diff = 0;
        for (a, b) in gpu.iter().zip(&cpu) {
            let d = a.abs_diff(*b);
            worst = worst.max(d);
            n_diff += usize::from(d > 0);
        }
        eprintln!("{name}: max channel difference {worst}, {n_diff} channels differ");
        assert!(worst <= 1, "{name}: gpu and cpu differ by {worst}/255");
    }
}
