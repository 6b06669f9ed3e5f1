//! Destructured, `mut`, `ref`, wildcard and raw-named parameters.
#![deny(warnings, unused)]

use langfuse::observe;

struct Point {
    x: i32,
    y: i32,
}

struct Meters(f64);

// A `ref` parameter is legal, if unusual: what is tested is that its binding is captured.
#[allow(clippy::toplevel_ref_arg)]
#[observe]
fn destructure(
    Point { x, y: mut why }: Point,
    (scale, _): (i32, i32),
    _: u8,
    [head, ..]: [i32; 3],
    Meters(distance): Meters,
    ref borrowed: String,
    whole @ (left, right): (u8, u8),
) -> i32 {
    why += 1;
    let _ = (distance, borrowed, whole, left, right);
    (x + why) * scale + head
}

#[observe(skip(scale, distance))]
fn skip_bound((scale, distance): (f64, f64)) -> f64 {
    scale * distance
}

pub fn main() {
    let total = destructure(
        Point { x: 1, y: 2 },
        (2, 0),
        0,
        [5, 6, 7],
        Meters(1.5),
        "b".to_owned(),
        (1, 2),
    );
    assert_eq!(total, 13);
    assert_eq!(skip_bound((2.0, 3.0)), 6.0);
}
