//! Reading plugin folders: every `plugin.toml` found becomes a manifest
//! or a problem, and a bad one never keeps the others from loading.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::manifest::{self, MANIFEST_FILE};
use super::Manifest;
use crate::Error;

/// What a scan of plugin folders found.
#[derive(Debug, Clone, Default)]
pub struct Scanned {
    /// The manifests that read and passed their checks, in the order the
    /// folders were given, each folder's plugins by folder name.
    pub manifests: Vec<Manifest>,
    /// Why the others did not: each a [`Error::Manifest`] with the file,
    /// line and reason.
    pub problems: Vec<Error>,
}

/// Reads `folders`. Each is a folder of plugin folders, each of those
/// with a `plugin.toml`; a folder that has a `plugin.toml` itself is one
/// plugin's folder. Subfolders without a manifest, and hidden ones, are
/// passed over. Two manifests with the same id: the first one found loads,
/// the second is a problem naming both files. Nothing is started.
pub fn scan(folders: &[PathBuf]) -> Scanned {
    let mut found = Scanned::default();
    // The file that holds each id, for the message about a second one.
    let mut ids: BTreeMap<String, PathBuf> = BTreeMap::new();
    for folder in folders {
        for file in manifest_files(folder, &mut found.problems) {
            match manifest::load(&file) {
                Err(problem) => found.problems.push(problem),
                Ok((manifest, positions)) => {
                    if let Some(first) = ids.get(&manifest.id()) {
                        let (line, column) = positions.name;
                        found.problems.push(Error::Manifest {
                            file: file.clone(),
                            line,
                            column,
                            reason: format!(
                                "plugin id `{}` is already taken by {}; give this plugin \
                                 another name or namespace, or remove one of the two",
                                manifest.id(),
                                first.display()
                            ),
                        });
                        continue;
                    }
                    ids.insert(manifest.id(), file);
                    found.manifests.push(manifest);
                }
            }
        }
    }
    found
}

/// The manifest files of one given folder, sorted; a folder that cannot be
/// read is a problem.
fn manifest_files(folder: &Path, problems: &mut Vec<Error>) -> Vec<PathBuf> {
    let direct = folder.join(MANIFEST_FILE);
    if direct.is_file() {
        return vec![direct];
    }
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(Error::Manifest {
                file: folder.to_path_buf(),
                line: 0,
                column: 0,
                reason: format!(
                    "could not read the plugin folder: {e}; check that it exists and that this \
                     user may read it"
                ),
            });
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| !entry.file_name().to_string_lossy().starts_with('.'))
        .map(|entry| entry.path().join(MANIFEST_FILE))
        .filter(|file| file.is_file())
        .collect();
    files.sort();
    files
}
