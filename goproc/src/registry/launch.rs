//! From a manifest to a running [`Pool`]: the command, its folder and
//! environment, the contracts its handshake must show, and the checks
//! that run right before every spawn (restarts included).

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use super::checks::{self, Policy};
use super::Manifest;
use crate::contract::FINGERPRINT_ONLY;
use crate::schema::ContractSchema;
use crate::service::Services;
use crate::{Bus, ContractInfo, Error, Plugin, Pool};

/// What every plugin of one registry shares: what the host offers them
/// and how they are checked and stopped.
pub(crate) struct Host {
    pub(crate) services: Services,
    pub(crate) bus: Option<Bus>,
    pub(crate) policy: Arc<Policy>,
    /// The contracts this host has Rust types for (declared on the builder,
    /// or asked for with `get`): a generation is checked against their
    /// schemas, not only their fingerprints.
    pub(crate) known: RwLock<Vec<&'static ContractInfo>>,
    /// How long a stopped generation's instances get to exit.
    pub(crate) stop_grace: Duration,
    /// How long a reload or unload waits for the old generation's calls.
    pub(crate) drain_timeout: Duration,
}

impl Host {
    pub(crate) fn know(&self, contract: &'static ContractInfo) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if !known.iter().any(|c| **c == *contract) {
            known.push(contract);
        }
    }

    /// The typed contract of this name and fingerprint, if the host has one.
    pub(crate) fn typed(&self, name: &str, fingerprint: &str) -> Option<&'static ContractInfo> {
        self.known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|c| c.name == name && c.fingerprint == fingerprint)
            .copied()
    }
}

/// The first host contract `manifest`'s `[[requires]]` lists that this
/// host does not serve (or serves with another fingerprint): known before
/// any spawn, where the handshake would only refuse the plugin after it.
pub(crate) fn unmet_requirement(manifest: &Manifest, host: &Host) -> Option<Error> {
    let served = host.services.contracts();
    manifest.requires.iter().find_map(|needed| {
        let reason = match served.iter().find(|c| c.name == needed.contract) {
            Some(ours) if ours.fingerprint == needed.fingerprint => return None,
            Some(ours) => format!(
                "the manifest's [[requires]] needs fingerprint {}, this host serves {}; \
                 reinstall the plugin or rebuild the host",
                crate::contract::short(&needed.fingerprint),
                ours.short_fingerprint()
            ),
            None => {
                let list: Vec<&str> = served.iter().map(|c| c.name).collect();
                format!(
                    "the manifest's [[requires]] needs the host to serve it, and this host \
                     serves {}; serve it with `RegistryBuilder::serve` or fix the manifest",
                    if list.is_empty() {
                        "no contract".to_string()
                    } else {
                        list.join(", ")
                    }
                )
            }
        };
        Some(Error::ManifestContract {
            plugin: manifest.id(),
            contract: needed.contract.clone(),
            reason,
        })
    })
}

/// Starts a pool of `manifest`'s plugin and waits until every instance
/// has passed its handshake.
pub(crate) async fn start(manifest: &Manifest, host: &Host) -> Result<Pool, Error> {
    if let Some(unmet) = unmet_requirement(manifest, host) {
        return Err(unmet);
    }
    let mut plugin = Plugin::builder(manifest.program())
        .args(&manifest.run.args)
        .current_dir(&manifest.folder)
        .name(manifest.id())
        .serve_all(&host.services);
    for (key, value) in &manifest.run.env {
        plugin = plugin.env(key, value);
    }
    if let Some(timeout) = manifest.run.start_timeout {
        plugin = plugin.start_timeout(timeout);
    }
    if let Some(timeout) = manifest.run.call_timeout {
        plugin = plugin.call_timeout(timeout);
    }
    if let Some(bus) = &host.bus {
        plugin = plugin.bus(bus);
    }
    for served in &manifest.serves {
        let contract = host
            .typed(&served.contract, &served.fingerprint)
            .unwrap_or_else(|| by_fingerprint(&served.contract, &served.fingerprint));
        plugin = plugin.contract_info(contract);
    }
    let checked = manifest.clone();
    let policy = host.policy.clone();
    plugin = plugin.before_spawn(Arc::new(move || checks::verify(&checked, &policy)));
    Pool::builder(plugin)
        .size(manifest.pool.size)
        .max_in_flight(manifest.pool.max_in_flight)
        .restart(manifest.restart)
        .lazy(false)
        .start()
        .await
}

/// A contract the host knows by name and fingerprint only (from a
/// manifest): leaked once per (name, fingerprint) for the life of the
/// program, which bounds the leak by the manifests ever read.
pub(crate) fn by_fingerprint(name: &str, fingerprint: &str) -> &'static ContractInfo {
    static INTERNED: Mutex<Vec<&'static ContractInfo>> = Mutex::new(Vec::new());
    let mut interned = INTERNED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = interned
        .iter()
        .find(|c| c.name == name && c.fingerprint == fingerprint)
    {
        return found;
    }
    let contract: &'static ContractInfo = Box::leak(Box::new(ContractInfo {
        name: Box::leak(name.to_string().into_boxed_str()),
        fingerprint: Box::leak(fingerprint.to_string().into_boxed_str()),
        methods: &[],
        schema: no_schema,
    }));
    interned.push(contract);
    contract
}

fn no_schema() -> &'static Result<ContractSchema, String> {
    static NONE: std::sync::OnceLock<Result<ContractSchema, String>> = std::sync::OnceLock::new();
    NONE.get_or_init(|| Err(FINGERPRINT_ONLY.to_string()))
}
