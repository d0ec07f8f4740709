//! Viewer panes: wheel zoom (about the cursor), drag pan, fit and 1:1, pixel readout,
//! overlays through the GPU paint callback or the CPU compositor. 1 to 4 panes, each
//! with its own entry and model, views and thresholds linked or independent.

use crate::app::app_state::{PixelReadout, ViewTransform};
use crate::app::evaluation::format_score;
use crate::app::render::cpu;
use crate::app::render::gpu_types::OverlayParams;
use crate::app::render::heatmap::OverlayCallback;
use crate::app::seg_app::SegApp;

/// Cells of `n` panes in `rect`: 1 → 1×1, 2 → 2×1, 3–4 → 2×2.
pub fn pane_cells(rect: egui::Rect, n: usize) -> Vec<egui::Rect> {
    let (cols, rows) = match n {
        0 | 1 => (1, 1),
        2 => (2, 1),
        _ => (2, 2),
    };
    let size = egui::vec2(rect.width() / cols as f32, rect.height() / rows as f32);
    (0..n)
        .map(|k| {
            let (c, r) = (k % cols, k / cols);
            egui::Rect::from_min_size(
                rect.min + egui::vec2(c as f32 * size.x, r as f32 * size.y),
                size,
            )
            .shrink(2.0)
        })
        .collect()
}

/// Draw every pane.
pub fn panes_ui(ui: &mut egui::Ui, app: &mut SegApp) {
    let rect = ui.available_rect_before_wrap();
    let cells = pane_cells(rect, app.state.panes.len());
    app.state.readout = None;
    for (k, cell) in cells.into_iter().enumerate() {
        ui.scope_builder(
            egui::UiBuilder::new().max_rect(cell).id_salt(("pane", k)),
            |ui| {
                pane_ui(ui, app, k);
            },
        );
    }
}

fn pane_header_ui(
    ui: &mut egui::Ui,
    app: &mut SegApp,
    k: usize,
    size: Option<egui::Vec2>,
    view: &mut ViewTransform,
    viewer_guess: egui::Rect,
) {
    ui.horizontal(|ui| {
        if k == 0 {
            let name = app
                .state
                .pane_entry(0)
                .map_or("no image".to_owned(), |i| app.state.entries[i].name.clone());
            ui.strong(name);
        } else {
            let sel = app.state.panes[k].entry;
            let text = sel
                .and_then(|i| app.state.entries.get(i))
                .map_or("follow selection".to_owned(), |e| e.name.clone());
            egui::ComboBox::from_id_salt(("pane entry", k))
                .selected_text(text)
                .width(130.0)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut app.state.panes[k].entry, None, "follow selection");
                    for (i, e) in app.state.entries.iter().enumerate() {
                        ui.selectable_value(&mut app.state.panes[k].entry, Some(i), &e.name);
                    }
                });
            let m = app.state.panes[k].model.clone();
            let mtext = m
                .as_ref()
                .and_then(|id| app.state.models.iter().find(|x| &x.id == id))
                .map_or("global model".to_owned(), |x| x.name.clone());
            egui::ComboBox::from_id_salt(("pane model", k))
                .selected_text(mtext)
                .width(130.0)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut app.state.panes[k].model, None, "global model");
                    for x in &app.state.models {
                        ui.selectable_value(
                            &mut app.state.panes[k].model,
                            Some(x.id.clone()),
                            &x.name,
                        );
                    }
                });
            if !app.settings.linked_panes {
                ui.add(
                    egui::Slider::new(&mut app.state.panes[k].threshold, 0.0..=1.0)
                        .step_by(0.01)
                        .text("pane threshold"),
                );
            }
        }
        if ui.button("fit").clicked() {
            view.fit = true;
        }
        if ui.button("1:1").clicked()
            && let Some(s) = size
        {
            view.one_to_one(s, ui.ctx().pixels_per_point());
        }
        let _ = viewer_guess;
    });
}

