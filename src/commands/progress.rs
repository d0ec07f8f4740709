//! Terminal progress for long jobs: one updating line on a terminal, a line every few
//! seconds otherwise (logs, CI).

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// Prints progress lines to stderr without flooding non-terminal output.
pub struct Progress {
    tty: bool,
    last: Option<Instant>,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            last: None,
        }
    }
}

impl Progress {
    /// Shows `line` (replacing the previous one on a terminal).
    pub fn update(&mut self, line: &str) {
        let now = Instant::now();
        if self.tty {
            eprint!("\r\x1b[2K{line}");
            let _ = std::io::stderr().flush();
        } else if self
            .last
            .is_none_or(|t| now.duration_since(t) > Duration::from_secs(10))
        {
            eprintln!("{line}");
            self.last = Some(now);
        }
    }

    /// Prints a permanent line.
    pub fn line(&mut self, line: &str) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
        eprintln!("{line}");
    }
}

/// Seconds as `1h02m03s`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "?".into();
    }
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// A text progress bar of `width` characters.
pub fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = if total == 0 {
        width
    } else {
        (done * width / total).min(width)
    };
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}
