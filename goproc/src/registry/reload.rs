//! Reload and unload: start the new generation, make it current once it
//! has passed its handshake, let the old one finish its calls in flight,
//! then stop it. A new version that fails leaves the old one serving.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::entry::{Entry, Live, State};
use super::{checks, Manifest};
use crate::Error;

/// What a reload did, or (from a folder watch) why it did not.
#[derive(Debug, Clone)]
pub struct ReloadReport {
    /// The plugin's id (`namespace/name`).
    pub plugin: String,
    /// The manifest version serving now (the old one when the reload failed).
    pub version: String,
    /// The generation serving now (each start of a plugin is one more);
    /// 0 when none runs (a lazy plugin not called yet).
    pub generation: u64,
    /// The process ids of the old generation, stopped after their calls
    /// in flight finished.
    pub stopped: Vec<u32>,
    /// How long the old generation took to finish its calls in flight.
    pub drained_in: Duration,
    /// Why the reload failed; the old version keeps serving. `None`: it
    /// succeeded.
    pub error: Option<Error>,
}

/// Re-reads `entry`'s manifest, checks it, starts the new generation and
/// swaps it in (see the module docs). A plugin that is not running
/// (lazy and never called, unloaded, or failed) only takes the new
/// manifest, and starts now if it is eager.
pub(crate) async fn reload(entry: &Arc<Entry>) -> Result<ReloadReport, Error> {
    let _one_at_a_time = entry.changing.lock().await;
    entry.wait_started().await;
    let manifest = Manifest::load(&entry.manifest().path)?;
    same_plugin(entry, &manifest)?;
    keeps_issued_contracts(entry, &manifest)?;
    let running = matches!(*entry.state(), State::Running(_));
    if !running {
        // Nothing starts now: check here, so that a bad new version is
        // refused by the reload rather than by its first call. (A running
        // plugin's new generation is checked by the spawn hook, right
        // before each of its instances starts: hashing once is enough.)
        // Hashing a large plugin takes a while: off the runtime's threads.
        let (checked, policy) = (manifest.clone(), entry.host.policy.clone());
        let check = Arc::new(move || checks::verify(&checked, &policy));
        crate::host::run_check(check, entry.id(), manifest.run.command.as_ref()).await?;
        let eager = !manifest.lazy;
        let version = manifest.version.clone();
        entry.set_manifest(manifest);
        {
            // A first call may have begun a start meanwhile: let it be.
            let mut state = entry.state_mut();
            if matches!(*state, State::Idle(_) | State::Unloaded) {
                *state = State::Idle(None);
            }
        }
        let generation = if eager {
            entry.generation().await?.number
        } else {
            0
        };
        return Ok(ReloadReport {
            plugin: entry.id().to_string(),
            version,
            generation,
            stopped: Vec::new(),
            drained_in: Duration::ZERO,
            error: None,
        });
    }

    let (generation, drained) = entry.start_generation(&manifest).await?;
    let number = generation.number;
    let version = manifest.version.clone();
    let old = {
        let mut state = entry.state_mut();
        let new = State::Running(Live {
            generation,
            drained,
        });
        std::mem::replace(&mut *state, new)
    };
    entry.set_manifest(manifest);
    let (stopped, drained_in) = match old {
        State::Running(live) => retire(entry, live).await,
        _ => (Vec::new(), Duration::ZERO),
    };
    tracing::info!(
        plugin = entry.id(),
        version,
        generation = number,
        ?stopped,
        "plugin reloaded"
    );
    Ok(ReloadReport {
        plugin: entry.id().to_string(),
        version,
        generation: number,
        stopped,
        drained_in,
        error: None,
    })
}

/// Unloads `entry`: new calls fail with [`Error::Unloaded`] from now on,
/// calls in flight finish, then its processes stop.
pub(crate) async fn unload(entry: &Arc<Entry>) -> Result<(), Error> {
    let _one_at_a_time = entry.changing.lock().await;
    let old = std::mem::replace(&mut *entry.state_mut(), State::Unloaded);
    match old {
        State::Running(live) => {
            retire(entry, live).await;
        }
        State::Unloaded => return Err(entry.unloaded_error()),
        // A start under way sees the state and stops what it started.
        State::Starting(_) | State::Idle(_) => {}
    }
    tracing::info!(plugin = entry.id(), "plugin unloaded");
    Ok(())
}

/// Waits until the calls holding `live`'s generation are done (within the
/// host's drain timeout), then stops its instances. Returns their pids
/// and how long the calls took to finish.
async fn retire(entry: &Entry, live: Live) -> (Vec<u32>, Duration) {
    let Live {
        generation,
        drained,
    } = live;
    let pool = generation.pool.clone();
    let pids = generation.pids();
    let number = generation.number;
    drop(generation);
    let began = Instant::now();
    if tokio::time::timeout(entry.host.drain_timeout, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            plugin = entry.id(),
            generation = number,
            "calls of the old generation still running after {:?}; stopping it anyway",
            entry.host.drain_timeout
        );
    }
    let drained_in = began.elapsed();
    pool.shutdown(entry.host.stop_grace).await;
    (pids, drained_in)
}

/// A reloaded manifest must still describe the same plugin.
fn same_plugin(entry: &Entry, manifest: &Manifest) -> Result<(), Error> {
    if manifest.id() == entry.id() {
        return Ok(());
    }
    Err(Error::Manifest {
        file: manifest.path.clone(),
        line: 1,
        column: 1,
        reason: format!(
            "the manifest now names plugin `{}`, but it was loaded as `{}`; a reload cannot \
             rename a plugin: unload it and load the folder again",
            manifest.id(),
            entry.id()
        ),
    })
}

/// Clients handed out before the reload go on calling the new version:
/// it must serve each of their contracts with the same fingerprint.
fn keeps_issued_contracts(entry: &Entry, manifest: &Manifest) -> Result<(), Error> {
    for contract in entry.issued() {
        let reason = match manifest.serves.iter().find(|s| s.contract == contract.name) {
            Some(s) if s.fingerprint == contract.fingerprint => continue,
            Some(s) => format!(
                "the new manifest says fingerprint {}, this host was built with {}; the old \
                 version keeps serving (reinstall the plugin or rebuild the host)",
                crate::contract::short(&s.fingerprint),
                contract.short_fingerprint()
            ),
            None => "the new manifest no longer lists it under [[serves]], and this host has \
                     clients of it; the old version keeps serving"
                .to_string(),
        };
        return Err(Error::ManifestContract {
            plugin: entry.id().to_string(),
            contract: contract.name.to_string(),
            reason,
        });
    }
    Ok(())
}
