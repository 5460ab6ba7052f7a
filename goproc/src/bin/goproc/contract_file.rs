//! Contracts read from a Rust file (`--contract`), as `goproc-codegen` reads them.

use std::path::Path;

use goproc::schema::{from_model, ContractSchema};

use crate::failure::Failure;

/// A contract of the file: its schema and its fingerprint.
pub struct FileContract {
    pub schema: ContractSchema,
    pub fingerprint: String,
}

/// The contracts (not the event contracts, which nothing serves) of a Rust
/// file or crate folder.
pub fn load(path: &Path) -> Result<Vec<FileContract>, Failure> {
    let model = goproc_codegen::model::schema::load(&[path.to_path_buf()]).map_err(|diags| {
        let more = match diags.len() {
            0 | 1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let first = diags.first().map(|d| d.to_string()).unwrap_or_default();
        Failure::new(format!("cannot read the contract file: {first}{more}"))
    })?;
    let mut contracts = Vec::new();
    for source in model.contracts.iter().filter(|c| !c.contract.events) {
        let schema = from_model(&source.contract, &model.types).map_err(|e| {
            Failure::new(format!(
                "{}: contract {}: {e}",
                source.file.display(),
                source.contract.name
            ))
        })?;
        contracts.push(FileContract {
            schema,
            fingerprint: source.contract.fingerprint.clone(),
        });
    }
    if contracts.is_empty() {
        return Err(Failure::new(format!(
            "{} defines no contract (a trait with #[goproc::plugin_interface])",
            path.display()
        )));
    }
    Ok(contracts)
}

/// The contract named `name` in the file at `path`.
pub fn find(path: &Path, name: &str) -> Result<ContractSchema, Failure> {
    let contracts = load(path)?;
    let names: Vec<String> = contracts.iter().map(|c| c.schema.name.clone()).collect();
    contracts
        .into_iter()
        .map(|c| c.schema)
        .find(|s| s.name == name)
        .ok_or_else(|| {
            Failure::new(format!(
                "{} defines no contract {name}; it defines: {}",
                path.display(),
                names.join(", ")
            ))
        })
}
