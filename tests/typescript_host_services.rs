//! Two-way sessions with a TypeScript plugin under a Rust host that serves
//! it `HostApi`: the Guest plugin (tests/typescript/guest_plugin.ts) calls
//! the host while it serves, calls nest both ways, a failing host service is
//! an error in the plugin, cancellation and deadlines pass from the outer
//! call to the calls its handler makes, and a plugin requiring a host
//! contract the host does not serve, or serves in another version, is
//! refused at the handshake. The scenarios are tests/host_services_support's.

mod common;
mod host_services_support;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use goproc::Plugin;
use host_services_support::host_services::GuestClient;

/// What the plugin's `bounce` puts in the trail.
const LANGUAGE: &str = "typescript";

/// The two plugins, compiled before any test starts one (every test waits
/// for both): a `tsc` run beside a test would slow it past its deadlines.
fn plugins() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        // `tests/typescript/guest_plugin.ts` with stubs generated from
        // `tests/contracts/host_services.rs`, compiled with the pinned
        // `tsc --strict`.
        let guest = common::node::build(
            "host-services",
            &["tests/contracts/host_services.rs"],
            &["guest_plugin.ts"],
        )
        .join("guest_plugin.js");
        (
            guest,
            common::node::build_example("host_services", "ts-example-host-services"),
        )
    })
}

fn plugin_js() -> PathBuf {
    plugins().0.clone()
}

/// The Guest plugin, not yet told what the host serves.
fn builder() -> goproc::PluginBuilder {
    Plugin::builder(common::node::node())
        .arg(plugin_js())
        .name("ts-guest")
        .contract::<GuestClient>()
        .start_timeout(Duration::from_secs(30))
}

host_services_support::host_services_tests!();

#[path = "common/example_host.rs"]
mod example_host;
#[path = "../examples/host_services/contract.rs"]
mod host_services;

/// The host_services example's TypeScript plugin
/// (`examples/host_services/typescript`), compiled with its own tsconfig.json.
fn example_plugin_js() -> PathBuf {
    plugins().1.clone()
}

#[tokio::test]
async fn the_example_plugin_counts_visits_in_the_hosts_store_and_logs_them_through_the_host() {
    let host = example_host::ExampleHost::default();
    host.store
        .lock()
        .unwrap()
        .insert("visits/docs".into(), "41".into());
    let plugin = Plugin::builder(common::node::node())
        .arg(example_plugin_js())
        .contract::<host_services::PageCounterClient>()
        .serve(host_services::StoreServer::new(host.clone()))
        .serve(host_services::LoggerServer::new(host.clone()))
        .start_timeout(Duration::from_secs(30))
        .spawn()
        .await
        .expect("starting the example's TypeScript plugin");
    let counter: host_services::PageCounterClient = plugin.client().expect("serves PageCounter");
    assert_eq!(counter.visit("home".into()).await.expect("visit"), 1);
    assert_eq!(counter.visit("home".into()).await.expect("visit"), 2);
    assert_eq!(counter.visit("docs".into()).await.expect("visit"), 42);
    let store = host.store.lock().unwrap().clone();
    assert_eq!(store.get("visits/home").map(String::as_str), Some("2"));
    assert_eq!(store.get("visits/docs").map(String::as_str), Some("42"));
    let log = host.log.lock().unwrap().clone();
    assert_eq!(log.len(), 3, "one line per visit: {log:?}");
    assert!(
        log.iter()
            .all(|(level, _)| *level == host_services::Level::Info),
        "{log:?}"
    );
    assert!(
        log[1].1.contains("home") && log[1].1.contains('2') && log[2].1.contains("42"),
        "each line says what the plugin did: {log:?}"
    );
    // A host that serves no Logger refuses the plugin, which requires one.
    let err = Plugin::builder(common::node::node())
        .arg(example_plugin_js())
        .contract::<host_services::PageCounterClient>()
        .serve(host_services::StoreServer::new(host.clone()))
        .start_timeout(Duration::from_secs(30))
        .spawn()
        .await
        .expect_err("the plugin requires Logger");
    assert!(err.to_string().contains("Logger"), "{err}");
}
