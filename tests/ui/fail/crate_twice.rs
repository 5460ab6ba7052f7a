#[goproc::plugin_interface(crate = "goproc", crate = "goproc")]
pub trait Clock {
    async fn now(&self) -> u64;
}

fn main() {}
