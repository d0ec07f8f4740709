use crate::annotate::{
    Edit, EditMask, MaskError, Rect, brush_stroke, clear, flood_fill, polygon_fill, take_prediction,
};

fn full(w: u32, h: u32) -> EditMask {
    EditMask::from_binary(w, h, vec![1; (w * h) as usize]).unwrap()
}

// ---- brush ----

#[test]
fn brush_dot_radius_1_5_paints_3x3() {
    // Centres at integer offsets (dx, dy) from (5.5, 5.5): dx² + dy² ≤ 2.25 holds
    // for (0,0), the 4 edge neighbours (1) and the 4 diagonals (2), not for (±2,0) (4).
    let mut m = EditMask::empty(11, 11);
    let edit = brush_stroke(&mut m, &[(5.5, 5.5)], 1.5, 1);
    assert_eq!(edit.len(), 9);
    assert_eq!(m.foreground_count(), 9);
    assert_eq!(
        edit.bounds(),
        Some(Rect {
            x0: 4,
            y0: 4,
            x1: 7,
            y1: 7
        })
    );
    assert_eq!(m.get(4, 4), Some(1));
    assert_eq!(m.get(3, 5), Some(0));
}

#[test]
fn brush_dot_radius_2_paints_13() {
    // dx² + dy² ≤ 4: 1 centre + 4 at distance 1 + 4 diagonals (2) + 4 at (±2,0)/(0,±2);
    // (±2,±1) is 5 > 4. Total 13.
    let mut m = EditMask::empty(11, 11);
    assert_eq!(brush_stroke(&mut m, &[(5.5, 5.5)], 2.0, 1).len(), 13);
}

#[test]
fn brush_dot_is_clipped_at_the_border() {
    // The 3×3 block around pixel (0,0) keeps only x, y ∈ {0, 1}: 4 pixels.
    let mut m = EditMask::empty(11, 11);
    assert_eq!(brush_stroke(&mut m, &[(0.5, 0.5)], 1.5, 1).len(), 4);
}

#[test]
fn brush_segment_is_a_capsule() {
    // (2.5,5.5)–(8.5,5.5), r = 1.5: rows 4..=6 for x = 2..=8 (distance ≤ 1) = 21,
    // plus each round cap: x = 1 and x = 9 with dy ∈ {-1,0,1} (d² ≤ 2) = 3 + 3.
    // x = 0 (d² = 4) and rows 3, 7 (d² = 4) stay empty. Total 27.
    let mut m = EditMask::empty(11, 11);
    let edit = brush_stroke(&mut m, &[(2.5, 5.5), (8.5, 5.5)], 1.5, 1);
    assert_eq!(edit.len(), 27);
    assert_eq!(
        edit.bounds(),
        Some(Rect {
            x0: 1,
            y0: 4,
            x1: 10,
            y1: 7
        })
    );
}

#[test]
fn fast_moves_leave_no_gaps() {
    // Two far-apart samples: dots alone would paint 2 pixels, the capsule paints
    // the whole row 5 (11 pixels; rows 4 and 6 are at distance 1 > 0.5).
    let mut m = EditMask::empty(11, 11);
    assert_eq!(
        brush_stroke(&mut m, &[(0.5, 5.5), (10.5, 5.5)], 0.5, 1).len(),
        11
    );
    assert!((0..11).all(|x| m.get(x, 5) == Some(1)));

    // Diagonal: centre (i+.5, j+.5) is |i-j|/√2 from the line, ≤ 0.5 only for i = j.
    let mut m = EditMask::empty(11, 11);
    assert_eq!(
        brush_stroke(&mut m, &[(0.5, 0.5), (10.5, 10.5)], 0.5, 1).len(),
        11
    );
    assert!((0..11).all(|i| m.get(i, i) == Some(1)));
}

