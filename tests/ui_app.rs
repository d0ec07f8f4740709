//! egui_kittest tests driving the real `SegApp` on the `FakeBackend`.
//!
//! Jobs run on real threads; `SegApp::settle` joins them and applies their events, so
//! every step is deterministic: act → settle → run frames → assert.

use std::path::PathBuf;
use std::sync::Arc;

use egui::Key;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use seglens::app::backend::{FakeBackend, ModelId};
use seglens::app::evaluation::POLICY;
use seglens::app::ui::dataset_panel::visible_rows;
use seglens::app::ui::tools_panel::metric_lines;
use seglens::app::{FixedDialogs, SegApp};
use seglens::metrics::OverlapScores;

fn harness_with(backend: FakeBackend, dialogs: FixedDialogs) -> Harness<'static, SegApp> {
    let mut h = Harness::builder()
        .with_size([1400.0, 900.0])
        .with_max_steps(50)
        .with_accessibility_check(false)
        .build_eframe(move |cc| SegApp::new(cc, Arc::new(backend), Arc::new(dialogs)));
    settle(&mut h);
    h
}

fn harness() -> Harness<'static, SegApp> {
    harness_with(FakeBackend::default(), FixedDialogs::default())
}

/// Join every job, apply events, draw until quiet; twice, since a frame may start jobs.
fn settle(h: &mut Harness<'static, SegApp>) {
    for _ in 0..3 {
        h.state_mut().settle();
        h.run();
    }
}

fn expected_scores(entry: usize, model: &str, threshold: f32) -> OverlapScores {
    let b = FakeBackend::default();
    let p = b.probabilities(&ModelId(model.to_owned()), entry);
    let gt = b.gt_mask(entry);
    OverlapScores::from_probabilities(&p, threshold, &gt.data, POLICY).expect("same size")
}

#[test]
fn starts_on_the_demo_and_shows_the_device_notice() {
    let h = harness();
    assert_eq!(h.state().state.entries.len(), 6);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "demo_000.png");
    h.get_by_label("device: CPU (fake backend, no model)");
    h.get_by_label("no prediction yet");
    assert!(h.state().timings.first_image.is_some(), "first image drawn");
}

#[test]
fn inference_then_threshold_slider_updates_metrics() {
    let mut h = harness();
    h.get_by_label("run on dataset").click();
    settle(&mut h);
    assert_eq!(
        h.state().caches.predictions.len(),
        6,
        "every entry predicted"
    );
    assert!(h.state().state.inference.is_none(), "job finished");

    for t in [0.5f32, 0.3, 0.82] {
        h.get_by_role_and_label(egui::accesskit::Role::Slider, "threshold")
            .set_value_accesskit(f64::from(t));
        h.run();
        let shown = h.state().settings.threshold;
        assert!((shown - t).abs() < 1e-6, "slider moved to {t}, got {shown}");
        let expected = expected_scores(0, "fake-sharp", shown);
        for line in metric_lines(&expected) {
            h.get_by_label(&line);
        }
        assert_eq!(h.state_mut().current_scores(), Some(expected));
    }
    // The keyboard moves the slider by its step too.
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "threshold")
        .focus();
    h.run();
    h.key_press(Key::ArrowRight);
    h.run();
    let t = h.state().settings.threshold;
    assert!((t - 0.83).abs() < 1e-4, "arrow key stepped to {t}");
    for line in metric_lines(&expected_scores(0, "fake-sharp", t)) {
        h.get_by_label(&line);
    }
}

#[test]
fn flip_tta_clears_the_predictions_and_reaches_the_backend() {
    let mut h = harness();
    h.get_by_label("run on dataset").click();
    settle(&mut h);
    assert_eq!(h.state().caches.predictions.len(), 6);
    h.get_by_label("flip TTA").click();
    settle(&mut h);
    assert!(h.state().settings.tta);
    assert!(
        h.state().caches.predictions.is_empty(),
        "maps made without TTA are not shown under it"
    );
    h.get_by_label("flip TTA on: predictions cleared, run inference again");
    h.get_by_label("run on dataset").click();
    settle(&mut h);
    assert_eq!(h.state().caches.predictions.len(), 6);
    // The fake backend's TTA is the mean of its map and the map's mirror image.
    let model = ModelId("fake-sharp".into());
    let entry = h.state().state.entries[0].id.clone();
    let shown = h.state().caches.predictions[&(model.clone(), entry)].clone();
    let plain = FakeBackend::default().probabilities(&model, 0);
    let n = shown.width as usize;
    for (i, p) in shown.probabilities.iter().enumerate() {
        let mirrored = plain[(i / n) * n + (n - 1 - i % n)];
        assert!((p - (plain[i] + mirrored) / 2.0).abs() < 1e-6, "pixel {i}");
    }
    assert_ne!(shown.probabilities, plain, "the map changed");
}

