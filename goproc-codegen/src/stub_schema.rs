//! A contract's schema as the Python and TypeScript stubs carry it.

use crate::canonical::from_model;
use crate::model::typedefs::TypeDef;
use crate::model::Contract;
use std::collections::BTreeMap;

/// The two texts a stub carries for one contract.
pub struct SchemaTexts {
    /// The canonical text: what HELLO sends and the host compares. Empty
    /// when the contract has no schema.
    pub canonical: String,
    /// The text with doc comments: what a describe request answers. Empty
    /// when the contract has no schema.
    pub documented: String,
    /// Why the contract has no schema, when it has none.
    pub missing: Option<String>,
}

impl SchemaTexts {
    /// The schema of `contract`. A contract the canonical form cannot state
    /// (a generic type such as `Result` used two ways inside one argument,
    /// which serde names alike) still gets its stubs, with empty texts: the
    /// HELLO then says "no schema" and the host checks the contract by its
    /// fingerprint alone, as it does for a Rust plugin that cannot trace it.
    pub fn of(contract: &Contract, types: &BTreeMap<String, TypeDef>) -> SchemaTexts {
        match from_model(contract, types) {
            Ok(s) => SchemaTexts {
                canonical: s.canonical_text(),
                documented: s.documented_text(),
                missing: None,
            },
            Err(why) => SchemaTexts {
                canonical: String::new(),
                documented: String::new(),
                missing: Some(why),
            },
        }
    }

    /// One comment line for the stub saying why it carries no schema.
    pub fn missing_note(&self, contract: &str) -> Option<String> {
        self.missing.as_ref().map(|why| {
            format!(
                "Contract {contract} has no schema ({why}): the host checks it by its fingerprint \
                 alone."
            )
        })
    }
}
