//! Every shape of stream method compiles, serves and calls.

use futures::StreamExt;
use goproc::Stream;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Line {
    pub text: String,
}

#[goproc::plugin_interface]
pub trait Logs {
    async fn tail(&self, path: String) -> goproc::Stream<Line>;
    async fn upload(&self, name: String, data: goproc::Stream<Vec<u8>>) -> u64;
    async fn shout(&self, lines: Stream<String>, loud: bool) -> Stream<String>;
}

struct Impl;

impl Logs for Impl {
    async fn tail(&self, path: String) -> Stream<Line> {
        Stream::iter(vec![Line { text: path }])
    }

    async fn upload(&self, _name: String, data: Stream<Vec<u8>>) -> u64 {
        data.map(|c| c.map_or(0, |c| c.len() as u64)).fold(0, |a, b| async move { a + b }).await
    }

    async fn shout(&self, lines: Stream<String>, loud: bool) -> Stream<String> {
        Stream::from_results(lines.map(move |l| l.map(|l| if loud { l.to_uppercase() } else { l })))
    }
}

#[allow(dead_code)]
async fn host(logs: LogsClient) -> Result<(), goproc::Error> {
    let mut lines: Stream<Line> = logs.tail("a".into());
    while let Some(line) = lines.next().await {
        let _text: String = line?.text;
    }
    let _size: u64 = logs.upload("f".into(), Stream::iter(vec![vec![1u8]])).await?;
    let _shouted: Stream<String> = logs.with_stream_window(4096).shout(Stream::iter(vec![String::new()]), true);
    Ok(())
}

fn main() {
    let _ = goproc::Server::new().add(LogsServer::new(Impl));
}
