#[derive(serde::Serialize)]
pub struct Report {
    pub lines: u32,
}

#[goproc::plugin_interface]
pub trait Linter {
    async fn lint(&self, source: String) -> Report;
}

fn main() {}
