//! `cargo run --example registry`: a host that finds its plugins in a folder.
//!
//! `plugins/` holds one folder per plugin, each with a `plugin.toml` that
//! says what the plugin serves (with the contract's fingerprint), how to
//! start it, and the sha256 of the files to check before it starts:
//!
//! - `rust-upper/`: upper-cases its text. Its program is this very example
//!   run with the argument `plugin`; a manifest names its program relative
//!   to its own folder, so the example copies itself to
//!   `rust-upper/bin/upper` when it starts (the copy is not checked in, and
//!   its manifest lists no checksum because every build changes it).
//! - `python-reverse/`: reverses its text (`python3 plugin.py`).
//! - `typescript-rot13/`: rot13 (`node dist/plugin.js`); the example compiles
//!   it first when its sources are newer than `dist/`, installing the pinned
//!   TypeScript compiler with `npm ci` the first time.
//! - `broken/`: a manifest with a typo, to show how a bad manifest is
//!   reported (file, line, column, what is wrong) while the others load.
//!
//! The host loads the folder, lists what it found, calls every plugin that
//! serves `Transform`, then reloads the Python plugin while callers keep
//! calling it, and counts every call. It exits with status 1 when a call
//! failed.
//!
//! The Python and TypeScript manifests list the sha256 of the files their
//! interpreter runs, so editing `plugin.py` or `plugin.ts` (or regenerating
//! their stubs) makes the registry refuse to start them until the manifest
//! is updated; [`checksum_hint`] prints how.
//!
//! `cargo run --example registry -- FOLDER` loads another folder instead
//! (its `rust-upper` and `typescript-rot13` folders, if any, are installed
//! and built the same way).
//!
//! Needs `python3`, and `node` with `npm`.

mod contract;
#[path = "../support/languages.rs"]
mod languages;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use contract::{Transform, TransformClient, TransformServer};

type Failure = Box<dyn std::error::Error>;

/// The plugin reloaded under load, and the calls made to it meanwhile.
const RELOADED: &str = "text/reverse";
const CALLERS: usize = 8;
const CALLS_PER_CALLER: usize = 500;

/// The Rust plugin: upper-cases its text.
struct Upper;

impl Transform for Upper {
    async fn describe(&self) -> String {
        "upper-cases the text (Rust)".to_string()
    }

    async fn apply(&self, text: String) -> String {
        text.to_uppercase()
    }
}

