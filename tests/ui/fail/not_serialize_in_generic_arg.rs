// `Handle` lacks `Serialize`: the error points at the contract's type and
// names the type argument that is missing it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
}

#[derive(serde::Deserialize)]
pub struct Handle(pub u32);

#[goproc::plugin_interface]
pub trait Files {
    async fn list(&self, dir: String) -> Page<Handle>;
}

fn main() {}
