//! What a generated blocking client holds, and the iterator its
//! stream methods answer with.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;

use super::runtime::Runtime;
use crate::{Client, Error};

/// A generated blocking client, such as `CalculatorBlockingClient`: the
/// async client's methods as plain `fn`s that block the calling thread.
///
/// Get one from [`super::Plugin::client`] or [`super::Pool::client`].
pub trait BlockingClient: Clone + Send + Sync + Sized + 'static {
    /// The async client whose calls it makes, such as `CalculatorClient`.
    type Async: Client;

    /// Wraps an async client and the runtime that drives it.
    #[doc(hidden)]
    fn from_parts(client: Self::Async, blocking: BlockingHandle) -> Self;

    /// A blocking client that makes `client`'s calls, for a host that is
    /// async but hands a client to code on plain threads (a GUI thread, a
    /// synchronous library). Its calls keep `client`'s deadline; they need
    /// the runtime that started the plugin to keep running, as `client`'s do.
    ///
    /// ```no_run
    /// # #[goproc::plugin_interface]
    /// # pub trait Calculator { async fn add(&self, a: i64, b: i64) -> i64; }
    /// use goproc::blocking::BlockingClient;
    /// # fn f(calc: CalculatorClient) {
    /// let calc = CalculatorBlockingClient::from_async(calc);
    /// std::thread::spawn(move || calc.add(1, 2));
    /// # }
    /// ```
    fn from_async(client: Self::Async) -> Self {
        let blocking = BlockingHandle::new(Runtime::shared(), Arc::new(()));
        Self::from_parts(client, blocking)
    }
}

/// The runtime a blocking client's calls run in, and what keeps its plugin
/// (or pool) alive. What generated blocking clients hold.
#[doc(hidden)]
#[derive(Clone)]
pub struct BlockingHandle {
    runtime: Arc<Runtime>,
    _owner: Arc<dyn Any + Send + Sync>,
}

impl BlockingHandle {
    pub(crate) fn new(runtime: Arc<Runtime>, owner: Arc<dyn Any + Send + Sync>) -> Self {
        BlockingHandle {
            runtime,
            _owner: owner,
        }
    }

    /// Runs one call of `method` (`Contract.method`) to its end; `instead`
    /// names the async client for the error given inside a runtime.
    pub fn call<T>(
        &self,
        method: &'static str,
        instead: &'static str,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        self.runtime.block_on(|| what(method), instead, call)?
    }

    /// An answer stream, read item by item on the calling thread.
    pub fn iter<T>(
        &self,
        method: &'static str,
        instead: &'static str,
        stream: crate::Stream<T>,
    ) -> Iter<T> {
        Iter {
            blocking: self.clone(),
            method,
            instead,
            stream: Some(stream),
        }
    }
}

fn what(method: &str) -> String {
    format!("the blocking call of {method}")
}

impl std::fmt::Debug for BlockingHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingHandle")
            .field("runtime", &self.runtime)
            .finish()
    }
}

/// The answer stream of a blocking client's stream method: an iterator of
/// `Result<T, goproc::Error>` whose last item is the error when the call
/// failed. Each `next` blocks until the next item arrives; the request is
/// sent on the first. Dropping it stops the producer in the plugin.
pub struct Iter<T> {
    blocking: BlockingHandle,
    method: &'static str,
    instead: &'static str,
    /// `None` once ended.
    stream: Option<crate::Stream<T>>,
}

impl<T> Iterator for Iter<T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let stream = self.stream.as_mut()?;
        let method = self.method;
        let next = self
            .blocking
            .runtime
            .block_on(|| what(method), self.instead, stream.next());
        let item = match next {
            Ok(item) => item,
            Err(refused) => Some(Err(refused)),
        };
        // After an error or the end, nothing more comes.
        if !matches!(item, Some(Ok(_))) {
            self.stream = None;
        }
        item
    }
}

impl<T> std::fmt::Debug for Iter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter")
            .field("method", &self.method)
            .field("ended", &self.stream.is_none())
            .finish()
    }
}
