//! The runtime behind the blocking API: a current-thread tokio runtime on a
//! thread of its own, which drives the plugin's connection and process.
//! A blocking call polls its future on the caller's thread, inside this
//! runtime's context, so the arguments need not be `'static` and no task is
//! spawned per call; the runtime's thread does the I/O and the timers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::Error;

/// How long the runtime's thread waits, once the last handle is gone, for
/// the plugins it ran to be killed and reaped.
const FINISH_LIMIT: Duration = Duration::from_secs(5);

type Finisher = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A runtime on a dedicated thread; shared by a blocking plugin or pool and
/// every client made from it. The thread ends when the last one is dropped,
/// after the work handed to [`Runtime::finally`] is done.
pub(crate) struct Runtime {
    handle: tokio::runtime::Handle,
    finishers: mpsc::UnboundedSender<Finisher>,
    thread: Option<JoinHandle<()>>,
    thread_id: ThreadId,
}

impl Runtime {
    /// Starts the thread and its runtime.
    pub(crate) fn start(name: &str) -> Result<Arc<Runtime>, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::transport("building the runtime of a blocking plugin", e))?;
        let handle = runtime.handle().clone();
        let (finishers, mut queue) = mpsc::unbounded_channel::<Finisher>();
        let thread = std::thread::Builder::new()
            .name(format!("goproc-blocking {name}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let mut pending = tokio::task::JoinSet::new();
                    // Ends when every handle is gone: the sender is theirs.
                    while let Some(finish) = queue.recv().await {
                        pending.spawn(finish);
                    }
                    let _ = tokio::time::timeout(FINISH_LIMIT, pending.join_all()).await;
                });
            })
            .map_err(|e| Error::transport("starting the thread of a blocking plugin", e))?;
        let thread_id = thread.thread().id();
        Ok(Arc::new(Runtime {
            handle,
            finishers,
            thread: Some(thread),
            thread_id,
        }))
    }

    /// The runtime shared by the blocking clients made from async clients
    /// ([`super::BlockingClient::from_async`]): it only times their calls
    /// (their connections run where their plugins were started), and lives
    /// as long as the process.
    pub(crate) fn shared() -> Arc<Runtime> {
        static SHARED: std::sync::Mutex<Option<Arc<Runtime>>> = std::sync::Mutex::new(None);
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(runtime) = &*shared {
            return runtime.clone();
        }
        let runtime = Runtime::start("shared")
            .unwrap_or_else(|e| panic!("goproc::blocking cannot start its runtime: {e}"));
        *shared = Some(runtime.clone());
        runtime
    }

    /// Runs `future` to completion on the calling thread, inside this
    /// runtime's context; `what` names the call for the error given when
    /// the caller is itself inside an async runtime.
    pub(crate) fn block_on<F: Future>(
        &self,
        what: impl FnOnce() -> String,
        instead: &'static str,
        future: F,
    ) -> Result<F::Output, Error> {
        refuse_inside_async(what, instead)?;
        let _context = self.handle.enter();
        Ok(futures::executor::block_on(future))
    }

    /// Runs `future` on the runtime's thread; the thread does not end
    /// before it is done (or [`FINISH_LIMIT`] has passed).
    pub(crate) fn finally(&self, future: impl Future<Output = ()> + Send + 'static) {
        let _ = self.finishers.send(Box::pin(future));
    }

    /// Runs `future` on the runtime's thread and waits for its output
    /// (for work that must run there, such as starting a process whose
    /// exit the runtime watches).
    pub(crate) fn run<T: Send + 'static>(
        &self,
        what: impl FnOnce() -> String,
        instead: &'static str,
        future: impl Future<Output = Result<T, Error>> + Send + 'static,
    ) -> Result<T, Error> {
        refuse_inside_async(what, instead)?;
        let task = self.handle.spawn(future);
        match futures::executor::block_on(task) {
            Ok(result) => result,
            Err(e) => Err(Error::Closed {
                peer: "the blocking runtime".into(),
                reason: format!("its task did not finish: {e}"),
            }),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Closing the queue lets the thread finish: it kills and reaps what
        // it ran, then ends. Waiting for it makes "dropped" mean "gone", on
        // a plain thread; inside an async runtime, or on the thread itself,
        // it finishes on its own.
        let (closed, _) = mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.finishers, closed));
        let Some(thread) = self.thread.take() else {
            return;
        };
        if std::thread::current().id() != self.thread_id && !inside_async_context() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("thread", &self.thread_id)
            .finish()
    }
}

/// Fails with [`Error::BlockingInAsync`] when the calling thread runs
/// async code, where blocking would stall its runtime (or deadlock it).
pub(crate) fn refuse_inside_async(
    what: impl FnOnce() -> String,
    instead: &'static str,
) -> Result<(), Error> {
    if inside_async_context() {
        return Err(Error::BlockingInAsync {
            what: what(),
            instead,
        });
    }
    Ok(())
}

/// Whether this thread is polling a tokio task or a `block_on` future.
///
/// Tokio gives such code a cooperative budget of at most 255 units, and
/// none to a plain thread or to `spawn_blocking`'s threads (there blocking
/// is allowed). So: outside any runtime's context, no; inside, take units
/// until the budget runs out, then give them back. A budget that runs out
/// is a bounded one: async code.
pub(crate) fn inside_async_context() -> bool {
    if tokio::runtime::Handle::try_current().is_err() {
        return false;
    }
    let mut cx = Context::from_waker(Waker::noop());
    let mut taken = Vec::new();
    let mut bounded = false;
    for _ in 0..=u8::MAX {
        match tokio::task::coop::poll_proceed(&mut cx) {
            Poll::Ready(unit) => taken.push(unit),
            Poll::Pending => {
                bounded = true;
                break;
            }
        }
    }
    // Each unit restores the budget as it was before it was taken: the
    // first one taken, dropped last, restores the budget as it was.
    while let Some(unit) = taken.pop() {
        drop(unit);
    }
    bounded
}

#[cfg(test)]
mod tests {
    use super::inside_async_context;

    #[test]
    fn a_plain_thread_is_not_async() {
        assert!(!inside_async_context());
    }

    #[test]
    fn block_on_bodies_and_tasks_are_async_spawn_blocking_is_not() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        // Entering the runtime's context without running async code is not.
        let entered = runtime.enter();
        assert!(!inside_async_context());
        drop(entered);
        runtime.block_on(async {
            assert!(inside_async_context(), "a block_on body");
            assert!(inside_async_context(), "the budget was given back");
            let in_task = tokio::spawn(async { inside_async_context() });
            assert!(in_task.await.unwrap(), "a task");
            let blocking = tokio::task::spawn_blocking(inside_async_context);
            assert!(!blocking.await.unwrap(), "spawn_blocking");
            let in_place =
                tokio::spawn(async { tokio::task::block_in_place(inside_async_context) });
            assert!(!in_place.await.unwrap(), "block_in_place");
        });
    }

    #[test]
    fn the_probe_leaves_the_budget_as_it_was() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            // Many probes in a row: each gives back what it took, so the
            // task is never made to yield by them.
            for _ in 0..1_000 {
                assert!(inside_async_context());
            }
            assert!(tokio::task::coop::has_budget_remaining());
        });
    }
}
