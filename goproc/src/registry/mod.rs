//! Plugins found in folders, each described by a manifest (`plugin.toml`)
//! and checked right before it starts (docs/REGISTRY.md).
//!
//! ```no_run
//! # #[goproc::plugin_interface]
//! # pub trait Calculator { async fn add(&self, a: i64, b: i64) -> i64; }
//! # async fn run() -> Result<(), goproc::Error> {
//! let registry = goproc::Registry::builder()
//!     .folder("plugins")
//!     .contract::<CalculatorClient>()
//!     .load()
//!     .await?;
//! for problem in registry.problems() {
//!     eprintln!("skipped: {problem}");
//! }
//! let calc: CalculatorClient = registry.get("math/calc")?;
//! let sum = calc.add(2, 3).await?; // a lazy plugin starts here
//! registry.reload("math/calc").await?; // no call is dropped
//! # Ok(()) }
//! ```

pub(crate) mod checks;
mod entry;
mod launch;
pub mod manifest;
mod reload;
pub(crate) mod scan;
mod switch;
mod watch;

pub use checks::sha256_file;
pub use manifest::{Checksum, ContractEntry, Manifest, PoolSettings, Run, MANIFEST_FILE};
pub use reload::ReloadReport;
pub use scan::{scan, Scanned};
pub use watch::{Watch, SETTLE};

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use entry::{Entry, State};
use launch::Host;
use switch::Switch;

use crate::service::Services;
use crate::{Bus, Client, ClientHandle, ContractInfo, Error, Service};

/// Configures a [`Registry`]. Made by [`Registry::builder`].
pub struct RegistryBuilder {
    folders: Vec<PathBuf>,
    allow: Vec<PathBuf>,
    known: Vec<&'static ContractInfo>,
    services: Services,
    bus: Option<Bus>,
    stop_grace: Duration,
    drain_timeout: Duration,
}

impl RegistryBuilder {
    /// A folder of plugin folders (each with a `plugin.toml`), or one
    /// plugin folder. Call once per folder.
    pub fn folder(mut self, folder: impl Into<PathBuf>) -> Self {
        self.folders.push(folder.into());
        self
    }

    /// Only plugins whose folder lies inside one of `folders` may start
    /// (checked on the canonical paths, right before each start).
    pub fn allow_folders<I, P>(mut self, folders: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<PathBuf>,
    {
        self.allow.extend(folders.into_iter().map(Into::into));
        self
    }

    /// A contract this host has a client for: manifests that list it with
    /// another fingerprint are reported in [`Registry::problems`] at load,
    /// and its plugins are checked against its schema at their handshake.
    pub fn contract<C: Client>(mut self) -> Self {
        self.known.push(C::CONTRACT);
        self
    }

    /// Serves a host contract to every plugin of the registry (see
    /// [`PluginBuilder::serve`](crate::PluginBuilder::serve)); they share
    /// `service`.
    pub fn serve(mut self, service: impl Service) -> Self {
        self.services.push(service);
        self
    }

    /// The bus the plugins' events go through (default [`Bus::global`]).
    pub fn bus(mut self, bus: &Bus) -> Self {
        self.bus = Some(bus.clone());
        self
    }

    /// How long a reload or unload waits for the old generation's calls in
    /// flight before it stops it anyway (default 30 s, the default call
    /// timeout).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// How long a stopped generation's processes get to exit once their
    /// calls are done, before they are killed (default 5 s).
    pub fn stop_grace(mut self, grace: Duration) -> Self {
        self.stop_grace = grace;
        self
    }

    /// Reads the folders and starts the eager plugins. Fails only when a
    /// folder cannot be read at all; a bad manifest, or an eager plugin
    /// that cannot start, is reported in [`Registry::problems`] and the
    /// others load.
    pub async fn load(self) -> Result<Registry, Error> {
        for folder in &self.folders {
            usable_folder(folder)?;
        }
        let scanned = scan::scan(&self.folders);
        let host = Arc::new(Host {
            services: self.services,
            bus: self.bus,
            policy: Arc::new(checks::Policy { allow: self.allow }),
            known: RwLock::new(Vec::new()),
            stop_grace: self.stop_grace,
            drain_timeout: self.drain_timeout,
        });
        for contract in self.known {
            host.know(contract);
        }
        let mut problems = scanned.problems;
        let mut entries = Vec::new();
        for manifest in scanned.manifests {
            problems.extend(known_mismatches(&manifest, &host));
            problems.extend(launch::unmet_requirement(&manifest, &host));
            entries.push(Entry::new(manifest, host.clone()));
        }
        entries.sort_by(|a, b| a.id().cmp(b.id()));
        let eager = entries.iter().filter(|e| !e.manifest().lazy);
        let started = futures::future::join_all(eager.map(|e| e.generation())).await;
        problems.extend(started.into_iter().filter_map(Result::err));
        Ok(Registry {
            inner: Arc::new(Inner {
                entries,
                problems,
                host,
            }),
        })
    }
}

/// A folder given to the builder must exist and be a folder: a typo in a
/// path is a configuration error, not an empty registry.
fn usable_folder(folder: &Path) -> Result<(), Error> {
    let reason = match std::fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => "it is not a folder; give the folder that holds the plugin folders".to_string(),
        Err(e) => format!("the plugin folder cannot be read: {e}"),
    };
    Err(Error::Manifest {
        file: folder.to_path_buf(),
        line: 0,
        column: 0,
        reason,
    })
}

