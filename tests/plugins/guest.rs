//! The Rust `Guest` of the two-way tests (tests/contracts/host_services.rs):
//! every handler calls the host's `HostApi` while it serves.

use std::time::Duration;

use super::host_services::{Guest, HostApiClient};

pub struct Plugin;

/// Outside any handler, while the plugin is still connecting: writes
/// `guest/started = rust` to the host's store (the call waits for the
/// connection).
pub async fn announce_outside_a_handler() {
    let host = goproc::peer::<HostApiClient>().expect("a plugin that is connecting has a peer");
    host.put("guest/started".into(), "rust".into())
        .await
        .expect("the call reaches the host once connected");
}

/// The host's API, for the call the current handler serves.
fn host() -> HostApiClient {
    goproc::peer().expect("the host serves HostApi (required at the handshake)")
}

impl Guest for Plugin {
    async fn store_and_read(&self, key: String, value: String) -> Option<String> {
        let host = host();
        host.put(key.clone(), value).await.ok()?;
        host.get(key).await.ok().flatten()
    }

    async fn bounce(&self, depth: u32) -> Vec<String> {
        let mut trail = vec!["rust".to_string()];
        if depth > 0 {
            match host().bounce(depth - 1).await {
                Ok(rest) => trail.extend(rest),
                Err(e) => trail.push(format!("error: {e}")),
            }
        }
        trail
    }

    async fn call_failing(&self, how: String) -> String {
        let host = host().with_timeout(Duration::from_secs(2));
        match host.fail(how).await {
            Ok(Ok(n)) => format!("ok: {n}"),
            Ok(Err(text)) => format!("domain error: {text}"),
            Err(e @ goproc::Error::Timeout { .. }) => format!("timeout: {e}"),
            Err(e) => format!("failed: {e}"),
        }
    }

    async fn wait_in_host(&self, tag: String) {
        let _ = host().wait(tag).await;
    }

    async fn host_time_left_ms(&self) -> Option<u64> {
        host().time_left_ms().await.ok().flatten()
    }
}
