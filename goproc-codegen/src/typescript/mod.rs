//! The TypeScript generator (Node built-ins only, ES modules).

use crate::model::schema::Schema;
use crate::output::OutputFile;

/// Prints the TypeScript modules for `schema`.
pub fn generate(schema: &Schema, source: &str) -> Result<Vec<OutputFile>, String> {
    let _ = (schema, source);
    Err("the TypeScript generator is not written yet".into())
}
