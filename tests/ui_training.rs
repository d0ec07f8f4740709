//! The training panel on the real engine: a short run on the bundled CT demo slices,
//! started from the panel and followed step by step (single-step mode, so nothing
//! depends on timing): curve points appear one per step and equal the emitted events
//! and the run's steps.csv; pause, continue, stop; resume from the checkpoint to the
//! end; the new model opens in the viewer and predicts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use seglens::app::backend::TrainEvent;
use seglens::app::real_backend::RealBackend;
use seglens::app::training::session::SessionStatus;
use seglens::app::{FixedDialogs, SegApp};
use seglens::backend::BackendRequest;

type H = Harness<'static, SegApp>;

fn settle(h: &mut H) {
    for _ in 0..3 {
        h.state_mut().settle();
        h.run();
    }
}

/// Draws frames until `done` holds (the app drains the run's events each frame).
fn frames_until(h: &mut H, what: &str, done: impl Fn(&SegApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        if start.elapsed() > Duration::from_secs(120) {
            let a = h.state();
            let s = a.training.session.as_ref();
            panic!(
                "timed out waiting for {what}: status {:?}, active {:?}, first event {:?}, {} events",
                s.map(|s| s.status.clone()),
                s.map(|s| s.is_active()),
                s.and_then(|s| s.received.first().cloned()),
                s.map_or(0, |s| s.received.len())
            );
        }
        std::thread::sleep(Duration::from_millis(5));
        h.step();
    }
    h.step();
}

fn received(app: &SegApp) -> &[TrainEvent] {
    app.training
        .session
        .as_ref()
        .map_or(&[], |s| s.received.as_slice())
}

fn steps_seen(app: &SegApp) -> usize {
    received(app)
        .iter()
        .filter(|e| matches!(e, TrainEvent::Step { .. }))
        .count()
}

/// (x, loss) of every Step event, as the plot should show them.
fn step_points(app: &SegApp) -> Vec<[f64; 2]> {
    received(app)
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Step { step, loss, .. } => Some([(step + 1) as f64, *loss]),
            _ => None,
        })
        .collect()
}

fn csv_losses(run: &std::path::Path) -> Vec<f64> {
    let text = std::fs::read_to_string(run.join("steps.csv")).expect("steps.csv");
    text.lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(2)
                .expect("loss column")
                .parse()
                .expect("a number")
        })
        .collect()
}

