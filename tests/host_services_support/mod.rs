//! What the two-way tests share across plugin languages: the host's
//! implementation of `HostApi` (a store, failures on request, a handler that
//! calls the plugin back, one that records its cancellation), and the
//! scenarios every runtime must pass. Each language's test file defines
//! `builder()` (its `Guest` plugin, not yet told what the host serves) and
//! runs `host_services_tests!()`.
#![allow(dead_code)]

#[path = "../common/wait.rs"]
mod wait;
pub use wait::wait_until;

#[path = "../contracts/host_api_changed.rs"]
pub mod host_api_changed;
#[path = "../contracts/host_services.rs"]
pub mod host_services;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goproc::{Error, Plugin, PluginBuilder};
use host_services::{GuestClient, HostApi, HostApiServer};

/// The host's side of `HostApi`, with what the tests observe.
#[derive(Clone, Default)]
pub struct Host {
    store: Arc<Mutex<HashMap<String, String>>>,
    /// `wait` handlers by tag: started, then stopped.
    waits: Arc<Mutex<HashMap<String, WaitState>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitState {
    Started,
    Stopped,
}

impl Host {
    pub fn stored(&self, key: &str) -> Option<String> {
        self.store.lock().unwrap().get(key).cloned()
    }

    pub fn wait_state(&self, tag: &str) -> Option<WaitState> {
        self.waits.lock().unwrap().get(tag).copied()
    }
}

/// Marks a `wait` handler stopped when its future is dropped.
struct StopGuard {
    waits: Arc<Mutex<HashMap<String, WaitState>>>,
    tag: String,
}

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.waits
            .lock()
            .unwrap()
            .insert(self.tag.clone(), WaitState::Stopped);
    }
}

impl HostApi for Host {
    async fn get(&self, key: String) -> Option<String> {
        self.store.lock().unwrap().get(&key).cloned()
    }

    async fn put(&self, key: String, value: String) -> Option<String> {
        self.store.lock().unwrap().insert(key, value)
    }

    async fn fail(&self, how: String) -> Result<u32, String> {
        match how.as_str() {
            "panic" => panic!("the host service failed on purpose"),
            "error" => Err("refused: error".into()),
            "hang" => std::future::pending().await,
            other => Ok(other.len() as u32),
        }
    }

    async fn bounce(&self, depth: u32) -> Vec<String> {
        let mut trail = vec!["host".to_string()];
        if depth > 0 {
            let guest: GuestClient = goproc::peer().expect("the calling plugin serves Guest");
            match guest.bounce(depth - 1).await {
                Ok(rest) => trail.extend(rest),
                Err(e) => trail.push(format!("error: {e}")),
            }
        }
        trail
    }

    async fn wait(&self, tag: String) {
        self.waits
            .lock()
            .unwrap()
            .insert(tag.clone(), WaitState::Started);
        let _guard = StopGuard {
            waits: self.waits.clone(),
            tag,
        };
        std::future::pending::<()>().await
    }

    async fn time_left_ms(&self) -> Option<u64> {
        goproc::time_left().map(|left| left.as_millis() as u64)
    }
}

/// Starts `builder`'s plugin with the host serving `host`.
pub async fn start(builder: PluginBuilder, host: &Host) -> (Plugin, GuestClient) {
    let plugin = builder
        .serve(HostApiServer::new(host.clone()))
        .spawn()
        .await
        .expect("starting the Guest plugin with HostApi served");
    let client = plugin.client().expect("the plugin serves Guest");
    (plugin, client)
}

/// The scenarios every runtime runs the same way; the invoking file
/// defines `builder()` and `LANGUAGE` (what the plugin's `bounce` says).
#[allow(unused_macros)]
macro_rules! host_services_tests {
    () => {
        #[tokio::test]
        async fn a_handler_calls_the_hosts_store_while_it_serves() {
            let host = host_services_support::Host::default();
            let (_plugin, guest) = host_services_support::start(builder(), &host).await;
            host_services_support::a_handler_calls_the_hosts_store(&guest).await;
        }

        #[tokio::test]
        async fn calls_nest_host_plugin_host_plugin_to_depth_five() {
            let host = host_services_support::Host::default();
            let (_plugin, guest) = host_services_support::start(builder(), &host).await;
            host_services_support::calls_nest(&guest, LANGUAGE).await;
        }

        #[tokio::test]
        async fn a_host_service_that_panics_errors_or_hangs_gives_the_plugin_an_error_not_a_hang() {
            let host = host_services_support::Host::default();
            let (_plugin, guest) = host_services_support::start(builder(), &host).await;
            host_services_support::a_failing_host_service_gives_the_plugin_an_error(&guest).await;
        }

        #[tokio::test]
        async fn cancelling_the_outer_call_cancels_the_call_its_handler_made_to_the_host() {
            let host = host_services_support::Host::default();
            let (_plugin, guest) = host_services_support::start(builder(), &host).await;
            host_services_support::cancel_cascades(&guest, &host).await;
        }

        #[tokio::test]
        async fn a_call_to_the_host_inherits_what_is_left_of_the_handlers_deadline() {
            let host = host_services_support::Host::default();
            let (_plugin, guest) = host_services_support::start(builder(), &host).await;
            host_services_support::deadline_is_inherited(&guest).await;
        }

        #[tokio::test]
        async fn a_plugin_requiring_a_contract_the_host_does_not_serve_is_refused_at_the_handshake()
        {
            host_services_support::refused_when_not_served(builder()).await;
        }

        #[tokio::test]
        async fn a_plugin_requiring_another_version_of_a_host_contract_is_refused_at_the_handshake()
        {
            host_services_support::refused_on_another_fingerprint(builder()).await;
        }
    };
}
#[allow(unused_imports)]
pub(crate) use host_services_tests;

