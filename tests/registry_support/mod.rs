//! Plugin folders for the registry tests, written into scratch folders:
//! a manifest text builder, and a Rust calculator plugin (the `test-plugin`
//! binary copied in, its checksum in the manifest).
#![allow(dead_code)]

#[path = "../../examples/calculator/contract.rs"]
pub mod calculator;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use goproc::Client;

/// The test-plugin binary cargo built for these tests.
pub const TEST_PLUGIN: &str = env!("CARGO_BIN_EXE_test-plugin");

/// The Calculator contract's fingerprint, as this host was built with it.
pub fn calculator_fingerprint() -> &'static str {
    calculator::CalculatorClient::CONTRACT.fingerprint
}

/// A fresh scratch folder under `target/goproc-tests/registry/`, removed
/// when dropped. Its mode is 0700: no other user can write in it.
pub fn scratch() -> tempfile::TempDir {
    let parent = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/goproc-tests/registry");
    std::fs::create_dir_all(&parent).expect("creating target/goproc-tests/registry");
    tempfile::Builder::new()
        .prefix("plugins-")
        .tempdir_in(&parent)
        .expect("creating a scratch folder for plugins")
}

/// One plugin folder written by [`write_plugin`].
#[derive(Debug, Clone)]
pub struct PluginFolder {
    /// The plugin's folder.
    pub folder: PathBuf,
    /// Its `plugin.toml`.
    pub manifest: PathBuf,
}

impl PluginFolder {
    /// A file in the plugin's folder.
    pub fn file(&self, relative: &str) -> PathBuf {
        self.folder.join(relative)
    }
}

/// Writes `<root>/<dir>/plugin.toml` with `manifest` (creating the folder).
pub fn write_plugin(root: &Path, dir: &str, manifest: &str) -> PluginFolder {
    let folder = root.join(dir);
    std::fs::create_dir_all(&folder).expect("creating a plugin folder");
    let path = folder.join("plugin.toml");
    std::fs::write(&path, manifest).expect("writing plugin.toml");
    PluginFolder {
        folder,
        manifest: path,
    }
}

/// Copies the `test-plugin` binary to `<folder>/bin/test-plugin` (a copy,
/// not a link: tests change its mode and bytes) and returns its path.
pub fn copy_test_plugin(folder: &Path) -> PathBuf {
    let bin = folder.join("bin");
    std::fs::create_dir_all(&bin).expect("creating bin/");
    let target = bin.join("test-plugin");
    std::fs::copy(TEST_PLUGIN, &target).expect("copying the test-plugin binary");
    target
}

/// `<root>/<dir>`: the test-plugin in its `calculator` role, serving
/// Calculator with this host's fingerprint, `bin/test-plugin` checksummed.
pub fn rust_calculator(root: &Path, dir: &str, namespace: &str, name: &str) -> PluginFolder {
    let folder = root.join(dir);
    let binary = copy_test_plugin(&folder);
    let sum = goproc::registry::sha256_file(&binary).expect("hashing the test-plugin copy");
    let text = ManifestText::new(namespace, name, "bin/test-plugin")
        .arg("calculator")
        .checksum("bin/test-plugin", &sum)
        .render();
    write_plugin(root, dir, &text)
}

/// A manifest's text, built up key by key.
#[derive(Debug, Clone)]
pub struct ManifestText {
    namespace: String,
    name: String,
    version: String,
    lazy: Option<bool>,
    command: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    run_lines: Vec<String>,
    serves: Vec<(String, String)>,
    checksums: Vec<(String, String)>,
    tail: String,
}

impl ManifestText {
    /// `namespace/name` running `command`, serving Calculator with this
    /// host's fingerprint.
    pub fn new(namespace: &str, name: &str, command: &str) -> Self {
        ManifestText {
            namespace: namespace.into(),
            name: name.into(),
            version: "1.0.0".into(),
            lazy: None,
            command: command.into(),
            args: Vec::new(),
            env: Vec::new(),
            run_lines: Vec::new(),
            serves: vec![("Calculator".into(), calculator_fingerprint().into())],
            checksums: Vec::new(),
            tail: String::new(),
        }
    }

    pub fn version(mut self, version: &str) -> Self {
        self.version = version.into();
        self
    }

    pub fn lazy(mut self, lazy: bool) -> Self {
        self.lazy = Some(lazy);
        self
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// A raw line in the `[run]` table, e.g. `start_timeout = "20s"`.
    pub fn run_line(mut self, line: &str) -> Self {
        self.run_lines.push(line.into());
        self
    }

    /// Replaces the served contracts with `contracts` (name, fingerprint).
    pub fn serves(mut self, contracts: &[(&str, &str)]) -> Self {
        self.serves = contracts
            .iter()
            .map(|(c, f)| (c.to_string(), f.to_string()))
            .collect();
        self
    }

    pub fn checksum(mut self, path: &str, sha256: &str) -> Self {
        self.checksums.push((path.into(), sha256.into()));
        self
    }

    /// TOML appended after everything else (whole tables).
    pub fn tail(mut self, toml: &str) -> Self {
        self.tail.push_str(toml);
        self.tail.push('\n');
        self
    }

    pub fn render(&self) -> String {
        let mut t = String::new();
        let q = |s: &str| format!("{s:?}");
        writeln!(t, "name = {}", q(&self.name)).unwrap();
        writeln!(t, "namespace = {}", q(&self.namespace)).unwrap();
        writeln!(t, "version = {}", q(&self.version)).unwrap();
        if let Some(lazy) = self.lazy {
            writeln!(t, "lazy = {lazy}").unwrap();
        }
        writeln!(t, "\n[run]\ncommand = {}", q(&self.command)).unwrap();
        let args: Vec<String> = self.args.iter().map(|a| q(a)).collect();
        writeln!(t, "args = [{}]", args.join(", ")).unwrap();
        if !self.env.is_empty() {
            let env: Vec<String> = self
                .env
                .iter()
                .map(|(k, v)| format!("{k} = {}", q(v)))
                .collect();
            writeln!(t, "env = {{ {} }}", env.join(", ")).unwrap();
        }
        for line in &self.run_lines {
            writeln!(t, "{line}").unwrap();
        }
        for (contract, fingerprint) in &self.serves {
            writeln!(
                t,
                "\n[[serves]]\ncontract = {}\nfingerprint = {}",
                q(contract),
                q(fingerprint)
            )
            .unwrap();
        }
        if !self.checksums.is_empty() {
            writeln!(t, "\n[checksums]").unwrap();
            for (path, sum) in &self.checksums {
                writeln!(t, "{} = {}", q(path), q(sum)).unwrap();
            }
        }
        if !self.tail.is_empty() {
            writeln!(t, "\n{}", self.tail).unwrap();
        }
        t
    }
}
