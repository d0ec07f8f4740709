//! NIfTI volume pairs as dataset samples: paired by the label rule, one sample per axial
//! slice grouped by volume, loaded through the cache, and a clear reason for each volume
//! that cannot be used.

use std::path::PathBuf;
use std::sync::Arc;

use super::formats::write_nii;
use super::{TempDir, write_grey};
use crate::data::dataset::open_dataset;
use crate::data::grouping::Grouping;
use crate::data::mask::MaskRule;
use crate::data::sample::{SamplePixels, load_sample};
use crate::data::split::{SampleRef, SplitConfig, make_split};
use crate::data::volume_pairs::VolumeCache;

/// A little-endian uint8 volume (spacing 2 × 3 × 4 mm, from the helper's pixdim).
fn volume(path: &std::path::Path, dims: [u16; 3], values: &[u8]) {
    write_nii(path, false, dims, 2, 8, values, |_, _| {});
}

#[test]
fn a_volume_with_its_label_in_masks_is_one_sample_per_slice() {
    let d = TempDir::dataset("volumes");
    write_grey(&d.path().join("images/a.png"), 4, 4, |x, _| x as u8 * 60);
    write_grey(&d.path().join("masks/a.png"), 4, 4, |x, _| {
        255 * u8::from(x > 1)
    });
    // 3 × 2 × 4 voxels; the label marks voxel (i 1, j 0) of slice 2 and all of slice 3.
    let values: Vec<u8> = (0..24).collect();
    volume(&d.path().join("images/scan.nii"), [3, 2, 4], &values);
    let mut label = vec![0u8; 24];
    label[2 * 6 + 1] = 1;
    label[18..].fill(3);
    volume(&d.path().join("masks/scan.nii"), [3, 2, 4], &label);

    let ds = open_dataset(d.path()).unwrap();
    assert_eq!(ds.pairing.volume_pairs.len(), 1);
    let pair = &ds.pairing.volume_pairs[0];
    assert_eq!((pair.stem.as_str(), pair.dims), ("scan", [3, 2, 4]));
    assert_eq!(pair.label, d.path().join("masks/scan.nii"));
    assert!(
        ds.pairing.ignored.is_empty(),
        "the label volume is used, not ignored: {:?}",
        ds.pairing.ignored
    );

    let samples = ds.samples();
    let ids: Vec<&str> = samples.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a", "scan#k0", "scan#k1", "scan#k2", "scan#k3"]);
    assert_eq!(samples[0].slice, None);
    assert!(
        samples[1..]
            .iter()
            .enumerate()
            .all(|(k, s)| s.slice == Some(k) && s.group.as_deref() == Some("scan"))
    );

    let cache = VolumeCache::new(2);
    let k2 = load_sample(&samples[3], &MaskRule::default(), &cache).unwrap();
    assert_eq!(k2.mask.data, [0, 1, 0, 0, 0, 0]);
    assert_eq!((k2.mask.width, k2.mask.height), (3, 2));
    let SamplePixels::Slice(slice) = &k2.pixels else {
        panic!("a volume sample is a slice")
    };
    assert_eq!(slice.values, [12.0, 13.0, 14.0, 15.0, 16.0, 17.0]);
    assert_eq!(k2.spacing_mm(), Some([2.0, 3.0]));
    let k3 = load_sample(&samples[4], &MaskRule::default(), &cache).unwrap();
    assert_eq!(k3.mask.data, [1; 6], "any non-zero label is foreground");
    let png = load_sample(&samples[0], &MaskRule::default(), &cache).unwrap();
    assert!(matches!(png.pixels, SamplePixels::Image(_)));
    assert_eq!(png.spacing_mm(), None);
}

