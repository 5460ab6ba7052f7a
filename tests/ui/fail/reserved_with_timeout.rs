#[goproc::plugin_interface]
pub trait Job {
    async fn with_timeout(&self, seconds: u64) -> bool;
}

fn main() {}
