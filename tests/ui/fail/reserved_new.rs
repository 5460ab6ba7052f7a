#[goproc::plugin_interface]
pub trait Factory {
    async fn new(&self, name: String) -> u64;
}

fn main() {}
