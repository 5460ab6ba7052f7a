#[goproc::plugin_interface]
pub trait Logs {
    async fn maybe(&self) -> Option<goproc::Stream<String>>;
    async fn two(&self, a: goproc::Stream<u8>, b: goproc::Stream<u8>) -> u64;
}

fn main() {}
