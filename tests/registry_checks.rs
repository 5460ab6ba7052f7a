//! The checks a registry runs right before a plugin's process starts,
//! with real files and processes. Each plugin here starts through
//! `bin/start.sh`, which leaves a `started` marker in the plugin's folder
//! before it execs the test-plugin calculator: a refused plugin leaves no
//! marker, so it never ran.

mod registry_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use goproc::registry::{sha256_file, Registry};
use goproc::Error;
use registry_support::calculator::CalculatorClient;
use registry_support::{copy_test_plugin, scratch, write_plugin, ManifestText, PluginFolder};

const START_SCRIPT: &str = "#!/bin/sh\ntouch started\nexec ./bin/test-plugin calculator\n";

/// `<root>/calc`: `math/calc`, started by `bin/start.sh`, with both files
/// checksummed (`test-plugin`'s sum replaced by `plugin_sum` when given).
fn calc_plugin(root: &Path, plugin_sum: Option<&str>, lazy: bool) -> PluginFolder {
    let folder = root.join("calc");
    let binary = copy_test_plugin(&folder);
    let script = folder.join("bin/start.sh");
    std::fs::write(&script, START_SCRIPT).unwrap();
    chmod(&script, 0o755);
    let real_sum = sha256_file(&binary).unwrap();
    let text = ManifestText::new("math", "calc", "bin/start.sh")
        .lazy(lazy)
        .checksum("bin/start.sh", &sha256_file(&script).unwrap())
        .checksum("bin/test-plugin", plugin_sum.unwrap_or(&real_sum))
        .run_line("start_timeout = \"20s\"")
        .render();
    write_plugin(root, "calc", &text)
}

/// Replaces `path` with a new file of `bytes`, as an installer does (a
/// running program's file cannot be written in place).
fn replace_file(path: &Path, bytes: &[u8]) {
    let new = path.with_extension("new");
    std::fs::write(&new, bytes).unwrap();
    chmod(&new, 0o755);
    std::fs::rename(&new, path).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

async fn load(root: &Path, allow: &[PathBuf]) -> Registry {
    let registry = Registry::builder()
        .folder(root)
        .allow_folders(allow.iter().cloned())
        .contract::<CalculatorClient>()
        .load()
        .await
        .expect("loading the registry");
    assert!(
        registry.problems().is_empty(),
        "the manifest itself is fine: {:?}",
        registry.problems()
    );
    registry
}

/// The first call's error: the plugin starts on it, and its checks refuse.
async fn first_call_error(registry: &Registry) -> Error {
    let calc: CalculatorClient = registry.get("math/calc").expect("get never spawns");
    calc.add(1, 2)
        .await
        .expect_err("a refused plugin cannot answer")
}

fn assert_never_started(plugin: &PluginFolder) {
    assert!(
        !plugin.file("started").exists(),
        "the plugin's process ran although its checks failed"
    );
}

#[tokio::test]
async fn a_checksum_mismatch_is_refused_naming_the_file_and_both_hashes() {
    let dir = scratch();
    let wrong = "0123456789abcdef".repeat(4);
    let plugin = calc_plugin(dir.path(), Some(&wrong), true);
    let actual = sha256_file(plugin.file("bin/test-plugin")).unwrap();
    let registry = load(dir.path(), &[]).await;

    let err = first_call_error(&registry).await;
    match &err {
        Error::Checksum {
            plugin: id,
            file,
            expected,
            actual: found,
        } => {
            assert_eq!(id, "math/calc");
            assert_eq!(file, Path::new("bin/test-plugin"));
            assert_eq!(expected, &wrong);
            assert_eq!(found, &actual);
        }
        other => panic!("expected a checksum error, got: {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!("bin/test-plugin has sha256 {actual}")),
        "{text}"
    );
    assert!(text.contains(&format!("manifest says {wrong}")), "{text}");
    assert_never_started(&plugin);
}

#[tokio::test]
async fn an_eager_plugin_with_a_bad_checksum_is_a_problem_and_never_runs() {
    let dir = scratch();
    let plugin = calc_plugin(dir.path(), Some(&"ab".repeat(32)), false);
    let registry = Registry::builder()
        .folder(dir.path())
        .load()
        .await
        .expect("a plugin that fails its checks does not fail the load");
    assert!(
        registry
            .problems()
            .iter()
            .any(|p| matches!(p, Error::Checksum { plugin, .. } if plugin == "math/calc")),
        "{:?}",
        registry.problems()
    );
    assert_never_started(&plugin);
}

#[tokio::test]
async fn a_world_writable_plugin_file_is_refused() {
    let dir = scratch();
    let plugin = calc_plugin(dir.path(), None, true);
    let script = plugin.file("bin/start.sh");
    chmod(&script, 0o777);
    let registry = load(dir.path(), &[]).await;

    match first_call_error(&registry).await {
        Error::UnsafePlugin {
            plugin: id,
            path,
            reason,
        } => {
            assert_eq!(id, "math/calc");
            assert_eq!(path, script);
            assert!(reason.contains("writable by every user"), "{reason}");
            assert!(reason.contains("chmod o-w"), "{reason}");
        }
        other => panic!("expected an unsafe-plugin error, got: {other}"),
    }
    assert_never_started(&plugin);
}

#[tokio::test]
async fn a_world_writable_plugin_folder_is_refused() {
    let dir = scratch();
    let plugin = calc_plugin(dir.path(), None, true);
    chmod(&plugin.folder, 0o777);
    let registry = load(dir.path(), &[]).await;

    match first_call_error(&registry).await {
        Error::UnsafePlugin { path, reason, .. } => {
            assert_eq!(path, plugin.folder);
            assert!(
                reason.starts_with("the folder is writable by every user"),
                "{reason}"
            );
        }
        other => panic!("expected an unsafe-plugin error, got: {other}"),
    }
    assert_never_started(&plugin);
}

#[tokio::test]
async fn a_plugin_outside_the_allowed_folders_is_refused() {
    let dir = scratch();
    let plugins = dir.path().join("plugins");
    let allowed = dir.path().join("allowed");
    std::fs::create_dir_all(&allowed).unwrap();
    let plugin = calc_plugin(&plugins, None, true);
    let registry = load(&plugins, std::slice::from_ref(&allowed)).await;

    match first_call_error(&registry).await {
        Error::UnsafePlugin { path, reason, .. } => {
            assert_eq!(path, plugin.folder.canonicalize().unwrap());
            assert!(reason.contains("outside the allowed folders"), "{reason}");
            assert!(reason.contains(&allowed.display().to_string()), "{reason}");
        }
        other => panic!("expected an unsafe-plugin error, got: {other}"),
    }
    assert_never_started(&plugin);
}

#[tokio::test]
async fn a_plugin_that_passes_its_checks_starts_and_answers() {
    let dir = scratch();
    let plugin = calc_plugin(dir.path(), None, true);
    let registry = load(dir.path(), &[dir.path().to_path_buf()]).await;
    assert!(
        !plugin.file("started").exists(),
        "lazy: nothing runs at load"
    );

    let calc: CalculatorClient = registry.get("math/calc").unwrap();
    assert_eq!(
        calc.add(40, 2).await.expect("the checked plugin answers"),
        42
    );
    assert!(plugin.file("started").exists());
    registry.unload("math/calc").await.unwrap();
}

#[tokio::test]
async fn a_plugin_changed_after_load_is_refused_at_its_start() {
    let dir = scratch();
    let plugin = calc_plugin(dir.path(), None, true);
    let registry = load(dir.path(), &[]).await;
    // Loaded with the right sum; then the binary changes before the first
    // call: the check runs at the start, not at load.
    let binary = plugin.file("bin/test-plugin");
    let mut bytes = std::fs::read(&binary).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&binary, &bytes).unwrap();

    let err = first_call_error(&registry).await;
    assert!(
        matches!(&err, Error::Checksum { file, .. } if file == Path::new("bin/test-plugin")),
        "{err}"
    );
    assert_never_started(&plugin);
    // Put back, the next call starts it: a failed start is not final.
    bytes.truncate(bytes.len() - b"tampered".len());
    std::fs::write(&binary, &bytes).unwrap();
    let calc: CalculatorClient = registry.get("math/calc").unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(30), calc.add(1, 1))
        .await
        .expect("the second start does not hang");
    assert_eq!(answer.unwrap(), 2);
    registry.unload("math/calc").await.unwrap();
}

