//! The names a contract's calls are counted and traced under: those of a
//! typed client's `ContractInfo`, or of a schema read at run time (calls
//! by name with JSON), which has no `'static` names to point at.

use std::sync::Arc;

use crate::schema::ContractSchema;
use crate::ContractInfo;

/// A contract's name and its methods' names, in wire order.
#[derive(Clone)]
pub(crate) enum ContractNames {
    /// A typed client's contract: nothing to copy.
    Typed(&'static ContractInfo),
    /// A contract known by its schema, its names copied once.
    Schema(Arc<SchemaNames>),
}

/// The names of a contract known by its schema.
pub(crate) struct SchemaNames {
    contract: String,
    methods: Box<[String]>,
}

impl ContractNames {
    /// The names of `schema`'s contract and methods.
    pub(crate) fn of_schema(schema: &ContractSchema) -> Self {
        ContractNames::Schema(Arc::new(SchemaNames {
            contract: schema.name.clone(),
            methods: schema.methods.iter().map(|m| m.name.clone()).collect(),
        }))
    }

    pub(crate) fn contract(&self) -> &str {
        match self {
            ContractNames::Typed(info) => info.name,
            ContractNames::Schema(names) => &names.contract,
        }
    }

    /// The name of method number `method`; `?` for one the contract lacks.
    pub(crate) fn method(&self, method: u32) -> &str {
        let name = match self {
            ContractNames::Typed(info) => info.methods.get(method as usize).copied(),
            ContractNames::Schema(names) => names.methods.get(method as usize).map(String::as_str),
        };
        name.unwrap_or("?")
    }

    /// How many methods the contract has.
    pub(crate) fn method_count(&self) -> usize {
        match self {
            ContractNames::Typed(info) => info.methods.len(),
            ContractNames::Schema(names) => names.methods.len(),
        }
    }
}