#[test]
fn volumes_without_a_usable_label_are_reported_not_paired() {
    let d = TempDir::dataset("volumes-bad");
    write_grey(&d.path().join("images/a.png"), 4, 4, |x, _| x as u8);
    write_grey(&d.path().join("masks/a.png"), 4, 4, |_, _| 0);
    volume(&d.path().join("images/lonely.nii"), [2, 2, 2], &[0; 8]);
    volume(&d.path().join("images/offgrid.nii"), [2, 2, 2], &[0; 8]);
    volume(&d.path().join("masks/offgrid.nii"), [2, 2, 3], &[0; 12]);
    std::fs::write(d.path().join("images/broken.nii"), b"not a nifti file").unwrap();
    volume(&d.path().join("masks/broken.nii"), [2, 2, 2], &[0; 8]);

    let ds = open_dataset(d.path()).unwrap();
    assert!(ds.pairing.volume_pairs.is_empty());
    assert_eq!(ds.samples().len(), 1, "the 2D pair is still used");
    let reason = |name: &str| -> String {
        let path = d.path().join("images").join(name);
        ds.pairing
            .unpaired_volumes
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.reason.clone())
            .unwrap_or_else(|| panic!("{name} listed: {:?}", ds.pairing.unpaired_volumes))
    };
    let lonely = reason("lonely.nii");
    assert!(
        lonely.contains("without a label volume")
            && lonely.contains(&d.path().join("masks/lonely.nii").display().to_string()),
        "{lonely}"
    );
    let offgrid = reason("offgrid.nii");
    assert!(
        offgrid.contains("[2, 2, 3]")
            && offgrid.contains("not the same grid")
            && offgrid.contains("masks/offgrid.nii"),
        "{offgrid}"
    );
    let broken = reason("broken.nii");
    assert!(
        broken.starts_with("cannot read the NIfTI header (")
            && !broken.contains("Io(")
            && !broken.contains("Custom {"),
        "a reason in words: {broken}"
    );
    // Their label volumes are not "volume files to open with the loaders".
    let label_note = ds
        .pairing
        .ignored
        .iter()
        .find(|f| f.path == d.path().join("masks/offgrid.nii"))
        .map(|f| f.reason.clone())
        .expect("the label is listed");
    assert!(
        label_note.contains("label volume of") && label_note.contains("images/offgrid.nii"),
        "{label_note}"
    );
    // A header promising more voxels than the file holds is caught when pairing.
    let short = d.path().join("images/short.nii");
    volume(&short, [4, 4, 10], &[0; 16]);
    volume(&d.path().join("masks/short.nii"), [4, 4, 10], &[0; 160]);
    let ds = open_dataset(d.path()).unwrap();
    let truncated = ds
        .pairing
        .unpaired_volumes
        .iter()
        .find(|f| f.path == short)
        .map(|f| f.reason.clone())
        .expect("listed");
    assert!(
        truncated.contains("holds 368 bytes") && truncated.contains("[4, 4, 10] voxels need 512"),
        "{truncated}"
    );
}

#[test]
fn the_slices_of_a_volume_stay_in_one_set_even_without_grouping() {
    let samples: Vec<SampleRef> = (0..8)
        .flat_map(|v| {
            (0..5).map(move |k| SampleRef {
                dataset: "vols".into(),
                id: format!("case{v}#k{k}"),
                image: PathBuf::from(format!("/d/images/case{v}.nii.gz")),
                masks: vec![PathBuf::from(format!("/d/masks/case{v}.nii.gz"))],
                modality: None,
                group: None,
                slice: Some(k),
            })
        })
        .collect();
    let split = make_split(
        &samples,
        &SplitConfig {
            seed: 3,
            val_fraction: 0.25,
            test_fraction: 0.25,
            grouping: Grouping::None,
            ..SplitConfig::default()
        },
    )
    .unwrap();
    let sets = [&split.train, &split.val, &split.test];
    assert!(sets.iter().all(|s| !s.is_empty()), "all three sets used");
    for v in 0..8 {
        let volume = PathBuf::from(format!("/d/images/case{v}.nii.gz"));
        let holding: Vec<usize> = sets
            .iter()
            .map(|set| set.iter().filter(|s| s.image == volume).count())
            .collect();
        assert_eq!(
            holding.iter().filter(|&&n| n > 0).count(),
            1,
            "case{v}'s slices are in one set: {holding:?}"
        );
        assert_eq!(holding.iter().sum::<usize>(), 5);
    }
}

#[test]
fn the_cache_reads_a_volume_once_and_forgets_the_oldest() {
    let d = TempDir::new("volume-cache");
    let (a, b) = (d.path().join("a.nii"), d.path().join("b.nii"));
    volume(&a, [2, 1, 1], &[1, 2]);
    volume(&b, [2, 1, 1], &[3, 4]);
    let cache = VolumeCache::new(1);
    let first = cache.get(&a).unwrap();
    assert!(Arc::ptr_eq(&first, &cache.get(&a).unwrap()), "read once");
    assert_eq!(cache.get(&b).unwrap().values, [3.0, 4.0]);
    let again = cache.get(&a).unwrap();
    assert!(!Arc::ptr_eq(&first, &again), "capacity 1: b pushed a out");
    assert_eq!(again.values, first.values);
    let missing = d.path().join("missing.nii");
    let err = cache.get(&missing).unwrap_err().to_string();
    assert!(err.contains("missing.nii"), "{err}");
}

#[test]
fn a_header_spacing_of_zero_means_unknown_not_an_error() {
    let d = TempDir::dataset("volume-zero-spacing");
    let path = d.path().join("images/flat.nii");
    write_nii(&path, false, [2, 2, 1], 2, 8, &[0, 1, 1, 0], |h, put| {
        put(h, 80, &0f32.to_le_bytes());
        put(h, 84, &0f32.to_le_bytes());
    });
    volume(&d.path().join("masks/flat.nii"), [2, 2, 1], &[0, 1, 1, 0]);
    let samples = open_dataset(d.path()).unwrap().samples();
    let loaded = load_sample(&samples[0], &MaskRule::default(), &VolumeCache::new(1)).unwrap();
    assert_eq!(loaded.spacing_mm(), None);
    assert_eq!(loaded.mask.data, [0, 1, 1, 0]);
}

