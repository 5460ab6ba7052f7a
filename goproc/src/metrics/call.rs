//! One call as it is measured: when it started, which counters it is
//! counted in, its `goproc.call` span, and its outcome when it ends. A
//! call whose future is dropped before it ends counts as cancelled.

use std::sync::Arc;
use std::time::Instant;

use tracing::field::Empty;
use tracing::Span;

use super::clock;
use super::names::ContractNames;
use super::recorder::ContractRecorder;
use super::ErrorKind;
use crate::Error;

/// The counters a call is counted in.
enum Counted<'a> {
    /// Not counted (a call with no recorder: to a plugin's host).
    Nowhere,
    /// A plugin's counters, held by the calling client.
    Borrowed(&'a ContractRecorder),
    /// Counters this call holds on to: those of the pool instance picked
    /// for it, or a stream call's, which outlives the client's borrow.
    Owned(Arc<ContractRecorder>),
}

/// Measures one call from its start until [`CallMeter::finish`], or until
/// dropped (cancelled).
pub(crate) struct CallMeter<'a> {
    counted: Counted<'a>,
    method: u32,
    /// In clock ticks.
    start: u64,
    /// The span, when a subscriber wants it. Boxed: every call's future
    /// carries the meter, and most calls have no span.
    span: Option<Box<Traced>>,
    done: bool,
}

impl CallMeter<'static> {
    /// [`CallMeter::start`] for a call that outlives its client's borrow
    /// (a stream call).
    pub(crate) fn start_owned(
        names: &ContractNames,
        method: u32,
        recorder: Option<Arc<ContractRecorder>>,
    ) -> Self {
        let mut meter = CallMeter::start(names, method, None);
        if let Some(recorder) = recorder {
            meter.count_in(recorder);
        }
        meter
    }
}

impl<'a> CallMeter<'a> {
    /// Starts measuring a call of `method` of the contract `names` names,
    /// counted in `recorder` if given (a pool's calls are counted once an
    /// instance is picked: [`CallMeter::count_in`]).
    pub(crate) fn start(
        names: &ContractNames,
        method: u32,
        recorder: Option<&'a ContractRecorder>,
    ) -> Self {
        // The names are read only when a subscriber wants the span.
        let span = tracing::debug_span!(
            target: "goproc::call",
            "goproc.call",
            contract = names.contract(),
            method = names.method(method),
            plugin = Empty,
            pid = Empty,
            outcome = Empty,
            duration_us = Empty,
        );
        let span = (!span.is_disabled()).then(|| {
            Box::new(Traced {
                span,
                start: Instant::now(),
            })
        });
        let counted = match recorder {
            Some(recorder) => {
                recorder.started(method);
                describe(span.as_ref().map(|traced| &traced.span), recorder);
                Counted::Borrowed(recorder)
            }
            None => Counted::Nowhere,
        };
        CallMeter {
            counted,
            method,
            start: clock::ticks(),
            span,
            done: false,
        }
    }

    /// The call's span, when a subscriber wants `goproc::call` at DEBUG.
    pub(crate) fn span(&self) -> Option<&Span> {
        self.span.as_ref().map(|traced| &traced.span)
    }

    /// Counts the call in `recorder` from now on (an instance a pool
    /// picked), and no longer where it was counted before (an instance
    /// that could not send it).
    pub(crate) fn count_in(&mut self, recorder: Arc<ContractRecorder>) {
        let same = match &self.counted {
            Counted::Nowhere => false,
            Counted::Borrowed(r) => std::ptr::eq(*r, &*recorder),
            Counted::Owned(r) => Arc::ptr_eq(r, &recorder),
        };
        if same {
            return;
        }
        self.uncount();
        recorder.started(self.method);
        describe(self.span(), &recorder);
        self.counted = Counted::Owned(recorder);
    }

    fn uncount(&mut self) {
        match std::mem::replace(&mut self.counted, Counted::Nowhere) {
            Counted::Nowhere => {}
            Counted::Borrowed(r) => r.unstarted(self.method),
            Counted::Owned(r) => r.unstarted(self.method),
        }
    }

    /// Ends the call with its outcome: `Ok(true)` for a method's own
    /// `Err(e)` (a domain error), `Ok(false)` for a success.
    pub(crate) fn finish<T>(mut self, result: &Result<T, Error>, domain_error: bool) {
        let kind = match result {
            Ok(_) if domain_error => Some(ErrorKind::Domain),
            Ok(_) => None,
            Err(e) => Some(ErrorKind::of(e)),
        };
        self.end(kind);
    }

    /// Ends a stream call: its answer stream ended, after `error` if any.
    pub(crate) fn ended(mut self, error: Option<&Error>) {
        self.end(error.map(ErrorKind::of));
    }

    fn end(&mut self, kind: Option<ErrorKind>) {
        self.done = true;
        let elapsed = clock::ticks().saturating_sub(self.start);
        match &self.counted {
            Counted::Nowhere => {}
            Counted::Borrowed(r) => r.finished(self.method, elapsed, kind),
            Counted::Owned(r) => r.finished(self.method, elapsed, kind),
        }
        if let Some(traced) = &self.span {
            let outcome = kind.map_or("ok", ErrorKind::outcome);
            traced.span.record("outcome", outcome);
            // Plain time, not ticks: read at once, with no rate to measure.
            let micros = u64::try_from(traced.start.elapsed().as_micros()).unwrap_or(u64::MAX);
            traced.span.record("duration_us", micros);
        }
    }
}

impl Drop for CallMeter<'_> {
    fn drop(&mut self) {
        if !self.done {
            // The caller stopped waiting: the call's future was dropped.
            self.end(Some(ErrorKind::Cancelled));
        }
    }
}

/// A call's span and when it started.
struct Traced {
    span: Span,
    start: Instant,
}

/// Records on the span which plugin (process) the call went to.
fn describe(span: Option<&Span>, recorder: &ContractRecorder) {
    if let Some(span) = span {
        span.record("plugin", recorder.identity.name.as_str());
        span.record("pid", recorder.identity.pid());
    }
}
