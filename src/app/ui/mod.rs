//! Top-level layout: top bar, dataset panel (left), view tools (right), status bar
//! (bottom), viewer panes (centre), and the threshold-view and about windows.
//! Drawing functions take state and push [`AppCommand`]s; they never call the backend.

pub mod annotate_panel;
pub mod dataset_panel;
pub mod notifications;
pub mod threshold_view;
pub mod tools_panel;
pub mod top_bar;
pub mod training_panel;
pub mod viewer;

use super::command::CommandQueue;
use super::seg_app::SegApp;

/// The research-use notice, shown in the about window and the status bar.
pub const RESEARCH_NOTICE: &str = "for research use only: not a medical device, not for clinical use, diagnosis or treatment decisions";

/// Draw the whole window.
pub fn app_ui(ui: &mut egui::Ui, app: &mut SegApp, commands: &mut CommandQueue) {
    egui::Panel::top("seglens top bar").show(ui, |ui| {
        top_bar::top_bar_ui(ui, app, commands);
    });
    egui::Panel::bottom("seglens status bar").show(ui, |ui| {
        status_bar_ui(ui, app);
    });
    egui::Panel::left("seglens dataset panel")
        .default_size(300.0)
        .show(ui, |ui| {
            dataset_panel::dataset_panel_ui(ui, app, commands);
        });
    egui::Panel::right("seglens tools panel")
        .default_size(260.0)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                tools_panel::tools_panel_ui(ui, app, commands);
            });
        });
    egui::CentralPanel::default().show(ui, |ui| {
        viewer::panes_ui(ui, app);
    });

    let ctx = ui.ctx().clone();
    let mut open = app.settings.show_threshold_view;
    if open {
        egui::Window::new("threshold view")
            .open(&mut open)
            .default_size([560.0, 380.0])
            .show(&ctx, |ui| threshold_view::threshold_view_ui(ui, app));
        app.settings.show_threshold_view = open;
    }
    if app.training.open {
        let mut open = true;
        egui::Window::new("training")
            .open(&mut open)
            .default_size([760.0, 640.0])
            .vscroll(false)
            .show(&ctx, |ui| {
                training_panel::training_panel_ui(ui, app, commands)
            });
        if !open {
            commands.push(super::command::AppCommand::ToggleTraining);
        }
    }
    annotate_panel::dialogs_ui(&ctx, app, commands);
    let mut about = app.state.show_about;
    if about {
        egui::Window::new("about seglens")
            .open(&mut about)
            .collapsible(false)
            .resizable(false)
            .show(&ctx, about_ui);
        app.state.show_about = about;
    }
}

/// Contents of the about window.
pub fn about_ui(ui: &mut egui::Ui) {
    ui.heading("seglens");
    ui.label("train, inspect and evaluate 2D medical image segmentation models (CMUNeXt family)");
    ui.separator();
    ui.colored_label(ui.visuals().warn_fg_color, RESEARCH_NOTICE);
    ui.label("scores are computed on the images you open; they say nothing about other scanners, sites or patients");
}

fn status_bar_ui(ui: &mut egui::Ui, app: &SegApp) {
    ui.horizontal(|ui| {
        ui.label(format!(
            "inference on {}",
            if app.state.device_notice.is_empty() {
                "…"
            } else {
                &app.state.device_notice
            }
        ));
        ui.separator();
        ui.label(if app.state.gpu_overlays {
            "overlays: wgpu shader"
        } else {
            "overlays: cpu"
        });
        ui.separator();
        if let Some(r) = &app.state.readout {
            let mut s = format!("({}, {}) {:.1} {}", r.x, r.y, r.value, r.unit);
            if let Some(p) = r.probability {
                s += &format!("  p {p:.3}");
            }
            if let Some(g) = r.gt {
                s += &format!("  gt {}", u8::from(g));
            }
            if let Some(q) = r.predicted {
                s += &format!("  pred {}", u8::from(q));
            }
            ui.monospace(s);
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.small("research use only");
        });
    });
}
