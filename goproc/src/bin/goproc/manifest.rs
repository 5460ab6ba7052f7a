//! `goproc manifest`: a `plugin.toml` skeleton for a plugin that serves the
//! contracts of a Rust file, with their fingerprints filled in.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use goproc_codegen::manifest::{skeleton, RunLang, SkeletonOptions};

use crate::failure::Failure;

/// Write a plugin.toml skeleton for a registry, with the contracts' fingerprints.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Every contract of the file is one the plugin serves ([[serves]]), except those named with
--requires, which it calls on its host ([[requires]]). Event contracts are left out. The name
is the first contract's in kebab case unless --name says otherwise; the namespace `local`.
The skeleton parses as written; its comments say what to change. docs/REGISTRY.md describes
every field.

Examples:
  goproc manifest --contract src/contract.rs --lang rust --name calc --namespace math
  goproc manifest --contract contract.rs --lang python --out plugins/reverse/plugin.toml \\
      --checksum plugin.py")]
pub struct Args {
    /// The Rust file (or crate folder) that defines the contracts.
    #[arg(long, value_name = "PATH")]
    contract: PathBuf,

    /// How the plugin runs: `bin/<name>` (rust), `python3 plugin.py`, `node dist/plugin.js`.
    #[arg(long, value_enum)]
    lang: RunLang,

    /// The plugin's name (lowercase letters, digits, `_`, `-`).
    #[arg(long)]
    name: Option<String>,

    /// The plugin's namespace (same letters); `local` by default.
    #[arg(long)]
    namespace: Option<String>,

    /// The plugin's version, free text; `0.1.0` by default.
    #[arg(long = "plugin-version", value_name = "VERSION")]
    version: Option<String>,

    /// The plugin's one-line description; the first line of the contract's docs by default.
    #[arg(long)]
    description: Option<String>,

    /// An argument for the program, after the language's own (`plugin.py`) (repeatable).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    args: Vec<String>,

    /// A contract of the file that the plugin calls on its host rather than serves (repeatable).
    #[arg(long, value_name = "CONTRACT")]
    requires: Vec<String>,

    /// A file to list in [checksums] with its sha256, relative to the plugin's folder: the
    /// folder of --out, or the current one (repeatable).
    #[arg(long, value_name = "FILE")]
    checksum: Vec<String>,

    /// Write the skeleton to this file instead of stdout; an existing file is kept unless
    /// --force is given.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// Replace the file --out names if it exists.
    #[arg(long, requires = "out")]
    force: bool,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let folder = match &args.out {
        Some(out) => out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf(),
        None => PathBuf::from("."),
    };
    let mut options = SkeletonOptions::new(args.lang);
    options.name = args.name;
    options.namespace = args.namespace;
    options.version = args.version;
    options.description = args.description;
    options.args = args.args;
    options.command_line = Some(command_line());
    options.requires = args.requires;
    for file in &args.checksum {
        let path = folder.join(file);
        let hash = goproc::registry::sha256_file(&path).map_err(|e| {
            Failure::new(format!(
                "--checksum {file}: cannot read {}: {e}; name a file relative to the plugin's \
                 folder ({})",
                path.display(),
                folder.display()
            ))
        })?;
        options.checksums.push((file.clone(), hash));
    }
    let text = skeleton(std::slice::from_ref(&args.contract), &options)
        .map_err(|e| Failure::new(format!("{}: {e}", args.contract.display())))?;
    let Some(out) = &args.out else {
        print!("{text}");
        return Ok(());
    };
    if out.exists() && !args.force {
        return Err(Failure::new(format!(
            "{} exists and was left as it is; give --force to replace it, or print the skeleton \
             without --out and merge it by hand",
            out.display()
        )));
    }
    let written = std::fs::create_dir_all(&folder)
        .and_then(|()| std::fs::File::create(out))
        .and_then(|mut f| f.write_all(text.as_bytes()));
    written.map_err(|e| Failure::new(format!("cannot write {}: {e}", out.display())))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// This command line as a shell would take it back, with the program
/// called `goproc` wherever it was run from.
fn command_line() -> String {
    let mut words = vec!["goproc".to_string()];
    words.extend(std::env::args().skip(1).map(|w| shell_word(&w)));
    words.join(" ")
}

/// `word` quoted for a POSIX shell when it needs to be.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn words_are_quoted_only_when_a_shell_would_split_or_expand_them() {
        assert_eq!(shell_word("--lang"), "--lang");
        assert_eq!(
            shell_word("plugins/a-b/plugin.toml"),
            "plugins/a-b/plugin.toml"
        );
        assert_eq!(shell_word("upper-cases (Rust)"), "'upper-cases (Rust)'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
