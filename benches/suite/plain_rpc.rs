//! The plain RPC client goproc is held against: a oneshot per call, a
//! `HashMap` of waiters behind a `Mutex`, one writer task fed by an mpsc
//! channel and one reader task, over the raw server's fixed frames
//! (`u32` length, `u64` call id, the bytes; no serialisation framework).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

use crate::peers::HEAD;

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Vec<u8>>>>>;

pub struct PlainRpc {
    next_id: AtomicU64,
    waiters: Waiters,
    frames: mpsc::Sender<Vec<u8>>,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl PlainRpc {
    /// Starts the writer and reader tasks on the current runtime.
    pub fn new(stream: UnixStream) -> PlainRpc {
        let (r, w) = stream.into_split();
        let (frames, queue) = mpsc::channel(1024);
        let waiters = Waiters::default();
        let tasks = [
            tokio::spawn(write_frames(w, queue)),
            tokio::spawn(read_answers(r, waiters.clone())),
        ];
        PlainRpc {
            next_id: AtomicU64::new(1),
            waiters,
            frames,
            tasks,
        }
    }

    /// Sends `data` and returns the answer's bytes.
    pub async fn call(&self, data: &[u8]) -> Vec<u8> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap().insert(id, tx);
        let mut frame = Vec::with_capacity(HEAD + data.len());
        frame.extend_from_slice(&((HEAD - 4 + data.len()) as u32).to_le_bytes());
        frame.extend_from_slice(&id.to_le_bytes());
        frame.extend_from_slice(data);
        self.frames.send(frame).await.expect("the writer task");
        rx.await.expect("the answer")
    }
}

impl Drop for PlainRpc {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Writes every queued frame; frames queued meanwhile go in the same write.
async fn write_frames(mut w: OwnedWriteHalf, mut queue: mpsc::Receiver<Vec<u8>>) {
    let mut out = Vec::with_capacity(64 * 1024);
    while let Some(frame) = queue.recv().await {
        out.extend_from_slice(&frame);
        while let Ok(frame) = queue.try_recv() {
            out.extend_from_slice(&frame);
        }
        if w.write_all(&out).await.is_err() {
            return;
        }
        out.clear();
    }
}

/// Parses every answer and hands its bytes to the call waiting for its id.
async fn read_answers(mut r: OwnedReadHalf, waiters: Waiters) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut have = 0;
    loop {
        match r.read(&mut buf[have..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
        let mut at = 0;
        while have - at >= HEAD {
            let len = u32::from_le_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
            if have - at < 4 + len {
                break;
            }
            let id = u64::from_le_bytes(buf[at + 4..at + HEAD].try_into().unwrap());
            let body = buf[at + HEAD..at + 4 + len].to_vec();
            if let Some(waiter) = waiters.lock().unwrap().remove(&id) {
                let _ = waiter.send(body);
            }
            at += 4 + len;
        }
        buf.copy_within(at..have, 0);
        have -= at;
        let need = if have >= 4 {
            4 + u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize
        } else {
            0
        };
        if need > buf.len() || have == buf.len() {
            buf.resize(need.max(2 * buf.len()), 0);
        }
    }
}