#[test]
fn eraser_clears_the_dot() {
    // A full 11×11 mask (121) minus the 9-pixel dot = 112.
    let mut m = full(11, 11);
    let edit = brush_stroke(&mut m, &[(5.5, 5.5)], 1.5, 0);
    assert_eq!(edit.len(), 9);
    assert!(edit.changes().all(|c| c.old == 1 && c.new == 0));
    assert_eq!(m.foreground_count(), 112);
}

#[test]
fn brush_changing_nothing_gives_an_empty_edit() {
    let mut m = EditMask::empty(11, 11);
    brush_stroke(&mut m, &[(5.5, 5.5)], 1.5, 1);
    assert!(brush_stroke(&mut m, &[(5.5, 5.5)], 1.5, 1).is_empty());
    assert!(brush_stroke(&mut m, &[], 3.0, 1).is_empty());
    assert!(brush_stroke(&mut m, &[(2.0, 2.0)], f32::NAN, 1).is_empty());
    assert!(brush_stroke(&mut m, &[(2.0, 2.0)], -1.0, 1).is_empty());
    assert!(brush_stroke(&mut m, &[(-10.0, -10.0)], 1.0, 1).is_empty());
    assert_eq!(m.foreground_count(), 9);
}

// ---- flood fill ----

#[test]
fn flood_fill_stops_at_a_wall() {
    // 10×10 with a foreground wall at x = 4 (10 pixels). Left of it: x 0..4 = 40
    // pixels; right of it: x 5..10 = 50 pixels.
    let mut m = EditMask::empty(10, 10);
    for y in 0..10 {
        m.set(4, y, 1);
    }
    assert_eq!(flood_fill(&mut m, (0, 0), 1).len(), 40);
    assert_eq!(m.foreground_count(), 50);
    assert_eq!(m.get(5, 0), Some(0));
    assert_eq!(flood_fill(&mut m, (9, 9), 1).len(), 50);
    assert_eq!(m.foreground_count(), 100);
}

#[test]
fn flood_fill_is_4_connected() {
    // 5×5 with the diagonal set: it separates x > y (4+3+2+1 = 10 pixels) from
    // x < y, because diagonal neighbours do not connect.
    let mut m = EditMask::empty(5, 5);
    for i in 0..5 {
        m.set(i, i, 1);
    }
    assert_eq!(flood_fill(&mut m, (4, 0), 1).len(), 10);
    assert_eq!(m.get(0, 4), Some(0));
    // On a fresh diagonal, erasing from (2,2) removes only that pixel: its
    // diagonal neighbours are not 4-neighbours.
    let mut d = EditMask::empty(5, 5);
    for i in 0..5 {
        d.set(i, i, 1);
    }
    assert_eq!(flood_fill(&mut d, (2, 2), 0).len(), 1);
    // After the fill above, the diagonal touches the filled triangle: 5 + 10 = 15.
    assert_eq!(flood_fill(&mut m, (2, 2), 0).len(), 15);
}

#[test]
fn flood_fill_follows_a_winding_region() {
    // 5×5 walls: row 1 x 0..=3, row 3 x 1..=4 (8 pixels). The background snakes
    // row 0 (5) → (4,1) → row 2 (5) → (0,3) → row 4 (5): 17 pixels, all connected.
    let mut m = EditMask::empty(5, 5);
    for x in 0..4 {
        m.set(x, 1, 1);
        m.set(x + 1, 3, 1);
    }
    assert_eq!(flood_fill(&mut m, (0, 4), 1).len(), 17);
    assert_eq!(m.foreground_count(), 25);
}

#[test]
fn flood_fill_no_op_cases() {
    let mut m = EditMask::empty(4, 4);
    assert!(flood_fill(&mut m, (0, 0), 0).is_empty()); // already background
    assert!(flood_fill(&mut m, (4, 0), 1).is_empty()); // outside
}

#[test]
fn flood_fill_4096_squared_without_recursion() {
    // 4096² = 16 777 216 pixels in one region; one run per row.
    let mut m = EditMask::empty(4096, 4096);
    let edit = flood_fill(&mut m, (2000, 3000), 1);
    assert_eq!(edit.len(), 16_777_216);
    assert_eq!(m.foreground_count(), 16_777_216);
    assert_eq!(
        edit.bounds(),
        Some(Rect {
            x0: 0,
            y0: 0,
            x1: 4096,
            y1: 4096
        })
    );
    edit.revert(&mut m).unwrap();
    assert_eq!(m.foreground_count(), 0);
}

