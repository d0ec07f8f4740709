//! Axis-aligned pixel rectangles, used to tell the UI which part of the mask
//! texture an edit touched (so only that part needs re-uploading).

/// Pixels `x0..x1` × `y0..y1` (upper bounds exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Rect {
    /// The 1×1 rectangle of pixel `(x, y)`.
    pub fn pixel(x: u32, y: u32) -> Self {
        Self {
            x0: x,
            y0: y,
            x1: x + 1,
            y1: y + 1,
        }
    }

    /// Number of columns.
    pub fn width(&self) -> u32 {
        self.x1.saturating_sub(self.x0)
    }

    /// Number of rows.
    pub fn height(&self) -> u32 {
        self.y1.saturating_sub(self.y0)
    }

    /// True when the rectangle holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }

    /// Whether pixel `(x, y)` lies inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x0 && x < self.x1 && y >= self.y0 && y < self.y1
    }

    /// Smallest rectangle holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        if self.is_empty() {
            return *other;
        }
        if other.is_empty() {
            return *self;
        }
        Rect {
            x0: self.x0.min(other.x0),
            y0: self.y0.min(other.y0),
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
        }
    }
}