pub async fn a_handler_calls_the_hosts_store(guest: &GuestClient) {
    let seen = guest
        .store_and_read("colour".into(), "blue".into())
        .await
        .expect("store_and_read");
    assert_eq!(seen.as_deref(), Some("blue"));
    // Many at once, each with its own key: the host serves them in parallel.
    let calls = (0..64).map(|i| guest.store_and_read(format!("k{i}"), format!("v{i}")));
    let seen = futures::future::join_all(calls).await;
    for (i, answer) in seen.into_iter().enumerate() {
        assert_eq!(
            answer.expect("store_and_read").as_deref(),
            Some(&*format!("v{i}"))
        );
    }
}

pub async fn calls_nest(guest: &GuestClient, language: &str) {
    let trail = guest
        .with_timeout(Duration::from_secs(20))
        .bounce(5)
        .await
        .expect("bounce(5)");
    let want: Vec<String> = [language, "host", language, "host", language, "host"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(trail, want, "six nested handlers, alternating sides");
}

pub async fn a_failing_host_service_gives_the_plugin_an_error(guest: &GuestClient) {
    let ok = guest
        .call_failing("four".into())
        .await
        .expect("call_failing");
    assert_eq!(ok, "ok: 4");
    let domain = guest
        .call_failing("error".into())
        .await
        .expect("call_failing");
    assert_eq!(domain, "domain error: refused: error");
    let panicked = guest
        .call_failing("panic".into())
        .await
        .expect("call_failing");
    assert!(
        panicked.starts_with("failed: ")
            && panicked.contains("panic: the host service failed on purpose"),
        "a host service that panicked: {panicked}"
    );
    let started = Instant::now();
    let hung = guest
        .call_failing("hang".into())
        .await
        .expect("call_failing");
    assert!(
        hung.starts_with("timeout: "),
        "a host service that hangs: {hung}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the plugin's own 2 s deadline ended the call ({:?})",
        started.elapsed()
    );
    // The plugin still serves, and still reaches the host.
    let again = guest
        .store_and_read("after".into(), "failures".into())
        .await;
    assert_eq!(again.expect("store_and_read").as_deref(), Some("failures"));
}

pub async fn cancel_cascades(guest: &GuestClient, host: &Host) {
    // A dropped call future.
    let call = guest.wait_in_host("dropped".into());
    let waited = tokio::time::timeout(Duration::from_millis(300), call).await;
    assert!(waited.is_err(), "wait_in_host never answers");
    assert_eq!(
        host.wait_state("dropped"),
        Some(WaitState::Started),
        "the plugin's handler reached the host before the outer call was dropped"
    );
    wait_until("the host's handler of the inner call is stopped", || {
        host.wait_state("dropped") == Some(WaitState::Stopped)
    })
    .await;
    // A call past its deadline. The inner call inherits the deadline, so
    // it may end first and the handler answer (the Rust guest ignores the
    // inner call's error); either way nothing waits past it.
    let started = Instant::now();
    let outcome = guest
        .with_timeout(Duration::from_millis(300))
        .wait_in_host("deadline".into())
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the deadline ended the call: {outcome:?} after {:?}",
        started.elapsed()
    );
    if let Err(err) = outcome {
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
    }
    wait_until("the host's handler of the inner call is stopped", || {
        host.wait_state("deadline") == Some(WaitState::Stopped)
    })
    .await;
}

pub async fn deadline_is_inherited(guest: &GuestClient) {
    let left = guest
        .with_timeout(Duration::from_secs(3))
        .host_time_left_ms()
        .await
        .expect("host_time_left_ms")
        .expect("the inner call carries a deadline");
    assert!(
        (1000..=3000).contains(&left),
        "the host's handler had {left} ms left of the outer call's 3 s"
    );
    let left = guest
        .without_timeout()
        .host_time_left_ms()
        .await
        .expect("host_time_left_ms");
    assert_eq!(left, None, "no deadline outside, none inside");
}

pub async fn refused_when_not_served(builder: PluginBuilder) {
    let err = builder
        .spawn()
        .await
        .expect_err("the host serves no HostApi");
    let text = err.to_string();
    assert!(matches!(err, Error::Handshake { .. }), "{text}");
    assert!(
        text.contains("HostApi") && text.contains("does not serve"),
        "the refusal names the missing contract: {text}"
    );
}

pub async fn refused_on_another_fingerprint(builder: PluginBuilder) {
    struct OldHost;
    impl host_api_changed::HostApi for OldHost {
        async fn get(&self, _key: String) -> Option<String> {
            None
        }
        async fn put(&self, _key: String, _value: String) {}
    }
    let err = builder
        .serve(host_api_changed::HostApiServer::new(OldHost))
        .spawn()
        .await
        .expect_err("the host serves another HostApi");
    let text = err.to_string();
    let ours = <host_api_changed::HostApiClient as goproc::Client>::CONTRACT;
    let theirs = <host_services::HostApiClient as goproc::Client>::CONTRACT;
    match &err {
        // A plugin that states its schema (protocol 4): the difference.
        Error::SchemaMismatch { contract, .. } => {
            assert_eq!(contract, "HostApi");
            assert!(
                text.ends_with(
                    "disagrees on HostApi.put: the host has no return value, the plugin has \
                     return type Option<String>; rebuild the plugin or regenerate its stubs"
                ),
                "{text}"
            );
        }
        // One that does not: both fingerprints.
        Error::Handshake { .. } => assert!(
            text.contains("HostApi")
                && text.contains(ours.short_fingerprint())
                && text.contains(theirs.short_fingerprint()),
            "the refusal names the contract and both fingerprints: {text}"
        ),
        other => panic!("expected a refusal at the handshake, got {other}"),
    }
}
