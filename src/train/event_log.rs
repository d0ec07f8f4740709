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
    /// Opens `run_dir/events.jsonl` for appending: a resumed run continues its log; a
    /// new run (`resume == false`) starts it afresh, so nothing of an earlier failed
    /// attempt in the same folder is read as its history.
    pub fn open(run_dir: &Path, resume: bool) -> Self {
        let path = run_dir.join(EVENTS_FILE);
        let file = if resume {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
        } else {
            std::fs::File::create(path)
        };
        Self { file: file.ok() }
    }

    /// Appends one event.
    pub fn append(&mut self, event: &TrainEvent) {
        if let Some(f) = self.file.as_mut() {
            let _ = serde_json::to_writer(&mut *f, event).map(|()| writeln!(f));
        }
    }
}
