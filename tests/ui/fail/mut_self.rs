#[goproc::plugin_interface]
pub trait Counter {
    async fn increment(&mut self) -> u64;
}

fn main() {}
