//! Two-way sessions with a Python plugin: the Guest plugin
//! (tests/python/guest_plugin.py) requires the host's `HostApi` and calls it
//! from every handler. The scenarios are the ones every runtime passes
//! (tests/host_services_support): calls while serving, nesting six deep,
//! failures of the host's service, cancel cascading to the host, deadlines
//! inherited, and the refusals at the handshake.

mod common;
mod host_services_support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use host_services_support::host_services::GuestClient;

/// What the plugin's `bounce` says first.
const LANGUAGE: &str = "python";

/// The folder to put on PYTHONPATH: stubs generated from
/// `tests/contracts/host_services.rs`, as the package `goproc_stubs`.
fn pythonpath() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        common::python::generate(
            "python-host-services",
            &["tests/contracts/host_services.rs"],
        )
    })
}

/// The Python Guest plugin, not yet told what the host serves.
fn builder() -> goproc::PluginBuilder {
    common::python::plugin(&common::python::script("guest_plugin.py"), pythonpath())
        .name("py-guest")
        .contract::<GuestClient>()
        .start_timeout(Duration::from_secs(30))
}

host_services_support::host_services_tests!();