#[tokio::test]
async fn a_pool_restart_is_checked_too() {
    let dir = scratch();
    let folder = dir.path().join("calc");
    let binary = copy_test_plugin(&folder);
    let script = folder.join("bin/start.sh");
    // Each start appends its pid (the plugin's, after exec) to starts.log.
    std::fs::write(
        &script,
        "#!/bin/sh\necho $$ >> starts.log\nexec ./bin/test-plugin calculator\n",
    )
    .unwrap();
    chmod(&script, 0o755);
    let text = ManifestText::new("math", "calc", "bin/start.sh")
        .checksum("bin/test-plugin", &sha256_file(&binary).unwrap())
        .run_line("start_timeout = \"20s\"")
        .tail("[restart]\nmax_restarts = 1000\nwindow = \"60s\"\ninitial_backoff = \"50ms\"\nmax_backoff = \"100ms\"")
        .render();
    let plugin = write_plugin(dir.path(), "calc", &text);
    let starts = || {
        std::fs::read_to_string(plugin.file("starts.log"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let registry = load(dir.path(), &[]).await;
    let calc: CalculatorClient = registry.get("math/calc").unwrap();
    assert_eq!(calc.add(1, 2).await.unwrap(), 3);
    assert_eq!(starts(), 1);
    let pid = registry.plugins()[0].pids[0];

    // The binary changes under the running plugin, which then crashes: the
    // pool's restarts hash it again and refuse to run it.
    let original = std::fs::read(&binary).unwrap();
    let mut tampered = original.clone();
    tampered.extend_from_slice(b"tampered");
    replace_file(&binary, &tampered);
    // SAFETY: kill sends a signal to a process this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(starts(), 1, "a restart ran the changed binary");

    // Put back, the next restart passes its checks and runs.
    replace_file(&binary, &original);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while starts() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pool did not restart the plugin once its file was right again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    registry.unload("math/calc").await.unwrap();
}
