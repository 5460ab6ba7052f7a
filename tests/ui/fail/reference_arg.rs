#[goproc::plugin_interface]
pub trait Greeter {
    async fn greet(&self, name: &str) -> String;
}

fn main() {}
