#[goproc::plugin_interface]
pub trait Greeter {
    async fn greet(&self, name: std::borrow::Cow<'static, str>) -> String;
}

fn main() {}
