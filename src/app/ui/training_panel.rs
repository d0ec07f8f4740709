//! The training panel: settings (the reference recipe pre-filled), a plan before the
//! start, the running session's controls and progress, live curves (egui_plot) and the
//! runs on disk. It draws [`TrainingState`] and pushes commands; it runs nothing.

use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints, Points, VLine};

use crate::app::command::{AppCommand, CommandQueue};
use crate::app::seg_app::SegApp;
use crate::app::training::curves::LiveCurves;
use crate::app::training::session::{SessionStatus, TrainingSession};
use crate::app::training::{TrainingCommand, TrainingState};
use crate::backend::BackendRequest;
use crate::convention::Normalisation;
use crate::model::Variant;
use crate::train::AugmentationSet;
use crate::train::setup::OptimizerChoice;

fn push(commands: &mut CommandQueue, cmd: TrainingCommand) {
    commands.push(AppCommand::Training(cmd));
}

/// "1h 02m", "3m 05s", "12s".
pub fn format_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "–".into();
    }
    let s = secs.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Draw the panel.
pub fn training_panel_ui(ui: &mut egui::Ui, app: &mut SegApp, commands: &mut CommandQueue) {
    let dataset = app.state.dataset_path.clone();
    let t = &mut app.training;
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::CollapsingHeader::new("settings")
            .default_open(true)
            .show(ui, |ui| settings_ui(ui, t, dataset.as_deref(), commands));
        ui.separator();
        session_ui(ui, t, commands);
        ui.separator();
        curves_ui(ui, t);
        ui.separator();
        egui::CollapsingHeader::new("runs")
            .default_open(true)
            .show(ui, |ui| runs_ui(ui, t, commands));
    });
}

