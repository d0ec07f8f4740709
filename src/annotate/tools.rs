//! The editing tools as pure functions on a mask. Each one changes the mask in
//! place and returns the [`Edit`] it made, so the caller only has to push that
//! edit onto the image's [`History`](super::History).
//!
//! Points are in image pixels (f32, as they come from the pointer); a pixel
//! counts as hit when its *centre* `(x + 0.5, y + 0.5)` is covered, which makes
//! the results independent of zoom and easy to state exactly.

use super::edit::{Edit, EditBuilder};
use super::mask::{EditMask, MaskError};

type Point = (f64, f64);

/// Paints a round brush along the polyline through `points`: every pixel whose
/// centre lies within `radius` of the polyline is set to `value` (non-zero =
/// foreground, 0 = eraser). One point paints a dot; consecutive points are joined
/// by a capsule, so a fast mouse move leaves no gaps. Non-finite points are
/// skipped; a negative or non-finite radius paints nothing.
pub fn brush_stroke(mask: &mut EditMask, points: &[(f32, f32)], radius: f32, value: u8) -> Edit {
    let value = u8::from(value != 0);
    let mut builder = EditBuilder::new(mask);
    if !(radius.is_finite() && radius >= 0.0) {
        return builder.finish();
    }
    let pts: Vec<Point> = points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|&(x, y)| (f64::from(x), f64::from(y)))
        .collect();
    let r = f64::from(radius);
    match pts.as_slice() {
        [] => {}
        [p] => paint_capsule(mask, &mut builder, (*p, *p), r, value),
        _ => {
            for pair in pts.windows(2) {
                paint_capsule(mask, &mut builder, (pair[0], pair[1]), r, value);
            }
        }
    }
    builder.finish()
}

/// Sets the pixels whose centres are within `r` of the segment to `value`.
fn paint_capsule(
    mask: &mut EditMask,
    builder: &mut EditBuilder,
    (a, b): (Point, Point),
    r: f64,
    value: u8,
) {
    let (w, h) = (i64::from(mask.width()), i64::from(mask.height()));
    // Centre x + 0.5 within [min - r, max + r]  ⇔  x within [min - r - 0.5, max + r - 0.5].
    // (`as i64` saturates, so far-away points cannot overflow.)
    let x_lo = ((a.0.min(b.0) - r - 0.5).ceil() as i64).max(0);
    let x_hi = ((a.0.max(b.0) + r - 0.5).floor() as i64).min(w - 1);
    let y_lo = ((a.1.min(b.1) - r - 0.5).ceil() as i64).max(0);
    let y_hi = ((a.1.max(b.1) + r - 0.5).floor() as i64).min(h - 1);
    if x_lo > x_hi || y_lo > y_hi {
        return;
    }
    let r2 = r * r;
    let data = mask.data_mut();
    for y in y_lo..=y_hi {
        let cy = y as f64 + 0.5;
        let row = y as usize * w as usize;
        for x in x_lo..=x_hi {
            if dist2_to_segment((x as f64 + 0.5, cy), a, b) <= r2 {
                builder.set(data, row + x as usize, value);
            }
        }
    }
}

/// Squared distance from `p` to segment `a`–`b` (a point when `a == b`).
fn dist2_to_segment(p: Point, a: Point, b: Point) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a.0 + t * dx, a.1 + t * dy);
    (p.0 - qx) * (p.0 - qx) + (p.1 - qy) * (p.1 - qy)
}

/// Sets the 4-connected region of equal value that contains `seed` to `value`.
///
/// Scanline fill with an explicit stack of seeds: no recursion, so a 4096² region
/// cannot overflow the stack, and each filled row span becomes one run of the
/// edit. A seed outside the mask, or one that already has `value`, changes nothing.
pub fn flood_fill(mask: &mut EditMask, seed: (u32, u32), value: u8) -> Edit {
    let value = u8::from(value != 0);
    let mut builder = EditBuilder::new(mask);
    let Some(start) = mask.index(seed.0, seed.1) else {
        return builder.finish();
    };
    let (w, h) = (mask.width() as usize, mask.height() as usize);
    let data = mask.data_mut();
    let target = data[start];
    if target == value {
        return builder.finish();
    }
    let mut stack = vec![(seed.0 as usize, seed.1 as usize)];
    while let Some((x, y)) = stack.pop() {
        let row = y * w;
        if data[row + x] != target {
            continue; // filled since it was pushed
        }
        let mut left = x;
        while left > 0 && data[row + left - 1] == target {
            left -= 1;
        }
        let mut right = x;
        while right + 1 < w && data[row + right + 1] == target {
            right += 1;
        }
        data[row + left..=row + right].fill(value);
        builder.record_run(row + left, right - left + 1, target, value);
        // One seed per run of `target` in the rows above and below the span.
        for ny in [y.checked_sub(1), (y + 1 < h).then_some(y + 1)]
            .into_iter()
            .flatten()
        {
            let nrow = ny * w;
            let mut nx = left;
            while nx <= right {
                if data[nrow + nx] == target {
                    stack.push((nx, ny));
                    while nx <= right && data[nrow + nx] == target {
                        nx += 1;
                    }
                } else {
                    nx += 1;
                }
            }
        }
    }
    builder.finish()
}

