//! Real-window smoke run and benchmark: starts the app on the demo, runs inference on
//! the current image, drags the threshold for a number of frames, saves a screenshot and
//! exits 0.
//!
//! ```sh
//! Xvfb :99 -screen 0 1600x1000x24 & DISPLAY=:99 cargo run --release --example smoke -- \
//!     --screenshot shot.png [--cpu] [--still] [--fake [--size 512]] [--frames 240]
//! ```
//! `--still` keeps the threshold fixed (baseline: the cost of drawing the window at all).
//! `--train` then measures the window while a training run goes in the background:
//! frame times with the training panel open, first idle, then while CMUNeXt-S trains on
//! the demo slices (64², batch 4), in the same run; the run is stopped at the end.
//! Prints: time from launch to the first image drawn, and frame times while the
//! threshold moves (mean, median, p95), and which overlay path was used.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seglens::app::command::{AppCommand, InferScope};
use seglens::app::{FakeBackend, FixedDialogs, SegApp};

#[derive(PartialEq)]
enum Phase {
    WaitImage,
    WaitPrediction,
    Drag(usize),
    /// Frames with the training panel open and nothing running (baseline).
    TrainIdle(usize),
    /// Waiting for the run's first step.
    TrainStart,
    /// Frames while the run trains.
    TrainBusy(usize),
    /// Waiting for the stopped run to save its checkpoint.
    TrainStop,
    Shot,
    Done,
}

struct Smoke {
    app: SegApp,
    launched: Instant,
    phase: Phase,
    frames: usize,
    last: Option<Instant>,
    frame_ms: Vec<f64>,
    screenshot: Option<String>,
    shot_done: Arc<Mutex<Option<Result<(), String>>>>,
    deadline: Instant,
    still: bool,
    train: bool,
    idle_ms: Vec<f64>,
    busy_ms: Vec<f64>,
    screenshot_requested: Option<()>,
    last_frame: Option<Instant>,
}

impl Smoke {
    /// Milliseconds since the previous call (frame-to-frame time).
    fn frame_ms_since(&mut self, now: Instant) -> f64 {
        let ms = self
            .last_frame
            .map_or(0.0, |l| (now - l).as_secs_f64() * 1e3);
        self.last_frame = Some(now);
        ms
    }

    fn after_drag(&mut self) -> Phase {
        if self.train {
            self.app.training.open = true;
            Phase::TrainIdle(0)
        } else {
            Phase::Shot
        }
    }

    fn start_training(&mut self) {
        use seglens::app::training::TrainingCommand;
        let t = &mut self.app.training;
        t.runs_root =
            std::env::temp_dir().join(format!("seglens-smoke-runs-{}", std::process::id()));
        t.form.size = 64;
        t.form.batch_size = 4;
        t.form.epochs = 50;
        t.form.test_fraction = 0.0;
        t.form.run_name = "smoke".into();
        if let Some(p) = self.app.state.dataset_path.clone() {
            t.form.add_dataset(p);
        }
        self.app
            .run_commands(vec![AppCommand::Training(TrainingCommand::Start)]);
    }
}

impl eframe::App for Smoke {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let now = Instant::now();
        let ctx = ui.ctx().clone();
        if let Phase::Drag(k) = self.phase {
            if let Some(last) = self.last {
                if k > 5 {
                    self.frame_ms.push((now - last).as_secs_f64() * 1e3);
                }
            }
            // Move the slider as a drag would: a new threshold every frame.
            if !self.still {
                let t = 0.1 + 0.8 * ((k % 90) as f32 / 90.0);
                self.app.settings.threshold = (t * 100.0).round() / 100.0;
            }
        }
        self.last = Some(now);
        self.app.ui(ui, frame);

