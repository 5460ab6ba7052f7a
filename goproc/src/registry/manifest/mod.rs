//! A plugin's manifest, `plugin.toml`: who the plugin is, what it serves,
//! how to start it and which files to check first (docs/REGISTRY.md, "The
//! manifest, field by field").

mod position;
mod raw;
#[cfg(test)]
mod tests;
mod validate;

pub(crate) use validate::Positions;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Error, RestartPolicy};

/// The file name a plugin folder's manifest has.
pub const MANIFEST_FILE: &str = "plugin.toml";

/// One plugin's manifest, read and checked.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest file (`.../plugin.toml`), as it was given.
    pub path: PathBuf,
    /// The folder the manifest is in: relative paths start there, and the
    /// plugin runs there.
    pub folder: PathBuf,
    /// The plugin's name (`[a-z0-9][a-z0-9_-]*`).
    pub name: String,
    /// Its namespace (same alphabet); the id is `namespace/name`.
    pub namespace: String,
    /// Its version, free text (not checked as semver).
    pub version: String,
    /// What it does, in a sentence.
    pub description: Option<String>,
    /// `true` (the default): start on the first call; `false`: at load.
    pub lazy: bool,
    /// How to start it.
    pub run: Run,
    /// The contracts it serves (at least one).
    pub serves: Vec<ContractEntry>,
    /// The host contracts it calls.
    pub requires: Vec<ContractEntry>,
    /// The files to hash right before it starts, in path order.
    pub checksums: Vec<Checksum>,
    /// How many instances, and how many calls each may have in flight.
    pub pool: PoolSettings,
    /// When to restart an instance that exits.
    pub restart: RestartPolicy,
}

/// The `[run]` table: the command that starts the plugin.
#[derive(Debug, Clone)]
pub struct Run {
    /// The command as written: a path with a `/` is relative to the
    /// manifest's folder, a bare name (`python3`, `node`) is looked up on
    /// `PATH`. [`Manifest::program`] resolves it.
    pub command: String,
    /// The arguments, passed as given.
    pub args: Vec<String>,
    /// Variables added to the inherited environment.
    pub env: BTreeMap<String, String>,
    /// How long the plugin may take to connect; `None`: the builder's default.
    pub start_timeout: Option<Duration>,
    /// The deadline of each call: `None`, the builder's default;
    /// `Some(None)`, no deadline (`call_timeout = "none"`); `Some(Some(d))`, `d`.
    pub call_timeout: Option<Option<Duration>>,
}

/// A contract a plugin serves (`[[serves]]`) or needs (`[[requires]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractEntry {
    /// The contract's name (the trait's name).
    pub contract: String,
    /// Its full fingerprint: 64 lowercase hex digits, as
    /// [`crate::ContractInfo::fingerprint`].
    pub fingerprint: String,
}

/// A file to hash before the plugin starts (`[checksums]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// The file, relative to the manifest's folder (never `..` or absolute).
    pub path: PathBuf,
    /// Its expected sha256, 64 lowercase hex digits.
    pub sha256: String,
}

/// The `[pool]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// How many processes (default 1).
    pub size: usize,
    /// How many calls each may have in flight (default 256).
    pub max_in_flight: usize,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            size: 1,
            max_in_flight: 256,
        }
    }
}

impl Manifest {
    /// Reads and checks the manifest at `path` (a `plugin.toml`), and that
    /// its command file exists when the command is a path.
    pub fn load(path: impl AsRef<Path>) -> Result<Manifest, Error> {
        load(path.as_ref()).map(|(manifest, _)| manifest)
    }

    /// Checks the manifest text `text`, read from `path` (which names it in
    /// errors and gives the folder that relative paths start from). Looks
    /// at no other file.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Manifest, Error> {
        validate::parse(text, path.as_ref()).map(|(manifest, _)| manifest)
    }

    /// The plugin's id, `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The program to run: the command joined to the manifest's folder and
    /// made absolute when it is a path (it has a `/`), otherwise the bare
    /// name, for `PATH`. Absolute, since the process starts in that folder
    /// and a relative path would be taken from there a second time.
    pub fn program(&self) -> PathBuf {
        match self.command_file() {
            Some(file) => std::path::absolute(&file).unwrap_or(file),
            None => PathBuf::from(&self.run.command),
        }
    }

    /// The command's file when the command is a path (it has a `/`):
    /// relative ones start at the manifest's folder. `None` for a bare name.
    pub fn command_file(&self) -> Option<PathBuf> {
        let command = Path::new(&self.run.command);
        if !self.run.command.contains('/') {
            return None;
        }
        Some(self.folder.join(command))
    }

    /// Runs the checks a registry runs right before it starts this plugin
    /// (docs/REGISTRY.md, "Checks before a plugin starts"): when `allow` is
    /// not empty the folder must be inside one of those folders; on unix
    /// the folder, the manifest, the command file and every checksummed
    /// file must not be writable by other users nor owned by another user
    /// than this process's or root; every `[checksums]` file must have its
    /// sha256.
    pub fn verify(&self, allow: &[PathBuf]) -> Result<(), Error> {
        let policy = super::checks::Policy {
            allow: allow.to_vec(),
        };
        super::checks::verify(self, &policy)
    }

    /// The fingerprint the manifest gives for contract `name` among the
    /// contracts it serves.
    pub fn serves_fingerprint(&self, name: &str) -> Option<&str> {
        self.serves
            .iter()
            .find(|c| c.contract == name)
            .map(|c| c.fingerprint.as_str())
    }
}

/// [`Manifest::load`], with where its name and command are, for the
/// scan's messages.
pub(crate) fn load(path: &Path) -> Result<(Manifest, Positions), Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Manifest {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        reason: format!("could not read the manifest: {e}"),
    })?;
    let (manifest, positions) = validate::parse(&text, path)?;
    if let Some(file) = manifest.command_file() {
        if !file.is_file() {
            let (line, column) = positions.command;
            let found = if file.exists() {
                "is not a file"
            } else {
                "does not exist"
            };
            return Err(Error::Manifest {
                file: path.to_path_buf(),
                line,
                column,
                reason: format!(
                    "[run] command `{}` {found} (looked for {}); build or install the plugin, \
                     or correct the path (relative to the manifest's folder)",
                    manifest.run.command,
                    file.display()
                ),
            });
        }
    }
    Ok((manifest, positions))
}
