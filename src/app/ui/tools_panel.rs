//! Right panel: threshold slider and the current image's metrics, overlays, colormap,
//! window/level, side-by-side panes.

use crate::app::backend::{Modality, Window};
use crate::app::command::{AppCommand, CommandQueue};
use crate::app::evaluation::format_score;
use crate::app::render::colormap::Colormap;
use crate::app::seg_app::{MAX_PANES, SegApp};
use crate::app::settings::{Layer, MaskStyle};

/// Window presets per modality: (name, centre, width).
pub fn window_presets(modality: Modality) -> &'static [(&'static str, f32, f32)] {
    match modality {
        Modality::Ct => &[
            ("soft tissue", 40.0, 400.0),
            ("brain", 40.0, 80.0),
            ("lung", -600.0, 1500.0),
            ("bone", 400.0, 1800.0),
            ("liver", 60.0, 160.0),
        ],
        Modality::Mr | Modality::Other => &[("narrow", 0.0, 120.0), ("wide", 0.0, 600.0)],
    }
}

/// The metric labels shown for the current image, in order (also used by tests).
pub fn metric_lines(s: &crate::metrics::OverlapScores) -> [String; 4] {
    [
        format!("dice {}", format_score(s.dice)),
        format!("iou {}", format_score(s.iou)),
        format!("precision {}", format_score(s.precision)),
        format!("recall {}", format_score(s.recall)),
    ]
}

fn layer_ui(ui: &mut egui::Ui, name: &str, layer: &mut Layer, style: Option<&mut MaskStyle>) {
    ui.horizontal(|ui| {
        ui.checkbox(&mut layer.visible, name);
        ui.add_enabled(
            layer.visible,
            egui::Slider::new(&mut layer.opacity, 0.0..=1.0).show_value(false),
        )
        .on_hover_text(format!("{name} opacity"));
        if let Some(style) = style {
            egui::ComboBox::from_id_salt(format!("{name} style"))
                .width(70.0)
                .selected_text(match style {
                    MaskStyle::Fill => "fill",
                    MaskStyle::Contour => "contour",
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(style, MaskStyle::Fill, "fill");
                    ui.selectable_value(style, MaskStyle::Contour, "contour");
                });
        }
    });
}

/// Draw the tools panel.
pub fn tools_panel_ui(ui: &mut egui::Ui, app: &mut SegApp, commands: &mut CommandQueue) {
    ui.heading("threshold");
    ui.add(
        egui::Slider::new(&mut app.settings.threshold, 0.0..=1.0)
            .step_by(0.01)
            .text("threshold"),
    );
    if ui.button("threshold view").clicked() {
        app.settings.show_threshold_view = !app.settings.show_threshold_view;
    }

    ui.separator();
    ui.strong("current image");
    let has_pred = app
        .panes_rt
        .first()
        .and_then(|r| r.data.as_ref())
        .is_some_and(|d| d.prob.is_some());
    let has_gt = app
        .panes_rt
        .first()
        .and_then(|r| r.data.as_ref())
        .is_some_and(|d| d.gt.is_some());
    match app.current_scores() {
        Some(s) => {
            for line in metric_lines(&s) {
                ui.monospace(line);
            }
            let c = s.confusion;
            ui.weak(format!("tp {} fp {} fn {}", c.tp, c.fp, c.fn_));
        }
        None if !has_pred => {
            ui.weak("no prediction yet");
        }
        None if !has_gt => {
            ui.weak("no ground truth for this image");
        }
        None => {
            ui.weak("scores undefined");
        }
    }
    if let Some(e) = app.dataset_eval.eval.as_ref()
        && let Some(b) = &e.sweep.best
    {
        ui.weak(format!(
            "dataset best threshold {:.2} (dice {})",
            b.threshold,
            format_score(Some(b.dice))
        ));
    }

    ui.separator();
    super::annotate_panel::annotate_ui(ui, app, commands);

    ui.separator();
    ui.strong("overlays");
    let o = &mut app.settings.overlays;
    layer_ui(ui, "ground truth", &mut o.gt, Some(&mut o.gt_style));
    layer_ui(ui, "prediction", &mut o.pred, Some(&mut o.pred_style));
    layer_ui(ui, "heatmap", &mut o.heatmap, None);
    layer_ui(ui, "error map", &mut o.error, None);
    layer_ui(ui, "entropy", &mut o.entropy, None);
    egui::ComboBox::from_label("colormap")
        .selected_text(o.colormap.label())
        .show_ui(ui, |ui| {
            for c in Colormap::ALL {
                ui.selectable_value(&mut o.colormap, c, c.label());
            }
        });
    if o.error.visible {
        ui.horizontal(|ui| {
            use crate::app::render::cpu::{FN_RGB, FP_RGB, TP_RGB};
            let c = |v: [f32; 3]| {
                egui::Color32::from_rgb(
                    (v[0] * 255.0) as u8,
                    (v[1] * 255.0) as u8,
                    (v[2] * 255.0) as u8,
                )
            };
            ui.colored_label(c(TP_RGB), "tp");
            ui.colored_label(c(FP_RGB), "fp");
            ui.colored_label(c(FN_RGB), "fn");
        });
    }
    ui.add_enabled_ui(app.gpu_available(), |ui| {
        ui.checkbox(&mut app.settings.prefer_gpu, "gpu overlays")
            .on_disabled_hover_text("wgpu is not in use: overlays are drawn on the cpu");
    });

    ui.separator();
    ui.strong("window/level");
    let loaded = app
        .state
        .pane_entry(0)
        .and_then(|i| app.caches.loaded.get(&app.state.entries[i].id).cloned());
    if let Some(l) = loaded {
        let mut w = app.state.window.unwrap_or(l.image.default_window);
        ui.horizontal_wrapped(|ui| {
            for &(name, c, width) in window_presets(l.info.modality) {
                if ui.button(name).clicked() {
                    w = Window { center: c, width };
                }
            }
            if ui.button("default").clicked() {
                w = l.image.default_window;
            }
        });
        ui.horizontal(|ui| {
            ui.label("level");
            ui.add(egui::DragValue::new(&mut w.center).speed(2.0));
            ui.label("width");
            ui.add(
                egui::DragValue::new(&mut w.width)
                    .speed(2.0)
                    .range(1.0..=10000.0),
            );
            ui.label(&l.image.unit);
        });
        app.state.window = Some(w);
    } else {
        ui.weak("no image");
    }

    ui.separator();
    ui.strong("side by side");
    ui.horizontal(|ui| {
        for n in 1..=MAX_PANES {
            let label = if n == 1 {
                "1 pane".to_owned()
            } else {
                format!("{n} panes")
            };
            if ui
                .selectable_label(app.state.panes.len() == n, label)
                .clicked()
            {
                commands.push(AppCommand::SetPaneCount(n));
            }
        }
    });
    ui.checkbox(
        &mut app.settings.linked_panes,
        "link zoom, pan and threshold",
    );
    if ui.button("fit all").clicked() {
        commands.push(AppCommand::FitAll);
    }
}