fn pane_ui(ui: &mut egui::Ui, app: &mut SegApp, k: usize) {
    let linked = app.settings.linked_panes;
    let mut view = if linked {
        app.state.shared_view
    } else {
        app.state.panes[k].view
    };
    let data = app.panes_rt.get(k).and_then(|r| r.data.clone());
    let size = data
        .as_ref()
        .map(|d| egui::vec2(d.width as f32, d.height as f32));
    pane_header_ui(ui, app, k, size, &mut view, ui.available_rect_before_wrap());

    let (rect, response) =
        ui.allocate_exact_size(ui.available_size(), egui::Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, egui::Color32::from_gray(12));

    let Some(data) = data else {
        let text = if app.state.pane_entry(k).is_some() {
            "loading…"
        } else {
            "no image"
        };
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            text,
            egui::FontId::proportional(14.0),
            egui::Color32::GRAY,
        );
        write_view(app, k, view);
        return;
    };
    let size = egui::vec2(data.width as f32, data.height as f32);

    // Input: wheel zoom about the cursor, drag pan, double click fits.
    if response.hovered() {
        let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = (scroll * 0.002).exp() * zoom;
        if (factor - 1.0).abs() > 1e-4
            && let Some(pos) = response.hover_pos()
        {
            if view.fit {
                view.fit_to(rect, size);
            }
            view.zoom_about(rect, pos, factor);
        }
    }
    // In edit mode (pane 0) primary drags and clicks edit; right or middle drags pan.
    let editing = k == 0 && app.annotation.active;
    let pans = if editing {
        response.dragged_by(egui::PointerButton::Secondary)
            || response.dragged_by(egui::PointerButton::Middle)
    } else {
        response.dragged()
    };
    if pans {
        if view.fit {
            view.fit_to(rect, size);
        }
        view.pan(response.drag_delta());
    }
    if response.double_clicked() && !editing {
        view.fit = true;
    }
    if view.fit {
        view.fit_to(rect, size);
    }
    let image_rect = view.image_rect(rect, size);
    if let Some(rt) = app.panes_rt.get_mut(k) {
        rt.screen = Some((rect, image_rect));
    }
    if editing {
        edit_input(ui, app, &response, &view, rect);
    }

    // Overlay parameters.
    let threshold = app.pane_threshold(k);
    let window = app
        .state
        .window
        .or_else(|| {
            app.state
                .pane_entry(k)
                .and_then(|i| app.caches.loaded.get(&app.state.entries[i].id))
                .map(|l| l.image.default_window)
        })
        .map_or((0.0, 1.0), |w| w.range());
    let mut params = OverlayParams::new(
        &app.settings.overlays,
        window,
        threshold,
        data.prob.is_some(),
        data.gt.is_some(),
    );

    if app.state.gpu_overlays {
        let visible = image_rect.intersect(rect);
        if visible.width() > 0.0 && visible.height() > 0.0 {
            let s = image_rect.size();
            params.uv_min = [
                (visible.min.x - image_rect.min.x) / s.x,
                (visible.min.y - image_rect.min.y) / s.y,
            ];
            params.uv_max = [
                (visible.max.x - image_rect.min.x) / s.x,
                (visible.max.y - image_rect.min.y) / s.y,
            ];
            painter.add(egui_wgpu::Callback::new_paint_callback(
                visible,
                OverlayCallback {
                    pane: k as u64,
                    data: data.clone(),
                    params,
                },
            ));
        }
    } else {
        let rt = &mut app.panes_rt[k];
        let stale = rt
            .cpu_texture
            .as_ref()
            .is_none_or(|(_, v, p)| *v != data.version || *p != params);
        if stale {
            let rgba = cpu::composite(&data, &params);
            let image = egui::ColorImage::from_rgba_unmultiplied(
                [data.width as usize, data.height as usize],
                &rgba,
            );
            match rt.cpu_texture.as_mut() {
                Some((tex, v, p)) => {
                    tex.set(image, egui::TextureOptions::NEAREST);
                    *v = data.version;
                    *p = params;
                }
                None => {
                    let tex = ui.ctx().load_texture(
                        format!("seglens pane {k}"),
                        image,
                        egui::TextureOptions::NEAREST,
                    );
                    rt.cpu_texture = Some((tex, data.version, params));
                }
            }
        }
        if let Some((tex, _, _)) = &app.panes_rt[k].cpu_texture {
            painter.image(
                tex.id(),
                image_rect,
                egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                egui::Color32::WHITE,
            );
        }
    }

    // Pixel readout.
    if let Some(pos) = response.hover_pos() {
        let p = view.to_image(rect, pos);
        if p.x >= 0.0 && p.y >= 0.0 && p.x < size.x && p.y < size.y {
            let (x, y) = (p.x as u32, p.y as u32);
            let i = (y * data.width + x) as usize;
            let unit = app
                .state
                .pane_entry(k)
                .and_then(|e| app.caches.loaded.get(&app.state.entries[e].id))
                .map_or(String::new(), |l| l.image.unit.clone());
            let probability = data.prob.as_ref().map(|v| v[i]);
            app.state.readout = Some(PixelReadout {
                pane: k,
                x,
                y,
                value: data.image[i],
                unit,
                probability,
                gt: data.gt.as_ref().map(|g| g[i] > 0.5),
                predicted: probability.map(|p| p > threshold),
            });
        }
    }

    if editing {
        draw_edit_guides(&painter, app, &response, &view, rect);
    }

    // Footer: model, threshold, scores of this pane.
    let mut footer = format!("t {threshold:.2}");
    if let Some(s) = app.pane_scores(k) {
        footer += &format!(
            "  dice {}  iou {}",
            format_score(s.dice),
            format_score(s.iou)
        );
    } else if data.prob.is_none() {
        footer += "  no prediction";
    }
    painter.text(
        rect.left_bottom() + egui::vec2(6.0, -6.0),
        egui::Align2::LEFT_BOTTOM,
        footer,
        egui::FontId::monospace(12.0),
        egui::Color32::from_gray(230),
    );
    write_view(app, k, view);
}