#[test]
fn what_pairing_chose_or_assumed_for_a_volume_is_a_warning() {
    use crate::data::error::DataWarning;
    let d = TempDir::dataset("volume-warnings");
    // A label beside the volume and one in masks/: the one beside is used, and said so.
    volume(&d.path().join("images/two.nii"), [2, 2, 1], &[0; 4]);
    volume(&d.path().join("images/two_label.nii"), [2, 2, 1], &[1; 4]);
    volume(&d.path().join("masks/two.nii"), [2, 2, 1], &[0; 4]);
    // Same voxel grid, but the label's header says 0.5 mm where the image says 2 mm.
    volume(&d.path().join("images/spaced.nii"), [2, 2, 1], &[0; 4]);
    write_nii(
        &d.path().join("masks/spaced.nii"),
        false,
        [2, 2, 1],
        2,
        8,
        &[0; 4],
        |h, put| put(h, 80, &0.5f32.to_le_bytes()),
    );
    // A 4D image of 3 volumes (dim[0] = 4, dim[4] = 3) with a 3D label.
    write_nii(
        &d.path().join("images/series.nii"),
        false,
        [2, 2, 1],
        2,
        8,
        &[0; 12],
        |h, put| {
            put(h, 40, &4i16.to_le_bytes());
            put(h, 48, &3i16.to_le_bytes());
        },
    );
    volume(&d.path().join("masks/series.nii"), [2, 2, 1], &[0; 4]);

    let ds = open_dataset(d.path()).unwrap();
    assert_eq!(ds.pairing.volume_pairs.len(), 3, "all three are used");
    let two = ds
        .pairing
        .volume_pairs
        .iter()
        .find(|p| p.stem == "two")
        .unwrap();
    assert_eq!(two.label, d.path().join("images/two_label.nii"));
    let unused_note = ds
        .pairing
        .ignored
        .iter()
        .find(|f| f.path == d.path().join("masks/two.nii"))
        .map(|f| f.reason.clone())
        .expect("the unused label is listed");
    assert!(
        unused_note.starts_with("another label volume of")
            && unused_note.contains("images/two_label.nii is"),
        "{unused_note}"
    );
    let warnings = &ds.pairing.warnings;
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings.contains(&DataWarning::LabelVolumeChosen {
        image: d.path().join("images/two.nii"),
        used: d.path().join("images/two_label.nii"),
        unused: vec![d.path().join("masks/two.nii")],
    }));
    assert!(warnings.contains(&DataWarning::LabelSpacingDiffers {
        label: d.path().join("masks/spaced.nii"),
        label_mm: [0.5, 3.0, 4.0],
        image_mm: [2.0, 3.0, 4.0],
    }));
    assert!(warnings.contains(&DataWarning::FirstOfSeveralVolumes {
        path: d.path().join("images/series.nii"),
        volumes: 3,
    }));
    let text = warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("[0.5, 3.0, 4.0] mm differs from its image's [2.0, 3.0, 4.0] mm")
            && text.contains("holds 3 volumes (4D); only the first is used"),
        "{text}"
    );
    // audit lists them, once each, under their codes.
    let report = crate::data::audit::audit(
        &[d.path().to_path_buf()],
        &crate::data::audit::AuditOptions::default(),
    );
    let mut codes: Vec<&str> = report
        .warnings
        .iter()
        .map(|f| f.code.as_str())
        .filter(|c| c.contains("volume") || c.contains("spacing"))
        .collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "first_of_several_volumes",
            "label_spacing_differs",
            "label_volume_chosen"
        ]
    );
}

#[test]
fn a_volume_set_needs_no_masks_folder() {
    // Labels beside the volumes, no masks/ at all.
    let beside = TempDir::new("volumes-beside");
    std::fs::create_dir_all(beside.path().join("images")).unwrap();
    volume(&beside.path().join("images/scan.nii"), [2, 2, 3], &[0; 12]);
    volume(
        &beside.path().join("images/scan_seg.nii"),
        [2, 2, 3],
        &[1; 12],
    );
    let ds = open_dataset(beside.path()).unwrap();
    assert_eq!(ds.pairing.volume_pairs.len(), 1);
    assert_eq!(
        ds.pairing.volume_pairs[0].label,
        beside.path().join("images/scan_seg.nii")
    );
    assert_eq!(ds.samples().len(), 3);
    // Labels in labels/ instead of masks/.
    let labels = TempDir::new("volumes-labels");
    std::fs::create_dir_all(labels.path().join("images")).unwrap();
    std::fs::create_dir_all(labels.path().join("labels")).unwrap();
    volume(&labels.path().join("images/scan.nii"), [2, 2, 3], &[0; 12]);
    volume(&labels.path().join("labels/scan.nii"), [2, 2, 3], &[1; 12]);
    let ds = open_dataset(labels.path()).unwrap();
    assert_eq!(ds.pairing.volume_pairs.len(), 1);
    assert!(ds.pairing.ignored.is_empty(), "{:?}", ds.pairing.ignored);
    // A folder of 2D images without masks/ is still not a dataset.
    let flat = TempDir::new("images-only");
    std::fs::create_dir_all(flat.path().join("images")).unwrap();
    write_grey(&flat.path().join("images/a.png"), 2, 2, |_, _| 0);
    let err = open_dataset(flat.path()).unwrap_err().to_string();
    assert!(
        err.contains("expected subfolders images/ and masks/"),
        "{err}"
    );
}
