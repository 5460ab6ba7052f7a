#[goproc::plugin_interface]
pub struct Calculator {
    pub precision: u32,
}

fn main() {}
