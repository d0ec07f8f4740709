use std::fs;

use super::TempDir;
use crate::annotate::recovery::file_base;
use crate::annotate::{EditMask, RecoveryError, RecoveryStore};

fn sample_mask() -> EditMask {
    EditMask::from_binary(3, 2, vec![0, 1, 1, 0, 0, 1]).unwrap()
}

#[test]
fn store_list_load_discard_round_trip() {
    let root = TempDir::new("recovery-rt");
    let store = RecoveryStore::for_dataset(root.path());
    assert!(store.list().is_empty()); // folder does not exist yet
    let key = "images/case 01.png";
    let entry = store.store(key, &sample_mask()).unwrap();
    assert!(entry.png.starts_with(root.path().join(".seglens/recovery")));

    let listed = store.list();
    assert_eq!(listed.len(), 1);
    let got = listed[0].entry.as_ref().unwrap();
    assert_eq!((got.key.as_str(), got.width, got.height), (key, 3, 2));
    assert_eq!(got.saved_at.len(), 16);

    assert_eq!(store.load(key).unwrap(), Some(sample_mask()));
    assert_eq!(store.load("images/other.png").unwrap(), None);

    assert!(store.discard(key).unwrap());
    assert!(store.list().is_empty());
    assert_eq!(store.load(key).unwrap(), None);
    assert!(!store.discard(key).unwrap());
}

#[test]
fn storing_again_replaces_the_autosave() {
    let dir = TempDir::new("recovery-again");
    let store = RecoveryStore::new(dir.path());
    store.store("k", &sample_mask()).unwrap();
    let newer = EditMask::from_binary(3, 2, vec![1; 6]).unwrap();
    store.store("k", &newer).unwrap();
    assert_eq!(store.list().len(), 1);
    assert_eq!(store.load("k").unwrap(), Some(newer));
}

#[test]
fn file_names_are_safe_for_any_key() {
    for key in [
        "../../etc/passwd",
        ".hidden",
        "C:\\scans\\ü ä.png",
        "a\0b",
        &"x".repeat(500),
        "",
    ] {
        let base = file_base(key);
        assert!(!base.starts_with('.'), "{base}");
        assert!(base.len() <= 57, "{base}");
        assert!(
            base.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{base}"
        );
    }
    // Keys that sanitise alike still get different names (the hash differs).
    assert_ne!(file_base("a/b"), file_base("a:b"));
}

#[test]
fn corrupt_files_are_reported_not_panicked_on() {
    let dir = TempDir::new("recovery-corrupt");
    let store = RecoveryStore::new(dir.path());
    let good = store.store("good", &sample_mask()).unwrap();
    let bad_json = store.store("bad json", &sample_mask()).unwrap();
    let no_png = store.store("no png", &sample_mask()).unwrap();
    let wrong_size = store.store("wrong size", &sample_mask()).unwrap();
    fs::write(&bad_json.sidecar, b"{not json").unwrap();
    fs::remove_file(&no_png.png).unwrap();
    fs::write(
        &wrong_size.png,
        EditMask::empty(5, 5).to_png_bytes().unwrap(),
    )
    .unwrap();

    let listed = store.list();
    assert_eq!(listed.len(), 4);
    let find = |p: &std::path::Path| listed.iter().find(|r| r.sidecar == p).unwrap();
    assert!(find(&good.sidecar).entry.is_ok());
    assert!(
        matches!(&find(&bad_json.sidecar).entry, Err(RecoveryError::Json { path, .. }) if *path == bad_json.sidecar)
    );
    assert!(
        matches!(&find(&no_png.sidecar).entry, Err(RecoveryError::Io { path, .. }) if *path == no_png.png)
    );
    assert!(
        matches!(&find(&wrong_size.sidecar).entry, Err(RecoveryError::Invalid { path, .. }) if *path == wrong_size.png)
    );

    assert!(store.load("bad json").is_err());
    assert!(store.load("wrong size").is_err());
    // A corrupt entry can be removed through its sidecar path.
    assert!(store.discard_files(&bad_json.sidecar).unwrap());
    assert_eq!(store.list().len(), 3);
}
