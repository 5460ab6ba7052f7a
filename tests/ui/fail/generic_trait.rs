#[goproc::plugin_interface]
pub trait Store<T> {
    async fn put(&self, value: T) -> bool;
    async fn len(&self) -> u64;
}

fn main() {}
