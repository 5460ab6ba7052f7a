//! Two-way sessions with a Rust plugin: the host serves `HostApi`, the
//! plugin's handlers call it while they serve, to any depth. The scenarios
//! are shared with the Python and TypeScript plugins
//! (tests/host_services_support).

mod host_services_support;

use std::time::Duration;

use goproc::{Plugin, Pool};
use host_services_support::host_services::{GuestClient, HostApiServer};

const LANGUAGE: &str = "rust";

fn builder() -> goproc::PluginBuilder {
    Plugin::builder(env!("CARGO_BIN_EXE_test-plugin"))
        .arg("guest")
        .name("guest")
        .contract::<GuestClient>()
        .start_timeout(Duration::from_secs(20))
}

host_services_support::host_services_tests!();

#[tokio::test]
async fn every_instance_of_a_pool_reaches_the_host_services_it_shares() {
    let host = host_services_support::Host::default();
    let pool = Pool::builder(builder())
        .serve(HostApiServer::new(host.clone()))
        .size(3)
        .start()
        .await
        .expect("starting the pool");
    let guest: GuestClient = pool.client().expect("serves Guest");
    let calls = (0..60).map(|i| guest.store_and_read(format!("p{i}"), format!("{i}")));
    for (i, seen) in futures::future::join_all(calls)
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(seen.expect("store_and_read"), Some(i.to_string()));
    }
    let trail = guest.bounce(3).await.expect("bounce through a pool");
    assert_eq!(trail, ["rust", "host", "rust", "host"]);
}

#[tokio::test]
async fn a_plugin_task_outside_any_handler_calls_the_host_and_waits_while_it_connects() {
    let host = host_services_support::Host::default();
    let (_plugin, _guest) = host_services_support::start(builder(), &host).await;
    host_services_support::wait_until("the plugin's task wrote to the store", || {
        host.stored("guest/started").as_deref() == Some("rust")
    })
    .await;
}

#[tokio::test]
async fn peer_outside_a_handler_in_a_host_says_to_use_plugin_client() {
    let err = goproc::peer::<GuestClient>().expect_err("no handler, no peer");
    let text = err.to_string();
    assert!(matches!(err, goproc::Error::NoPeer { .. }), "{text}");
    assert!(text.contains("Plugin::client"), "{text}");
}
