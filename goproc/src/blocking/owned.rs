//! What a blocking plugin or pool shares with its clients: the async value
//! and its runtime; the last one dropped ends the value on that runtime.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::runtime::Runtime;

/// How an async value is ended when its last blocking handle is dropped.
pub(crate) trait Finish: Send + Sync + 'static {
    /// Kills what the value runs, and waits until it is gone.
    fn finish(self) -> impl Future<Output = ()> + Send + 'static;
}

impl Finish for crate::Plugin {
    async fn finish(self) {
        self.kill();
        // The process is reaped before the runtime's thread ends.
        let _ = self.exited().await;
    }
}

impl Finish for crate::Pool {
    async fn finish(self) {
        self.shutdown(Duration::ZERO).await
    }
}

/// An async plugin or pool, and the runtime it runs on.
pub(crate) struct Owned<T: Finish> {
    /// `None` only while being dropped.
    value: Option<T>,
    pub(crate) runtime: Arc<Runtime>,
}

impl<T: Finish> Owned<T> {
    pub(crate) fn new(value: T, runtime: Arc<Runtime>) -> Arc<Self> {
        Arc::new(Owned {
            value: Some(value),
            runtime,
        })
    }

    pub(crate) fn get(&self) -> &T {
        self.value.as_ref().expect("present until dropped")
    }
}

impl<T: Finish> Drop for Owned<T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.runtime.finally(value.finish());
        }
    }
}
