#[goproc::plugin_interface]
pub trait Store {
    async fn put<T>(&self, value: T) -> bool;
}

fn main() {}
