//! `test-plugin meter <copy>` serves the `Meter` contract built from one of
//! the copies in tests/contracts/meter.rs (`host`, `reordered`, `added`,
//! `removed`, `renamed`, `retyped`, `variant-moved`); `test-plugin
//! meter-guest <copy>` serves nothing useful but requires the host's
//! `Meter` as that copy has it.

use crate::meter;

/// Serves the copy named `copy`.
pub async fn serve(copy: &str) -> Result<(), goproc::Error> {
    let server = goproc::Server::new();
    let server = match copy {
        "host" => server.add(meter::host::MeterServer::new(meter::host::Plugin)),
        "reordered" => server.add(meter::reordered::MeterServer::new(meter::reordered::Plugin)),
        "added" => server.add(meter::added::MeterServer::new(meter::added::Plugin)),
        "removed" => server.add(meter::removed::MeterServer::new(meter::removed::Plugin)),
        "renamed" => server.add(meter::renamed::MeterServer::new(meter::renamed::Plugin)),
        "retyped" => server.add(meter::retyped::MeterServer::new(meter::retyped::Plugin)),
        "variant-moved" => server.add(meter::variant_moved::MeterServer::new(
            meter::variant_moved::Plugin,
        )),
        other => unknown(other),
    };
    server.serve().await
}

/// Serves the host's copy, and requires the host to serve the copy named
/// `copy` back.
pub async fn serve_requiring(copy: &str) -> Result<(), goproc::Error> {
    let server = goproc::Server::new().add(meter::host::MeterServer::new(meter::host::Plugin));
    let server = match copy {
        "host" => server.require::<meter::host::MeterClient>(),
        "reordered" => server.require::<meter::reordered::MeterClient>(),
        "variant-moved" => server.require::<meter::variant_moved::MeterClient>(),
        other => unknown(other),
    };
    server.serve().await
}

fn unknown(copy: &str) -> ! {
    eprintln!("test-plugin meter: unknown copy `{copy}`");
    std::process::exit(64)
}
