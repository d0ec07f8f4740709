//! Non-blocking notifications (toasts) fed by job warnings and errors. Each message is
//! shown once, bottom right, for a few seconds or until closed.

/// How bad a notification is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Something finished.
    Info,
    /// A recoverable problem.
    Warning,
    /// A failed operation.
    Error,
}

/// One toast.
#[derive(Clone, Debug)]
pub struct Toast {
    /// Severity.
    pub level: Level,
    /// Message.
    pub text: String,
    shown_at: Option<f64>,
}

/// Seconds a toast stays up.
pub const TOAST_SECONDS: f64 = 8.0;

/// The toast list.
#[derive(Clone, Debug, Default)]
pub struct Notifications {
    /// Toasts, oldest first.
    pub toasts: Vec<Toast>,
}

impl Notifications {
    /// Add a toast.
    pub fn push(&mut self, level: Level, text: impl Into<String>) {
        self.toasts.push(Toast {
            level,
            text: text.into(),
            shown_at: None,
        });
        if self.toasts.len() > 6 {
            self.toasts.remove(0);
        }
    }

    /// Draw the toasts and expire old ones.
    pub fn ui(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        self.toasts
            .retain(|t| t.shown_at.is_none_or(|s| now - s < TOAST_SECONDS));
        if self.toasts.is_empty() {
            return;
        }
        ctx.request_repaint_after(std::time::Duration::from_millis(500));
        let mut close = None;
        egui::Area::new(egui::Id::unique("seglens notifications"))
            .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -36.0))
            .show(ctx, |ui| {
                for (i, t) in self.toasts.iter_mut().enumerate() {
                    t.shown_at.get_or_insert(now);
                    let color = match t.level {
                        Level::Info => ui.visuals().text_color(),
                        Level::Warning => ui.visuals().warn_fg_color,
                        Level::Error => ui.visuals().error_fg_color,
                    };
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.set_max_width(360.0);
                        ui.horizontal(|ui| {
                            ui.colored_label(color, &t.text);
                            if ui.small_button("×").on_hover_text("close").clicked() {
                                close = Some(i);
                            }
                        });
                    });
                }
            });
        if let Some(i) = close {
            self.toasts.remove(i);
        }
    }
}