/// A manifest listing a contract this host knows with another fingerprint.
fn known_mismatches(manifest: &Manifest, host: &Host) -> Vec<Error> {
    let known = host.known.read().unwrap_or_else(|p| p.into_inner());
    manifest
        .serves
        .iter()
        .filter_map(|served| {
            let ours = known
                .iter()
                .find(|c| c.name == served.contract && c.fingerprint != served.fingerprint)?;
            Some(Error::ManifestContract {
                plugin: manifest.id(),
                contract: served.contract.clone(),
                reason: fingerprint_differs(&served.fingerprint, ours),
            })
        })
        .collect()
}

fn fingerprint_differs(manifest_says: &str, ours: &ContractInfo) -> String {
    format!(
        "manifest says {}, this host was built with {}; reinstall the plugin or rebuild the host",
        crate::contract::short(manifest_says),
        ours.short_fingerprint()
    )
}

/// What a registry knows of one plugin (see [`Registry::plugins`]).
#[derive(Debug, Clone)]
pub struct PluginListing {
    /// `namespace/name`.
    pub id: String,
    /// The manifest's version.
    pub version: String,
    /// The manifest's description.
    pub description: Option<String>,
    /// The plugin's folder (where its manifest is).
    pub folder: PathBuf,
    /// The contracts it serves, by name.
    pub serves: Vec<String>,
    /// Whether it starts on its first call (`true`) or at load.
    pub lazy: bool,
    /// Whether it runs.
    pub state: PluginState,
    /// The generation running (each start or reload makes one more); 0
    /// when none runs.
    pub generation: u64,
    /// The process ids of its running instances.
    pub pids: Vec<u32>,
}

/// Whether a registered plugin runs.
#[derive(Debug, Clone)]
pub enum PluginState {
    /// Not started: lazy and not called yet.
    NotStarted,
    /// Its start is under way.
    Starting,
    /// Running.
    Running,
    /// Its last start failed (the next call tries again).
    Failed(Error),
    /// Unloaded: calls fail with [`Error::Unloaded`] until it is reloaded.
    Unloaded,
}

struct Inner {
    entries: Vec<Arc<Entry>>,
    problems: Vec<Error>,
    host: Arc<Host>,
}

