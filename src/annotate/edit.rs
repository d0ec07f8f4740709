//! What one tool action changed, so it can be undone and redone exactly.
//!
//! Changes are stored as runs of consecutive pixel indices that share their old
//! and new value: a flood fill or "clear" of a 4096² mask then costs one run per
//! row instead of 16 M entries, which keeps a 100-step history affordable.

use super::mask::{EditMask, MaskError};
use super::rect::Rect;

/// One changed pixel: its row-major index and its value before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelChange {
    pub index: usize,
    pub old: u8,
    pub new: u8,
}

/// Consecutive indices `start..start + len`, all changed from `old` to `new`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    start: usize,
    len: u32,
    old: u8,
    new: u8,
}

/// The pixels one action changed, with old and new values. Empty when the
/// action changed nothing (such edits are not worth an undo step).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    width: u32,
    height: u32,
    runs: Vec<Run>,
    changed: usize,
}

impl Edit {
    /// The edit that turns `before` into `after` (e.g. to make a recovered autosave
    /// undoable back to the file on disk).
    pub fn between(before: &EditMask, after: &EditMask) -> Result<Edit, MaskError> {
        if !before.same_size(after) {
            return Err(MaskError::SizeMismatch {
                expected_width: before.width(),
                expected_height: before.height(),
                actual_width: after.width(),
                actual_height: after.height(),
            });
        }
        let mut builder = EditBuilder::new(before);
        for (i, (&old, &new)) in before.data().iter().zip(after.data()).enumerate() {
            if old != new {
                builder.record(i, old, new);
            }
        }
        Ok(builder.finish())
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changed == 0
    }

    /// Number of changed pixels.
    pub fn len(&self) -> usize {
        self.changed
    }

    /// Size of the mask this edit belongs to.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Every changed pixel (each index appears once).
    pub fn changes(&self) -> impl Iterator<Item = PixelChange> + '_ {
        self.runs.iter().flat_map(|r| {
            (r.start..r.start + r.len as usize).map(move |index| PixelChange {
                index,
                old: r.old,
                new: r.new,
            })
        })
    }

    /// Bounding rectangle of the changed pixels, for partial texture updates;
    /// `None` for an empty edit. A run that wraps over a row end widens the
    /// rectangle to the full width (a superset, never too small).
    pub fn bounds(&self) -> Option<Rect> {
        let w = self.width as usize;
        if w == 0 {
            return None;
        }
        self.runs.iter().fold(None, |acc: Option<Rect>, r| {
            let last = r.start + r.len as usize - 1;
            let (y0, y1) = ((r.start / w) as u32, (last / w) as u32);
            let rect = if y0 == y1 {
                Rect {
                    x0: (r.start % w) as u32,
                    y0,
                    x1: (last % w) as u32 + 1,
                    y1: y1 + 1,
                }
            } else {
                Rect {
                    x0: 0,
                    y0,
                    x1: self.width,
                    y1: y1 + 1,
                }
            };
            Some(acc.map_or(rect, |a| a.union(&rect)))
        })
    }

    /// Sets every changed pixel to its new value (redo).
    pub fn apply(&self, mask: &mut EditMask) -> Result<(), MaskError> {
        self.write(mask, |r| r.new)
    }

    /// Sets every changed pixel back to its old value (undo).
    pub fn revert(&self, mask: &mut EditMask) -> Result<(), MaskError> {
        self.write(mask, |r| r.old)
    }

    fn write(&self, mask: &mut EditMask, value: impl Fn(&Run) -> u8) -> Result<(), MaskError> {
        if mask.width() != self.width || mask.height() != self.height {
            return Err(MaskError::SizeMismatch {
                expected_width: self.width,
                expected_height: self.height,
                actual_width: mask.width(),
                actual_height: mask.height(),
            });
        }
        let data = mask.data_mut();
        for r in &self.runs {
            data[r.start..r.start + r.len as usize].fill(value(r));
        }
        Ok(())
    }
}

/// Collects changes while a tool paints, merging neighbouring indices into runs.
pub(crate) struct EditBuilder {
    width: u32,
    height: u32,
    runs: Vec<Run>,
    changed: usize,
}

impl EditBuilder {
    pub(crate) fn new(mask: &EditMask) -> Self {
        Self {
            width: mask.width(),
            height: mask.height(),
            runs: Vec::new(),
            changed: 0,
        }
    }

    /// Sets `data[index]` to `value` (0/1) and records it when it changed.
    pub(crate) fn set(&mut self, data: &mut [u8], index: usize, value: u8) {
        let old = data[index];
        if old != value {
            data[index] = value;
            self.record(index, old, value);
        }
    }

    /// Records a change of `len` consecutive pixels that the caller already made.
    pub(crate) fn record_run(&mut self, start: usize, len: usize, old: u8, new: u8) {
        if len == 0 || old == new {
            return;
        }
        self.changed += len;
        if let Some(last) = self.runs.last_mut()
            && last.old == old
            && last.new == new
            && last.start + last.len as usize == start
            && last.len as usize + len <= u32::MAX as usize
        {
            last.len += len as u32;
            return;
        }
        // Runs longer than u32::MAX (masks over 4 G pixels) are split.
        let mut start = start;
        let mut left = len;
        while left > 0 {
            let n = left.min(u32::MAX as usize);
            self.runs.push(Run {
                start,
                len: n as u32,
                old,
                new,
            });
            start += n;
            left -= n;
        }
    }

    /// Records one pixel change that the caller already made.
    pub(crate) fn record(&mut self, index: usize, old: u8, new: u8) {
        self.record_run(index, 1, old, new);
    }

    pub(crate) fn finish(self) -> Edit {
        Edit {
            width: self.width,
            height: self.height,
            runs: self.runs,
            changed: self.changed,
        }
    }
}
