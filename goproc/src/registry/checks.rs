//! What runs right before a plugin starts: its files' checksums.
//! (The permission and allow-list checks land with the manifest work.)

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Manifest;
use crate::Error;

/// How plugins are checked beyond their manifest.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Only plugins in these folders may start (`None`: any folder).
    pub allow: Option<Vec<PathBuf>>,
}

/// Checks `manifest`'s files right before its plugin starts.
pub fn verify(manifest: &Manifest, _policy: &Policy) -> Result<(), Error> {
    for checksum in &manifest.checksums {
        let file = manifest.folder.join(&checksum.path);
        let actual = sha256_file(&file).map_err(|e| Error::Checksum {
            plugin: manifest.id(),
            file: checksum.path.clone(),
            expected: checksum.sha256.clone(),
            actual: format!("(unreadable: {e})"),
        })?;
        if actual != checksum.sha256 {
            return Err(Error::Checksum {
                plugin: manifest.id(),
                file: checksum.path.clone(),
                expected: checksum.sha256.clone(),
                actual,
            });
        }
    }
    Ok(())
}

/// The lowercase hex sha256 of a file, read in 64 KiB pieces.
pub fn sha256_file(path: impl AsRef<Path>) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
