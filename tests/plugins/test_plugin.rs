//! `test-plugin`: the Rust plugins the end-to-end tests start.
//!
//! `test-plugin <role>` where role is one of the well-behaved plugins
//! (`calculator`, `kv`, `everything`, `lifecycle`, `guest`, `streams`, `events`,
//! `meter`, `meter-guest`, `all`) or a misbehaving one used to
//! test the host's error handling (see `misbehave.rs`).

#[path = "../contracts/calculator_changed.rs"]
mod calculator_changed;
#[path = "../../examples/calculator/contract.rs"]
mod calculator_contract;
#[path = "../../examples/calculator/plugin.rs"]
mod calculator_plugin;
#[path = "events.rs"]
mod events_impl;
#[path = "../contracts/everything.rs"]
mod everything;
#[path = "everything.rs"]
mod everything_impl;
mod guest;
#[path = "../contracts/host_services.rs"]
mod host_services;
mod intruder;
#[path = "../../examples/kv/contract.rs"]
mod kv_contract;
#[path = "../../examples/kv/store.rs"]
mod kv_store;
#[path = "../contracts/lifecycle.rs"]
mod lifecycle;
#[path = "lifecycle.rs"]
mod lifecycle_impl;
#[path = "../contracts/meter.rs"]
mod meter;
#[path = "meter.rs"]
mod meter_impl;
mod misbehave;
mod stream_guest;
#[path = "../contracts/streams.rs"]
mod streams;
#[path = "streams.rs"]
mod streams_impl;

use calculator_contract as contract;

#[tokio::main]
async fn main() {
    let role = std::env::args().nth(1).unwrap_or_default();
    let result = match role.as_str() {
        "calculator" => calculator_plugin::run().await,
        "calculator-changed" => {
            goproc::serve(calculator_changed::CalculatorServer::new(
                calculator_changed::Old,
            ))
            .await
        }
        "everything" => {
            goproc::serve(everything::EverythingServer::new(everything_impl::Echo)).await
        }
        "lifecycle" => {
            goproc::serve(lifecycle::LifecycleServer::new(
                lifecycle_impl::Plugin::default(),
            ))
            .await
        }
        "kv" => {
            goproc::serve(kv_contract::KeyValueStoreServer::new(
                kv_store::Store::default(),
            ))
            .await
        }
        "streams" => goproc::serve(streams::StreamsServer::new(streams_impl::Plugin)).await,
        "stream-guest" => {
            goproc::Server::new()
                .add(streams::StreamGuestServer::new(stream_guest::Plugin))
                .require::<streams::StreamsClient>()
                .serve()
                .await
        }
        "events" => goproc::serve(streams::EventProbeServer::new(events_impl::Plugin)).await,
        "guest" => {
            let server = goproc::Server::new()
                .add(host_services::GuestServer::new(guest::Plugin))
                .require::<host_services::HostApiClient>();
            // The announcement is polled after `serve` started connecting.
            let (served, ()) = tokio::join!(server.serve(), guest::announce_outside_a_handler());
            served
        }
        "meter" => meter_impl::serve(&std::env::args().nth(2).unwrap_or_default()).await,
        "meter-guest" => {
            meter_impl::serve_requiring(&std::env::args().nth(2).unwrap_or_default()).await
        }
        "all" => {
            goproc::Server::new()
                .add(everything::EverythingServer::new(everything_impl::Echo))
                .add(kv_contract::KeyValueStoreServer::new(
                    kv_store::Store::default(),
                ))
                .serve()
                .await
        }
        other => {
            misbehave::run(other).await;
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("test-plugin {role}: {e}");
        std::process::exit(1);
    }
}