#[tokio::main]
async fn main() -> Result<ExitCode, Failure> {
    if std::env::args().nth(1).as_deref() == Some("plugin") {
        goproc::serve(TransformServer::new(Upper)).await?;
        return Ok(ExitCode::SUCCESS);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();

    let plugins = match std::env::args_os().nth(1) {
        Some(folder) => PathBuf::from(folder),
        None => relative_to_here(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/registry/plugins"),
        ),
    };
    let (rust, typescript) = (plugins.join("rust-upper"), plugins.join("typescript-rot13"));
    if rust.is_dir() {
        install_rust_plugin(&rust)?;
    }
    if typescript.is_dir() {
        languages::build_typescript(&typescript)?;
    }

    let registry = goproc::Registry::builder()
        .folder(&plugins)
        .contract::<TransformClient>()
        .load()
        .await?;

    list(&registry, &plugins);
    if !call_every_transform(&registry).await {
        return Ok(ExitCode::FAILURE);
    }

    println!();
    let (calls, failed, reloads) = reload_under_load(&registry).await?;
    let plural = if reloads == 1 { "" } else { "s" };
    println!("{calls} calls, {failed} failed, {reloads} reload{plural}");
    Ok(if failed == 0 && reloads == 1 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints what loaded from `plugins`, and what was refused and why.
fn list(registry: &goproc::Registry, plugins: &Path) {
    println!("loaded from {}:", plugins.display());
    for p in registry.plugins() {
        println!(
            "  {:<16} {:<8} {}",
            p.id,
            p.version,
            p.description.as_deref().unwrap_or("")
        );
    }
    println!("refused:");
    for problem in registry.problems() {
        println!("  {problem}");
    }
    if registry.problems().is_empty() {
        println!("  nothing");
    }
}

/// Calls every plugin serving `Transform` (each starts on this first
/// call); `false` when one failed, after saying why.
async fn call_every_transform(registry: &goproc::Registry) -> bool {
    println!();
    println!("every plugin serving Transform, on \"Hello, plugins!\":");
    for (id, client) in registry.all::<TransformClient>() {
        let answer = async {
            let what = client.describe().await?;
            let text = client.apply("Hello, plugins!".to_string()).await?;
            Ok::<_, goproc::Error>(format!("{text:<18} {what}"))
        };
        match answer.await {
            Ok(line) => println!("  {id:<16} {line}"),
            Err(e) => {
                println!("  {id:<16} failed: {e}");
                let manifest = registry
                    .plugins()
                    .into_iter()
                    .find(|p| p.id == id)
                    .map(|p| p.folder.join(goproc::registry::MANIFEST_FILE));
                if let Some(hint) = manifest.and_then(|m| checksum_hint(&e, &m)) {
                    println!("{hint}");
                }
                return false;
            }
        }
    }
    true
}

/// Callers keep calling the plugin [`RELOADED`] while it is reloaded once:
/// new calls go to the new process once it has started and passed its
/// handshake, calls in flight finish on the old one. Returns the calls
/// made, how many failed (an error or a wrong answer), and the reloads.
async fn reload_under_load(registry: &goproc::Registry) -> Result<(usize, usize, usize), Failure> {
    let client: TransformClient = registry.get(RELOADED)?;
    let done = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut callers = Vec::new();
    for caller in 0..CALLERS {
        let (client, done, failed) = (client.clone(), done.clone(), failed.clone());
        callers.push(tokio::spawn(async move {
            for i in 0..CALLS_PER_CALLER {
                let text = format!("caller {caller} call {i}");
                let expected: String = text.chars().rev().collect();
                match client.apply(text).await {
                    Ok(answer) if answer == expected => {}
                    Ok(answer) => {
                        eprintln!("wrong answer: {answer:?}, expected {expected:?}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        eprintln!("call failed: {e}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Reload once the callers are well under way, so that calls are in
    // flight on the old process when the new one takes over.
    let total = CALLERS * CALLS_PER_CALLER;
    while done.load(Ordering::Relaxed) < total / 4 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    println!(
        "reloading {RELOADED} after {} calls, while {CALLERS} callers keep calling it...",
        done.load(Ordering::Relaxed)
    );
    let reloads = match registry.reload(RELOADED).await {
        Ok(report) if report.error.is_none() => {
            println!(
                "reloaded {}: generation {} serves now; the old process (pid {:?}) finished its \
                 calls in flight in {:.1?} and stopped",
                report.plugin, report.generation, report.stopped, report.drained_in
            );
            1
        }
        Ok(report) => {
            let why = report.error.map(|e| e.to_string()).unwrap_or_default();
            println!("the reload failed, the old version kept serving: {why}");
            0
        }
        Err(e) => {
            println!("the reload failed, the old version kept serving: {e}");
            0
        }
    };
    for caller in callers {
        caller.await?;
    }
    println!("{CALLERS} callers done in {:.1?}", started.elapsed());
    Ok((
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        reloads,
    ))
}

/// `path` relative to the current folder when it is below it, so that the
/// registry's messages name short paths.
fn relative_to_here(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|here| path.strip_prefix(here).ok())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| path.to_path_buf())
}

/// Copies this program to `folder/bin/upper`, where the Rust plugin's
/// manifest says its program is. The copy goes to a temporary name first
/// (one per process) and is renamed into place, so that a copy still
/// running from an earlier run is not written over.
fn install_rust_plugin(folder: &Path) -> Result<(), Failure> {
    let bin = folder.join("bin");
    std::fs::create_dir_all(&bin)?;
    let target = bin.join(format!("upper{}", std::env::consts::EXE_SUFFIX));
    let partial = bin.join(format!(".upper.{}.partial", std::process::id()));
    std::fs::copy(std::env::current_exe()?, &partial)
        .map_err(|e| format!("copying the example to {}: {e}", partial.display()))?;
    std::fs::rename(&partial, &target)?;
    Ok(())
}

/// What to do when a plugin was refused because a file changed after its
/// manifest (at `manifest`) was written: how to refresh the hash.
fn checksum_hint(error: &goproc::Error, manifest: &Path) -> Option<String> {
    let goproc::Error::Checksum { file, actual, .. } = error else {
        return None;
    };
    Some(format!(
        "  {} lists the sha256 of {} in [checksums], and the file has changed since.\n  \
         If you changed it on purpose, put its new hash there:\n    \"{}\" = \"{actual}\"\n  \
         or write the manifest again with every hash: run the command in its first lines.",
        manifest.display(),
        file.display(),
        file.display()
    ))
}
