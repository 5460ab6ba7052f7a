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
use std::time::Duration;

use goproc::Plugin;
use host_services_support::host_services::GuestClient;

/// What the plugin's `bounce` puts in the trail.
const LANGUAGE: &str = "typescript";

/// `tests/typescript/guest_plugin.ts` with stubs generated from
/// `tests/contracts/host_services.rs`, compiled with the pinned `tsc --strict`.
fn plugin_js() -> PathBuf {
    common::node::build(
        "host-services",
        &["tests/contracts/host_services.rs"],
        &["guest_plugin.ts"],
    )
    .join("guest_plugin.js")
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
