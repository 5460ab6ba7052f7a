//! Several contracts in one module, one implementation serving both.
#![deny(warnings)]

use std::sync::Arc;

#[goproc::plugin_interface]
pub trait Reader {
    async fn get(&self, key: String) -> Option<String>;
}

#[goproc::plugin_interface]
pub trait Writer {
    async fn set(&self, key: String, value: String);
    /// Same method name as in another contract: each contract has its own client.
    async fn get(&self, key: String) -> bool;
}

#[derive(Default)]
struct Store;

impl Reader for Store {
    async fn get(&self, key: String) -> Option<String> {
        Some(key)
    }
}

impl Writer for Store {
    async fn set(&self, _key: String, _value: String) {}

    async fn get(&self, _key: String) -> bool {
        true
    }
}

async fn plugin() -> Result<(), goproc::Error> {
    let store = Arc::new(Store);
    goproc::Server::new()
        .add(ReaderServer::from_arc(Arc::clone(&store)))
        .add(WriterServer::from_arc(store))
        .serve()
        .await
}

async fn host(reader: ReaderClient, writer: WriterClient) -> Result<(), goproc::Error> {
    writer.set("k".to_string(), "v".to_string()).await?;
    let _: Option<String> = reader.get("k".to_string()).await?;
    let _: bool = writer.get("k".to_string()).await?;
    Ok(())
}

fn main() {
    let _ = (plugin, host);
}
