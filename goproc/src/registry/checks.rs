//! What runs right before a registry plugin's process starts (each start
//! and restart): its folder is inside the allowed folders, its files and
//! folder cannot be changed by other users, and every file its manifest
//! lists in `[checksums]` has the sha256 written there. The window this
//! leaves open is in docs/REGISTRY.md, "Checks before a plugin starts".

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::Manifest;
use crate::Error;

/// How strict the checks are, for every plugin of a registry.
#[derive(Debug, Clone, Default)]
pub(crate) struct Policy {
    /// When not empty, a plugin's folder must be inside one of these.
    pub allow: Vec<PathBuf>,
}

/// Runs every check on `manifest`'s plugin: the allow-list, then the
/// permissions (a hash of a file others can write proves nothing), then
/// the checksums.
pub(crate) fn verify(manifest: &Manifest, policy: &Policy) -> Result<(), Error> {
    allowed(manifest, policy)?;
    permissions(manifest)?;
    checksums(manifest)
}

/// The sha256 of the file at `path`, as 64 lowercase hex digits, read in
/// 256 KiB pieces so that a large plugin is never held in memory whole.
pub fn sha256_file(path: impl AsRef<Path>) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// An I/O failure while checking: the plugin does not start, and the
/// error says which file could not be looked at.
fn unreadable(manifest: &Manifest, what: String, e: io::Error) -> Error {
    Error::Spawn {
        plugin: manifest.id(),
        program: manifest.run.command.clone(),
        reason: format!("{what}: {e}; the plugin was not started"),
        source: Arc::new(e),
    }
}

fn allowed(manifest: &Manifest, policy: &Policy) -> Result<(), Error> {
    if policy.allow.is_empty() {
        return Ok(());
    }
    let folder = manifest.folder.canonicalize().map_err(|e| {
        unreadable(
            manifest,
            format!("could not resolve its folder {}", manifest.folder.display()),
            e,
        )
    })?;
    // An allowed folder that does not exist holds no plugin.
    let inside = policy
        .allow
        .iter()
        .filter_map(|a| a.canonicalize().ok())
        .any(|a| folder.starts_with(a));
    if inside {
        return Ok(());
    }
    let list: Vec<String> = policy
        .allow
        .iter()
        .map(|a| a.display().to_string())
        .collect();
    Err(Error::UnsafePlugin {
        plugin: manifest.id(),
        path: folder,
        reason: format!(
            "the folder is outside the allowed folders ({}); move the plugin into one of them \
             or allow its folder",
            list.join(", ")
        ),
    })
}

fn checksums(manifest: &Manifest) -> Result<(), Error> {
    for sum in &manifest.checksums {
        let file = manifest.folder.join(&sum.path);
        let actual = sha256_file(&file).map_err(|e| {
            unreadable(
                manifest,
                format!(
                    "could not hash {}, listed in its manifest's [checksums]",
                    file.display()
                ),
                e,
            )
        })?;
        if actual != sum.sha256 {
            return Err(Error::Checksum {
                plugin: manifest.id(),
                file: sum.path.clone(),
                expected: sum.sha256.clone(),
                actual,
            });
        }
    }
    Ok(())
}

/// The files whose change would change what runs: the manifest (it names
/// the command), the command when it is a file, every checksummed file,
/// and the folder that holds them (whoever writes it can swap them).
/// Each with what it is, for messages.
#[cfg(unix)]
fn guarded_paths(manifest: &Manifest) -> Vec<(PathBuf, &'static str)> {
    let mut paths = vec![
        (manifest.folder.clone(), "the plugin's folder"),
        (manifest.path.clone(), "its manifest"),
    ];
    paths.extend(manifest.command_file().map(|f| (f, "its [run] command")));
    paths.extend(manifest.checksums.iter().map(|c| {
        (
            manifest.folder.join(&c.path),
            "listed in its manifest's [checksums]",
        )
    }));
    paths
}

#[cfg(unix)]
fn permissions(manifest: &Manifest) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;

    // SAFETY: geteuid and getegid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    for (path, what) in guarded_paths(manifest) {
        let meta = std::fs::metadata(&path).map_err(|e| {
            unreadable(
                manifest,
                format!("could not look at {} ({what})", path.display()),
                e,
            )
        })?;
        let unsafe_because = |reason: String| Error::UnsafePlugin {
            plugin: manifest.id(),
            path: path.clone(),
            reason,
        };
        let kind = if meta.is_dir() { "folder" } else { "file" };
        let mode = meta.mode();
        if mode & 0o002 != 0 {
            return Err(unsafe_because(format!(
                "the {kind} is writable by every user (mode {:o}); run `chmod o-w {}`",
                mode & 0o7777,
                path.display()
            )));
        }
        // Group-writable is fine for the host's own group (the usual
        // umask 002 with a group per user), not for any other group.
        if mode & 0o020 != 0 && meta.gid() != gid {
            return Err(unsafe_because(format!(
                "the {kind} is writable by group {} (mode {:o}), which is not this host's \
                 group {gid}; run `chmod g-w {}`",
                meta.gid(),
                mode & 0o7777,
                path.display()
            )));
        }
        if meta.uid() != uid && meta.uid() != 0 {
            return Err(unsafe_because(format!(
                "the {kind} is owned by user {}, not by this host's user {uid} or root; run \
                 `chown {uid} {}` or install the plugin as this user",
                meta.uid(),
                path.display()
            )));
        }
    }
    Ok(())
}

/// Windows' ACLs are not checked: only the allow-list and the checksums
/// guard a plugin there (docs/REGISTRY.md says so).
#[cfg(not(unix))]
fn permissions(_manifest: &Manifest) -> Result<(), Error> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests;
