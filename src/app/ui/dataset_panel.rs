//! The dataset list: name, modality, GT foreground %, per-image IoU/Dice at the current
//! threshold after inference, warnings. Sortable (worst first) and filterable.

use crate::app::command::{AppCommand, CommandQueue};
use crate::app::evaluation::format_score;
use crate::app::seg_app::SegApp;
use crate::app::settings::SortKey;

/// Rows to show, in display order: indices into `entries` after filter and sort.
pub fn visible_rows(app: &SegApp) -> Vec<usize> {
    let needle = app.state.filter.to_lowercase();
    let mut rows: Vec<usize> = app
        .state
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| needle.is_empty() || e.name.to_lowercase().contains(&needle))
        .map(|(i, _)| i)
        .collect();
    let score = |i: usize, dice: bool| {
        app.list_scores
            .by_entry
            .get(&app.state.entries[i].id)
            .and_then(|s| if dice { s.dice } else { s.iou })
    };
    // Unscored rows go last; ties keep dataset order.
    let key = |v: Option<f64>| v.unwrap_or(f64::INFINITY);
    match app.settings.sort {
        SortKey::Order => {}
        SortKey::Name => {
            rows.sort_by(|&a, &b| app.state.entries[a].name.cmp(&app.state.entries[b].name))
        }
        SortKey::DiceWorstFirst => {
            rows.sort_by(|&a, &b| key(score(a, true)).total_cmp(&key(score(b, true))))
        }
        SortKey::IouWorstFirst => {
            rows.sort_by(|&a, &b| key(score(a, false)).total_cmp(&key(score(b, false))))
        }
        SortKey::GtForeground => rows.sort_by(|&a, &b| {
            let f = |i: usize| {
                app.state.entries[i]
                    .gt_foreground_fraction
                    .map_or(f32::INFINITY, |v| v)
            };
            f(a).total_cmp(&f(b))
        }),
    }
    rows
}

/// Draw the dataset panel.
pub fn dataset_panel_ui(ui: &mut egui::Ui, app: &mut SegApp, commands: &mut CommandQueue) {
    ui.heading("dataset");
    match &app.state.dataset_path {
        Some(p) => ui.weak(p.display().to_string()),
        None => ui.weak("opening…"),
    };
    ui.horizontal(|ui| {
        ui.label("filter");
        ui.add(
            egui::TextEdit::singleline(&mut app.state.filter)
                .desired_width(140.0)
                .id_salt("dataset filter"),
        );
    });
    egui::ComboBox::from_label("sort")
        .selected_text(app.settings.sort.label())
        .show_ui(ui, |ui| {
            for k in SortKey::ALL {
                ui.selectable_value(&mut app.settings.sort, k, k.label());
            }
        });
    let n_warn = app
        .state
        .entries
        .iter()
        .filter(|e| !e.warnings.is_empty())
        .count();
    ui.label(format!(
        "{} images, {} with warnings",
        app.state.entries.len(),
        n_warn
    ));
    ui.separator();

    let rows = visible_rows(app);
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("dataset grid")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    ui.strong("name");
                    ui.strong("mod");
                    ui.strong("gt %");
                    ui.strong("iou");
                    ui.strong("dice");
                    ui.strong("");
                    ui.end_row();
                    for i in rows {
                        let e = &app.state.entries[i];
                        let selected = app.state.current == Some(i);
                        if ui.selectable_label(selected, &e.name).clicked() {
                            commands.push(AppCommand::Select(i));
                        }
                        ui.label(e.modality.label());
                        ui.label(
                            e.gt_foreground_fraction
                                .map_or("–".to_owned(), |f| format!("{:.1}", 100.0 * f)),
                        );
                        let s = app.list_scores.by_entry.get(&e.id);
                        ui.label(s.map_or("–".to_owned(), |s| format_score(s.iou)));
                        ui.label(s.map_or("–".to_owned(), |s| format_score(s.dice)));
                        if e.warnings.is_empty() {
                            ui.label("");
                        } else {
                            ui.colored_label(ui.visuals().warn_fg_color, "!")
                                .on_hover_text(e.warnings.join("\n"));
                        }
                        ui.end_row();
                    }
                });
            if let Some(e) = app.state.current.and_then(|i| app.state.entries.get(i)) {
                for w in &e.warnings {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!("warning, {}: {w}", e.name),
                    );
                }
            }
        });
}
