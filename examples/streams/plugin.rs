//! The streams example's Rust plugin: `LogSource`, which follows a file as
//! `tail -f` does.

use std::time::Duration;

use goproc::Stream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::contract::{LogSource, LogSourceServer};

struct Tail;

/// What a tail keeps between two reads: the file, where it read up to, and
/// the start of a line not finished yet.
struct Following {
    file: tokio::fs::File,
    partial: Vec<u8>,
    lines: std::collections::VecDeque<String>,
}

impl LogSource for Tail {
    async fn tail(&self, path: String) -> Stream<String> {
        let opened = async {
            let mut file = tokio::fs::File::open(&path).await?;
            file.seek(std::io::SeekFrom::End(0)).await?;
            Ok::<_, std::io::Error>(file)
        };
        let file = match opened.await {
            Ok(file) => file,
            Err(e) => {
                let err = goproc::Error::stream_source(format!("opening {path}: {e}"));
                return Stream::from_results(futures::stream::iter([Err(err)]));
            }
        };
        let state = Following {
            file,
            partial: Vec::new(),
            lines: Default::default(),
        };
        // One line per item; the stream ends only when the host drops it.
        Stream::from_results(futures::stream::unfold(state, |mut s| async move {
            loop {
                if let Some(line) = s.lines.pop_front() {
                    return Some((Ok(line), s));
                }
                let mut buf = vec![0; 8192];
                match s.file.read(&mut buf).await {
                    Ok(0) => tokio::time::sleep(Duration::from_millis(20)).await,
                    Ok(n) => {
                        s.partial.extend_from_slice(&buf[..n]);
                        while let Some(end) = s.partial.iter().position(|b| *b == b'\n') {
                            let line: Vec<u8> = s.partial.drain(..=end).collect();
                            let text = String::from_utf8_lossy(&line[..end]).into_owned();
                            s.lines.push_back(text);
                        }
                    }
                    Err(e) => {
                        let err = goproc::Error::stream_source(format!("reading: {e}"));
                        return Some((Err(err), s));
                    }
                }
            }
        }))
    }
}

pub async fn run() -> Result<(), goproc::Error> {
    goproc::serve(LogSourceServer::new(Tail)).await
}
