//! The registry at run time, with real plugin folders and processes:
//! names and namespaces, contracts refused before any spawn, lazy and
//! eager start, unload, and reload (without dropped calls, and failed
//! reloads that keep the old version serving), and the folder watch.

mod lifecycle_support;
mod registry_support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use goproc::registry::{PluginState, Registry};
use goproc::{Client, Error};
use lifecycle_support::lifecycle::LifecycleClient;
use lifecycle_support::{running, wait_until};

use registry_support::calculator::CalculatorClient;
use registry_support::ManifestText;
#[path = "contracts/host_services.rs"]
mod host_services;
#[path = "contracts/streams.rs"]
mod streams;
use futures::StreamExt;
use streams::StreamsClient;

const PLUGIN: &str = env!("CARGO_BIN_EXE_test-plugin");

fn fingerprint<C: Client>() -> &'static str {
    C::CONTRACT.fingerprint
}

/// A fresh scratch folder of plugin folders.
fn plugins_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("goproc-tests")
        .join("registry-runtime")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating the scratch folder");
    dir
}

/// What a test plugin's manifest says.
struct Spec<'a> {
    namespace: &'a str,
    name: &'a str,
    version: &'a str,
    lazy: bool,
    /// The `test-plugin` role.
    role: &'a str,
    contract: &'a str,
    fingerprint: &'a str,
    /// Appends the process id to `starts.log` in the plugin's folder on
    /// each start (through `sh`), so a test can count starts.
    log_starts: bool,
    /// Extra TOML after the rest (`[checksums]` and the like).
    extra: &'a str,
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Spec {
            namespace: "test",
            name: "life",
            version: "1.0.0",
            lazy: true,
            role: "lifecycle",
            contract: "Lifecycle",
            fingerprint: fingerprint::<LifecycleClient>(),
            log_starts: false,
            extra: "",
        }
    }
}

/// Writes `<root>/<folder>/plugin.toml` from `spec`; returns the folder.
fn write_plugin(root: &Path, folder: &str, spec: &Spec<'_>) -> PathBuf {
    let started_by_sh = format!("echo $$ >> starts.log; exec \"$0\" {}", spec.role);
    let mut text = if spec.log_starts {
        ManifestText::new(spec.namespace, spec.name, "sh")
            .arg("-c")
            .arg(&started_by_sh)
            .arg(PLUGIN)
    } else {
        ManifestText::new(spec.namespace, spec.name, PLUGIN).arg(spec.role)
    }
    .version(spec.version)
    .lazy(spec.lazy)
    .run_line("start_timeout = \"20s\"")
    .serves(&[(spec.contract, spec.fingerprint)]);
    if !spec.extra.is_empty() {
        text = text.tail(spec.extra);
    }
    registry_support::write_plugin(root, folder, &text.render()).folder
}

