pub trait Named {
    fn name(&self) -> String;
}

#[goproc::plugin_interface]
pub trait Greeter: Named {
    async fn greet(&self, who: String) -> String;
}

fn main() {}
