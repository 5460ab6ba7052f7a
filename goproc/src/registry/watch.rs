//! A folder watch: a file changed in a plugin's folder reloads that
//! plugin. Changes are gathered until the folder has been quiet for a
//! moment (an install writes several files), then one reload runs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::entry::Entry;
use super::reload::{self, ReloadReport};
use crate::Error;

/// How long a plugin folder must be quiet before its reload starts.
pub const SETTLE: Duration = Duration::from_millis(300);

/// A running folder watch (from [`Registry::watch`](super::Registry::watch)):
/// each reload it makes is reported here and through `tracing`. Dropping
/// it stops watching.
pub struct Watch {
    reports: mpsc::UnboundedReceiver<ReloadReport>,
    _watcher: RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Watch {
    /// The next reload the watch made (`error` set when it failed and the
    /// old version kept serving). `None` once the watch has stopped.
    pub async fn next(&mut self) -> Option<ReloadReport> {
        self.reports.recv().await
    }

    /// A reload already made, if one is waiting to be read.
    pub fn try_next(&mut self) -> Option<ReloadReport> {
        self.reports.try_recv().ok()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

/// Starts watching the folder of each of `entries`.
pub(crate) fn watch(entries: Vec<Arc<Entry>>) -> Result<Watch, Error> {
    let (changed_tx, changed_rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        // Reads (our own checksums among them) are not changes.
        if !matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) {
            return;
        }
        for path in event.paths {
            if !is_noise(&path) {
                let _ = changed_tx.send(path);
            }
        }
    })
    .map_err(|e| watch_error(Path::new("."), e))?;
    let mut folders = Vec::new();
    for entry in &entries {
        let folder = entry.manifest().folder.clone();
        watcher
            .watch(&folder, RecursiveMode::Recursive)
            .map_err(|e| watch_error(&folder, e))?;
        // Canonical too: the watcher may report the paths it resolved.
        let canonical = folder.canonicalize().unwrap_or_else(|_| folder.clone());
        folders.push((folder, canonical, entry.clone()));
    }
    let (reports_tx, reports) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(changed_rx, folders, reports_tx));
    Ok(Watch {
        reports,
        _watcher: watcher,
        task,
    })
}

type Watched = Vec<(PathBuf, PathBuf, Arc<Entry>)>;

async fn run(
    mut changed: mpsc::UnboundedReceiver<PathBuf>,
    folders: Watched,
    reports: mpsc::UnboundedSender<ReloadReport>,
) {
    while let Some(first) = changed.recv().await {
        let mut due = BTreeSet::new();
        note(&folders, &first, &mut due);
        // Gather until quiet.
        loop {
            match tokio::time::timeout(SETTLE, changed.recv()).await {
                Ok(Some(path)) => note(&folders, &path, &mut due),
                Ok(None) => return,
                Err(_quiet) => break,
            }
        }
        for index in due {
            let entry = &folders[index].2;
            let report = match reload::reload(entry).await {
                Ok(report) => report,
                Err(error) => {
                    tracing::warn!(
                        plugin = entry.id(),
                        "reload after a change in its folder failed, the old version keeps \
                         serving: {error}"
                    );
                    failed(entry, error)
                }
            };
            if reports.send(report).is_err() {
                return;
            }
        }
        // What the reload itself stirred up (a new process writing
        // caches) is not a change of the plugin.
        while changed.try_recv().is_ok() {}
    }
}

/// Marks the plugin whose folder holds `path`.
fn note(folders: &Watched, path: &Path, due: &mut BTreeSet<usize>) {
    if let Some(index) = folders
        .iter()
        .position(|(folder, canonical, _)| path.starts_with(folder) || path.starts_with(canonical))
    {
        due.insert(index);
    }
}

/// Files an interpreter or an editor writes that are not the plugin.
fn is_noise(path: &Path) -> bool {
    path.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        c == "__pycache__" || c == "node_modules" || c.ends_with(".swp") || c.ends_with('~')
    })
}

fn failed(entry: &Entry, error: Error) -> ReloadReport {
    let (version, generation) = match &*entry.state() {
        super::entry::State::Running(live) => {
            (live.generation.version.clone(), live.generation.number)
        }
        _ => (entry.manifest().version.clone(), 0),
    };
    ReloadReport {
        plugin: entry.id().to_string(),
        version,
        generation,
        stopped: Vec::new(),
        drained_in: Duration::ZERO,
        error: Some(error),
    }
}

fn watch_error(folder: &Path, e: notify::Error) -> Error {
    Error::Manifest {
        file: folder.to_path_buf(),
        line: 0,
        column: 0,
        reason: format!("cannot watch this plugin folder for changes: {e}"),
    }
}
