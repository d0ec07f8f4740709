//! Per-image undo/redo with a bounded number of steps and a saved-state marker.
//!
//! Every mask state gets a revision id; the id of the state that was last saved
//! is remembered. "Unsaved" is then simply `current != saved`, which stays right
//! when the user undoes back to the saved state (a bool would not).

use std::collections::VecDeque;

use super::edit::Edit;
use super::mask::EditMask;

/// Undo steps kept per image unless chosen otherwise.
pub const DEFAULT_CAPACITY: usize = 100;

#[derive(Clone, Debug)]
struct Step {
    edit: Edit,
    /// Revision before the edit.
    before: u64,
    /// Revision after the edit.
    after: u64,
}

/// Undo/redo stacks of one image's mask.
#[derive(Clone, Debug)]
pub struct History {
    undo: VecDeque<Step>,
    redo: Vec<Step>,
    capacity: usize,
    current: u64,
    next: u64,
    saved: Option<u64>,
}

impl Default for History {
    fn default() -> Self {
        Self::new()
    }
}

impl History {
    /// An empty history with [`DEFAULT_CAPACITY`] undo steps. The starting state
    /// counts as saved (it is what was loaded from disk, or an empty new mask).
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty history keeping at most `capacity` undo steps (oldest dropped).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            undo: VecDeque::new(),
            redo: Vec::new(),
            capacity,
            current: 0,
            next: 1,
            saved: Some(0),
        }
    }

    /// Records an edit that has already been applied to the mask. Clears the redo
    /// stack. Empty edits are ignored (returns `false`), so a click that changed
    /// nothing neither costs an undo step nor marks the image unsaved.
    pub fn push(&mut self, edit: Edit) -> bool {
        if edit.is_empty() {
            return false;
        }
        self.redo.clear();
        let step = Step {
            edit,
            before: self.current,
            after: self.next,
        };
        self.current = self.next;
        self.next += 1;
        if self.capacity == 0 {
            return true;
        }
        if self.undo.len() == self.capacity {
            self.undo.pop_front();
        }
        self.undo.push_back(step);
        true
    }

    /// Reverts the latest edit on `mask`. Returns `false` when there is nothing
    /// to undo, or when `mask` is not the size the edit was made on (then nothing
    /// changes).
    pub fn undo(&mut self, mask: &mut EditMask) -> bool {
        let Some(step) = self.undo.pop_back() else {
            return false;
        };
        if step.edit.revert(mask).is_err() {
            self.undo.push_back(step);
            return false;
        }
        self.current = step.before;
        self.redo.push(step);
        true
    }

    /// Re-applies the latest undone edit on `mask`; `false` when there is none
    /// (or the mask size does not match).
    pub fn redo(&mut self, mask: &mut EditMask) -> bool {
        let Some(step) = self.redo.pop() else {
            return false;
        };
        if step.edit.apply(mask).is_err() {
            self.redo.push(step);
            return false;
        }
        self.current = step.after;
        if self.undo.len() == self.capacity {
            self.undo.pop_front();
        }
        if self.capacity > 0 {
            self.undo.push_back(step);
        }
        true
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Number of steps that can be undone.
    pub fn undo_len(&self) -> usize {
        self.undo.len()
    }

    /// Number of steps that can be redone.
    pub fn redo_len(&self) -> usize {
        self.redo.len()
    }

    /// Id of the current mask state; changes with every push, undo and redo.
    pub fn revision(&self) -> u64 {
        self.current
    }

    /// Call after the mask was written to disk: the current state is the saved one.
    pub fn mark_saved(&mut self) {
        self.saved = Some(self.current);
    }

    /// Marks the current state as differing from disk with no state known to match
    /// it (e.g. after restoring an autosave), so the image shows as unsaved until
    /// the next [`History::mark_saved`].
    pub fn mark_unsaved(&mut self) {
        self.saved = None;
    }

    /// True when the current state is not the saved one.
    pub fn is_dirty(&self) -> bool {
        self.saved != Some(self.current)
    }

    /// Drops all steps, e.g. after the mask was reloaded from disk; the current
    /// state counts as saved.
    pub fn reset(&mut self) {
        self.undo.clear();
        self.redo.clear();
        self.current = self.next;
        self.next += 1;
        self.saved = Some(self.current);
    }
}
