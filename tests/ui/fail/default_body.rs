#[goproc::plugin_interface]
pub trait Greeter {
    async fn greet(&self, name: String) -> String {
        format!("Hello, {name}!")
    }
}

fn main() {}
