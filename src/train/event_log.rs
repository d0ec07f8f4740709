//! `events.jsonl` in a run folder: every [`TrainEvent`] of every session, one JSON
//! object per line, so a run's history can be read back whoever started it.

use std::io::Write as _;
use std::path::Path;

use super::event::TrainEvent;

/// Name of the event log inside a run folder.
pub const EVENTS_FILE: &str = "events.jsonl";

/// Appends events to a run folder's log. Logging is best effort: a log that cannot be
/// written never stops a run (the CSV curves and checkpoints are the record).
pub struct EventLog {
    file: Option<std::fs::File>,
}

impl EventLog {
    /// Opens (or creates) `run_dir/events.jsonl` for appending.
    pub fn open(run_dir: &Path) -> Self {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(run_dir.join(EVENTS_FILE)).ok();
        Self { file }
    }

    /// Appends one event.
    pub fn append(&mut self, event: &TrainEvent) {
        if let Some(f) = self.file.as_mut() {
            let _ = serde_json::to_writer(&mut *f, event).map(|()| writeln!(f));
        }
    }
}
