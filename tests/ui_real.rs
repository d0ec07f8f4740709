//! The window on the real engine: the bundled demo (real CT slices in assets/demo) and
//! the bundled CT model, through `RealBackend` on the CPU backend. Inference runs, the
//! threshold slider moves, and the displayed metrics equal the library's values.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use seglens::app::backend::AppBackend as _;
use seglens::app::evaluation::POLICY;
use seglens::app::real_backend::RealBackend;
use seglens::app::ui::tools_panel::metric_lines;
use seglens::app::{FixedDialogs, SegApp};
use seglens::backend::BackendRequest;
use seglens::metrics::OverlapScores;

fn settle(h: &mut Harness<'static, SegApp>) {
    for _ in 0..3 {
        h.state_mut().settle();
        h.run();
    }
}

/// The window on the real engine (CPU), settled on the bundled CT demo.
fn real_harness() -> Harness<'static, SegApp> {
    let mut h = Harness::builder()
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
    h
}

#[test]
fn real_demo_inference_and_threshold_slider_match_the_library() {
    let mut h = real_harness();
    assert_eq!(
        h.state().state.entries.len(),
        6,
        "the six bundled CT slices are listed"
    );
    h.get_by_label("run on image").click();
    settle(&mut h);
    assert!(
        !h.state().caches.predictions.is_empty(),
        "the bundled model predicted"
    );

    // The same prediction straight from the engine.
    let backend = RealBackend::new(BackendRequest::Cpu);
    let model = backend
        .models()
        .into_iter()
        .find(|m| m.name == "cmunext-s-ct-lungs")
        .expect("bundled CT model");
    let entry = backend
        .load(&h.state().state.entries[0])
        .expect("demo slice loads");
    let prediction = backend
        .predict(&model.id, &entry, false, &AtomicBool::new(false))
        .expect("prediction");
    let gt = entry.gt.expect("demo slice has a mask");

    for t in [0.5f32, 0.3, 0.8] {
        h.get_by_role_and_label(egui::accesskit::Role::Slider, "threshold")
            .set_value_accesskit(f64::from(t));
        h.run();
        let shown = h.state().settings.threshold;
        let expected =
            OverlapScores::from_probabilities(&prediction.probabilities, shown, &gt.data, POLICY)
                .expect("same size");
        for line in metric_lines(&expected) {
            h.get_by_label(&line);
        }
        assert_eq!(h.state_mut().current_scores(), Some(expected));
        assert!(
            expected.dice.is_some_and(|d| d > 0.9),
            "the bundled model segments the lungs (Dice {:?} at {shown})",
            expected.dice
        );
    }
}

#[test]
fn real_backend_opens_dicom_files_folders_and_nifti_volumes() {
    let formats = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/formats");
    let backend = RealBackend::new(BackendRequest::Cpu);
    let ct = backend
        .open(&formats.join("CT_small.dcm"))
        .expect("DICOM file opens");
    assert_eq!(ct.len(), 1);
    let loaded = backend.load(&ct[0]).expect("CT slice loads");
    assert_eq!(
        (
            loaded.image.width,
            loaded.image.height,
            loaded.image.unit.as_str()
        ),
        (128, 128, "HU")
    );
    // The folder holds two readable DICOM slices (CT and MR) and NIfTI files, which are skipped.
    let series = backend.open(&formats).expect("DICOM folder opens");
    assert_eq!(series.len(), 2, "{series:?}");
    let volume = backend
        .open(&formats.join("brain1_image.nii.gz"))
        .expect("NIfTI opens");
    assert_eq!(volume.len(), 25, "one entry per axial slice");
    let slice = backend.load(&volume[12]).expect("slice loads");
    assert_eq!((slice.image.width, slice.image.height), (256, 256));
    // brain1_label.nii.gz beside it is the slice's ground truth, voxel for voxel.
    let label =
        seglens::data::nifti::read_nifti(&formats.join("brain1_label.nii.gz")).expect("label");
    let gt = slice.gt.expect("the label volume is the GT");
    let plane = 256 * 256;
    let expected: Vec<u8> = label.values[12 * plane..13 * plane]
        .iter()
        .map(|&v| u8::from(v != 0.0))
        .collect();
    assert_eq!((gt.width, gt.height), (256, 256));
    assert!(
        gt.data == expected && expected.contains(&1),
        "slice 12 of the label volume, with foreground"
    );
    let err = backend
        .open(&formats.join("missing.nii.gz"))
        .expect_err("missing file");
    assert!(err.contains("missing.nii.gz"), "{err}");
}

#[test]
fn a_dataset_folder_lists_the_slices_of_its_volume_pairs_with_their_ground_truth() {
    let formats = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/formats");
    let dir = std::env::temp_dir().join(format!("seglens-ui-volume-ds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::create_dir_all(dir.join("masks")).unwrap();
    std::fs::copy(
        formats.join("brain1_image.nii.gz"),
        dir.join("images/brain1.nii.gz"),
    )
    .unwrap();
    std::fs::copy(
        formats.join("brain1_label.nii.gz"),
        dir.join("masks/brain1.nii.gz"),
    )
    .unwrap();
    let backend = RealBackend::new(BackendRequest::Cpu);
    let entries = backend.open(&dir).expect("dataset opens");
    assert_eq!(entries.len(), 25, "{entries:?}");
    assert_eq!(entries[12].name, "brain1.nii.gz k=12");
    let slice = backend.load(&entries[12]).expect("slice loads");
    let gt = slice.gt.expect("masks/brain1.nii.gz is the GT");
    assert!(gt.data.contains(&1), "slice 12 has foreground");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn opening_the_mri_demo_selects_the_mri_model() {
    let mut h = real_harness();
    let name = |h: &Harness<'static, SegApp>| {
        let id = h.state().global_model().expect("a model");
        h.state()
            .state
            .models
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.name.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        name(&h),
        "cmunext-s-ct-lungs",
        "the CT demo opens with the CT model"
    );
    let mri = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/mri-lgg");
    h.state_mut()
        .run_commands(vec![seglens::app::command::AppCommand::OpenPath(mri)]);
    settle(&mut h);
    assert_eq!(
        name(&h),
        "cmunext-s-mri-lgg",
        "an MR dataset switches to the model trained on MR"
    );
}
