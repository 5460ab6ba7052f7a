#[goproc::plugin_interface]
pub trait Counter {
    async fn get(self: std::sync::Arc<Self>) -> u64;
}

fn main() {}
