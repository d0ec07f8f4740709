//! Splits: seeded, grouped by patient, stratified MIX, saved with a hash.

use super::*;
use crate::data::error::DataError;
use crate::data::grouping::{GroupKeyer, Grouping};
use crate::data::scalar::Modality;
use crate::data::split::{SampleRef, Split, SplitConfig, make_split};

fn samples(
    dataset: &str,
    names: impl IntoIterator<Item = String>,
    modality: Option<Modality>,
) -> Vec<SampleRef> {
    names
        .into_iter()
        .map(|n| SampleRef {
            dataset: dataset.into(),
            id: n.clone(),
            image: PathBuf::from(format!("/data/{dataset}/images/{n}.png")),
            masks: vec![PathBuf::from(format!("/data/{dataset}/masks/{n}.png"))],
            modality: modality.clone(),
            group: None,
            slice: None,
        })
        .collect()
}

fn tcga(patients: usize, slices: usize) -> Vec<String> {
    (0..patients)
        .flat_map(|p| (0..slices).map(move |s| format!("TCGA_DU_{:04}_19950405_{s}", 5000 + p)))
        .collect()
}

#[test]
fn seeded_fractions_and_reproducible() {
    let all = samples(
        "ct",
        (0..100).map(|i| format!("ID_{i:04}")),
        Some(Modality::Ct),
    );
    let c = SplitConfig {
        seed: 7,
        val_fraction: 0.3,
        test_fraction: 0.1,
        grouping: Grouping::Default,
        test_site: None,
        test_fold: None,
    };
    let a = make_split(&all, &c).unwrap();
    assert_eq!((a.train.len(), a.val.len(), a.test.len()), (60, 30, 10));
    let b = make_split(&all, &c).unwrap();
    assert_eq!(a, b);
    let other = make_split(
        &all,
        &SplitConfig {
            seed: 8,
            ..c.clone()
        },
    )
    .unwrap();
    assert_ne!(a.val, other.val);
    assert_ne!(a.hash, other.hash);
    assert_eq!(a.hash, a.content_hash());
    assert!(matches!(
        make_split(
            &all,
            &SplitConfig {
                val_fraction: 0.7,
                test_fraction: 0.3,
                ..c
            }
        ),
        Err(DataError::Invalid(_))
    ));
}

#[test]
fn grouping_keeps_patients_on_one_side() {
    let all = samples("lgg", tcga(10, 12), Some(Modality::Mr));
    let keyer = GroupKeyer::new(&Grouping::Default).unwrap();
    let grouped = make_split(
        &all,
        &SplitConfig {
            seed: 3,
            ..SplitConfig::default()
        },
    )
    .unwrap();
    assert!(grouped.straddling_groups(&keyer).is_empty());
    assert_eq!(grouped.group_count(&keyer), 10);
    assert_eq!(grouped.val.len(), 36); // 3 of 10 patients × 12 slices: target round(120 · 0.3) = 36
    assert!(grouped.val.iter().all(|s| {
        s.group
            .as_deref()
            .is_some_and(|g| g.starts_with("TCGA_DU_"))
    }));
    let image_level = make_split(
        &all,
        &SplitConfig {
            seed: 3,
            grouping: Grouping::None,
            ..SplitConfig::default()
        },
    )
    .unwrap();
    let leaks = image_level.straddling_groups(&keyer);
    assert!(leaks.len() >= 8, "{}", leaks.len());
    assert_eq!(leaks[0].counts.iter().sum::<usize>(), 12);
}

#[test]
fn user_pattern_groups() {
    let names = (0..6).flat_map(|p| (0..5).map(move |s| format!("scan{p}_slice{s}")));
    let all = samples("x", names, None);
    let c = SplitConfig {
        seed: 1,
        grouping: Grouping::Pattern(r"^(scan\d+)_".into()),
        ..SplitConfig::default()
    };
    let s = make_split(&all, &c).unwrap();
    let keyer = GroupKeyer::new(&c.grouping).unwrap();
    assert!(s.straddling_groups(&keyer).is_empty());
    assert_eq!(s.val.len() % 5, 0);
}