#[test]
fn dataset_list_sorts_worst_first_and_shows_warnings() {
    let mut h = harness();
    h.get_by_label("run on dataset").click();
    settle(&mut h);
    h.state_mut().settings.sort = seglens::app::settings::SortKey::DiceWorstFirst;
    h.run();
    let app = h.state();
    let rows = visible_rows(app);
    let dice: Vec<Option<f64>> = rows
        .iter()
        .map(|&i| {
            app.list_scores
                .by_entry
                .get(&app.state.entries[i].id)
                .and_then(|s| s.dice)
        })
        .collect();
    let scored: Vec<f64> = dice.iter().flatten().copied().collect();
    assert!(
        scored.windows(2).all(|w| w[0] <= w[1]),
        "worst first: {dice:?}"
    );
    // Unscored (no GT, or empty GT and empty prediction) rows come last.
    let first_none = dice.iter().position(Option::is_none).unwrap_or(dice.len());
    assert!(dice[first_none..].iter().all(Option::is_none));
    // The dataset list shows the scores from crate::metrics.
    let e = expected_scores(1, "fake-sharp", 0.5);
    h.get_by_label(&seglens::app::evaluation::format_score(e.dice));
    // Entry 3 has no mask: its warning is in the list.
    h.get_by_label("2 of 6 images have pairing or audit warnings")
        .hover();
}

#[test]
fn filter_narrows_the_list() {
    let mut h = harness();
    h.state_mut().state.filter = "_002".to_owned();
    h.run();
    assert_eq!(visible_rows(h.state()), vec![2]);
}

#[test]
fn overlay_toggles_change_settings_and_pixels() {
    let mut h = harness();
    h.get_by_label("run on image").click();
    settle(&mut h);
    let before = h.state().panes_rt[0]
        .cpu_texture
        .as_ref()
        .map(|t| t.2)
        .expect("cpu texture");
    for name in ["heatmap", "error map", "entropy"] {
        h.get_by_role_and_label(egui::accesskit::Role::CheckBox, name)
            .click();
        h.run();
    }
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "ground truth")
        .click();
    h.run();
    let o = h.state().settings.overlays;
    assert!(o.heatmap.visible && o.error.visible && o.entropy.visible && !o.gt.visible);
    let after = h.state().panes_rt[0]
        .cpu_texture
        .as_ref()
        .map(|t| t.2)
        .expect("cpu texture");
    assert_ne!(
        before.flags, after.flags,
        "the compositor got the new overlays"
    );
}

#[test]
fn side_by_side_panes_link_and_unlink() {
    let mut h = harness();
    h.get_by_label("run on dataset").click();
    settle(&mut h);
    h.get_by_label("3 panes").click();
    settle(&mut h);
    assert_eq!(h.state().state.panes.len(), 3);
    assert!(
        h.state().panes_rt.iter().take(3).all(|r| r.data.is_some()),
        "every pane has an image"
    );
    // Linked: every pane uses the global threshold.
    h.get_by_role_and_label(egui::accesskit::Role::Slider, "threshold")
        .set_value_accesskit(0.4);
    h.run();
    assert!((0..3).all(|k| (h.state().pane_threshold(k) - 0.4).abs() < 1e-6));
    // Unlinked: pane thresholds are their own and appear as sliders.
    h.get_by_label("link zoom, pan and threshold").click();
    h.run();
    let sliders = h
        .get_all_by_role_and_label(egui::accesskit::Role::Slider, "pane threshold")
        .count();
    assert_eq!(sliders, 2);
    h.state_mut().state.panes[1].threshold = 0.7;
    h.state_mut().state.panes[1].model = Some(ModelId("fake-soft".into()));
    h.run();
    let entry = h.state().state.pane_entry(1).expect("pane 1 entry");
    settle(&mut h);
    let expected = expected_scores(entry, "fake-soft", 0.7);
    // Pane 1's model was never run on that entry: no scores until it is.
    assert_eq!(h.state_mut().pane_scores(1), None);
    h.state_mut().settings.model = Some(ModelId("fake-soft".into()));
    h.get_by_label("run on dataset").click();
    settle(&mut h);
    assert_eq!(h.state_mut().pane_scores(1), Some(expected));
}

#[test]
fn open_folder_through_the_dialog_trait() {
    let dialogs = FixedDialogs {
        dataset: Some(PathBuf::from("fake://mri_study")),
        model: None,
    };
    let mut h = harness_with(FakeBackend::default(), dialogs);
    h.get_by_label("file").click();
    h.run();
    h.get_by_label("open folder…").click();
    settle(&mut h);
    assert_eq!(h.state().state.entries.len(), 4);
    h.get_by_role_and_label(egui::accesskit::Role::Button, "mri_study_000.png");
    assert_eq!(
        h.state().settings.recent.first(),
        Some(&PathBuf::from("fake://mri_study"))
    );
}