/// The process ids `starts.log` recorded in a plugin folder.
fn starts(folder: &Path) -> Vec<u32> {
    std::fs::read_to_string(folder.join("starts.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().parse().expect("a pid per line"))
        .collect()
}

async fn load(root: &Path) -> Registry {
    let registry = Registry::builder()
        .folder(root)
        .contract::<LifecycleClient>()
        .drain_timeout(Duration::from_secs(20))
        .load()
        .await
        .expect("the registry loads");
    assert!(
        registry.problems().is_empty(),
        "unexpected problems: {:?}",
        registry.problems()
    );
    registry
}

fn state_of(registry: &Registry, id: &str) -> PluginState {
    registry
        .plugins()
        .into_iter()
        .find(|p| p.id == id)
        .unwrap_or_else(|| panic!("{id} is not listed"))
        .state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_by_id_and_unique_bare_name_and_namespaces_keep_two_calcs_apart() {
    let root = plugins_dir("names");
    let calc = |ns| Spec {
        namespace: ns,
        name: "calc",
        role: "lifecycle",
        ..Spec::default()
    };
    write_plugin(&root, "math-calc", &calc("math"));
    write_plugin(&root, "acme-calc", &calc("acme"));
    write_plugin(
        &root,
        "solo",
        &Spec {
            name: "solo",
            ..Spec::default()
        },
    );
    let registry = load(&root).await;
    let ids: Vec<String> = registry.plugins().into_iter().map(|p| p.id).collect();
    assert_eq!(ids, ["acme/calc", "math/calc", "test/solo"]);

    let math: LifecycleClient = registry.get("math/calc").expect("by id");
    let acme: LifecycleClient = registry.get("acme/calc").expect("by id");
    let solo: LifecycleClient = registry.get("solo").expect("by unique bare name");
    let (m, a, s) = (
        math.pid().await.expect("math/calc answers"),
        acme.pid().await.expect("acme/calc answers"),
        solo.pid().await.expect("solo answers"),
    );
    assert!(m != a && a != s && m != s, "three processes: {m} {a} {s}");
    assert_eq!(
        math.pid().await.expect("again"),
        m,
        "math/calc stays itself"
    );

    let ambiguous = registry
        .get::<LifecycleClient>("calc")
        .expect_err("a bare name in two namespaces is refused");
    let text = ambiguous.to_string();
    assert!(
        matches!(ambiguous, Error::UnknownPlugin { .. })
            && text.contains("math")
            && text.contains("acme"),
        "{text}"
    );

    let unknown = registry
        .get::<LifecycleClient>("nope/calc")
        .expect_err("an unknown id is refused");
    match &unknown {
        Error::UnknownPlugin { known, .. } => {
            assert_eq!(known, &["acme/calc", "math/calc", "test/solo"])
        }
        other => panic!("expected UnknownPlugin, got {other:?}"),
    }
    assert!(unknown.to_string().contains("test/solo"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_is_refused_before_any_spawn_on_a_fingerprint_or_contract_the_manifest_lacks() {
    let root = plugins_dir("refused");
    let wrong = "ab".repeat(32);
    let other_fp = write_plugin(
        &root,
        "other-fp",
        &Spec {
            name: "otherfp",
            fingerprint: &wrong,
            log_starts: true,
            ..Spec::default()
        },
    );
    let calc_only = write_plugin(
        &root,
        "calc-only",
        &Spec {
            name: "calconly",
            contract: "Calculator",
            fingerprint: fingerprint::<CalculatorClient>(),
            role: "calculator",
            log_starts: true,
            ..Spec::default()
        },
    );
    // No `.contract::<LifecycleClient>()` here: the mismatch must be
    // caught by `get` itself, not at load.
    let registry = Registry::builder()
        .folder(&root)
        .load()
        .await
        .expect("loads");

    let err = registry
        .get::<LifecycleClient>("otherfp")
        .expect_err("another fingerprint is refused");
    let text = err.to_string();
    assert!(
        matches!(err, Error::ManifestContract { .. })
            && text.contains(&wrong[..12])
            && text.contains(&fingerprint::<LifecycleClient>()[..12]),
        "{text}"
    );
    let err = registry
        .get::<LifecycleClient>("calconly")
        .expect_err("a contract the manifest does not list is refused");
    assert!(
        matches!(err, Error::ManifestContract { .. }) && err.to_string().contains("Calculator"),
        "{err}"
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(starts(&other_fp).is_empty(), "no process was started");
    assert!(starts(&calc_only).is_empty(), "no process was started");
    for plugin in registry.plugins() {
        assert!(
            matches!(plugin.state, PluginState::NotStarted) && plugin.pids.is_empty(),
            "{plugin:?}"
        );
    }

    // The contract it does serve works, and that starts it: the log above
    // would have seen a start.
    let calc: CalculatorClient = registry.get("calconly").expect("served");
    assert_eq!(calc.add(2, 3).await.expect("add"), 5);
    assert_eq!(starts(&calc_only).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_returns_every_plugin_that_serves_the_contract() {
    let root = plugins_dir("all");
    for ns in ["a", "b", "c"] {
        write_plugin(
            &root,
            &format!("{ns}-life"),
            &Spec {
                namespace: ns,
                ..Spec::default()
            },
        );
    }
    write_plugin(
        &root,
        "calc",
        &Spec {
            name: "calc",
            contract: "Calculator",
            fingerprint: fingerprint::<CalculatorClient>(),
            role: "calculator",
            ..Spec::default()
        },
    );
    let registry = load(&root).await;
    let all = registry.all::<LifecycleClient>();
    let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["a/life", "b/life", "c/life"]);
    let mut pids = Vec::new();
    for (id, client) in &all {
        assert_eq!(client.add(40, 2).await.expect(id), 42);
        pids.push(client.pid().await.expect(id));
    }
    pids.dedup();
    assert_eq!(pids.len(), 3, "one process each");
    let calcs = registry.all::<CalculatorClient>();
    assert_eq!(calcs.len(), 1);
    assert_eq!(calcs[0].0, "test/calc");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_plugin_starts_once_on_concurrent_first_calls_and_an_eager_one_at_load() {
    let root = plugins_dir("lazy");
    let lazy = write_plugin(
        &root,
        "lazy",
        &Spec {
            name: "lazy",
            log_starts: true,
            ..Spec::default()
        },
    );
    let eager = write_plugin(
        &root,
        "eager",
        &Spec {
            name: "eager",
            lazy: false,
            log_starts: true,
            ..Spec::default()
        },
    );
    let registry = load(&root).await;
    assert!(matches!(
        state_of(&registry, "test/eager"),
        PluginState::Running
    ));
    assert_eq!(starts(&eager).len(), 1, "the eager plugin ran at load");
    assert!(matches!(
        state_of(&registry, "test/lazy"),
        PluginState::NotStarted
    ));
    let client: LifecycleClient = registry.get("lazy").expect("get");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(starts(&lazy).is_empty(), "get alone starts nothing");

    let calls = (0..16).map(|i| {
        let client = client.clone();
        tokio::spawn(async move { client.add(i, 1).await })
    });
    for (i, call) in futures::future::join_all(calls)
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(call.expect("task").expect("first calls"), i as i64 + 1);
    }
    let started = starts(&lazy);
    assert_eq!(started.len(), 1, "16 concurrent first calls, one start");
    let listing = registry
        .plugins()
        .into_iter()
        .find(|p| p.id == "test/lazy")
        .expect("listed");
    assert!(matches!(listing.state, PluginState::Running));
    assert_eq!(listing.generation, 1);
    assert_eq!(listing.pids.len(), 1);
    // `sh` execs the plugin: the logged pid is the plugin's.
    assert_eq!(listing.pids, started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_start_that_fails_fails_its_calls_with_the_reason_and_the_next_call_retries() {
    let root = plugins_dir("lazy-fails");
    let folder = write_plugin(
        &root,
        "life",
        &Spec {
            role: "exit-at-once",
            log_starts: true,
            ..Spec::default()
        },
    );
    let registry = load(&root).await;
    let client: LifecycleClient = registry.get("life").expect("get");
    let err = client.pid().await.expect_err("it cannot start");
    assert!(
        err.to_string().contains("configuration file is missing"),
        "the reason: {err}"
    );
    assert!(matches!(
        state_of(&registry, "test/life"),
        PluginState::Failed(_)
    ));
    client.pid().await.expect_err("still cannot start");
    assert_eq!(starts(&folder).len(), 2, "the next call tried again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unload_lets_calls_in_flight_finish_and_refuses_new_ones() {
    let root = plugins_dir("unload");
    write_plugin(&root, "life", &Spec::default());
    let registry = load(&root).await;
    let client: LifecycleClient = registry.get("test/life").expect("get");
    let pid = client.pid().await.expect("starts");

    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.sleep(600).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let unloading = tokio::spawn({
        let registry = registry.clone();
        async move { registry.unload("test/life").await }
    });
    wait_until("the plugin is listed as unloaded", || {
        matches!(state_of(&registry, "test/life"), PluginState::Unloaded)
    })
    .await;
    let refused = client.add(1, 2).await.expect_err("refused after unload");
    assert!(
        matches!(&refused, Error::Unloaded { plugin } if plugin == "test/life"),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("unloaded"), "{refused}");
    assert!(running(pid), "the call in flight keeps it running");
    assert_eq!(
        slow.await
            .expect("task")
            .expect("the call in flight finishes"),
        600
    );
    unloading.await.expect("task").expect("unload");
    assert!(!running(pid), "stopped once its calls were done");
    assert!(matches!(
        registry.unload("test/life").await,
        Err(Error::Unloaded { .. })
    ));

    // Reload loads it again.
    registry.reload("test/life").await.expect("reload");
    assert_ne!(client.pid().await.expect("calls work again"), pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_reloads_during_a_hundred_thousand_calls_drop_no_call() {
    const CALLS: u64 = 100_000;
    const RELOADS: u64 = 20;
    const CALLERS: u64 = 8;
    let root = plugins_dir("reload-under-load");
    write_plugin(
        &root,
        "life",
        &Spec {
            lazy: false,
            ..Spec::default()
        },
    );
    let registry = load(&root).await;
    let client: LifecycleClient = registry.get("life").expect("get");
    let first = client.pid().await.expect("first");

    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let callers: Vec<_> = (0..CALLERS)
        .map(|task| {
            let (client, ok, failed) = (client.clone(), ok.clone(), failed.clone());
            tokio::spawn(async move {
                for i in 0..CALLS / CALLERS {
                    let a = (task * CALLS + i) as i64;
                    match client.add(a, 1).await {
                        Ok(sum) if sum == a + 1 => ok.fetch_add(1, Ordering::Relaxed),
                        Ok(sum) => panic!("{a} + 1 answered {sum}"),
                        Err(e) => {
                            eprintln!("call failed: {e}");
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();
    let reloader = tokio::spawn({
        let (registry, ok, failed) = (registry.clone(), ok.clone(), failed.clone());
        async move {
            let mut reports = Vec::new();
            for n in 1..=RELOADS {
                // Spread over the run: the n-th reload once n/21 of the calls are done.
                let due = CALLS * n / (RELOADS + 1);
                while ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < due {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                let done_before = ok.load(Ordering::Relaxed);
                let report = registry.reload("life").await.expect("reload");
                reports.push((done_before, report));
            }
            reports
        }
    });
    for caller in callers {
        caller.await.expect("caller task");
    }
    let reports = reloader.await.expect("reloader task");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no call failed");
    assert_eq!(ok.load(Ordering::Relaxed), CALLS);
    assert_eq!(reports.len() as u64, RELOADS);
    assert!(
        reports.iter().all(|(done, _)| *done < CALLS),
        "every reload began while calls were running"
    );
    let generations: Vec<u64> = reports.iter().map(|(_, r)| r.generation).collect();
    assert_eq!(generations, (2..=RELOADS + 1).collect::<Vec<_>>());
    let mut stopped = vec![first];
    for (_, report) in &reports {
        assert!(report.error.is_none());
        assert_eq!(report.stopped.len(), 1, "{report:?}");
        stopped.extend(&report.stopped);
    }
    stopped.dedup();
    assert_eq!(
        stopped.len() as u64,
        RELOADS,
        "each reload stopped its predecessor"
    );
    for pid in &stopped {
        assert!(!running(*pid), "old process {pid} was stopped");
    }
    let now = client.pid().await.expect("the last generation answers");
    assert!(!stopped.contains(&now));
    assert_eq!(
        registry.plugins()[0].generation,
        RELOADS + 1,
        "{:?}",
        registry.plugins()
    );
}

/// Starts `test/life`, makes `change` to its folder, and checks that the
/// reload fails with an error containing `why` while the old process
/// keeps answering.
async fn a_failed_reload_keeps_the_old_version(test: &str, change: impl FnOnce(&Path), why: &str) {
    let root = plugins_dir(test);
    let folder = write_plugin(
        &root,
        "life",
        &Spec {
            lazy: false,
            ..Spec::default()
        },
    );
    let registry = load(&root).await;
    let client: LifecycleClient = registry.get("life").expect("get");
    let pid = client.pid().await.expect("the old version answers");
    change(&folder);
    let err = registry.reload("life").await.expect_err("the reload fails");
    assert!(
        err.to_string().contains(why),
        "the error says why ({why}): {err}"
    );
    assert_eq!(
        client.pid().await.expect("the old version still answers"),
        pid
    );
    let listing = &registry.plugins()[0];
    assert!(matches!(listing.state, PluginState::Running));
    assert_eq!((listing.generation, &listing.version[..]), (1, "1.0.0"));
    assert_eq!(listing.pids, [pid]);
}

fn rewrite(folder: &Path, spec: &Spec<'_>) {
    let root = folder.parent().expect("a parent");
    let name = folder.file_name().expect("a name").to_str().expect("utf-8");
    write_plugin(root, name, spec);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_whose_new_version_crashes_at_start_keeps_the_old_one() {
    a_failed_reload_keeps_the_old_version(
        "reload-crash",
        |folder| {
            rewrite(
                folder,
                &Spec {
                    version: "2.0.0",
                    role: "exit-at-once",
                    lazy: false,
                    ..Spec::default()
                },
            )
        },
        "configuration file is missing",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_whose_new_manifest_has_another_fingerprint_keeps_the_old_one() {
    let wrong = "cd".repeat(32);
    a_failed_reload_keeps_the_old_version(
        "reload-fingerprint",
        |folder| {
            rewrite(
                folder,
                &Spec {
                    version: "2.0.0",
                    fingerprint: &wrong,
                    lazy: false,
                    ..Spec::default()
                },
            )
        },
        &wrong[..12],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_whose_new_version_fails_its_checksum_keeps_the_old_one() {
    a_failed_reload_keeps_the_old_version(
        "reload-checksum",
        |folder| {
            std::fs::write(folder.join("data.bin"), b"version two").expect("write");
            let claimed = "0".repeat(64);
            let extra = format!("[checksums]\n\"data.bin\" = \"{claimed}\"\n");
            rewrite(
                folder,
                &Spec {
                    version: "2.0.0",
                    lazy: false,
                    extra: &extra,
                    ..Spec::default()
                },
            )
        },
        "data.bin has sha256",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_whose_new_manifest_does_not_parse_keeps_the_old_one() {
    a_failed_reload_keeps_the_old_version(
        "reload-typo",
        |folder| {
            let path = folder.join("plugin.toml");
            let text = std::fs::read_to_string(&path).expect("read");
            std::fs::write(&path, text.replace("command", "comand")).expect("write");
        },
        "comand",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_file_in_a_plugin_folder_reloads_it() {
    let root = plugins_dir("watch");
    let folder = write_plugin(
        &root,
        "life",
        &Spec {
            lazy: false,
            ..Spec::default()
        },
    );
    let registry = load(&root).await;
    let client: LifecycleClient = registry.get("life").expect("get");
    let old = client.pid().await.expect("answers");
    let mut watch = registry.watch().expect("watch");

    rewrite(
        &folder,
        &Spec {
            version: "1.1.0",
            lazy: false,
            ..Spec::default()
        },
    );
    let report = tokio::time::timeout(Duration::from_secs(20), watch.next())
        .await
        .expect("a reload within 20 s")
        .expect("a report");
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(report.plugin, "test/life");
    assert_eq!(report.version, "1.1.0");
    assert_eq!(report.generation, 2);
    assert_eq!(report.stopped, [old]);
    assert_ne!(client.pid().await.expect("answers"), old);
    assert_eq!(registry.plugins()[0].version, "1.1.0");

    // A change that breaks it is reported, and the running version stays.
    std::fs::write(folder.join("plugin.toml"), "name = \"life\"\n").expect("write");
    let report = tokio::time::timeout(Duration::from_secs(20), watch.next())
        .await
        .expect("a report within 20 s")
        .expect("a report");
    let err = report.error.expect("the reload failed");
    assert!(err.to_string().contains("plugin.toml"), "{err}");
    assert_eq!(report.version, "1.1.0");
    client
        .pid()
        .await
        .expect("the running version still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_keeps_its_generation_running_through_a_reload_until_it_ends() {
    let root = plugins_dir("reload-stream");
    write_plugin(
        &root,
        "streams",
        &Spec {
            name: "streams",
            lazy: false,
            role: "streams",
            contract: "Streams",
            fingerprint: fingerprint::<StreamsClient>(),
            ..Spec::default()
        },
    );
    let registry = Registry::builder()
        .folder(&root)
        .load()
        .await
        .expect("loads");
    let client: StreamsClient = registry.get("streams").expect("get");
    let old = registry.plugins()[0].pids.clone();
    let mut stream = client.forever("held".into());
    assert_eq!(stream.next().await.expect("an item").expect("ok"), 0);

    let reloading = tokio::spawn({
        let registry = registry.clone();
        async move { registry.reload("streams").await }
    });
    wait_until("the new generation is current", || {
        registry.plugins()[0].generation == 2
    })
    .await;
    // New calls go to the new generation; the stream stays on the old one.
    let mut pids = client.pids(1);
    let new = pids.next().await.expect("a pid").expect("ok");
    assert!(!old.contains(&new), "new calls reach the new process");
    for want in 1..100 {
        let got = stream
            .next()
            .await
            .expect("the stream goes on")
            .expect("ok");
        assert_eq!(got, want);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !reloading.is_finished(),
        "the old generation waits for the stream"
    );
    assert!(old.iter().all(|pid| running(*pid)));

    drop(stream);
    let report = tokio::time::timeout(Duration::from_secs(10), reloading)
        .await
        .expect("the reload ends once the stream is dropped")
        .expect("task")
        .expect("reload");
    assert_eq!(report.stopped, old);
    assert!(old.iter().all(|pid| !running(*pid)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eager_plugin_that_cannot_start_is_a_problem_and_the_others_load() {
    let root = plugins_dir("eager-fails");
    write_plugin(
        &root,
        "broken",
        &Spec {
            name: "broken",
            lazy: false,
            role: "exit-at-once",
            ..Spec::default()
        },
    );
    write_plugin(
        &root,
        "good",
        &Spec {
            name: "good",
            lazy: false,
            ..Spec::default()
        },
    );
    let registry = Registry::builder()
        .folder(&root)
        .load()
        .await
        .expect("loads");
    let problems: Vec<String> = registry.problems().iter().map(|e| e.to_string()).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("test/broken") && problems[0].contains("configuration file"),
        "{problems:?}"
    );
    assert!(matches!(
        state_of(&registry, "test/broken"),
        PluginState::Failed(_)
    ));
    let good: LifecycleClient = registry.get("good").expect("get");
    assert_eq!(good.add(1, 1).await.expect("the good one answers"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_folder_is_an_error_that_names_it() {
    let missing = plugins_dir("missing").join("nowhere");
    let err = Registry::builder()
        .folder(&missing)
        .load()
        .await
        .expect_err("a folder that does not exist");
    assert!(err.to_string().contains("nowhere"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_services_are_shared_by_every_plugin_and_every_generation() {
    use host_services::{GuestClient, HostApiServer};
    let root = plugins_dir("host-services");
    for ns in ["one", "two"] {
        write_plugin(
            &root,
            ns,
            &Spec {
                namespace: ns,
                name: "guest",
                role: "guest",
                contract: "Guest",
                fingerprint: fingerprint::<GuestClient>(),
                ..Spec::default()
            },
        );
    }
    let host = Store::default();
    let registry = Registry::builder()
        .folder(&root)
        .serve(HostApiServer::new(host.clone()))
        .load()
        .await
        .expect("loads");
    let one: GuestClient = registry.get("one/guest").expect("get");
    let two: GuestClient = registry.get("two/guest").expect("get");
    one.store_and_read("from".into(), "one".into())
        .await
        .expect("one calls the host");
    assert_eq!(
        two.store_and_read("seen".into(), "two".into())
            .await
            .expect("two calls the host")
            .as_deref(),
        Some("two")
    );
    assert_eq!(host.stored("from").as_deref(), Some("one"), "one store");
    registry.reload("one/guest").await.expect("reload");
    one.store_and_read("after".into(), "reload".into())
        .await
        .expect("the new generation calls the host");
    assert_eq!(host.stored("after").as_deref(), Some("reload"));
    assert_eq!(host.stored("seen").as_deref(), Some("two"));
}

/// The host's side of `HostApi` for the test above: a store.
#[derive(Clone, Default)]
struct Store(Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>);

impl Store {
    fn stored(&self, key: &str) -> Option<String> {
        self.0.lock().unwrap().get(key).cloned()
    }
}

impl host_services::HostApi for Store {
    async fn get(&self, key: String) -> Option<String> {
        self.stored(&key)
    }

    async fn put(&self, key: String, value: String) -> Option<String> {
        self.0.lock().unwrap().insert(key, value)
    }

    async fn fail(&self, how: String) -> Result<u32, String> {
        Err(format!("not in this test: {how}"))
    }

    async fn bounce(&self, _depth: u32) -> Vec<String> {
        vec!["host".into()]
    }

    async fn wait(&self, _tag: String) {}

    async fn time_left_ms(&self) -> Option<u64> {
        goproc::time_left().map(|t| t.as_millis() as u64)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_contract_the_manifest_requires_and_the_host_lacks_is_refused_before_any_spawn() {
    use host_services::{GuestClient, HostApiClient, HostApiServer};
    let root = plugins_dir("requires");
    let guest = |name, requires: String| Spec {
        name,
        role: "guest",
        contract: "Guest",
        fingerprint: fingerprint::<GuestClient>(),
        log_starts: true,
        extra: Box::leak(requires.into_boxed_str()),
        ..Spec::default()
    };
    let requires =
        |fp: &str| format!("[[requires]]\ncontract = \"HostApi\"\nfingerprint = \"{fp}\"\n");
    let wrong = "cd".repeat(32);
    let stale = write_plugin(&root, "stale", &guest("stale", requires(&wrong)));
    let good = write_plugin(
        &root,
        "good",
        &guest("good", requires(fingerprint::<HostApiClient>())),
    );

    // A host that serves nothing: both are refused, at load and on a call.
    let bare = Registry::builder()
        .folder(&root)
        .load()
        .await
        .expect("loads");
    let problems: Vec<String> = bare.problems().iter().map(|e| e.to_string()).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems
            .iter()
            .all(|p| p.contains("HostApi") && p.contains("serves no contract")),
        "{problems:?}"
    );
    let client: GuestClient = bare.get("good").expect("get does not start it");
    let err = client
        .store_and_read("k".into(), "v".into())
        .await
        .expect_err("the first call cannot start it");
    assert!(matches!(err, Error::ManifestContract { .. }), "{err:?}");

    // A host that serves HostApi: the stale manifest alone is refused,
    // naming both fingerprints; the good one starts and calls its host.
    let host = Registry::builder()
        .folder(&root)
        .serve(HostApiServer::new(Store::default()))
        .load()
        .await
        .expect("loads");
    let problems: Vec<String> = host.problems().iter().map(|e| e.to_string()).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("test/stale")
            && problems[0].contains(&wrong[..12])
            && problems[0].contains(&fingerprint::<HostApiClient>()[..12]),
        "{problems:?}"
    );
    let stale_client: GuestClient = host.get("stale").expect("get");
    assert!(stale_client
        .store_and_read("k".into(), "v".into())
        .await
        .is_err());
    assert!(starts(&stale).is_empty(), "the stale plugin never started");
    let good_client: GuestClient = host.get("good").expect("get");
    assert_eq!(
        good_client
            .store_and_read("k".into(), "v".into())
            .await
            .expect("the good plugin calls its host")
            .as_deref(),
        Some("v")
    );
    assert_eq!(starts(&good).len(), 1, "only the good plugin started, once");
}