#[test]
fn panel_trains_pauses_stops_resumes_and_the_new_model_predicts() {
    let runs = std::env::temp_dir().join(format!("seglens-ui-training-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&runs);
    let mut h: H = Harness::builder()
        .with_size([1500.0, 1000.0])
        .with_max_steps(20)
        .with_accessibility_check(false)
        .build_eframe(|cc| {
            SegApp::new(
                cc,
                Arc::new(RealBackend::new(BackendRequest::Cpu)),
                Arc::new(FixedDialogs::default()),
            )
        });
    settle(&mut h);
    assert_eq!(
        h.state().state.entries.len(),
        6,
        "the bundled CT demo is open"
    );

    h.get_by_label("training").click_accesskit();
    h.run();
    {
        let t = &mut h.state_mut().training;
        assert!(t.open);
        assert_eq!(t.form.datasets.len(), 1, "the open dataset is pre-filled");
        assert!(t.form.datasets[0].ends_with("ct-lungs"));
        assert_eq!(
            (t.form.size, t.form.batch_size, t.form.lr),
            (256, 8, 0.01),
            "the recipe is pre-filled"
        );
        t.runs_root = runs.clone();
        t.form.size = 32;
        t.form.epochs = 3;
        t.form.batch_size = 2;
        t.form.test_fraction = 0.0;
        t.form.device = BackendRequest::Cpu;
        t.form.run_name = "ui-run".into();
        t.form.single_step = true;
    }
    h.run();

    h.get_by_label("estimate").click_accesskit();
    h.step();
    settle(&mut h);
    let plan = h
        .state()
        .training
        .plan
        .clone()
        .expect("a plan")
        .expect("planning works");
    assert_eq!(plan.train + plan.val, 6);
    let per_epoch = plan.train.div_ceil(2);
    assert_eq!(
        (plan.steps_per_epoch, plan.total_steps),
        (per_epoch, 3 * per_epoch)
    );
    assert!(plan.seconds_per_step > 0.0);

    h.get_by_label("start").click_accesskit();
    h.step();
    frames_until(&mut h, "the run to start", |a| {
        received(a)
            .iter()
            .any(|e| matches!(e, TrainEvent::Started { .. }))
    });
    let run_dir = runs.join("ui-run");
    assert_eq!(h.state().training.session_dir(), Some(run_dir.as_path()));
    assert!(
        h.state()
            .training
            .curves()
            .expect("session curves")
            .loss
            .is_empty(),
        "no step allowed yet"
    );

    // One step per click; the plotted loss grows by one point equal to the event.
    for k in 1..=per_epoch + 1 {
        h.get_by_label("step").click_accesskit();
        h.step();
        frames_until(&mut h, "a step", |a| steps_seen(a) == k);
        let curves = h.state().training.curves().expect("curves").clone();
        assert_eq!(curves.loss, step_points(h.state()), "after {k} steps");
        assert_eq!(curves.loss.len(), k);
        assert_eq!(curves.smoothed_loss().len(), k);
        if k == per_epoch {
            frames_until(&mut h, "the first epoch's validation", |a| {
                a.training.curves().is_some_and(|c| c.epochs.len() == 1)
            });
        }
    }
    let curves = h.state().training.curves().expect("curves").clone();
    assert_eq!(curves.epochs.len(), 1, "epoch 1 validated");
    assert_eq!(curves.best_epoch, Some(0));
    assert_eq!(curves.val_loss_on_steps()[0][0], per_epoch as f64);

    // Pause: the loop notices after the next step it is allowed.
    h.get_by_label("pause").click_accesskit();
    h.step();
    h.get_by_label("step").click_accesskit();
    frames_until(&mut h, "the pause", |a| {
        a.training
            .session
            .as_ref()
            .is_some_and(|s| s.status == SessionStatus::Paused)
    });
    let paused_at = steps_seen(h.state());
    h.get_by_label("continue").click_accesskit();
    frames_until(&mut h, "continue", |a| {
        received(a)
            .iter()
            .any(|e| matches!(e, TrainEvent::Continued))
    });
    assert_eq!(
        steps_seen(h.state()),
        paused_at,
        "still single-stepping: no step without a click"
    );

    // Stop: a resumable checkpoint at the next step.
    h.get_by_label("stop").click_accesskit();
    frames_until(&mut h, "the stop", |a| {
        a.training.session.as_ref().is_some_and(|s| !s.is_active())
    });
    let stopped_at = steps_seen(h.state());
    assert_eq!(
        h.state()
            .training
            .session
            .as_ref()
            .map(|s| s.status.clone()),
        Some(SessionStatus::Stopped {
            next_step: stopped_at
        })
    );
    assert_eq!(
        csv_losses(&run_dir),
        step_points(h.state())
            .iter()
            .map(|p| p[1])
            .collect::<Vec<_>>(),
        "the plot equals steps.csv"
    );

    // Resume from the checkpoint, no longer single-stepping, to the end.
    h.state_mut().training.form.single_step = false;
    h.step();
    h.get_by_label("resume run").click_accesskit();
    // The resumed session is the one whose first event starts at the stop's step.
    frames_until(&mut h, "the resumed run to finish", |a| {
        a.training.session.as_ref().is_some_and(|s| {
            !s.is_active() && matches!(s.received.first(), Some(TrainEvent::Started { start_step, .. }) if *start_step == stopped_at)
        })
    });
    let session = h.state().training.session.as_ref().expect("session");
    assert_eq!(
        session.status,
        SessionStatus::Finished,
        "{:?}",
        session.status
    );
    assert!(
        matches!(session.received.first(), Some(TrainEvent::Started { start_step, .. }) if *start_step == stopped_at)
    );
    let curves = session.curves.clone();
    assert_eq!(
        curves.loss.len(),
        3 * per_epoch,
        "earlier steps read back from the run, later ones from events"
    );
    assert_eq!(
        curves.loss.iter().map(|p| p[1]).collect::<Vec<_>>(),
        csv_losses(&run_dir)
    );
    assert_eq!(curves.epochs.len(), 3);
    let best: PathBuf = session.best_checkpoint.clone().expect("a best checkpoint");
    assert!(
        run_dir.join("report.json").is_file(),
        "a finished run is evaluated"
    );

    // The new model is opened and selected; inference with it works.
    settle(&mut h);
    let model = h
        .state()
        .state
        .models
        .iter()
        .find(|m| m.name == "ui-run/model_best")
        .cloned()
        .expect("the run's model is listed");
    assert_eq!(model.id.0, best.display().to_string());
    assert_eq!(
        h.state().global_model(),
        Some(model.id.clone()),
        "and selected"
    );
    h.get_by_label("run on image").click_accesskit();
    settle(&mut h);
    assert!(
        h.state()
            .caches
            .predictions
            .keys()
            .any(|(m, _)| m == &model.id),
        "the new model predicted"
    );

    // The runs list shows it, finished, with its test score absent (no test split).
    let runs_list = &h.state().training.runs;
    let listed = runs_list
        .iter()
        .find(|r| r.name == "ui-run")
        .expect("listed");
    assert_eq!(listed.status(), "finished");
    drop(h);
    let _ = std::fs::remove_dir_all(&runs);
}
