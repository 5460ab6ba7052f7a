//! What a generator writes, and the `--check` comparison with what is on disk.

use std::path::{Path, PathBuf};

/// One file a generator writes, relative to the output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Path relative to the output folder.
    pub path: PathBuf,
    /// The whole contents.
    pub contents: String,
}

/// Writes every file below `out`, creating folders as needed.
pub fn write_all(out: &Path, files: &[OutputFile]) -> std::io::Result<()> {
    for file in files {
        let path = out.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Leave an unchanged file alone, so its timestamp does not trigger rebuilds.
        if std::fs::read_to_string(&path).ok().as_deref() != Some(file.contents.as_str()) {
            std::fs::write(&path, &file.contents)?;
        }
    }
    Ok(())
}

/// The files below `out` that are missing or differ from `files`.
pub fn stale(out: &Path, files: &[OutputFile]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(out.join(&f.path)).ok().as_deref() != Some(f.contents.as_str())
        })
        .map(|f| out.join(&f.path))
        .collect()
}