        match self.phase {
            Phase::WaitImage => {
                if let Some(t) = self.app.timings.first_image {
                    println!(
                        "launch to first image: {:.0} ms",
                        (t - self.launched).as_secs_f64() * 1e3
                    );
                    println!(
                        "overlay path: {}",
                        if self.app.state.gpu_overlays {
                            "wgpu shader"
                        } else {
                            "cpu"
                        }
                    );
                    self.app
                        .run_commands(vec![AppCommand::RunInference(InferScope::Current)]);
                    self.phase = Phase::WaitPrediction;
                }
            }
            Phase::WaitPrediction => {
                if !self.app.caches.predictions.is_empty() && self.app.state.inference.is_none() {
                    self.phase = Phase::Drag(0);
                }
            }
            Phase::Drag(k) => {
                self.phase = if k + 1 >= self.frames {
                    self.after_drag()
                } else {
                    Phase::Drag(k + 1)
                };
                if self.phase != Phase::Drag(k + 1) {
                    report("threshold moving", &self.frame_ms);
                }
            }
            Phase::TrainIdle(k) => {
                let ms = self.frame_ms_since(now);
                if k > 5 {
                    self.idle_ms.push(ms);
                }
                self.phase = if k + 1 >= self.frames {
                    self.start_training();
                    Phase::TrainStart
                } else {
                    Phase::TrainIdle(k + 1)
                };
            }
            Phase::TrainStart => {
                let stepping = self
                    .app
                    .training
                    .session
                    .as_ref()
                    .is_some_and(|s| s.progress.is_some_and(|p| p.done > 0));
                let failed = self
                    .app
                    .training
                    .session
                    .as_ref()
                    .is_some_and(|s| !s.is_active());
                if failed {
                    eprintln!(
                        "training did not start: {:?}",
                        self.app.training.session.as_ref().map(|s| s.status.label())
                    );
                    std::process::exit(1);
                }
                if stepping {
                    self.phase = Phase::TrainBusy(0);
                }
            }
            Phase::TrainBusy(k) => {
                let ms = self.frame_ms_since(now);
                if k > 5 {
                    self.busy_ms.push(ms);
                }
                if k + 1 >= self.frames {
                    report("training panel open, idle", &self.idle_ms);
                    report("training panel open, training", &self.busy_ms);
                    if let Some(p) = self.app.training.session.as_ref().and_then(|s| s.progress) {
                        println!(
                            "training during the measurement: {} steps, {:.1} img/s",
                            p.done, p.images_per_sec
                        );
                    }
                    self.app.run_commands(vec![AppCommand::Training(
                        seglens::app::training::TrainingCommand::Cancel,
                    )]);
                    self.phase = Phase::TrainStop;
                } else {
                    self.phase = Phase::TrainBusy(k + 1);
                }
            }
            Phase::TrainStop => {
                if self
                    .app
                    .training
                    .session
                    .as_ref()
                    .is_none_or(|s| !s.is_active())
                {
                    let _ = std::fs::remove_dir_all(&self.app.training.runs_root);
                    self.phase = Phase::Shot;
                }
            }
            Phase::Shot if self.screenshot_requested.is_none() => {
                self.screenshot_requested = Some(());
                {
                    match self.screenshot.clone() {
                        Some(path) => {
                            let done = self.shot_done.clone();
                            let cb =
                                egui::ScreenshotCallback::new(move |img: Arc<egui::ColorImage>| {
                                    let [w, h] = img.size;
                                    let r = image::RgbaImage::from_raw(
                                        w as u32,
                                        h as u32,
                                        img.as_raw().to_vec(),
                                    )
                                    .ok_or_else(|| "bad screenshot buffer".to_owned())
                                    .and_then(|i| i.save(&path).map_err(|e| e.to_string()));
                                    if let Ok(mut d) = done.lock() {
                                        *d = Some(r);
                                    }
                                });
                            ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(cb));
                        }
                        None => self.phase = Phase::Done,
                    }
                }
            }
            Phase::Shot => {
                if let Some(r) = self.shot_done.lock().ok().and_then(|mut d| d.take()) {
                    match r {
                        Ok(()) => println!(
                            "screenshot saved: {}",
                            self.screenshot.as_deref().unwrap_or("")
                        ),
                        Err(e) => {
                            eprintln!("screenshot failed: {e}");
                            std::process::exit(2);
                        }
                    }
                    self.phase = Phase::Done;
                }
            }
            Phase::Done => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
        if Instant::now() > self.deadline {
            eprintln!(
                "smoke run timed out in phase {}",
                match self.phase {
                    Phase::WaitImage => "wait image",
                    Phase::WaitPrediction => "wait prediction",
                    Phase::Drag(_) => "drag",
                    Phase::TrainIdle(_)
                    | Phase::TrainStart
                    | Phase::TrainBusy(_)
                    | Phase::TrainStop => "training",
                    Phase::Shot => "screenshot",
                    Phase::Done => "done",
                }
            );
            std::process::exit(1);
        }
        ctx.request_repaint();
    }
}

fn report(what: &str, ms: &[f64]) {
    if ms.is_empty() {
        println!("{what}: no frame times");
        return;
    }
    let mut s = ms.to_vec();
    s.sort_by(f64::total_cmp);
    let mean = s.iter().sum::<f64>() / s.len() as f64;
    let p = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    println!(
        "frame time, {what} ({} frames): mean {mean:.2} ms, median {:.2} ms, p95 {:.2} ms",
        s.len(),
        p(0.5),
        p(0.95)
    );
}

fn main() -> eframe::Result<()> {
    let launched = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let flag = |name: &str| args.iter().any(|a| a == name);
    let size: u32 = arg("--size").and_then(|s| s.parse().ok()).unwrap_or(512);
    let frames: usize = arg("--frames").and_then(|s| s.parse().ok()).unwrap_or(240);
    let screenshot = arg("--screenshot");
    let cpu = flag("--cpu");
    let still = flag("--still");
    let train = flag("--train");
    let mut options = seglens::app::native_options();
    options.persist_window = false;
    options.wgpu_options.surface.present_mode = egui_wgpu::wgpu::PresentMode::AutoNoVsync;
    options.viewport = options.viewport.with_inner_size([1280.0, 800.0]);
    // The real engine on the bundled demo by default; `--fake` uses synthetic images.
    let backend: Arc<dyn seglens::app::AppBackend> = if flag("--fake") {
        Arc::new(FakeBackend::new(size))
    } else {
        Arc::new(seglens::app::real_backend::RealBackend::new(
            seglens::backend::BackendRequest::Auto,
        ))
    };
    eframe::run_native(
        "seglens-smoke",
        options,
        Box::new(move |cc| {
            let mut app = SegApp::new(cc, backend, Arc::new(FixedDialogs::default()));
            app.settings = Default::default();
            app.settings.prefer_gpu = !cpu;
            app.settings.overlays.heatmap.visible = true;
            Ok(Box::new(Smoke {
                app,
                launched,
                phase: Phase::WaitImage,
                frames,
                last: None,
                frame_ms: Vec::new(),
                screenshot,
                shot_done: Arc::new(Mutex::new(None)),
                deadline: Instant::now() + Duration::from_secs(if train { 600 } else { 120 }),
                still,
                train,
                idle_ms: Vec::new(),
                busy_ms: Vec::new(),
                screenshot_requested: None,
                last_frame: None,
            }))
        }),
    )
}