fn settings_ui(
    ui: &mut egui::Ui,
    t: &mut TrainingState,
    open_dataset: Option<&std::path::Path>,
    commands: &mut CommandQueue,
) {
    let f = &mut t.form;
    ui.label("datasets (several = MIX)");
    let mut remove = None;
    for (i, d) in f.datasets.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui
                .small_button("remove")
                .on_hover_text("remove this dataset")
                .clicked()
            {
                remove = Some(i);
            }
            ui.monospace(d.display().to_string());
        });
    }
    if let Some(i) = remove {
        f.datasets.remove(i);
    }
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut f.dataset_input)
                .hint_text("dataset folder")
                .desired_width(260.0),
        );
        if ui.button("add").clicked() && !f.dataset_input.trim().is_empty() {
            f.add_dataset(f.dataset_input.trim().into());
            f.dataset_input.clear();
        }
        if let Some(p) = open_dataset
            && ui
                .add_enabled(
                    !f.datasets.iter().any(|d| d == p),
                    egui::Button::new("add open dataset"),
                )
                .clicked()
        {
            f.add_dataset(p.to_path_buf());
        }
    });
    egui::Grid::new("training settings")
        .num_columns(4)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            ui.label("variant");
            egui::ComboBox::from_id_salt("variant")
                .selected_text(f.variant.paper_name())
                .show_ui(ui, |ui| {
                    for v in Variant::ALL {
                        ui.selectable_value(&mut f.variant, v, v.paper_name());
                    }
                });
            ui.label("image size");
            ui.add(
                egui::DragValue::new(&mut f.size)
                    .range(16..=1024)
                    .speed(16.0),
            );
            ui.end_row();
            ui.label("epochs");
            ui.add(egui::DragValue::new(&mut f.epochs).range(1..=10_000));
            ui.label("batch size");
            ui.add(egui::DragValue::new(&mut f.batch_size).range(1..=256));
            ui.end_row();
            ui.label("optimiser");
            let before = f.optimizer;
            egui::ComboBox::from_id_salt("optimiser")
                .selected_text(if f.optimizer == OptimizerChoice::Sgd {
                    "SGD (recipe)"
                } else {
                    "AdamW"
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut f.optimizer, OptimizerChoice::Sgd, "SGD (recipe)");
                    ui.selectable_value(&mut f.optimizer, OptimizerChoice::Adamw, "AdamW");
                });
            if f.optimizer != before {
                f.lr = f.optimizer.default_lr();
            }
            ui.label("learning rate");
            ui.add(
                egui::DragValue::new(&mut f.lr)
                    .range(1e-6..=1.0)
                    .speed(1e-4)
                    .max_decimals(6),
            );
            ui.end_row();
            ui.label("validation");
            ui.add(egui::Slider::new(&mut f.val_fraction, 0.05..=0.5).fixed_decimals(2));
            ui.label("test");
            ui.add(egui::Slider::new(&mut f.test_fraction, 0.0..=0.4).fixed_decimals(2));
            ui.end_row();
            ui.label("seed");
            ui.add(egui::DragValue::new(&mut f.seed));
            ui.label("device");
            egui::ComboBox::from_id_salt("training device")
                .selected_text(device_label(f.device))
                .show_ui(ui, |ui| {
                    for d in [
                        BackendRequest::Auto,
                        BackendRequest::Cpu,
                        BackendRequest::Wgpu,
                    ] {
                        ui.selectable_value(&mut f.device, d, device_label(d));
                    }
                });
            ui.end_row();
            ui.label("normalisation");
            egui::ComboBox::from_id_salt("training normalisation")
                .selected_text(normalisation_label(f.normalisation))
                .show_ui(ui, |ui| {
                    for n in [
                        Normalisation::ImageNet,
                        Normalisation::PerImage,
                        Normalisation::Unit,
                        Normalisation::Reference,
                    ] {
                        ui.selectable_value(&mut f.normalisation, n, normalisation_label(n));
                    }
                });
            ui.label("augmentation");
            ui.add_enabled_ui(f.augment, |ui| {
                egui::ComboBox::from_id_salt("training augmentation")
                    .selected_text(f.augmentation.label())
                    .show_ui(ui, |ui| {
                        for a in [AugmentationSet::Recipe, AugmentationSet::Extended] {
                            ui.selectable_value(&mut f.augmentation, a, a.label());
                        }
                    });
            });
            ui.end_row();
            ui.checkbox(&mut f.augment, "augment");
            ui.checkbox(&mut f.group_by_patient, "split by patient");
            ui.label("checkpoint every");
            ui.add(
                egui::DragValue::new(&mut f.save_every)
                    .range(0..=100_000)
                    .suffix(" steps"),
            );
            ui.end_row();
            ui.label("start from");
            ui.add(
                egui::TextEdit::singleline(&mut f.init_weights)
                    .hint_text("seeded random weights")
                    .desired_width(160.0),
            )
            .on_hover_text(
                "fine-tune: a checkpoint (e.g. a bundled model's .safetensors) of this variant, \
                 trained with this normalisation; its path and SHA-256 go into config.json",
            );
            ui.end_row();
            ui.label("run name");
            ui.add(
                egui::TextEdit::singleline(&mut f.run_name)
                    .hint_text("generated")
                    .desired_width(160.0),
            );
            ui.checkbox(&mut f.single_step, "single-step")
                .on_hover_text("each step waits for the step button (debugging)");
            ui.end_row();
        });
    ui.horizontal(|ui| {
        ui.weak(format!("runs folder: {}", t.runs_root.display()));
    });
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!t.planning, egui::Button::new("estimate"))
            .on_hover_text("split counts and a step timed on the first batch")
            .clicked()
        {
            push(commands, TrainingCommand::Plan);
        }
        if t.planning {
            ui.spinner();
        }
        let problem = t.form.problem();
        let can_start = problem.is_none() && !t.is_training();
        if ui
            .add_enabled(can_start, egui::Button::new("start"))
            .on_disabled_hover_text(problem.unwrap_or_else(|| "a run is going".into()))
            .clicked()
        {
            push(commands, TrainingCommand::Start);
        }
    });
    match &t.plan {
        Some(Ok(p)) => {
            let sets = format!("{} train / {} val / {} test pairs", p.train, p.val, p.test);
            let data: Vec<String> = p
                .datasets
                .iter()
                .map(|(n, k)| format!("{n} ({k})"))
                .collect();
            ui.label(format!("{sets} from {}", data.join(" + ")));
            ui.label(format!(
                "{} steps per epoch, {} steps; {:.2} s per step measured, about {} of training (validation adds to it) on {}",
                p.steps_per_epoch,
                p.total_steps,
                p.seconds_per_step,
                format_duration(p.estimated_seconds()),
                p.device
            ));
        }
        Some(Err(why)) => {
            ui.colored_label(ui.visuals().error_fg_color, why);
        }
        None => {}
    }
}

