//! The Rust plugin of the host-streams tests: `StreamGuest`, whose methods
//! stream to and from the host's `Streams` service.

use futures::StreamExt;

use crate::streams::{StreamGuest, StreamsClient, UploadSummary};

pub struct Plugin;

fn host() -> StreamsClient {
    goproc::peer::<StreamsClient>().expect("the host serves Streams")
}

impl StreamGuest for Plugin {
    async fn sum_from_host(&self, start: u64, count: u64) -> u64 {
        let mut sum = 0u64;
        let mut items = host().count(start, count);
        while let Some(item) = items.next().await {
            sum = sum.wrapping_add(item.expect("the host's stream"));
        }
        sum
    }

    async fn upload_to_host(&self, chunks: u32, size: u32) -> UploadSummary {
        let data = (0..chunks).map(move |i| vec![i as u8; size as usize]);
        host()
            .upload(goproc::Stream::iter(data))
            .await
            .expect("the host's upload")
    }
}
