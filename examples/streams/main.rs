//! `cargo run --example streams`: three plugins, three languages, streams
//! both ways.
//!
//! - A Rust plugin follows a log file the host appends to (`tail -f`), and
//!   stops when the host drops the stream.
//! - A Python plugin produces samples; the host passes that stream, as it
//!   arrives, to a TypeScript plugin that turns each sample into a line and
//!   streams the lines back. No side ever holds more than its credit window.
//!
//! Needs `python3`, and `node` with `npm`: the first run installs the
//! TypeScript plugin's pinned compiler (`npm ci`) and compiles it.

#[path = "contract.rs"]
mod contract;
#[path = "../support/languages.rs"]
mod languages;
#[path = "plugin.rs"]
mod plugin;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use contract::{LogSourceClient, ProducerClient, TransformerClient};
use futures::StreamExt;
use goproc::Plugin;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some("plugin") {
        plugin::run().await?;
        return Ok(());
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/streams");

    // 1. A Rust plugin tails a file that grows.
    let tailer = Plugin::builder(std::env::current_exe()?)
        .arg("plugin")
        .name("tail (rust)")
        .contract::<LogSourceClient>()
        .spawn()
        .await?;
    let logs: LogSourceClient = tailer.client()?;
    let log = tempfile::NamedTempFile::new()?;
    let mut lines = logs.tail(log.path().display().to_string());
    // The first poll sends the call; the plugin starts at the file's end.
    let first = tokio::spawn(async move {
        let line = lines.next().await;
        (line, lines)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut writer = log.reopen()?;
    for i in 1..=5 {
        writeln!(writer, "request {i} served in {} ms", 10 * i)?;
        writer.flush()?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (line, mut lines) = first.await?;
    println!("tail (rust)        {}", line.ok_or("the tail ended")??);
    for _ in 0..4 {
        println!(
            "tail (rust)        {}",
            lines.next().await.ok_or("the tail ended")??
        );
    }
    drop(lines);
    println!("tail (rust)        stopped: the host dropped the stream");

    // 2. Python produces, TypeScript transforms, as the items flow.
    let producer = Plugin::builder("python3")
        .arg(examples.join("python/plugin.py").display().to_string())
        .name("producer (python)")
        .contract::<ProducerClient>()
        .spawn()
        .await?;
    let transformer = Plugin::builder("node")
        .arg(
            languages::typescript_plugin(&examples)?
                .display()
                .to_string(),
        )
        .name("transformer (typescript)")
        .contract::<TransformerClient>()
        .spawn()
        .await?;
    let samples = producer.client::<ProducerClient>()?.samples(12);
    let mut described = transformer
        .client::<TransformerClient>()?
        .describe(goproc::Stream::from_results(samples));
    while let Some(line) = described.next().await {
        println!("python → ts        {}", line?);
    }
    Ok(())
}
