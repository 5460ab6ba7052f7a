//! `cargo run --example host_services`: a host serves a key-value `Store`
//! and a `Logger` to three plugins — Rust, Python and TypeScript — whose
//! `PageCounter::visit` handlers read and write the host's store and log
//! through the host while they answer. The three share one store, so their
//! counts add up.
//!
//! Needs `python3`, and `node` with `npm`: the first run installs the
//! TypeScript plugin's pinned compiler (`npm ci`) and compiles it.

#[path = "contract.rs"]
mod contract;
#[path = "plugin.rs"]
mod plugin;
#[path = "../support/typescript.rs"]
mod typescript;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use contract::{Level, Logger, LoggerServer, PageCounterClient, Store, StoreServer};

/// The host's store: one for every plugin.
#[derive(Clone, Default)]
struct MemoryStore(Arc<Mutex<HashMap<String, String>>>);

impl Store for MemoryStore {
    async fn get(&self, key: String) -> Option<String> {
        self.0.lock().ok()?.get(&key).cloned()
    }

    async fn put(&self, key: String, value: String) -> Option<String> {
        self.0.lock().ok()?.insert(key, value)
    }
}

/// The host's log, one per plugin so each line says whose it is.
struct HostLog {
    plugin: &'static str,
}

impl Logger for HostLog {
    async fn log(&self, level: Level, message: String) {
        println!("    host log  [{:<10}] {level:?}: {message}", self.plugin);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some("plugin") {
        plugin::run().await?;
        return Ok(());
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/host_services");
    let typescript = typescript::build(&examples.join("typescript"))?;
    let store = MemoryStore::default();

    let commands: [(&'static str, PathBuf, Vec<String>); 3] = [
        ("rust", std::env::current_exe()?, vec!["plugin".into()]),
        (
            "python",
            "python3".into(),
            vec![examples.join("python/plugin.py").display().to_string()],
        ),
        (
            "typescript",
            "node".into(),
            vec![typescript.display().to_string()],
        ),
    ];
    let mut plugins = Vec::new();
    for (language, program, args) in commands {
        let plugin = goproc::Plugin::builder(program)
            .args(args)
            .name(format!("counter ({language})"))
            .contract::<PageCounterClient>()
            // What the host serves to this plugin: the shared store, and a
            // log that knows who writes.
            .serve(StoreServer::new(store.clone()))
            .serve(LoggerServer::new(HostLog { plugin: language }))
            .spawn()
            .await?;
        println!(
            "started {language:<11} pid {:<7} {}",
            plugin.pid(),
            plugin.runtime()
        );
        plugins.push((language, plugin.client::<PageCounterClient>()?, plugin));
    }
    println!();
    for page in ["home", "docs", "home"] {
        for (language, counter, _) in &plugins {
            let count = counter.visit(page.to_string()).await?;
            println!("{language:<11} visit({page:?}) -> {count}");
        }
    }
    println!();
    let mut keys: Vec<_> = store
        .0
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    keys.sort();
    println!("the host's store: {keys:?}");
    Ok(())
}
