//! What a handler's panic reports to the caller: the message, where it
//! panicked and, when backtraces are on (`RUST_BACKTRACE=1`), the
//! backtrace, as Python and TypeScript report a traceback. A panic hook
//! records where each panic happened on its thread; the dispatcher, which
//! catches the unwind on that same thread, takes the record.

use std::any::Any;
use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs the hook (once per process), keeping the one before it: the
/// panic is still printed to stderr, where the host logs it.
pub(crate) fn record_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let mut detail = match info.location() {
                Some(at) => format!("panicked at {at}"),
                None => "panicked".to_string(),
            };
            let backtrace = Backtrace::capture();
            if backtrace.status() == BacktraceStatus::Captured {
                detail.push_str(&format!("\nstack backtrace:\n{backtrace}"));
            }
            let _ = LAST.try_with(|last| *last.borrow_mut() = Some(detail));
            previous(info);
        }));
    });
}

/// The message and detail of the panic just caught on this thread.
pub(super) fn report(payload: &(dyn Any + Send)) -> (String, String) {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a payload that is not a string".to_string()
    };
    let detail = LAST
        .try_with(|last| last.borrow_mut().take())
        .ok()
        .flatten()
        .unwrap_or_default();
    (format!("panic: {message}"), detail)
}
