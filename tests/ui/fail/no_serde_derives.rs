// A type with neither derive: one error for each missing trait, both at the
// type, both saying what to add.
pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[goproc::plugin_interface]
pub trait Geometry {
    async fn origin(&self) -> Point;
}

fn main() {}
