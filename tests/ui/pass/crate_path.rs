//! `crate = "..."`: a crate that re-exports goproc names the path once.
#![deny(warnings)]

mod sdk {
    pub use goproc as runtime;
}

mod contracts {
    #[goproc::plugin_interface(crate = "crate::sdk::runtime")]
    pub trait Clock {
        async fn now(&self) -> u64;
    }
}

use contracts::{Clock, ClockClient, ClockServer};

struct Fixed;

impl Clock for Fixed {
    async fn now(&self) -> u64 {
        42
    }
}

async fn host(clock: ClockClient) -> Result<u64, sdk::runtime::Error> {
    clock.now().await
}

fn main() {
    let _ = host;
    let _server: ClockServer<Fixed> = ClockServer::new(Fixed);
}
