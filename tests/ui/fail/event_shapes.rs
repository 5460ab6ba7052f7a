#[goproc::plugin_interface(events)]
pub trait Telemetry {
    async fn temperature(&self, celsius: f32);
    fn pair(&self, a: u8, b: u8);
    fn answered(&self, text: String) -> u8;
}

fn main() {}
