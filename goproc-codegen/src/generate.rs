//! From input paths to the files a generator writes: what the command-line
//! tool does, as a library call (the tests use it too).

use std::fmt;
use std::path::PathBuf;

use crate::model::schema::{self, Diagnostic};
use crate::output::OutputFile;

/// The languages stubs are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Lang {
    /// Python 3.11+, standard library only.
    Python,
    /// TypeScript for Node, ES modules.
    Typescript,
}

/// Why nothing could be generated.
#[derive(Debug, Clone)]
pub enum GenerateError {
    /// The contract model refused the sources (file, line, message each).
    Model(Vec<Diagnostic>),
    /// The inputs hold no `#[plugin_interface]` trait.
    NoContract(Vec<PathBuf>),
    /// The generator refused what the model accepted (a name clash, say).
    Generator(String),
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::Model(diagnostics) => {
                for d in diagnostics {
                    writeln!(f, "{d}")?;
                }
                write!(f, "{} error(s); nothing written", diagnostics.len())
            }
            GenerateError::NoContract(inputs) => write!(
                f,
                "no `#[plugin_interface]` trait found in {}",
                inputs
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            GenerateError::Generator(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for GenerateError {}

/// Reads the contracts in `inputs` (`.rs` files or crate folders) and
/// prints the stubs for `lang`. The generated headers name the inputs as
/// given, so output is the same for the same command line.
pub fn generate(lang: Lang, inputs: &[PathBuf]) -> Result<Vec<OutputFile>, GenerateError> {
    let schema = schema::load(inputs).map_err(GenerateError::Model)?;
    if schema.contracts.is_empty() {
        return Err(GenerateError::NoContract(inputs.to_vec()));
    }
    let source = inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    match lang {
        Lang::Python => crate::python::generate(&schema, &source),
        Lang::Typescript => crate::typescript::generate(&schema, &source),
    }
    .map_err(GenerateError::Generator)
}
