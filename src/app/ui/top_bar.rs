//! Menus, model picker, inference buttons and progress.

use crate::app::command::{AppCommand, CommandQueue, DialogKind, InferScope};
use crate::app::seg_app::SegApp;

/// Draw the top bar.
pub fn top_bar_ui(ui: &mut egui::Ui, app: &mut SegApp, commands: &mut CommandQueue) {
    ui.horizontal_wrapped(|ui| {
        ui.menu_button("file", |ui| {
            if ui.button("open folder…").clicked() {
                commands.push(AppCommand::Pick(DialogKind::DatasetFolder));
                ui.close();
            }
            if ui.button("open image or volume…").clicked() {
                commands.push(AppCommand::Pick(DialogKind::DatasetFile));
                ui.close();
            }
            if ui.button("open model…").clicked() {
                commands.push(AppCommand::Pick(DialogKind::Model));
                ui.close();
            }
            if ui.button("open demo").clicked() {
                commands.push(AppCommand::OpenDemo);
                ui.close();
            }
            ui.separator();
            ui.label("recent");
            if app.settings.recent.is_empty() {
                ui.weak("nothing yet");
            }
            for p in &app.settings.recent {
                if ui.button(p.display().to_string()).clicked() {
                    commands.push(AppCommand::OpenPath(p.clone()));
                    ui.close();
                }
            }
        });
        let label = if app.training.is_training() {
            "training (running)"
        } else {
            "training"
        };
        if ui
            .selectable_label(app.training.open, label)
            .on_hover_text("train a model on datasets, watch its curves")
            .clicked()
        {
            commands.push(AppCommand::ToggleTraining);
        }
        if ui.button("about").clicked() {
            app.state.show_about = true;
        }
        ui.separator();

        let current = app.global_model();
        let current_name = current
            .as_ref()
            .and_then(|id| app.state.models.iter().find(|m| &m.id == id))
            .map_or("no model".to_owned(), |m| m.name.clone());
        egui::ComboBox::from_label("model")
            .selected_text(current_name)
            .show_ui(ui, |ui| {
                for m in &app.state.models {
                    if ui
                        .selectable_label(current.as_ref() == Some(&m.id), &m.name)
                        .clicked()
                    {
                        commands.push(AppCommand::SelectModel(m.id.clone()));
                    }
                }
            });
        let has_model = current.is_some();
        if ui
            .add_enabled(
                has_model && app.state.current.is_some(),
                egui::Button::new("run on image"),
            )
            .clicked()
        {
            commands.push(AppCommand::RunInference(InferScope::Current));
        }
        if ui
            .add_enabled(
                has_model && !app.state.entries.is_empty(),
                egui::Button::new("run on dataset"),
            )
            .clicked()
        {
            commands.push(AppCommand::RunInference(InferScope::Dataset));
        }
        let mut tta = app.settings.tta;
        if ui
            .checkbox(&mut tta, "flip TTA")
            .on_hover_text(
                "average the model over the image and its three flips (4× the time); \
                 switching clears the predictions",
            )
            .changed()
        {
            commands.push(AppCommand::SetTta(tta));
        }
        if let Some(p) = &app.state.inference {
            let frac = if p.total == 0 {
                0.0
            } else {
                p.done as f32 / p.total as f32
            };
            ui.add(
                egui::ProgressBar::new(frac)
                    .desired_width(140.0)
                    .text(format!("{} {}/{}", p.label, p.done, p.total)),
            );
            if ui.button("cancel").clicked() {
                commands.push(AppCommand::CancelInference);
            }
        }
        ui.separator();
        ui.weak(format!("device: {}", app.state.device_notice));
    });
}
