//! Reading folders of plugin folders: the manifests found, and the
//! problems (bad manifests) beside them.

use std::path::PathBuf;

use super::{Manifest, MANIFEST_FILE};
use crate::Error;

/// What [`scan`] found.
#[derive(Debug, Default)]
pub struct Scanned {
    /// The manifests that read.
    pub manifests: Vec<Manifest>,
    /// The ones that did not.
    pub problems: Vec<Error>,
}

/// Reads each folder's plugin folders (and a manifest directly in it).
pub fn scan(folders: &[PathBuf]) -> Scanned {
    let mut scanned = Scanned::default();
    for folder in folders {
        let mut paths = vec![folder.join(MANIFEST_FILE)];
        if let Ok(read) = std::fs::read_dir(folder) {
            paths.extend(read.flatten().map(|e| e.path().join(MANIFEST_FILE)));
        }
        paths.sort();
        for path in paths.into_iter().filter(|p| p.is_file()) {
            match Manifest::load(&path) {
                Ok(m) => scanned.manifests.push(m),
                Err(e) => scanned.problems.push(e),
            }
        }
    }
    scanned
}