#[test]
fn open_errors_become_notifications() {
    let dialogs = FixedDialogs {
        dataset: Some(PathBuf::from("/missing/folder")),
        model: None,
    };
    let mut h = harness_with(FakeBackend::default(), dialogs);
    h.get_by_label("file").click();
    h.run();
    h.get_by_label("open folder…").click();
    settle(&mut h);
    h.get_by_label_contains("could not open");
    // The demo stays open.
    assert_eq!(h.state().state.entries.len(), 6);
}

#[test]
fn cancel_stops_a_dataset_run() {
    let mut backend = FakeBackend::default();
    backend.demo_entries = 6;
    backend.predict_delay = std::time::Duration::from_millis(300);
    let mut h = harness_with(backend, FixedDialogs::default());
    h.get_by_label("run on dataset").click();
    h.run();
    assert!(h.state().state.inference.is_some(), "progress shown");
    h.get_by_label("cancel").click();
    h.run(); // The click is applied in a frame; only then wait for the job.
    settle(&mut h);
    assert!(h.state().state.inference.is_none());
    assert!(
        h.state().caches.predictions.len() < 6,
        "cancelled before the end"
    );
    h.get_by_label("inference cancelled");
}

#[test]
fn about_window_has_the_research_notice() {
    let mut h = harness();
    h.get_by_label("about").click();
    h.run();
    h.get_by_label_contains("not for clinical use");
}

#[test]
fn threshold_view_opens_with_curves() {
    let mut h = harness();
    h.get_by_label("run on dataset").click();
    settle(&mut h);
    h.get_by_label("threshold view").click();
    h.run();
    h.get_by_label_contains("dice within");
    assert!(h.state().dataset_eval.eval.is_some());
}

#[test]
fn wgpu_harness_draws_through_the_shader() {
    let mut h = Harness::builder()
        .with_size([900.0, 600.0])
        .with_max_steps(50)
        .with_accessibility_check(false)
        .wgpu()
        .build_eframe(|cc| {
            SegApp::new(
                cc,
                Arc::new(FakeBackend::default()),
                Arc::new(FixedDialogs::default()),
            )
        });
    settle(&mut h);
    assert!(
        h.state().gpu_available(),
        "wgpu render state reached the app"
    );
    h.get_by_label("run on image").click();
    settle(&mut h);
    h.get_by_label("overlays: wgpu shader");
    let image = h.render().expect("render");
    assert_eq!(image.width(), 900);
}

#[test]
fn settings_round_trip_through_serde() {
    let mut s = seglens::app::settings::Settings::default();
    s.threshold = 0.37;
    s.remember(PathBuf::from("/data/a"));
    s.remember(PathBuf::from("/data/b"));
    s.remember(PathBuf::from("/data/a"));
    let json = serde_json::to_string(&s).expect("serialize");
    let back: seglens::app::settings::Settings = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, s);
    assert_eq!(
        back.recent,
        vec![PathBuf::from("/data/a"), PathBuf::from("/data/b")]
    );
    // Missing fields take defaults.
    let partial: seglens::app::settings::Settings =
        serde_json::from_str(r#"{"threshold":0.2}"#).expect("partial");
    assert_eq!(partial.threshold, 0.2);
    assert!(partial.linked_panes);
}

#[test]
fn wheel_zooms_and_drag_pans_the_viewer() {
    let mut h = harness();
    let p = egui::pos2(700.0, 450.0); // Inside the central viewer.
    h.hover_at(p);
    h.run();
    let fit_zoom = h.state().state.shared_view.zoom;
    h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, 120.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
    h.run();
    let v = h.state().state.shared_view;
    assert!(
        !v.fit && v.zoom > fit_zoom * 1.05,
        "zoomed in: {} → {}",
        fit_zoom,
        v.zoom
    );

    let c0 = v.center;
    h.drag_at(p);
    h.run();
    h.hover_at(p + egui::vec2(40.0, 20.0));
    h.run();
    h.drop_at(p + egui::vec2(40.0, 20.0));
    h.run();
    let v = h.state().state.shared_view;
    assert!(
        v.center.x < c0.x && v.center.y < c0.y,
        "dragging right/down moves the image right/down"
    );
    // The readout follows the pointer.
    h.hover_at(p);
    h.run();
    assert!(h.state().state.readout.is_some());
    h.get_by_label("fit").click();
    h.run();
    assert!(h.state().state.shared_view.fit);
}
