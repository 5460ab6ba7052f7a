//! Plugins found in folders, each described by a manifest (`plugin.toml`)
//! and checked right before it starts (docs/REGISTRY.md).

pub(crate) mod checks;
pub mod manifest;

pub use checks::sha256_file;
pub use manifest::{Checksum, ContractEntry, Manifest, PoolSettings, Run, MANIFEST_FILE};