// ---- polygon ----

#[test]
fn polygon_square() {
    // Corners on pixel edges: centres 2.5..=5.5 in x and y → 4 × 4 = 16.
    let mut m = EditMask::empty(8, 8);
    let edit = polygon_fill(&mut m, &[(2.0, 2.0), (6.0, 2.0), (6.0, 6.0), (2.0, 6.0)], 1);
    assert_eq!(edit.len(), 16);
    assert_eq!(
        edit.bounds(),
        Some(Rect {
            x0: 2,
            y0: 2,
            x1: 6,
            y1: 6
        })
    );
}

#[test]
fn polygon_triangle_excludes_centres_on_the_right_edge() {
    // Triangle (0,0),(10,0),(0,10): centre inside when x + y + 1 < 10, i.e. x + y ≤ 8
    // (centres with x + y = 9 lie exactly on the hypotenuse, a right edge: outside).
    // Row y has 9 - y pixels: 9 + 8 + … + 0 = 45.
    let mut m = EditMask::empty(10, 10);
    assert_eq!(
        polygon_fill(&mut m, &[(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)], 1).len(),
        45
    );
    assert_eq!(m.get(8, 0), Some(1));
    assert_eq!(m.get(9, 0), Some(0));
    // Same result in the other winding order.
    let mut m2 = EditMask::empty(10, 10);
    assert_eq!(
        polygon_fill(&mut m2, &[(0.0, 10.0), (10.0, 0.0), (0.0, 0.0)], 1).len(),
        45
    );
    assert_eq!(m, m2);
}

#[test]
fn polygon_concave_u_shape() {
    // 6×6 square minus the notch x 2..4, y 0..4 (8 pixels): 36 - 8 = 28.
    let u = [
        (0.0, 0.0),
        (2.0, 0.0),
        (2.0, 4.0),
        (4.0, 4.0),
        (4.0, 0.0),
        (6.0, 0.0),
        (6.0, 6.0),
        (0.0, 6.0),
    ];
    let mut m = EditMask::empty(8, 8);
    assert_eq!(polygon_fill(&mut m, &u, 1).len(), 28);
    assert_eq!(m.get(3, 1), Some(0)); // in the notch
    assert_eq!(m.get(1, 1), Some(1));
    assert_eq!(m.get(3, 5), Some(1));
}

#[test]
fn polygon_even_odd_leaves_a_hole() {
    // Outer 8×8 square and inner 4×4 square joined by a bridge traversed twice:
    // even-odd gives 64 - 16 = 48.
    let ring = [
        (0.0, 0.0),
        (8.0, 0.0),
        (8.0, 8.0),
        (0.0, 8.0),
        (0.0, 0.0),
        (2.0, 2.0),
        (6.0, 2.0),
        (6.0, 6.0),
        (2.0, 6.0),
        (2.0, 2.0),
    ];
    let mut m = EditMask::empty(8, 8);
    assert_eq!(polygon_fill(&mut m, &ring, 1).len(), 48);
    assert_eq!(m.get(4, 4), Some(0));
    assert_eq!(m.get(1, 1), Some(1));
}

#[test]
fn polygon_clipped_and_degenerate() {
    // Square (-2,-2)–(3,3) on the mask: only x, y ∈ 0..3 → 9.
    let mut m = EditMask::empty(8, 8);
    assert_eq!(
        polygon_fill(
            &mut m,
            &[(-2.0, -2.0), (3.0, -2.0), (3.0, 3.0), (-2.0, 3.0)],
            1
        )
        .len(),
        9
    );
    assert!(polygon_fill(&mut m, &[(0.0, 0.0), (5.0, 5.0)], 1).is_empty());
    assert!(polygon_fill(&mut m, &[(0.0, 0.0), (5.0, f32::NAN), (0.0, 5.0)], 1).is_empty());
    // Erasing with a polygon: the same square with value 0 removes the 9 again.
    assert_eq!(
        polygon_fill(
            &mut m,
            &[(-2.0, -2.0), (3.0, -2.0), (3.0, 3.0), (-2.0, 3.0)],
            0
        )
        .len(),
        9
    );
    assert_eq!(m.foreground_count(), 0);
}

