//! Mask editing in the window on the real engine, on a copy of the bundled CT demo:
//! paint with the brush through pointer events, undo and redo with the shortcuts, save
//! (atomic, previous version backed up), reopen the dataset and read the saved pixels;
//! and recovery: unsaved edits survive the app being dropped and are offered again.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use egui::{Key, Modifiers, PointerButton};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use seglens::app::command::AppCommand;
use seglens::app::real_backend::RealBackend;
use seglens::app::{FixedDialogs, SegApp};
use seglens::backend::BackendRequest;

type H = Harness<'static, SegApp>;

fn settle(h: &mut H) {
    for _ in 0..3 {
        h.state_mut().settle();
        h.run();
    }
}

/// A private copy of the bundled CT demo (the test writes masks into it).
fn demo_copy(tag: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/ct-lungs");
    let dst = std::env::temp_dir()
        .join(format!("seglens-annotate-{tag}-{}", std::process::id()))
        .join("ct-lungs");
    let _ = std::fs::remove_dir_all(dst.parent().unwrap());
    for sub in ["images", "masks"] {
        std::fs::create_dir_all(dst.join(sub)).unwrap();
        for f in std::fs::read_dir(src.join(sub)).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, dst.join(sub).join(f.file_name().unwrap())).unwrap();
        }
    }
    dst
}

fn open(dataset: &Path) -> H {
    let mut h: H = Harness::builder()
        .with_size([1400.0, 900.0])
        .with_max_steps(50)
        .with_accessibility_check(false)
        .build_eframe(|cc| {
            SegApp::new(
                cc,
                Arc::new(RealBackend::new(BackendRequest::Cpu)),
                Arc::new(FixedDialogs::default()),
            )
        });
    settle(&mut h);
    h.state_mut()
        .run_commands(vec![AppCommand::OpenPath(dataset.to_path_buf())]);
    settle(&mut h);
    assert_eq!(h.state().state.dataset_path.as_deref(), Some(dataset));
    h
}

/// The GT the app shows for entry 0 (the edited mask once edited).
fn shown_mask(h: &H) -> Vec<u8> {
    let id = &h.state().state.entries[0].id;
    h.state().caches.loaded[id]
        .gt
        .as_ref()
        .expect("a mask")
        .data
        .clone()
}

/// Screen position of image pixel (x, y)'s centre in pane 0.
fn screen_of(h: &H, x: f32, y: f32) -> egui::Pos2 {
    let (_, image_rect) = h.state().panes_rt[0].screen.expect("pane 0 drawn");
    let zoom = image_rect.width() / 512.0;
    image_rect.min + egui::vec2(x + 0.5, y + 0.5) * zoom
}