/// Plugins found in folders by their manifests: typed clients by name,
/// lazy or eager start, unload, and reload without dropped calls. Made by
/// [`Registry::builder`]; cheap to clone (clones share the plugins).
/// Dropping the last clone and every client stops every plugin.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl Registry {
    /// Starts configuring a registry.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder {
            folders: Vec::new(),
            allow: Vec::new(),
            known: Vec::new(),
            services: Services::default(),
            bus: None,
            stop_grace: Duration::from_secs(5),
            drain_timeout: crate::DEFAULT_CALL_TIMEOUT,
        }
    }

    /// Every plugin loaded, by id.
    pub fn plugins(&self) -> Vec<PluginListing> {
        self.inner.entries.iter().map(|e| listing(e)).collect()
    }

    /// What could not be loaded or started at load: bad manifests (file,
    /// line and reason), duplicate ids, fingerprints that differ from the
    /// host's, eager plugins that failed to start.
    pub fn problems(&self) -> &[Error] {
        &self.inner.problems
    }

    /// A typed client of plugin `name` (`namespace/name`, or a bare name
    /// found in one namespace only). Never starts anything: refused when
    /// no plugin has that name, the bare name is in several namespaces,
    /// or the manifest does not list `C`'s contract with the fingerprint
    /// this host was built with. A lazy plugin starts on the client's
    /// first call.
    pub fn get<C: Client>(&self, name: &str) -> Result<C, Error> {
        let entry = self.entry(name)?;
        let manifest = entry.manifest();
        serves(&manifest, C::CONTRACT)?;
        Ok(self.client(entry, &manifest))
    }

    /// A typed client of every plugin whose manifest lists `C`'s contract
    /// with this host's fingerprint (unloaded ones aside), with its id, in
    /// id order: plugins as extensions.
    pub fn all<C: Client>(&self) -> Vec<(String, C)> {
        self.inner
            .entries
            .iter()
            .filter(|e| !matches!(*e.state(), State::Unloaded))
            .filter_map(|entry| {
                let manifest = entry.manifest();
                serves(&manifest, C::CONTRACT).ok()?;
                Some((entry.id().to_string(), self.client(entry, &manifest)))
            })
            .collect()
    }

    /// Unloads plugin `name`: new calls fail with [`Error::Unloaded`] at
    /// once, calls in flight finish (within the drain timeout), then its
    /// processes stop. [`Registry::reload`] loads it again.
    pub async fn unload(&self, name: &str) -> Result<(), Error> {
        let entry = self.entry(name)?;
        reload::unload(entry).await
    }

    /// Reloads plugin `name` from its folder: reads its manifest again,
    /// runs the checks, starts the new version and waits for its
    /// handshake, sends new calls to it, lets the old version finish its
    /// calls in flight, then stops it. When the new version fails (bad
    /// manifest, checksum, crash at start, wrong fingerprint) the old one
    /// keeps serving and the error says why. A plugin that is not running
    /// takes the new manifest (and starts, if eager).
    pub async fn reload(&self, name: &str) -> Result<ReloadReport, Error> {
        let entry = self.entry(name)?;
        reload::reload(entry).await
    }

    /// Watches every plugin's folder: a file changed there reloads that
    /// plugin (once the folder has been quiet for [`SETTLE`]); each reload
    /// is reported on the returned [`Watch`] and through `tracing`. Reads
    /// are not changes; `__pycache__`, `node_modules` and editor swap files
    /// are ignored, and changes made while a reload runs are dropped with
    /// it. Anything else a plugin writes into its own folder counts as a
    /// change: keep its data elsewhere. Plugin folders added after `load`
    /// are not watched.
    pub fn watch(&self) -> Result<Watch, Error> {
        watch::watch(self.inner.entries.clone())
    }

    fn entry(&self, name: &str) -> Result<&Arc<Entry>, Error> {
        let entries = &self.inner.entries;
        let unknown = || Error::UnknownPlugin {
            name: name.to_string(),
            known: entries.iter().map(|e| e.id().to_string()).collect(),
        };
        if name.contains('/') {
            return entries.iter().find(|e| e.id() == name).ok_or_else(unknown);
        }
        let mut named = entries.iter().filter(|e| e.manifest().name == name);
        match (named.next(), named.next()) {
            (Some(entry), None) => Ok(entry),
            _ => Err(unknown()),
        }
    }

    fn client<C: Client>(&self, entry: &Arc<Entry>, manifest: &Manifest) -> C {
        entry.issue(C::CONTRACT);
        self.inner.host.know(C::CONTRACT);
        let switch = Switch {
            entry: entry.clone(),
            contract: C::CONTRACT,
        };
        let timeout = manifest
            .run
            .call_timeout
            .unwrap_or(Some(crate::DEFAULT_CALL_TIMEOUT));
        let handle = ClientHandle::pooled(Arc::new(switch), 0, C::CONTRACT).with_timeout(timeout);
        C::from_handle(handle)
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("plugins", &self.plugins())
            .field("problems", &self.inner.problems.len())
            .finish()
    }
}

/// Whether `manifest` lists `contract` with the same fingerprint.
fn serves(manifest: &Manifest, contract: &ContractInfo) -> Result<(), Error> {
    let reason = match manifest.serves.iter().find(|s| s.contract == contract.name) {
        Some(s) if s.fingerprint == contract.fingerprint => return Ok(()),
        Some(s) => fingerprint_differs(&s.fingerprint, contract),
        None => format!(
            "its manifest ({}) does not list it under [[serves]]; it serves: {}",
            manifest.path.display(),
            manifest
                .serves
                .iter()
                .map(|s| s.contract.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Err(Error::ManifestContract {
        plugin: manifest.id(),
        contract: contract.name.to_string(),
        reason,
    })
}

fn listing(entry: &Entry) -> PluginListing {
    let manifest = entry.manifest();
    let (state, generation, pids) = match &*entry.state() {
        State::Idle(None) => (PluginState::NotStarted, 0, Vec::new()),
        State::Idle(Some(e)) => (PluginState::Failed(e.clone()), 0, Vec::new()),
        State::Starting(_) => (PluginState::Starting, 0, Vec::new()),
        State::Running(live) => (
            PluginState::Running,
            live.generation.number,
            live.generation.pids(),
        ),
        State::Unloaded => (PluginState::Unloaded, 0, Vec::new()),
    };
    PluginListing {
        id: manifest.id(),
        version: manifest.version.clone(),
        description: manifest.description.clone(),
        folder: manifest.folder.clone(),
        serves: manifest.serves.iter().map(|s| s.contract.clone()).collect(),
        lazy: manifest.lazy,
        state,
        generation,
        pids,
    }
}
