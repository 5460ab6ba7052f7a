//! The Rust plugin: serves `PageCounter`, and while it answers, reads and
//! writes the host's `Store` and writes to the host's `Logger`.

use crate::contract::{Level, LoggerClient, PageCounter, PageCounterServer, StoreClient};

struct Counter;

impl PageCounter for Counter {
    async fn visit(&self, page: String) -> u64 {
        // The host's contracts, for the call this handler serves: the calls
        // below inherit its deadline, and are cancelled with it.
        let (store, log) = match (
            goproc::peer::<StoreClient>(),
            goproc::peer::<LoggerClient>(),
        ) {
            (Ok(store), Ok(log)) => (store, log),
            _ => return 0,
        };
        let key = format!("visits/{page}");
        let seen = match store.get(key.clone()).await {
            Ok(count) => count.and_then(|c| c.parse::<u64>().ok()).unwrap_or(0),
            Err(_) => return 0,
        };
        let now = seen + 1;
        if store.put(key.clone(), now.to_string()).await.is_err() {
            return 0;
        }
        let _ = log
            .log(Level::Info, format!("rust counted visit {now} of {page}"))
            .await;
        now
    }
}

pub async fn run() -> Result<(), goproc::Error> {
    goproc::Server::new()
        .add(PageCounterServer::new(Counter))
        .require::<StoreClient>()
        .require::<LoggerClient>()
        .serve()
        .await
}
