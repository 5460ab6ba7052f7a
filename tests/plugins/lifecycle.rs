//! The Rust implementation of the `Lifecycle` test contract.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::lifecycle::Lifecycle;

#[derive(Default)]
pub struct Plugin {
    cancelled: Arc<AtomicU64>,
}

/// Counts the handler as stopped unless it reached the end.
struct Watch {
    cancelled: Arc<AtomicU64>,
    finished: bool,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if !self.finished {
            self.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Lifecycle for Plugin {
    async fn sleep(&self, ms: u64) -> u64 {
        let mut watch = Watch {
            cancelled: self.cancelled.clone(),
            finished: false,
        };
        tokio::time::sleep(Duration::from_millis(ms)).await;
        watch.finished = true;
        ms
    }

    async fn cancelled(&self) -> u64 {
        self.cancelled.load(Ordering::SeqCst)
    }

    async fn deadline_ms(&self) -> Option<u64> {
        goproc::time_left().map(|d| d.as_millis() as u64)
    }

    async fn pid(&self) -> u32 {
        std::process::id()
    }

    async fn add(&self, a: i64, b: i64) -> i64 {
        a.wrapping_add(b)
    }

    async fn log(&self, lines: Vec<String>) {
        for line in lines {
            eprintln!("{line}");
        }
    }

    async fn fail(&self, message: String) -> u32 {
        panic!("{message}")
    }

    async fn freeze(&self) {
        let _ = std::process::Command::new("kill")
            .args(["-STOP", &std::process::id().to_string()])
            .status();
    }
}
