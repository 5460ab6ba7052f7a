//! `Vec<u8>` arguments and returns travel as bytes; the server hands the
//! implementation a plain `Vec<u8>` and the client gets one back.
#![deny(warnings)]

use goproc::wire::{codec, HEADER_LEN};
use goproc::Service;

#[goproc::plugin_interface]
pub trait Blobs {
    async fn reverse(&self, data: Vec<u8>, tag: Option<Vec<u8>>) -> Vec<u8>;
    async fn split(&self, data: Vec<u8>) -> (Vec<u8>, Vec<u8>);
}

struct Impl;

impl Blobs for Impl {
    async fn reverse(&self, mut data: Vec<u8>, tag: Option<Vec<u8>>) -> Vec<u8> {
        data.reverse();
        data.extend(tag.unwrap_or_default());
        data
    }

    async fn split(&self, mut data: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
        let tail = data.split_off(data.len() / 2);
        (data, tail)
    }
}

async fn host(blobs: BlobsClient) -> Result<(), goproc::Error> {
    let reversed: Vec<u8> = blobs.reverse(vec![1, 2, 3], None).await?;
    let halves: (Vec<u8>, Vec<u8>) = blobs.split(reversed).await?;
    let _ = halves;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let _ = host;
    let server = BlobsServer::new(Impl);
    let args = codec::encode(&(serde_bytes::Bytes::new(&[1, 2, 3]), Some(vec![9u8]))).unwrap();
    let frame = server.call(0, args.into()).ok().unwrap().await.ok().unwrap();
    let frame = frame.finish(u32::MAX).ok().unwrap();
    let out: serde_bytes::ByteBuf = codec::decode(&frame[HEADER_LEN..]).unwrap();
    assert_eq!(out.into_vec(), vec![3, 2, 1, 9]);

    // A trailing `Vec<u8>` keeps the request's buffer; the arguments may
    // start after other bytes in it (the request head).
    let mut body = vec![7u8, 7];
    body.extend(codec::encode(&(serde_bytes::Bytes::new(&[1, 2, 3, 4]),)).unwrap());
    let args = goproc::Args::new(body, 2);
    let frame = server.call(1, args).ok().unwrap().await.ok().unwrap();
    let frame = frame.finish(u32::MAX).ok().unwrap();
    let out: (serde_bytes::ByteBuf, serde_bytes::ByteBuf) =
        codec::decode(&frame[HEADER_LEN..]).unwrap();
    assert_eq!((out.0.into_vec(), out.1.into_vec()), (vec![1, 2], vec![3, 4]));

    // A length that claims more bytes than there are, or fewer, is refused.
    for bad in [vec![5u8, 1, 2], vec![1u8, 1, 2]] {
        let Err(err) = server.call(1, bad.into()) else {
            panic!("a bad byte string was accepted");
        };
        assert!(err.message.contains("do not decode"), "{}", err.message);
    }
}
