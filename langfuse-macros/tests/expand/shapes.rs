// Shapes with their own expansion: patterns, `impl Trait`, `-> !`, a re-exported crate, `()`.
use langfuse::observe;

#[observe]
fn distance(Point { x, y }: Point, (scale, _): (f64, f64)) -> f64 {
    (x * x + y * y).sqrt() * scale
}

#[observe]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[observe]
fn fail(reason: &str) -> ! {
    panic!("{reason}")
}

#[observe(crate = my_app::telemetry::langfuse)]
fn reexported() {}

#[observe]
fn log(event: &str) {
    println!("{event}");
}
