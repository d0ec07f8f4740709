//! Mask editing controls: the tools section of the right panel, keyboard shortcuts in
//! the habits of ITK-SNAP and 3D Slicer users, the help overlay, the "unsaved edits"
//! question and the recovery offer. Viewer input is routed in [`super::viewer`].

use egui::{Key, Modifiers};

use crate::app::annotation::{RADIUS_RANGE, SHORTCUTS, Tool};
use crate::app::command::{AnnotateCommand, AppCommand, CommandQueue};
use crate::app::seg_app::SegApp;

fn annotate(commands: &mut CommandQueue, cmd: AnnotateCommand) {
    commands.push(AppCommand::Annotate(cmd));
}

/// Keyboard shortcuts; ignored while a text field has focus.
pub fn shortcuts(ctx: &egui::Context, app: &mut SegApp, commands: &mut CommandQueue) {
    if ctx.egui_wants_keyboard_input() {
        return;
    }
    let a = &mut app.annotation;
    ctx.input_mut(|i| {
        // Redo before undo: Ctrl+Shift+Z would also match a plain Ctrl+Z check.
        if i.consume_key(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z)
            || i.consume_key(Modifiers::COMMAND, Key::Y)
        {
            annotate(commands, AnnotateCommand::Redo);
        }
        if i.consume_key(Modifiers::COMMAND, Key::Z) {
            annotate(commands, AnnotateCommand::Undo);
        }
        if i.consume_key(Modifiers::COMMAND, Key::S) {
            annotate(commands, AnnotateCommand::Save);
        }
        for (key, tool) in [
            (Key::B, Tool::Brush),
            (Key::E, Tool::Eraser),
            (Key::F, Tool::Fill),
            (Key::P, Tool::Polygon),
            (Key::T, Tool::TakePrediction),
        ] {
            if i.consume_key(Modifiers::NONE, key) {
                a.tool = tool;
                a.active = true;
            }
        }
        if i.consume_key(Modifiers::NONE, Key::M) {
            a.active = !a.active;
        }
        if i.consume_key(Modifiers::NONE, Key::OpenBracket) {
            a.scale_radius(1.0 / 1.25);
        }
        if i.consume_key(Modifiers::NONE, Key::CloseBracket) {
            a.scale_radius(1.25);
        }
        if i.consume_key(Modifiers::NONE, Key::H) || i.consume_key(Modifiers::NONE, Key::F1) {
            a.show_help = !a.show_help;
        }
        if a.tool == Tool::Polygon {
            if i.consume_key(Modifiers::NONE, Key::Enter) {
                annotate(commands, AnnotateCommand::ClosePolygon);
            }
            if i.consume_key(Modifiers::NONE, Key::Escape) {
                a.polygon.clear();
            }
        }
    });
}

/// The tools section of the right panel.
pub fn annotate_ui(ui: &mut egui::Ui, app: &mut SegApp, commands: &mut CommandQueue) {
    ui.heading("edit mask");
    let (dirty_here, can_undo, can_redo) = app.current_edit().map_or((false, false, false), |e| {
        (e.is_dirty(), e.history.can_undo(), e.history.can_redo())
    });
    let a = &mut app.annotation;
    ui.horizontal(|ui| {
        ui.checkbox(&mut a.active, "edit mode (M)")
            .on_hover_text("drag edits instead of panning; right or middle drag pans");
        if ui.small_button("help (H)").clicked() {
            a.show_help = !a.show_help;
        }
    });
    ui.horizontal_wrapped(|ui| {
        for tool in Tool::ALL {
            if ui.selectable_label(a.tool == tool, tool.label()).clicked() {
                a.tool = tool;
                a.active = true;
            }
        }
    });
    ui.add(
        egui::Slider::new(&mut a.radius, RADIUS_RANGE.0..=RADIUS_RANGE.1)
            .logarithmic(true)
            .text("brush radius ([ ])"),
    );
    if a.tool == Tool::Polygon && !a.polygon.is_empty() {
        ui.horizontal(|ui| {
            ui.label(format!("{} vertices", a.polygon.len()));
            if ui.button("close polygon").clicked() {
                annotate(commands, AnnotateCommand::ClosePolygon);
            }
        });
    }
    ui.horizontal(|ui| {
        if ui
            .add_enabled(can_undo, egui::Button::new("undo"))
            .clicked()
        {
            annotate(commands, AnnotateCommand::Undo);
        }
        if ui
            .add_enabled(can_redo, egui::Button::new("redo"))
            .clicked()
        {
            annotate(commands, AnnotateCommand::Redo);
        }
        if ui.button("take whole prediction").clicked() {
            annotate(commands, AnnotateCommand::TakeWholePrediction);
        }
        if ui.button("clear mask").clicked() {
            annotate(commands, AnnotateCommand::Clear);
        }
    });
    ui.horizontal(|ui| {
        if ui
            .add_enabled(dirty_here, egui::Button::new("save mask"))
            .on_hover_text(
                "0/255 PNG in the masks folder; the previous version goes to .seglens/backups",
            )
            .clicked()
        {
            annotate(commands, AnnotateCommand::Save);
        }
        if dirty_here {
            ui.colored_label(ui.visuals().warn_fg_color, "unsaved changes");
        }
        let others = a.dirty_count().saturating_sub(usize::from(dirty_here));
        if others > 0 {
            ui.weak(format!("{others} other image(s) unsaved"));
        }
    });
    if !a.recovered.is_empty() {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "{} image(s) have unsaved edits from an earlier session",
                a.recovered.len()
            ),
        );
        ui.horizontal(|ui| {
            if ui.button("restore unsaved edits").clicked() {
                annotate(commands, AnnotateCommand::RestoreRecovered);
            }
            if ui.button("discard them").clicked() {
                annotate(commands, AnnotateCommand::DiscardRecovered);
            }
        });
    }
}

/// The help overlay and the question before unsaved edits are dropped.
pub fn dialogs_ui(ctx: &egui::Context, app: &mut SegApp, commands: &mut CommandQueue) {
    let mut help = app.annotation.show_help;
    if help {
        egui::Window::new("annotation shortcuts")
            .open(&mut help)
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                    for (keys, action) in SHORTCUTS {
                        ui.monospace(keys);
                        ui.label(action);
                        ui.end_row();
                    }
                });
            });
        app.annotation.show_help = help;
    }
    if let Some(path) = &app.annotation.pending_open {
        let n = app.annotation.dirty_count();
        egui::Window::new("unsaved edits")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .show(ctx, |ui| {
                ui.label(format!(
                    "{n} image(s) have unsaved mask edits. Open {} anyway?",
                    path.display()
                ));
                ui.horizontal(|ui| {
                    if ui.button("save all and open").clicked() {
                        commands.push(AppCommand::ConfirmOpen { save_first: true });
                    }
                    if ui.button("discard edits and open").clicked() {
                        commands.push(AppCommand::ConfirmOpen { save_first: false });
                    }
                    if ui.button("keep editing").clicked() {
                        commands.push(AppCommand::CancelOpen);
                    }
                });
            });
    }
}
