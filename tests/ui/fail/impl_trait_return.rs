#[goproc::plugin_interface]
pub trait Numbers {
    async fn evens(&self, below: u32) -> impl Iterator<Item = u32>;
}

fn main() {}