#[test]
fn mix_is_stratified_and_keeps_source_and_modality() {
    let mut all = samples(
        "lungs",
        (0..50).map(|i| format!("ID_{i:04}")),
        Some(Modality::Ct),
    );
    all.extend(samples("brain", tcga(10, 5), Some(Modality::Mr)));
    let s = make_split(
        &all,
        &SplitConfig {
            seed: 11,
            ..SplitConfig::default()
        },
    )
    .unwrap();
    let count = |set: &[SampleRef], d: &str| set.iter().filter(|x| x.dataset == d).count();
    assert_eq!(count(&s.val, "lungs"), 15);
    assert_eq!(count(&s.val, "brain"), 15);
    for x in s.train.iter().chain(&s.val) {
        let want = if x.dataset == "lungs" {
            Modality::Ct
        } else {
            Modality::Mr
        };
        assert_eq!(x.modality.as_ref(), Some(&want));
    }
    let first_val = s.val.iter().find(|x| x.dataset == "lungs").unwrap();
    assert_eq!(
        s.set_of("lungs", &first_val.id),
        Some(crate::data::split::SplitSet::Val)
    );
}

#[test]
fn save_load_round_trip_and_tamper_detection() {
    let d = TempDir::new("split");
    let all = samples("lgg", tcga(4, 3), Some(Modality::Mr));
    let s = make_split(
        &all,
        &SplitConfig {
            seed: 5,
            test_fraction: 0.25,
            ..SplitConfig::default()
        },
    )
    .unwrap();
    let p = d.path().join("split.json");
    s.save(&p).unwrap();
    assert_eq!(Split::load(&p).unwrap(), s);
    // Move one sample from train to val by editing the file: the hash catches it.
    let mut edited = s.clone();
    let moved = edited.train.remove(0);
    edited.val.push(moved);
    std::fs::write(&p, serde_json::to_string(&edited).unwrap()).unwrap();
    let err = Split::load(&p).unwrap_err();
    assert!(matches!(err, DataError::SplitHash { .. }));
    assert!(err.to_string().starts_with(&format!(
        "split file does not match its hash (stored {}, computed ",
        s.hash
    )));
    assert!(err.to_string().ends_with(&p.display().to_string()));
    // Moving the dataset folder keeps the split valid: only file names are hashed.
    let mut moved_folder = s.clone();
    for x in moved_folder
        .train
        .iter_mut()
        .chain(&mut moved_folder.val)
        .chain(&mut moved_folder.test)
    {
        x.image = PathBuf::from("/elsewhere").join(x.image.file_name().unwrap());
    }
    assert_eq!(moved_folder.content_hash(), s.hash);
    std::fs::write(&p, "{ not json").unwrap();
    assert!(matches!(Split::load(&p), Err(DataError::Json { .. })));
}

