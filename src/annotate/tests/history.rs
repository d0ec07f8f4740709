use crate::annotate::{DEFAULT_CAPACITY, Edit, EditMask, History, brush_stroke};

/// Paints a 1-pixel dot at pixel (x, 0) of `m` and returns the edit.
fn dot(m: &mut EditMask, x: u32) -> Edit {
    brush_stroke(m, &[(x as f32 + 0.5, 0.5)], 0.4, 1)
}

#[test]
fn undo_redo_sequence() {
    let mut m = EditMask::empty(5, 1);
    let mut h = History::new();
    assert!(!h.can_undo() && !h.can_redo());
    for x in 0..3 {
        let e = dot(&mut m, x);
        assert!(h.push(e));
    }
    assert_eq!(m.data(), &[1, 1, 1, 0, 0]);
    assert!(h.undo(&mut m));
    assert_eq!(m.data(), &[1, 1, 0, 0, 0]);
    assert!(h.undo(&mut m));
    assert_eq!(m.data(), &[1, 0, 0, 0, 0]);
    assert!(h.redo(&mut m));
    assert_eq!(m.data(), &[1, 1, 0, 0, 0]);
    assert_eq!((h.undo_len(), h.redo_len()), (2, 1));
    assert!(h.undo(&mut m) && h.undo(&mut m));
    assert!(!h.undo(&mut m));
    assert_eq!(m.data(), &[0; 5]);
    assert!(h.redo(&mut m) && h.redo(&mut m) && h.redo(&mut m));
    assert!(!h.redo(&mut m));
    assert_eq!(m.data(), &[1, 1, 1, 0, 0]);
}

#[test]
fn capacity_drops_the_oldest_step() {
    let mut m = EditMask::empty(5, 1);
    let mut h = History::with_capacity(2);
    for x in 0..3 {
        let e = dot(&mut m, x);
        h.push(e);
    }
    assert_eq!(h.undo_len(), 2);
    assert!(h.undo(&mut m) && h.undo(&mut m));
    assert!(!h.undo(&mut m)); // the first dot can no longer be undone
    assert_eq!(m.data(), &[1, 0, 0, 0, 0]);
    assert_eq!(History::new().undo_len(), 0);
    assert_eq!(DEFAULT_CAPACITY, 100);
}

#[test]
fn new_edit_clears_redo() {
    let mut m = EditMask::empty(5, 1);
    let mut h = History::new();
    let e = dot(&mut m, 0);
    h.push(e);
    let e = dot(&mut m, 1);
    h.push(e);
    h.undo(&mut m);
    assert!(h.can_redo());
    let e = dot(&mut m, 4);
    h.push(e);
    assert!(!h.can_redo());
    assert!(!h.redo(&mut m));
    assert_eq!(m.data(), &[1, 0, 0, 0, 1]);
}

#[test]
fn empty_edits_are_not_pushed() {
    let mut m = EditMask::empty(5, 1);
    let mut h = History::new();
    let e = dot(&mut m, 0);
    h.push(e);
    h.mark_saved();
    let again = dot(&mut m, 0); // already set: nothing changes
    assert!(again.is_empty());
    let rev = h.revision();
    assert!(!h.push(again));
    assert_eq!((h.revision(), h.undo_len(), h.is_dirty()), (rev, 1, false));
}

#[test]
fn dirty_tracks_the_saved_revision() {
    let mut m = EditMask::empty(5, 1);
    let mut h = History::new();
    assert!(!h.is_dirty()); // the loaded state is the saved one
    let e = dot(&mut m, 0);
    h.push(e);
    assert!(h.is_dirty());
    h.mark_saved();
    assert!(!h.is_dirty());
    let e = dot(&mut m, 1);
    h.push(e);
    assert!(h.is_dirty());
    h.undo(&mut m); // back to the saved state
    assert!(!h.is_dirty());
    h.undo(&mut m); // before the saved state
    assert!(h.is_dirty());
    h.redo(&mut m); // saved state again
    assert!(!h.is_dirty());
    h.redo(&mut m);
    assert!(h.is_dirty());
}

#[test]
fn saved_state_lost_to_a_new_branch_stays_dirty() {
    let mut m = EditMask::empty(5, 1);
    let mut h = History::new();
    let e = dot(&mut m, 0);
    h.push(e);
    h.mark_saved(); // saved = [1,0,0,0,0]
    h.undo(&mut m);
    let e = dot(&mut m, 1);
    h.push(e); // [0,1,0,0,0]; the saved state is no longer reachable
    assert!(h.is_dirty());
    h.undo(&mut m); // [0,0,0,0,0] is not the saved state either
    assert!(h.is_dirty());
}

#[test]
fn mark_unsaved_and_reset() {
    let mut h = History::new();
    h.mark_unsaved();
    assert!(h.is_dirty());
    h.reset();
    assert!(!h.is_dirty() && !h.can_undo());
}

#[test]
fn undo_on_a_mask_of_another_size_does_nothing() {
    let mut m = EditMask::empty(5, 1);
    let mut h = History::new();
    let e = dot(&mut m, 0);
    h.push(e);
    let mut other = EditMask::empty(2, 2);
    assert!(!h.undo(&mut other));
    assert!(h.can_undo());
    assert_eq!(other.foreground_count(), 0);
}