fn image_point(view: &ViewTransform, rect: egui::Rect, pos: egui::Pos2) -> (f32, f32) {
    let p = view.to_image(rect, pos);
    (p.x, p.y)
}

/// Routes primary-button input to the active tool (pane 0, edit mode).
fn edit_input(
    ui: &egui::Ui,
    app: &mut SegApp,
    response: &egui::Response,
    view: &ViewTransform,
    rect: egui::Rect,
) {
    use crate::app::annotation::Tool;
    let primary = egui::PointerButton::Primary;
    let pos = response.interact_pointer_pos().or(response.hover_pos());
    match app.annotation.tool {
        Tool::Brush | Tool::Eraser | Tool::TakePrediction => {
            if let Some(pos) = pos {
                if response.drag_started_by(primary)
                    || (response.clicked_by(primary) && !response.drag_stopped())
                {
                    app.stroke_begin(image_point(view, rect, pos));
                } else if response.dragged_by(primary) {
                    app.stroke_to(image_point(view, rect, pos));
                }
            }
            if response.drag_stopped_by(primary) || response.clicked_by(primary) {
                app.stroke_end();
            }
        }
        Tool::Fill => {
            if response.clicked_by(primary)
                && let Some(pos) = pos
            {
                let (x, y) = image_point(view, rect, pos);
                if x >= 0.0 && y >= 0.0 {
                    let background = ui.input(|i| i.modifiers.shift);
                    app.fill_at((x as u32, y as u32), !background);
                }
            }
        }
        Tool::Polygon => {
            if response.double_clicked_by(primary) {
                app.polygon_close();
            } else if response.clicked_by(primary)
                && let Some(pos) = pos
            {
                app.polygon_add(image_point(view, rect, pos));
            }
        }
    }
}

/// The brush outline under the cursor and the polygon in progress.
fn draw_edit_guides(
    painter: &egui::Painter,
    app: &SegApp,
    response: &egui::Response,
    view: &ViewTransform,
    rect: egui::Rect,
) {
    use crate::app::annotation::Tool;
    let stroke = egui::Stroke::new(1.5, egui::Color32::from_rgb(255, 210, 0));
    let to_screen =
        |(x, y): (f32, f32)| rect.center() + (egui::vec2(x, y) - view.center) * view.zoom;
    if matches!(
        app.annotation.tool,
        Tool::Brush | Tool::Eraser | Tool::TakePrediction
    ) && let Some(pos) = response.hover_pos()
    {
        painter.circle_stroke(pos, app.annotation.radius * view.zoom, stroke);
    }
    let pts: Vec<egui::Pos2> = app
        .annotation
        .polygon
        .iter()
        .copied()
        .map(to_screen)
        .collect();
    if pts.len() >= 2 {
        painter.add(egui::Shape::line(pts.clone(), stroke));
    }
    for p in pts {
        painter.circle_filled(p, 3.0, stroke.color);
    }
}

fn write_view(app: &mut SegApp, k: usize, view: ViewTransform) {
    if app.settings.linked_panes {
        app.state.shared_view = view;
    } else {
        app.state.panes[k].view = view;
    }
}
