//! `cargo run --example kv`: a host uses a key-value store plugin whose
//! contract carries structs, enums with data, `Option`, `Vec`, `HashMap` and
//! bytes. Like the calculator example, this one program is both host and
//! plugin (run with `plugin`, it serves).

#[path = "contract.rs"]
mod kv_contract;
mod store;

use kv_contract::{KeyValueStoreClient, KeyValueStoreServer, Op, StoreError};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some("plugin") {
        goproc::serve(KeyValueStoreServer::new(store::Store::default())).await?;
        return Ok(());
    }
    let plugin = goproc::Plugin::builder(std::env::current_exe()?)
        .arg("plugin")
        .name("kv")
        .contract::<KeyValueStoreClient>()
        .spawn()
        .await?;
    let kv: KeyValueStoreClient = plugin.client()?;

    let v1 = kv
        .put(
            "greeting".into(),
            b"hello".to_vec(),
            vec!["text".into()],
            Some(3600),
        )
        .await?;
    let v2 = kv
        .put(
            "greeting".into(),
            b"hello, world".to_vec(),
            vec!["text".into(), "en".into()],
            None,
        )
        .await?;
    println!("put greeting      -> version {v1:?}, then {v2:?}");
    let entry = kv.get("greeting".into()).await?;
    if let Some(e) = &entry {
        println!(
            "get greeting      -> {:?} tags {:?} ttl {:?} version {}",
            String::from_utf8_lossy(&e.value),
            e.tags,
            e.ttl_seconds,
            e.version
        );
    }
    let report = kv
        .batch(vec![
            Op::Put {
                key: "logo".into(),
                value: vec![0x89, b'P', b'N', b'G'],
            },
            Op::Put {
                key: "empty".into(),
                value: Vec::new(),
            },
            Op::Delete("empty".into()),
        ])
        .await?;
    println!("batch             -> {report:?}");
    println!("keys              -> {:?}", kv.keys().await?);
    let mut counts: Vec<_> = kv.tag_counts().await?.into_iter().collect();
    counts.sort();
    println!("tag counts        -> {counts:?}");
    match kv.delete("nope".into()).await? {
        Err(StoreError::NotFound(key)) => {
            println!("delete nope       -> domain error: `{key}` not found")
        }
        other => println!("delete nope       -> {other:?}"),
    }
    Ok(())
}
