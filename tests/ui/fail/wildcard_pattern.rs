#[goproc::plugin_interface]
pub trait Clock {
    async fn tick(&self, _: u64) -> u64;
}

fn main() {}
