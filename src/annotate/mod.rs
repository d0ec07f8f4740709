//! The window-free core of the mask annotator: a binary edit mask, the editing
//! tools (brush, eraser, flood fill, polygon, "take prediction", clear), bounded
//! undo/redo with a saved-revision marker, safe saving with backups (PNG masks, and
//! slices of NIfTI label volumes), and autosave of unsaved edits for crash recovery.
//!
//! Nothing here knows about egui or textures, so every rule can be tested on small
//! masks with exact pixel counts. Coordinates are image pixels: pixel `(x, y)`
//! covers `[x, x+1) × [y, y+1)` and its centre is `(x + 0.5, y + 0.5)`.

mod edit;
mod history;
mod mask;
pub mod nifti_label;
mod recovery;
mod rect;
mod save;
mod timestamp;
mod tools;

#[cfg(test)]
mod tests;

pub use edit::{Edit, PixelChange};
pub use history::{DEFAULT_CAPACITY, History};
pub use mask::{EditMask, MaskError};
pub use recovery::{RecoveredEdit, RecoveryEntry, RecoveryError, RecoveryStore};
pub use rect::Rect;
pub use save::{Backup, SaveError, SaveOutcome, SavePlan, save_mask, save_mask_at};
pub use timestamp::utc_stamp;
pub use tools::{brush_stroke, clear, flood_fill, polygon_fill, take_prediction};