// ---- take prediction, clear ----

#[test]
fn take_prediction_whole_mask() {
    // p >= 0.5 → [0,1,1,0]; from [1,0,0,0] that changes pixels 0, 1 and 2.
    let mut m = EditMask::from_binary(4, 1, vec![1, 0, 0, 0]).unwrap();
    let edit = take_prediction(&mut m, &[0.1, 0.5, 0.7, f32::NAN], 0.5, None).unwrap();
    assert_eq!(edit.len(), 3);
    assert_eq!(m.data(), &[0, 1, 1, 0]);
}

#[test]
fn take_prediction_in_a_region() {
    // Only pixels 0 and 1 are in the region: [0,1] taken, [0,0] kept → 2 changes.
    let mut m = EditMask::from_binary(4, 1, vec![1, 0, 0, 0]).unwrap();
    let region = EditMask::from_binary(4, 1, vec![1, 1, 0, 0]).unwrap();
    let edit = take_prediction(&mut m, &[0.1, 0.5, 0.7, 0.2], 0.5, Some(&region)).unwrap();
    assert_eq!(edit.len(), 2);
    assert_eq!(m.data(), &[0, 1, 0, 0]);
}

#[test]
fn take_prediction_in_a_brushed_region() {
    // Region = the 9-pixel dot; everywhere p = 0.9, so exactly those 9 become foreground.
    let mut region = EditMask::empty(11, 11);
    brush_stroke(&mut region, &[(5.5, 5.5)], 1.5, 1);
    let mut m = EditMask::empty(11, 11);
    let edit = take_prediction(&mut m, &vec![0.9; 121], 0.5, Some(&region)).unwrap();
    assert_eq!(edit.len(), 9);
    assert_eq!(m, region);
}

#[test]
fn take_prediction_size_mismatch() {
    let mut m = EditMask::empty(2, 2);
    assert_eq!(
        take_prediction(&mut m, &[0.9; 3], 0.5, None),
        Err(MaskError::BadValueCount {
            expected: 4,
            actual: 3
        })
    );
    let region = EditMask::empty(4, 1);
    assert_eq!(
        take_prediction(&mut m, &[0.9; 4], 0.5, Some(&region)),
        Err(MaskError::SizeMismatch {
            expected_width: 2,
            expected_height: 2,
            actual_width: 4,
            actual_height: 1
        })
    );
    assert_eq!(m.foreground_count(), 0);
}

#[test]
fn clear_removes_everything() {
    let mut m = EditMask::from_binary(3, 3, vec![1, 0, 1, 0, 1, 0, 1, 0, 1]).unwrap();
    assert_eq!(clear(&mut m).len(), 5);
    assert_eq!(m.foreground_count(), 0);
    assert!(clear(&mut m).is_empty());
}

// ---- edits ----

#[test]
fn edit_apply_and_revert_round_trip() {
    let before = EditMask::from_binary(3, 1, vec![1, 0, 0]).unwrap();
    let mut m = before.clone();
    let edit = brush_stroke(&mut m, &[(0.5, 0.5), (2.5, 0.5)], 0.4, 1);
    let after = m.clone();
    assert_eq!(edit.len(), 2); // pixels 1 and 2; pixel 0 was already set
    edit.revert(&mut m).unwrap();
    assert_eq!(m, before);
    edit.apply(&mut m).unwrap();
    assert_eq!(m, after);
    assert_eq!(Edit::between(&before, &after).unwrap(), edit);
    assert!(edit.revert(&mut EditMask::empty(2, 2)).is_err());
}