#[test]
fn leave_one_site_out_puts_the_whole_site_in_test() {
    use crate::data::split::SiteHoldout;
    let names: Vec<String> = ["DU", "CS", "FG"]
        .iter()
        .flat_map(|site| {
            (0..4).flat_map(move |p| {
                (0..5).map(move |s| format!("TCGA_{site}_{:04}_19950405_{s}", 5000 + p))
            })
        })
        .collect();
    let all = samples("lgg", names, Some(Modality::Mr));
    let c = SplitConfig {
        seed: 2,
        val_fraction: 0.25,
        test_fraction: 0.0,
        grouping: Grouping::Default,
        test_site: Some(SiteHoldout::tcga("CS")),
        test_fold: None,
    };
    let s = make_split(&all, &c).unwrap();
    // 3 sites × 4 patients × 5 slices: the 20 CS slices are the test set.
    assert_eq!(s.test.len(), 20);
    assert!(s.test.iter().all(|x| x.id.starts_with("TCGA_CS_")));
    assert!(
        s.train
            .iter()
            .chain(&s.val)
            .all(|x| !x.id.starts_with("TCGA_CS_"))
    );
    // The other 40 slices (8 patients): val takes whole patients up to round(40 · 0.25) = 10.
    assert_eq!((s.train.len(), s.val.len()), (30, 10));
    let keyer = GroupKeyer::new(&Grouping::Default).unwrap();
    assert!(
        s.straddling_groups(&keyer).is_empty(),
        "no patient on two sides"
    );
    // Without the site option the hash differs, and the old split format still reads.
    let plain = make_split(
        &all,
        &SplitConfig {
            test_site: None,
            ..c.clone()
        },
    )
    .unwrap();
    assert_ne!(plain.hash, s.hash);
    let err = make_split(
        &all,
        &SplitConfig {
            test_fraction: 0.1,
            ..c.clone()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("test fraction must be 0"), "{err}");
    let err = make_split(
        &all,
        &SplitConfig {
            test_site: Some(SiteHoldout::tcga("HT")),
            ..c
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("HT") && err.to_string().contains("sites found: CS, DU, FG"),
        "{err}"
    );
}

#[test]
fn a_split_is_relocated_to_where_the_data_is_now() {
    let names = || (0..10).map(|i| format!("ID_{i:02}"));
    let split = make_split(
        &samples("ct", names(), None),
        &SplitConfig {
            seed: 1,
            val_fraction: 0.3,
            ..SplitConfig::default()
        },
    )
    .unwrap();
    // The same dataset moved to /mnt; one image is gone from it.
    let moved: Vec<SampleRef> = samples("ct", names(), None)
        .into_iter()
        .filter(|s| s.id != split.val[0].id)
        .map(|mut s| {
            s.image = PathBuf::from(s.image.to_string_lossy().replace("/data/", "/mnt/"));
            s.masks = s
                .masks
                .iter()
                .map(|m| PathBuf::from(m.to_string_lossy().replace("/data/", "/mnt/")))
                .collect();
            s
        })
        .collect();
    let mut relocated = split.clone();
    assert_eq!(relocated.relocate(&moved), 9);
    let gone = &relocated.val[0];
    assert_eq!(
        gone.image, split.val[0].image,
        "not found: its recorded path is kept"
    );
    assert!(
        relocated
            .train
            .iter()
            .chain(&relocated.val[1..])
            .all(|s| s.image.starts_with("/mnt/ct") && s.masks[0].starts_with("/mnt/ct"))
    );
    assert_eq!(relocated.hash, split.hash, "same file names, same hash");
    assert_eq!(relocated.train.len(), split.train.len());
}

#[test]
fn test_folds_partition_the_patients_and_keep_each_on_one_side() {
    use crate::data::split::TestFold;
    use std::collections::{BTreeMap, BTreeSet};
    // 10 patients with 1 to 4 slices each (23 slices).
    let names = (0..10).flat_map(|p| (0..1 + p % 4).map(move |s| format!("pat{p}_slice{s}")));
    let all = samples("x", names, None);
    let patient = |id: &str| id.split('_').next().unwrap_or_default().to_string();
    let config = |fold: usize| SplitConfig {
        seed: 3,
        val_fraction: 0.2,
        grouping: Grouping::Pattern(r"^(pat\d+)_".into()),
        test_fold: Some(TestFold { fold, folds: 3 }),
        ..SplitConfig::default()
    };
    let mut tested: BTreeMap<String, usize> = BTreeMap::new();
    let mut sizes = Vec::new();
    for fold in 0..3 {
        let s = make_split(&all, &config(fold)).unwrap();
        assert_eq!(s.train.len() + s.val.len() + s.test.len(), 23);
        let side = |set: &[SampleRef]| -> BTreeSet<String> {
            set.iter().map(|r| patient(&r.id)).collect()
        };
        let (train, val, test) = (side(&s.train), side(&s.val), side(&s.test));
        assert!(train.is_disjoint(&test) && val.is_disjoint(&test) && train.is_disjoint(&val));
        // Val takes whole patients until it holds 0.2 of all samples (round(4.6) = 5).
        assert!((5..5 + 4).contains(&s.val.len()), "{}", s.val.len());
        for id in s.test.iter().map(|r| r.id.clone()) {
            *tested.entry(id).or_default() += 1;
        }
        sizes.push(s.test.len());
    }
    // Every sample is tested exactly once over the folds; the folds hold near-equal
    // numbers of samples (within one patient's 4 slices).
    assert_eq!(tested.len(), 23);
    assert!(tested.values().all(|&n| n == 1));
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 4,
        "{sizes:?}"
    );
    // A fold is the test set: a test fraction on top, or a fold that does not exist, is refused.
    let err = make_split(
        &all,
        &SplitConfig {
            test_fraction: 0.1,
            ..config(0)
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("the test fraction must be 0, not 0.1"),
        "{err}"
    );
    let err = make_split(&all, &config(3)).unwrap_err().to_string();
    assert!(err.contains("fold 4 of 3 does not exist"), "{err}");
    // More folds than patients would leave folds with nothing to test.
    let err = make_split(
        &all,
        &SplitConfig {
            test_fold: Some(TestFold { fold: 0, folds: 11 }),
            ..config(0)
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("x has 10 split units (patients, volumes or images) for 11 folds"),
        "{err}"
    );
    assert_eq!(TestFold::parse("2/5"), Ok(TestFold { fold: 1, folds: 5 }));
    for bad in ["0/5", "6/5", "1/1", "3", "a/b"] {
        assert!(
            TestFold::parse(bad).unwrap_err().contains("expected K/N"),
            "{bad}"
        );
    }
}
