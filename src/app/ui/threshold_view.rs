//! Threshold view: Dice/IoU/precision/recall against the threshold for the current
//! image and the dataset (egui_plot), the stable band shaded, the slider value marked;
//! and a reliability diagram. All values from `crate::metrics` sweeps.

use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoints, Points, Span, VLine};

use crate::app::evaluation::format_score;
use crate::app::seg_app::SegApp;
use crate::metrics::{
    Metric, STABLE_BAND_TOLERANCE, best_threshold, stable_band, sweep_thresholds,
};

const METRICS: [(Metric, &str); 4] = [
    (Metric::Dice, "dice"),
    (Metric::Iou, "iou"),
    (Metric::Precision, "precision"),
    (Metric::Recall, "recall"),
];

/// Draw the threshold view.
pub fn threshold_view_ui(ui: &mut egui::Ui, app: &mut SegApp) {
    let ts = sweep_thresholds();
    let image = app.current_eval();
    let dataset = app.dataset_eval.eval.clone();
    if image.is_none() && dataset.is_none() {
        ui.weak("run inference on images with a ground truth to see threshold curves");
        return;
    }
    // Stable band: the dataset's when there is one, else the image's.
    let band = match (&dataset, &image) {
        (Some(d), _) => d.sweep.band,
        (None, Some(e)) => {
            let dice: [Option<f64>; 19] = std::array::from_fn(|k| e.scores_at(k).dice);
            best_threshold(&dice).and_then(|b| stable_band(&dice, b.index, STABLE_BAND_TOLERANCE))
        }
        _ => None,
    };
    if let Some(b) = band {
        ui.label(format!(
            "stable band {:.2}–{:.2} (dice within {} of the best)",
            b.lo, b.hi, b.tolerance
        ));
    }
    if let Some(d) = &dataset {
        ui.weak(format!("dataset: {} images, pooled scores", d.n_images));
    }
    let threshold = app.settings.threshold;
    let colors = [
        egui::Color32::from_rgb(230, 160, 40),
        egui::Color32::from_rgb(90, 170, 255),
        egui::Color32::from_rgb(120, 210, 120),
        egui::Color32::from_rgb(220, 100, 180),
    ];
    ui.columns(2, |cols| {
        Plot::new("threshold curves")
            .legend(Legend::default())
            .height(280.0)
            .include_x(0.0)
            .include_x(1.0)
            .include_y(0.0)
            .include_y(1.0)
            .x_axis_label("threshold")
            .show(&mut cols[0], |plot| {
                if let Some(b) = band {
                    plot.span(Span::new("stable band", f64::from(b.lo)..=f64::from(b.hi)));
                }
                for (k, (metric, name)) in METRICS.iter().enumerate() {
                    if let Some(e) = &image {
                        let pts: Vec<[f64; 2]> = (0..19)
                            .filter_map(|i| {
                                e.scores_at(i).get(*metric).map(|v| [f64::from(ts[i]), v])
                            })
                            .collect();
                        plot.line(
                            Line::new(format!("{name} (image)"), PlotPoints::from(pts))
                                .color(colors[k]),
                        );
                    }
                    if let Some(d) = &dataset {
                        let pts: Vec<[f64; 2]> = d
                            .sweep
                            .per_threshold
                            .iter()
                            .filter_map(|t| {
                                t.pooled.get(*metric).map(|v| [f64::from(t.threshold), v])
                            })
                            .collect();
                        plot.line(
                            Line::new(format!("{name} (dataset)"), PlotPoints::from(pts))
                                .color(colors[k])
                                .style(LineStyle::dashed_loose()),
                        );
                    }
                }
                plot.vline(VLine::new(
                    format!("threshold {threshold:.2}"),
                    f64::from(threshold),
                ));
            });
        Plot::new("reliability diagram")
            .legend(Legend::default())
            .height(280.0)
            .data_aspect(1.0)
            .include_x(0.0)
            .include_x(1.0)
            .include_y(0.0)
            .include_y(1.0)
            .x_axis_label("mean confidence")
            .y_axis_label("foreground frequency")
            .show(&mut cols[1], |plot| {
                plot.line(
                    Line::new(
                        "perfect calibration",
                        PlotPoints::from(vec![[0.0, 0.0], [1.0, 1.0]]),
                    )
                    .color(egui::Color32::GRAY),
                );
                if let Some(e) = &image {
                    let r = e.calibration.report();
                    let pts: Vec<[f64; 2]> = r
                        .bins
                        .iter()
                        .filter_map(|b| Some([b.mean_confidence?, b.foreground_frequency?]))
                        .collect();
                    plot.line(
                        Line::new(
                            format!("image (ece {})", format_score(r.ece)),
                            PlotPoints::from(pts.clone()),
                        )
                        .color(colors[1]),
                    );
                    plot.points(
                        Points::new("image bins", PlotPoints::from(pts))
                            .radius(3.0)
                            .color(colors[1]),
                    );
                }
                if let Some(d) = &dataset {
                    let pts: Vec<[f64; 2]> = d
                        .calibration
                        .bins
                        .iter()
                        .filter_map(|b| Some([b.mean_confidence?, b.foreground_frequency?]))
                        .collect();
                    plot.line(
                        Line::new(
                            format!("dataset (ece {})", format_score(d.calibration.ece)),
                            PlotPoints::from(pts),
                        )
                        .color(colors[0])
                        .style(LineStyle::dashed_loose()),
                    );
                }
            });
    });
}
