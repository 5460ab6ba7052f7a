//! Manifest skeletons: the `plugin.toml` a registry reads to find, check
//! and start a plugin, written from the contract it serves so that its
//! fingerprints are right from the start.
//!
//! The skeleton parses as it is written (its name, namespace and version
//! are valid placeholders); what a plugin author changes is commented in
//! place. The format is described field by field in docs/REGISTRY.md.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::case::snake_case;
use crate::generate::header_path;
use crate::model::schema;
use crate::GenerateError;

/// How a plugin runs, which decides the skeleton's `[run]` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum RunLang {
    /// A compiled program, `bin/<name>` in the plugin's folder.
    Rust,
    /// `python3 plugin.py`.
    Python,
    /// `node dist/plugin.js`, compiled from `plugin.ts`.
    Typescript,
}

impl RunLang {
    /// The program and its arguments for a plugin named `name`.
    fn command(self, name: &str) -> (String, Vec<&'static str>) {
        match self {
            RunLang::Rust => (format!("bin/{name}"), vec![]),
            RunLang::Python => ("python3".to_string(), vec!["plugin.py"]),
            RunLang::Typescript => ("node".to_string(), vec!["dist/plugin.js"]),
        }
    }

    /// The file whose sha256 a skeleton suggests listing in `[checksums]`.
    fn main_file(self, name: &str) -> String {
        match self {
            RunLang::Rust => format!("bin/{name}"),
            RunLang::Python => "plugin.py".to_string(),
            RunLang::Typescript => "dist/plugin.js".to_string(),
        }
    }
}

/// What a skeleton says besides the contracts.
#[derive(Debug, Clone)]
pub struct SkeletonOptions {
    /// How the plugin runs.
    pub lang: RunLang,
    /// The plugin's name; by default the first served contract's, in
    /// kebab case (`Transform` -> `transform`).
    pub name: Option<String>,
    /// Its namespace; `local` by default.
    pub namespace: Option<String>,
    /// Its version; `0.1.0` by default.
    pub version: Option<String>,
    /// Its description; the first line of the first served contract's
    /// docs by default.
    pub description: Option<String>,
    /// Arguments after the language's own (`plugin.py`), in `[run] args`.
    pub args: Vec<String>,
    /// Contracts of the input files that the plugin calls on its host
    /// (`[[requires]]`); every other contract there is one it serves.
    pub requires: Vec<String>,
    /// Files to list in `[checksums]`: (path relative to the plugin's
    /// folder, lowercase hex sha256). When empty, a commented line shows
    /// how to add the main file.
    pub checksums: Vec<(String, String)>,
    /// The command line that wrote the skeleton, quoted in its header so
    /// that it can be written again (with new hashes, say) the same way.
    pub command_line: Option<String>,
}

impl SkeletonOptions {
    /// A skeleton for a plugin in `lang`, with every default.
    pub fn new(lang: RunLang) -> SkeletonOptions {
        SkeletonOptions {
            lang,
            name: None,
            namespace: None,
            version: None,
            description: None,
            args: Vec::new(),
            requires: Vec::new(),
            checksums: Vec::new(),
            command_line: None,
        }
    }
}

/// A contract as a manifest names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRef {
    /// The trait's name (`Transform`).
    pub name: String,
    /// Its full fingerprint, 64 hex digits.
    pub fingerprint: String,
    /// The first line of its docs, if any.
    pub summary: Option<String>,
}

/// The namespace of a skeleton when none is given.
pub const DEFAULT_NAMESPACE: &str = "local";
/// The version of a skeleton when none is given.
pub const DEFAULT_VERSION: &str = "0.1.0";

