//! From input paths to the files a generator writes: what the command-line
//! tool does, as a library call (the tests use it too).

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::model::schema::{self, Diagnostic, TraitSite};
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
    NoContract {
        /// The inputs, as given.
        inputs: Vec<PathBuf>,
        /// How many `.rs` files they held.
        files_read: usize,
        /// The traits they define without the attribute.
        unmarked: Vec<TraitSite>,
    },
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
            GenerateError::NoContract {
                inputs,
                files_read,
                unmarked,
            } => no_contract(f, inputs, *files_read, unmarked),
            GenerateError::Generator(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for GenerateError {}

/// The most traits without the attribute that are listed one by one.
const LISTED: usize = 20;

/// No contract in the inputs: the traits that lack the attribute, or that
/// there is no trait at all, and what to write.
fn no_contract(
    f: &mut fmt::Formatter<'_>,
    inputs: &[PathBuf],
    files_read: usize,
    unmarked: &[TraitSite],
) -> fmt::Result {
    let inputs = inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let files = if files_read == 1 {
        "1 file".to_string()
    } else {
        format!("{files_read} files")
    };
    if unmarked.is_empty() {
        return write!(
            f,
            "no contract in {inputs} ({files} read): the inputs define no trait at all. A plugin \
             contract is a Rust trait marked `#[goproc::plugin_interface]`; pass the file or \
             crate folder that defines it"
        );
    }
    writeln!(
        f,
        "no contract in {inputs} ({files} read): no trait there is marked \
         `#[goproc::plugin_interface]`. The traits without it:"
    )?;
    for t in unmarked.iter().take(LISTED) {
        write!(
            f,
            "{}:{}:{}: trait `{}`",
            t.file.display(),
            t.line,
            t.column,
            t.name
        )?;
        if !t.near_misses.is_empty() {
            let named: Vec<String> = t.near_misses.iter().map(|a| format!("`{a}`")).collect();
            write!(
                f,
                " (its {} is not `#[goproc::plugin_interface]`)",
                named.join(", ")
            )?;
        }
        writeln!(f)?;
    }
    if unmarked.len() > LISTED {
        writeln!(f, "... and {} more", unmarked.len() - LISTED)?;
    }
    write!(
        f,
        "To make a trait the plugin contract, put `#[goproc::plugin_interface]` on the line above \
         it:\n    #[goproc::plugin_interface]\n    trait {} {{ ... }}",
        unmarked[0].name
    )
}

/// Reads the contracts in `inputs` (`.rs` files or crate folders) and
/// prints the stubs for `lang`.
///
/// The generated headers name the files the contracts and their types come
/// from, each as [`header_path`] spells it, so the output does not depend on
/// how the inputs are spelled (`src/lib.rs`, `./src/lib.rs`, an absolute
/// path, or the crate folder), only on the current directory.
pub fn generate(lang: Lang, inputs: &[PathBuf]) -> Result<Vec<OutputFile>, GenerateError> {
    let mut schema = schema::load(inputs).map_err(GenerateError::Model)?;
    if schema.contracts.is_empty() {
        return Err(GenerateError::NoContract {
            inputs: inputs.to_vec(),
            files_read: schema.files_read,
            unmarked: schema.unmarked_traits,
        });
    }
    for sc in &mut schema.contracts {
        sc.file = PathBuf::from(header_path(&sc.file));
    }
    let mut sources: Vec<String> = schema.sources.iter().map(|p| header_path(p)).collect();
    sources.sort();
    sources.dedup();
    let source = sources.join(" ");
    match lang {
        Lang::Python => crate::python::generate(&schema, &source),
        Lang::Typescript => crate::typescript::generate(&schema, &source),
    }
    .map_err(GenerateError::Generator)
}

/// How a generated header names a source file: its path relative to the
/// current directory, after resolving `.`, `..` and symbolic links, with `/`
/// separators (`examples/kv/contract.rs`; `../contract/src/lib.rs` for a
/// file outside the current directory). When the two share no root (another
/// drive on Windows) it is the resolved absolute path; when the file cannot
/// be resolved, the path as given with `.` components dropped.
pub fn header_path(file: &Path) -> String {
    let resolved = std::fs::canonicalize(file).ok();
    let cwd = std::env::current_dir()
        .ok()
        .map(|d| std::fs::canonicalize(&d).unwrap_or(d));
    let components: Vec<String> = match (&resolved, &cwd) {
        (Some(file), Some(cwd)) => relative(file, cwd),
        (Some(file), None) => names(file.components()),
        (None, _) => names(
            file.components()
                .filter(|c| !matches!(c, Component::CurDir)),
        ),
    };
    components.join("/").replace("//", "/")
}

/// `file` relative to `base`, both absolute and resolved, as path components.
fn relative(file: &Path, base: &Path) -> Vec<String> {
    let file_parts: Vec<Component<'_>> = file.components().collect();
    let base_parts: Vec<Component<'_>> = base.components().collect();
    let common = file_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    // No shared root (a prefix or root differs): the absolute path.
    if common == 0
        || file_parts[..common]
            .iter()
            .all(|c| matches!(c, Component::Prefix(_)))
    {
        return names(file_parts.into_iter());
    }
    let mut out: Vec<String> = base_parts[common..]
        .iter()
        .map(|_| "..".to_string())
        .collect();
    out.extend(names(file_parts[common..].iter().copied()));
    out
}

fn names<'a>(components: impl Iterator<Item = Component<'a>>) -> Vec<String> {
    components
        .map(|c| match c {
            Component::RootDir => String::new(),
            other => other.as_os_str().to_string_lossy().into_owned(),
        })
        .collect()
}
