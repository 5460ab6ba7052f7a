#[goproc::plugin_interface]
pub trait Counter {
    async fn version() -> String;
}

fn main() {}