/// Fills the polygon through `vertices` (closed automatically) with `value`,
/// using the even-odd rule on pixel centres. Edges are half-open, so a centre
/// exactly on a left or top edge is inside and on a right or bottom edge is
/// outside: two polygons sharing an edge never both claim a pixel. Fewer than
/// three vertices, or any non-finite vertex, changes nothing.
pub fn polygon_fill(mask: &mut EditMask, vertices: &[(f32, f32)], value: u8) -> Edit {
    let value = u8::from(value != 0);
    let mut builder = EditBuilder::new(mask);
    if vertices.len() < 3
        || vertices
            .iter()
            .any(|(x, y)| !x.is_finite() || !y.is_finite())
    {
        return builder.finish();
    }
    let verts: Vec<Point> = vertices
        .iter()
        .map(|&(x, y)| (f64::from(x), f64::from(y)))
        .collect();
    let (w, h) = (i64::from(mask.width()), i64::from(mask.height()));
    let min_y = verts.iter().map(|v| v.1).fold(f64::INFINITY, f64::min);
    let max_y = verts.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max);
    // Rows whose centre y + 0.5 lies in [min_y, max_y).
    let y_lo = ((min_y - 0.5).ceil() as i64).clamp(0, h);
    let y_hi = ((max_y - 0.5).ceil() as i64).clamp(0, h);
    let data = mask.data_mut();
    let mut xs: Vec<f64> = Vec::new();
    for y in y_lo..y_hi {
        let cy = y as f64 + 0.5;
        xs.clear();
        for (i, &a) in verts.iter().enumerate() {
            let b = verts[(i + 1) % verts.len()];
            if (a.1 > cy) != (b.1 > cy) {
                xs.push(a.0 + (cy - a.1) * (b.0 - a.0) / (b.1 - a.1));
            }
        }
        xs.sort_by(f64::total_cmp);
        let row = y as usize * w as usize;
        for span in xs.chunks_exact(2) {
            // Centres x + 0.5 in [span[0], span[1]).
            let x_lo = ((span[0] - 0.5).ceil() as i64).clamp(0, w);
            let x_hi = ((span[1] - 0.5).ceil() as i64).clamp(0, w);
            for x in x_lo..x_hi {
                builder.set(data, row + x as usize, value);
            }
        }
    }
    builder.finish()
}

/// Copies the model's prediction into the mask: pixels become `p >= threshold`
/// (NaN probabilities become background). With `region` (typically a brush stroke
/// painted on an empty mask) only pixels where the region is foreground change,
/// so the user can accept the prediction locally and keep manual work elsewhere.
pub fn take_prediction(
    mask: &mut EditMask,
    probabilities: &[f32],
    threshold: f32,
    region: Option<&EditMask>,
) -> Result<Edit, MaskError> {
    if probabilities.len() != mask.len() {
        return Err(MaskError::BadValueCount {
            expected: mask.len(),
            actual: probabilities.len(),
        });
    }
    if let Some(region) = region
        && !region.same_size(mask)
    {
        return Err(MaskError::SizeMismatch {
            expected_width: mask.width(),
            expected_height: mask.height(),
            actual_width: region.width(),
            actual_height: region.height(),
        });
    }
    let mut builder = EditBuilder::new(mask);
    let data = mask.data_mut();
    for (i, &p) in probabilities.iter().enumerate() {
        if region.is_none_or(|r| r.data()[i] != 0) {
            builder.set(data, i, u8::from(p >= threshold));
        }
    }
    Ok(builder.finish())
}

/// Sets every pixel to background.
pub fn clear(mask: &mut EditMask) -> Edit {
    let mut builder = EditBuilder::new(mask);
    let data = mask.data_mut();
    for i in 0..data.len() {
        builder.set(data, i, 0);
    }
    builder.finish()
}
