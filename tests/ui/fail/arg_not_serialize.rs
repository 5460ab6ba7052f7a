#[derive(serde::Deserialize)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[goproc::plugin_interface]
pub trait Geometry {
    async fn distance(&self, from: Point, to: (i32, i32)) -> f64;
}

fn main() {}
