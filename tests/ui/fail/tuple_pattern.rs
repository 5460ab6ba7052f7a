#[goproc::plugin_interface]
pub trait Geometry {
    async fn length(&self, (x, y): (i32, i32)) -> f64;
}

fn main() {}