/// Drags the primary button from `a` to `b` (image pixels) in small moves.
fn brush_drag(h: &mut H, a: (f32, f32), b: (f32, f32)) {
    let start = screen_of(h, a.0, a.1);
    h.event(egui::Event::PointerMoved(start));
    h.step();
    h.event(egui::Event::PointerButton {
        pos: start,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    h.step();
    for k in 1..=10 {
        let t = k as f32 / 10.0;
        let p = screen_of(h, a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
        h.event(egui::Event::PointerMoved(p));
        h.step();
    }
    let end = screen_of(h, b.0, b.1);
    h.event(egui::Event::PointerButton {
        pos: end,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.step();
    h.run();
}

fn gray_pixels(path: &Path) -> Vec<u8> {
    image::open(path).expect("a PNG").to_luma8().into_raw()
}

/// Paints a stroke in the background corner and checks what changed.
fn paint(h: &mut H, original: &[u8]) -> Vec<u8> {
    h.get_by_label("edit mode (M)").click_accesskit();
    h.run();
    h.get_by_label("brush (B)").click_accesskit();
    h.run();
    h.state_mut().annotation.radius = 3.0;
    brush_drag(h, (20.0, 30.0), (60.0, 30.0));
    let painted = shown_mask(h);
    let changed: Vec<usize> = (0..painted.len())
        .filter(|&i| painted[i] != original[i])
        .collect();
    assert!(
        changed.len() > 100,
        "the stroke painted {} pixels",
        changed.len()
    );
    for &i in &changed {
        let (x, y) = (i % 512, i / 512);
        assert_eq!(
            (original[i], painted[i]),
            (0, 1),
            "the brush only adds foreground"
        );
        assert!(
            (14..=66).contains(&x) && (24..=36).contains(&y),
            "pixel ({x}, {y}) is off the stroke"
        );
    }
    painted
}

#[test]
fn paint_undo_redo_save_and_reopen() {
    let dataset = demo_copy("save");
    let mut h = open(&dataset);
    let mask_file = dataset
        .join("masks")
        .join(h.state().state.entries[0].name.clone());
    let original_bytes = std::fs::read(&mask_file).unwrap();
    let original = shown_mask(&h);

    let painted = paint(&mut h, &original);
    assert!(
        h.state()
            .annotation
            .is_dirty(&h.state().state.entries[0].id),
        "unsaved marker"
    );
    h.get_by_label("unsaved changes");

    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run();
    assert_eq!(shown_mask(&h), original, "undo restores the mask exactly");
    assert!(
        !h.state()
            .annotation
            .is_dirty(&h.state().state.entries[0].id),
        "back at the saved state"
    );
    h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
    h.run();
    assert_eq!(shown_mask(&h), painted, "redo repaints it");
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    h.run();
    assert_eq!(shown_mask(&h), painted, "nothing more to redo");

    h.get_by_label("save mask").click_accesskit();
    h.run();
    settle(&mut h);
    assert!(
        !h.state()
            .annotation
            .is_dirty(&h.state().state.entries[0].id),
        "saved"
    );
    let saved = gray_pixels(&mask_file);
    assert_eq!(
        saved,
        painted.iter().map(|&v| v * 255).collect::<Vec<u8>>(),
        "0/255 PNG with the painted pixels"
    );
    let backups: Vec<PathBuf> = std::fs::read_dir(dataset.join(".seglens/backups"))
        .expect("backup folder")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read(&backups[0]).unwrap(),
        original_bytes,
        "the previous version is kept byte for byte"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dataset.join("masks"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files: {leftovers:?}");

    // Reopen: the pairing reads the saved mask.
    h.state_mut()
        .run_commands(vec![AppCommand::OpenPath(dataset.clone())]);
    settle(&mut h);
    assert!(h.state().annotation.edits.is_empty());
    assert_eq!(
        shown_mask(&h),
        painted,
        "the reopened image has the saved mask"
    );
    drop(h);
    let _ = std::fs::remove_dir_all(dataset.parent().unwrap());
}

#[test]
fn unsaved_edits_are_recovered_after_the_app_is_dropped() {
    let dataset = demo_copy("recover");
    let mask_file = {
        let mut h = open(&dataset);
        let original = shown_mask(&h);
        let painted = paint(&mut h, &original);
        settle(&mut h); // the autosave job has run
        let file = dataset
            .join("masks")
            .join(h.state().state.entries[0].name.clone());
        drop(h); // no save: as after a crash
        let mut h = open(&dataset);
        assert_eq!(shown_mask(&h), original, "the mask file was not touched");
        assert_eq!(
            h.state().annotation.recovered.len(),
            1,
            "the unsaved edit is offered"
        );
        h.get_by_label("restore unsaved edits").click_accesskit();
        h.run();
        assert_eq!(shown_mask(&h), painted, "restored");
        assert!(
            h.state()
                .annotation
                .is_dirty(&h.state().state.entries[0].id),
            "and still unsaved"
        );
        // Opening another dataset now asks first; keeping the edits leaves everything as is.
        h.state_mut()
            .run_commands(vec![AppCommand::OpenPath(dataset.clone())]);
        h.run();
        h.get_by_label("keep editing").click_accesskit();
        h.run();
        assert_eq!(shown_mask(&h), painted);
        file
    };
    assert_eq!(
        gray_pixels(&mask_file).iter().filter(|&&v| v > 0).count() > 0,
        true
    );
    let _ = std::fs::remove_dir_all(dataset.parent().unwrap());
}
