#[goproc::plugin_interface(timeout = 5)]
pub trait Clock {
    async fn now(&self) -> u64;
}

fn main() {}