fn normalisation_label(n: Normalisation) -> &'static str {
    match n {
        Normalisation::ImageNet => "ImageNet mean/sd",
        Normalisation::PerImage => "per image (MR)",
        Normalisation::Unit => "[0, 1]",
        Normalisation::Reference => "reference script (BGR, /255 twice)",
    }
}

fn device_label(d: BackendRequest) -> &'static str {
    match d {
        BackendRequest::Auto => "auto (GPU if real, else CPU)",
        BackendRequest::Cpu => "CPU",
        BackendRequest::Wgpu => "GPU (wgpu)",
    }
}

fn session_ui(ui: &mut egui::Ui, t: &TrainingState, commands: &mut CommandQueue) {
    let Some(s) = &t.session else {
        ui.weak("no run started in this window");
        return;
    };
    ui.horizontal(|ui| {
        ui.strong(
            s.run_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        ui.label(format!("status: {}", s.status.label()));
    });
    progress_ui(ui, s);
    ui.horizontal(|ui| {
        let active = s.is_active();
        let paused = s.status == SessionStatus::Paused;
        if ui
            .add_enabled(active && !paused, egui::Button::new("pause"))
            .clicked()
        {
            push(commands, TrainingCommand::Pause);
        }
        if ui
            .add_enabled(active && paused, egui::Button::new("continue"))
            .clicked()
        {
            push(commands, TrainingCommand::Continue);
        }
        if ui
            .add_enabled(active && t.form.single_step, egui::Button::new("step"))
            .on_disabled_hover_text("tick single-step before starting to step through a run")
            .clicked()
        {
            push(commands, TrainingCommand::Step);
        }
        if ui
            .add_enabled(active, egui::Button::new("stop"))
            .on_hover_text("stops after this step and saves a resumable checkpoint")
            .clicked()
        {
            push(commands, TrainingCommand::Cancel);
        }
        let resumable = !active
            && matches!(
                s.status,
                SessionStatus::Stopped { .. } | SessionStatus::Failed(_)
            );
        if ui
            .add_enabled(resumable, egui::Button::new("resume run"))
            .clicked()
        {
            push(commands, TrainingCommand::Resume(s.run_dir.clone()));
        }
        if let Some(best) = &s.best_checkpoint
            && ui
                .button("view best model")
                .on_hover_text("open the best checkpoint so far in the viewer")
                .clicked()
        {
            push(commands, TrainingCommand::UseModel(best.clone()));
        }
    });
    if !s.device.is_empty() {
        ui.weak(format!("on {}", s.device));
    }
}

fn progress_ui(ui: &mut egui::Ui, s: &TrainingSession) {
    let Some(p) = s.progress else { return };
    let frac = if p.total == 0 {
        0.0
    } else {
        p.done as f32 / p.total as f32
    };
    let text = format!(
        "epoch {} · step {}/{} · {:.1} img/s · ETA {}",
        p.epoch + 1,
        p.done,
        p.total,
        p.images_per_sec,
        format_duration(p.eta_secs)
    );
    ui.add(egui::ProgressBar::new(frac).text(text));
}

/// Names of the plotted series, in order (tests look them up).
pub const SERIES: [&str; 6] = [
    "train loss",
    "train loss (smoothed)",
    "val loss",
    "val IoU",
    "val F1 (Dice)",
    "learning rate",
];

fn curves_ui(ui: &mut egui::Ui, t: &TrainingState) {
    let Some(c) = t.curves() else {
        ui.weak("curves appear when a run starts, or open a run below");
        return;
    };
    let compare = t.compare.as_ref();
    let height = 150.0;
    ui.label("loss per step");
    Plot::new("training loss")
        .legend(Legend::default())
        .height(height)
        .x_axis_label("step")
        .show(ui, |plot| {
            plot.line(
                Line::new(SERIES[0], PlotPoints::from(c.loss.clone()))
                    .color(egui::Color32::from_gray(150))
                    .width(1.0),
            );
            plot.line(Line::new(SERIES[1], PlotPoints::from(c.smoothed_loss())).width(2.0));
            plot.points(
                Points::new(SERIES[2], PlotPoints::from(c.val_loss_on_steps())).radius(3.5),
            );
            if let Some((name, other)) = compare {
                plot.line(
                    Line::new(
                        format!("{name}: train loss (smoothed)"),
                        PlotPoints::from(other.smoothed_loss()),
                    )
                    .style(LineStyle::dashed_loose()),
                );
            }
        });
    ui.label("validation per epoch (pooled, threshold 0.5)");
    Plot::new("validation metrics")
        .legend(Legend::default())
        .height(height)
        .x_axis_label("epoch")
        .include_y(0.0)
        .include_y(1.0)
        .show(ui, |plot| {
            plot.line(Line::new(
                SERIES[3],
                PlotPoints::from(c.epoch_series(|e| e.val_iou)),
            ));
            plot.line(Line::new(
                SERIES[4],
                PlotPoints::from(c.epoch_series(|e| e.val_dice)),
            ));
            // A MIX: each dataset's own IoU, which its best epoch is chosen on (their mean).
            for (name, series) in c.per_dataset_series() {
                plot.line(
                    Line::new(format!("val IoU, {name}"), PlotPoints::from(series))
                        .style(LineStyle::dotted_dense()),
                );
            }
            if let Some(best) = c.best_epoch {
                plot.vline(
                    VLine::new(format!("best epoch {}", best + 1), (best + 1) as f64)
                        .style(LineStyle::dashed_dense()),
                );
            }
            if let Some((name, other)) = compare {
                plot.line(
                    Line::new(
                        format!("{name}: val IoU"),
                        PlotPoints::from(other.epoch_series(|e| e.val_iou)),
                    )
                    .style(LineStyle::dashed_loose()),
                );
                plot.line(
                    Line::new(
                        format!("{name}: val F1 (Dice)"),
                        PlotPoints::from(other.epoch_series(|e| e.val_dice)),
                    )
                    .style(LineStyle::dashed_loose()),
                );
            }
        });
    ui.label("learning rate");
    Plot::new("learning rate")
        .height(height * 0.6)
        .x_axis_label("step")
        .show(ui, |plot| {
            plot.line(Line::new(SERIES[5], PlotPoints::from(c.lr.clone())));
        });
}

fn best_text(c: &LiveCurves) -> String {
    c.best_epoch
        .and_then(|b| c.epochs.iter().find(|e| e.epoch == b))
        .map_or("–".into(), |e| {
            if e.val_iou_per_dataset.is_empty() {
                format!("{} ({:.3})", e.epoch + 1, e.val_iou)
            } else {
                format!(
                    "{} (mean of datasets' IoU {:.3})",
                    e.epoch + 1,
                    e.selection_score()
                )
            }
        })
}

fn runs_ui(ui: &mut egui::Ui, t: &TrainingState, commands: &mut CommandQueue) {
    ui.horizontal(|ui| {
        if ui.button("refresh runs").clicked() {
            push(commands, TrainingCommand::RefreshRuns);
        }
        if let Some((name, c)) = &t.compare {
            ui.label(format!("overlaid: {name} (best {})", best_text(c)));
            if ui.small_button("clear overlay").clicked() {
                push(commands, TrainingCommand::Compare(None));
            }
        }
    });
    if t.runs.is_empty() {
        ui.weak(format!("no runs in {}", t.runs_root.display()));
        return;
    }
    let active = t.session_dir().filter(|_| t.is_training());
    egui::Grid::new("runs list")
        .striped(true)
        .num_columns(6)
        .show(ui, |ui| {
            for h in ["run", "status", "best epoch (val IoU)", "test Dice", "", ""] {
                ui.strong(h);
            }
            ui.end_row();
            for r in &t.runs {
                ui.label(&r.name);
                ui.label(r.status());
                ui.label(
                    r.best()
                        .map_or("–".into(), |(e, iou)| format!("{} ({iou:.3})", e + 1)),
                );
                ui.label(r.test_dice.map_or("–".into(), |d| format!("{d:.3}")));
                ui.horizontal(|ui| {
                    if ui.small_button("curves").clicked() {
                        push(commands, TrainingCommand::ShowRun(r.dir.clone()));
                    }
                    if ui.small_button("overlay").clicked() {
                        push(commands, TrainingCommand::Compare(Some(r.dir.clone())));
                    }
                });
                ui.horizontal(|ui| {
                    let finished = r.state.as_ref().is_some_and(|s| s.finished);
                    if !finished
                        && active != Some(r.dir.as_path())
                        && ui.small_button("resume").clicked()
                    {
                        push(commands, TrainingCommand::Resume(r.dir.clone()));
                    }
                    if r.has_best && ui.small_button("open model").clicked() {
                        push(commands, TrainingCommand::UseModel(r.best_checkpoint()));
                    }
                });
                ui.end_row();
            }
        });
}