/// Reads the contracts in `inputs` (`.rs` files or crate folders) and
/// writes a manifest skeleton for a plugin that serves them (except those
/// named in [`SkeletonOptions::requires`], which it calls on its host).
/// Event contracts are left out: nothing serves them.
pub fn skeleton(inputs: &[PathBuf], options: &SkeletonOptions) -> Result<String, GenerateError> {
    let schema = schema::load(inputs).map_err(GenerateError::Model)?;
    let contracts: Vec<ContractRef> = schema
        .contracts
        .iter()
        .filter(|sc| !sc.contract.events)
        .map(|sc| ContractRef {
            name: sc.contract.name.to_string(),
            fingerprint: sc.contract.fingerprint.clone(),
            summary: sc
                .contract
                .docs
                .iter()
                .map(|d| d.trim())
                .find(|d| !d.is_empty())
                .map(str::to_string),
        })
        .collect();
    if contracts.is_empty() {
        return Err(GenerateError::NoContract {
            inputs: inputs.to_vec(),
            files_read: schema.files_read,
            unmarked: schema.unmarked_traits,
        });
    }
    let known: Vec<&str> = contracts.iter().map(|c| c.name.as_str()).collect();
    for wanted in &options.requires {
        if !known.contains(&wanted.as_str()) {
            return Err(GenerateError::Generator(format!(
                "--requires {wanted}: the contract files define no contract {wanted}; they \
                 define: {}",
                known.join(", ")
            )));
        }
    }
    let (requires, serves): (Vec<ContractRef>, Vec<ContractRef>) = contracts
        .into_iter()
        .partition(|c| options.requires.contains(&c.name));
    let mut sources: Vec<String> = schema.sources.iter().map(|p| header_path(p)).collect();
    sources.sort();
    sources.dedup();
    render(&serves, &requires, &sources.join(" "), options).map_err(GenerateError::Generator)
}

/// Writes the skeleton of a plugin serving `serves` and calling `requires`
/// on its host; `source` names the contract files in the header.
pub fn render(
    serves: &[ContractRef],
    requires: &[ContractRef],
    source: &str,
    options: &SkeletonOptions,
) -> Result<String, String> {
    let first = serves.first().ok_or_else(|| {
        "the plugin would serve no contract (every contract of the files is in --requires); a \
         plugin serves at least one"
            .to_string()
    })?;
    let name = match &options.name {
        Some(name) => checked_name("name", name)?,
        None => snake_case(&first.name).replace('_', "-"),
    };
    let namespace = match &options.namespace {
        Some(ns) => checked_name("namespace", ns)?,
        None => DEFAULT_NAMESPACE.to_string(),
    };
    let version = options.version.as_deref().unwrap_or(DEFAULT_VERSION);
    for (path, hash) in &options.checksums {
        if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!(
                "the checksum of {path} is `{hash}`, not 64 lowercase hex digits (a sha256)"
            ));
        }
    }

    let mut out = String::new();
    let w = &mut out;
    line(
        w,
        "# plugin.toml: how a goproc host finds, checks and starts this plugin.",
    );
    match &options.command_line {
        Some(command) => {
            line(w, &format!("# Written from {source} by"));
            line(w, &format!("#   {command}"));
            line(w, "# Run it again to write this file anew (after a contract or a listed file changed).");
        }
        None => line(w, &format!("# Written by `goproc manifest` from {source}.")),
    }
    line(
        w,
        "# Every field is described in docs/REGISTRY.md (\"The manifest, field by field\").",
    );
    line(w, "");
    line(
        w,
        "# The plugin's id is \"namespace/name\"; a host asks for it by id, or by the bare",
    );
    line(
        w,
        "# name when no other namespace has a plugin of that name. Both use lowercase",
    );
    line(
        w,
        "# letters, digits, `_` and `-`, starting with a letter or digit. Change them.",
    );
    line(w, &format!("name = {}", quoted(&name)));
    line(w, &format!("namespace = {}", quoted(&namespace)));
    line(
        w,
        "# Free text shown in listings; nothing compares it (semver is not enforced).",
    );
    line(w, &format!("version = {}", quoted(version)));
    match options.description.as_deref().or(first.summary.as_deref()) {
        Some(summary) => line(w, &format!("description = {}", quoted(summary))),
        None => line(w, "# description = \"What this plugin does, in one line\""),
    }
    line(w, "");
    line(
        w,
        "# true: the plugin starts on its first call; false: when the host loads it.",
    );
    line(w, "lazy = true");
    line(w, "");
    line(w, "[run]");
    line(
        w,
        "# The program: a path with a `/` is relative to this file's folder, a bare name",
    );
    line(
        w,
        "# (python3, node) is looked up on PATH. It runs in this file's folder.",
    );
    let (command, args) = options.lang.command(&name);
    line(w, &format!("command = {}", quoted(&command)));
    let args: Vec<String> = args
        .into_iter()
        .chain(options.args.iter().map(String::as_str))
        .map(quoted)
        .collect();
    line(w, &format!("args = [{}]", args.join(", ")));
    line(
        w,
        "# env = { LOG_LEVEL = \"info\" }  # added to the environment the host runs in",
    );
    line(
        w,
        "# start_timeout = \"10s\"          # how long the start and handshake may take",
    );
    line(
        w,
        "# call_timeout = \"30s\"           # each call's deadline; \"none\" for no deadline",
    );

    for c in serves {
        line(w, "");
        line(
            w,
            "# A contract the plugin serves. The host refuses to start the plugin when this",
        );
        line(
            w,
            "# fingerprint differs from the one it was built with: write the skeleton again",
        );
        line(w, "# after changing the contract.");
        contract_table(w, "serves", c);
    }
    for c in requires {
        line(w, "");
        line(
            w,
            "# A contract the plugin calls on its host; the host must serve it.",
        );
        contract_table(w, "requires", c);
    }

    line(w, "");
    line(
        w,
        "# The sha256 of files, checked right before every start of the plugin: a path",
    );
    line(
        w,
        "# relative to this folder = 64 lowercase hex digits (`sha256sum FILE`). List the",
    );
    line(
        w,
        "# program, or for Python and TypeScript the scripts the interpreter runs.",
    );
    let main_file = options.lang.main_file(&name);
    if options.checksums.is_empty() {
        line(w, "# [checksums]");
        line(w, &format!("# {} = \"<sha256>\"", quoted(&main_file)));
    } else {
        line(w, "[checksums]");
        for (path, hash) in &options.checksums {
            line(w, &format!("{} = {}", quoted(path), quoted(hash)));
        }
    }
    line(w, "");
    line(
        w,
        "# How many processes serve the calls, and how many calls each may have at once.",
    );
    line(w, "# [pool]");
    line(w, "# size = 1");
    line(w, "# max_in_flight = 256");
    line(w, "");
    line(
        w,
        "# When a process dies it is started again, after a backoff that doubles from",
    );
    line(
        w,
        "# initial_backoff to max_backoff, at most max_restarts times per window.",
    );
    line(w, "# [restart]");
    line(w, "# max_restarts = 10");
    line(w, "# window = \"60s\"");
    line(w, "# initial_backoff = \"10ms\"");
    line(w, "# max_backoff = \"5s\"");
    Ok(out)
}

fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

fn contract_table(out: &mut String, table: &str, c: &ContractRef) {
    line(out, &format!("[[{table}]]"));
    line(out, &format!("contract = {}", quoted(&c.name)));
    line(out, &format!("fingerprint = {}", quoted(&c.fingerprint)));
}

/// A name or namespace as a manifest accepts it, or why not.
fn checked_name(what: &str, value: &str) -> Result<String, String> {
    let mut chars = value.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok {
        Ok(value.to_string())
    } else {
        Err(format!(
            "the {what} `{value}` is not one a manifest accepts: use lowercase letters, digits, \
             `_` and `-`, starting with a letter or digit"
        ))
    }
}

/// `text` as a TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transform() -> ContractRef {
        ContractRef {
            name: "TextTransform".into(),
            fingerprint: "ab".repeat(32),
            summary: Some("Turns \"text\" into other text.".into()),
        }
    }

    fn logger() -> ContractRef {
        ContractRef {
            name: "Logger".into(),
            fingerprint: "cd".repeat(32),
            summary: None,
        }
    }

    #[test]
    fn defaults_name_the_plugin_after_its_contract_and_run_it_per_language() {
        let text = render(
            &[transform()],
            &[],
            "contract.rs",
            &SkeletonOptions::new(RunLang::Python),
        )
        .unwrap();
        assert!(text.contains("\nname = \"text-transform\"\n"), "{text}");
        assert!(text.contains("\nnamespace = \"local\"\n"), "{text}");
        assert!(text.contains("\nversion = \"0.1.0\"\n"), "{text}");
        assert!(
            text.contains("\ndescription = \"Turns \\\"text\\\" into other text.\"\n"),
            "{text}"
        );
        assert!(
            text.contains("\ncommand = \"python3\"\nargs = [\"plugin.py\"]\n"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "\n[[serves]]\ncontract = \"TextTransform\"\nfingerprint = \"{}\"\n",
                "ab".repeat(32)
            )),
            "{text}"
        );
        assert!(
            text.contains("\n# \"plugin.py\" = \"<sha256>\"\n"),
            "{text}"
        );
        assert!(!text.contains("[[requires]]"), "{text}");

        let mut rust = SkeletonOptions::new(RunLang::Rust);
        rust.name = Some("upper".into());
        let text = render(&[transform()], &[], "c.rs", &rust).unwrap();
        assert!(
            text.contains("\ncommand = \"bin/upper\"\nargs = []\n"),
            "{text}"
        );
        let ts = render(
            &[transform()],
            &[],
            "c.rs",
            &SkeletonOptions::new(RunLang::Typescript),
        )
        .unwrap();
        assert!(
            ts.contains("\ncommand = \"node\"\nargs = [\"dist/plugin.js\"]\n"),
            "{ts}"
        );
    }

    #[test]
    fn requires_checksums_and_the_given_names_are_written() {
        let mut options = SkeletonOptions::new(RunLang::Rust);
        options.name = Some("up_per-2".into());
        options.namespace = Some("acme".into());
        options.version = Some("2.0.0-beta".into());
        options.checksums = vec![("bin/up_per-2".into(), "0f".repeat(32))];
        options.description = Some("Shouts".into());
        options.args = vec!["plugin".into(), "--fast".into()];
        options.command_line = Some("goproc manifest --lang rust".into());
        let text = render(&[transform()], &[logger()], "c.rs", &options).unwrap();
        assert!(
            text.starts_with(
                "# plugin.toml: how a goproc host finds, checks and starts this plugin.\n\
                 # Written from c.rs by\n#   goproc manifest --lang rust\n"
            ),
            "{text}"
        );
        assert!(text.contains("\ndescription = \"Shouts\"\n"), "{text}");
        assert!(
            text.contains("\ncommand = \"bin/up_per-2\"\nargs = [\"plugin\", \"--fast\"]\n"),
            "{text}"
        );
        assert!(
            text.contains("\nname = \"up_per-2\"\nnamespace = \"acme\"\n"),
            "{text}"
        );
        assert!(text.contains("\nversion = \"2.0.0-beta\"\n"), "{text}");
        assert!(
            text.contains(&format!(
                "\n[[requires]]\ncontract = \"Logger\"\nfingerprint = \"{}\"\n",
                "cd".repeat(32)
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "\n[checksums]\n\"bin/up_per-2\" = \"{}\"\n",
                "0f".repeat(32)
            )),
            "{text}"
        );
    }

    #[test]
    fn bad_names_checksums_and_nothing_served_are_refused() {
        let mut options = SkeletonOptions::new(RunLang::Rust);
        options.name = Some("Upper".into());
        let e = render(&[transform()], &[], "c.rs", &options).unwrap_err();
        assert!(
            e.starts_with("the name `Upper` is not one a manifest accepts"),
            "{e}"
        );
        options.name = None;
        options.namespace = Some("-acme".into());
        let e = render(&[transform()], &[], "c.rs", &options).unwrap_err();
        assert!(e.starts_with("the namespace `-acme`"), "{e}");
        options.namespace = None;
        options.checksums = vec![("plugin.py".into(), "sha256:00".into())];
        let e = render(&[transform()], &[], "c.rs", &options).unwrap_err();
        assert!(e.contains("checksum of plugin.py is `sha256:00`"), "{e}");
        let e = render(
            &[],
            &[logger()],
            "c.rs",
            &SkeletonOptions::new(RunLang::Rust),
        )
        .unwrap_err();
        assert!(e.contains("serve no contract"), "{e}");
    }

    #[test]
    fn the_skeleton_of_a_contract_file_has_the_model_fingerprint() {
        let dir = std::env::temp_dir().join(format!("goproc-skeleton-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("contract.rs");
        std::fs::write(
            &file,
            "/// Turns text into other text.\n#[goproc::plugin_interface]\npub trait Transform {\n\
             async fn apply(&self, text: String) -> String;\n}\n\
             #[goproc::plugin_interface]\npub trait Logger {\nasync fn log(&self, line: String);\n}\n",
        )
        .unwrap();
        let model = schema::load(std::slice::from_ref(&file)).unwrap();
        let fingerprint = |name: &str| {
            model
                .contracts
                .iter()
                .find(|c| c.contract.name == name)
                .unwrap()
                .contract
                .fingerprint
                .clone()
        };
        let mut options = SkeletonOptions::new(RunLang::Typescript);
        options.requires = vec!["Logger".into()];
        let text = skeleton(std::slice::from_ref(&file), &options).unwrap();
        assert!(
            text.contains(&format!(
                "[[serves]]\ncontract = \"Transform\"\nfingerprint = \"{}\"",
                fingerprint("Transform")
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "[[requires]]\ncontract = \"Logger\"\nfingerprint = \"{}\"",
                fingerprint("Logger")
            )),
            "{text}"
        );
        assert!(text.contains("\nname = \"transform\"\n"), "{text}");
        assert!(
            text.contains("\ndescription = \"Turns text into other text.\"\n"),
            "{text}"
        );

        options.requires = vec!["Store".into()];
        let e = skeleton(std::slice::from_ref(&file), &options)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--requires Store: the contract files define no contract Store; they define: \
             Transform, Logger"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
