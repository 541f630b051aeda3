//! The `tracing` integration (the `tracing` feature; without it this module does not exist).
//! What it emits, and why a span's parent is its parent coroutine's: see `observability`.

use std::fmt;

use tracing::{Level, Span};

use crate::context::{CoroutineContext, CoroutineName};
use crate::debug::CoroutineId;
use crate::dispatcher::Dispatcher;
use crate::error::CoroutineError;
use crate::job::Job;

/// The kind of a coroutine, as its span and events name it.
#[derive(Clone, Copy)]
pub(crate) enum SpanKind {
    Launch,
    Async,
    Scope,
    SupervisorScope,
}

impl SpanKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SpanKind::Launch => "launch",
            SpanKind::Async => "async_",
            SpanKind::Scope => "scope",
            SpanKind::SupervisorScope => "supervisor_scope",
        }
    }

    fn is_scoped(self) -> bool {
        matches!(self, SpanKind::Scope | SpanKind::SupervisorScope)
    }
}

/// True if `launch`/`async_` spans are enabled: new coroutines then get a `CoroutineId`. One
/// relaxed load when no subscriber is set.
#[inline]
pub(crate) fn coroutine_spans_enabled() -> bool {
    tracing::level_enabled!(Level::INFO)
}

/// The name field: the coroutine's name, else its kind.
struct NameOr<'a>(Option<&'a CoroutineName>, SpanKind);

impl fmt::Display for NameOr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => fmt::Display::fmt(name, f),
            None => f.write_str(self.1.as_str()),
        }
    }
}

/// The span of a new coroutine with `context` (without its job); `parent` finds the span of its
/// parent coroutine, and is only asked when the span's level is enabled. `None` when the span is
/// disabled: nothing is allocated then.
#[inline]
pub(crate) fn coroutine_span(
    kind: SpanKind,
    context: &CoroutineContext,
    parent: impl FnOnce() -> Option<Span>,
) -> Option<Box<Span>> {
    let enabled = match kind.is_scoped() {
        true => tracing::level_enabled!(Level::DEBUG),
        false => tracing::level_enabled!(Level::INFO),
    };
    if !enabled {
        return None;
    }
    make_span(kind, context, parent())
}

#[cold]
fn make_span(
    kind: SpanKind,
    context: &CoroutineContext,
    parent: Option<Span>,
) -> Option<Box<Span>> {
    let parent_id = parent.as_ref().and_then(Span::id);
    let name = NameOr(context.get::<CoroutineName>(), kind);
    let id = context.get::<CoroutineId>().map(|id| id.0);
    let dispatcher = context.get::<Dispatcher>().map(tracing::field::display);
    let kind_name = kind.as_str();
    let span = match kind.is_scoped() {
        true => {
            tracing::debug_span!(parent: parent_id.clone(), "coroutine", name = %name, id, kind = kind_name, dispatcher)
        }
        false => {
            tracing::info_span!(parent: parent_id.clone(), "coroutine", name = %name, id, kind = kind_name, dispatcher)
        }
    };
    if span.is_disabled() {
        return None;
    }
    if parent_id.is_none() {
        // A root coroutine: it follows from what launched it, without being part of it.
        let current = Span::current();
        if current.id().is_some() {
            span.follows_from(&current);
        }
    }
    Some(Box::new(span))
}

/// The suppressed failures of an error, as an event shows them.
struct Suppressed(Vec<CoroutineError>);

impl fmt::Display for Suppressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            fmt::Display::fmt(e, f)?;
        }
        f.write_str("]")
    }
}

/// Who handled a failure, as the `handled_by` field says.
#[derive(Clone, Copy)]
pub(crate) enum HandledBy {
    /// The `CoroutineExceptionHandler` in the coroutine's context.
    Handler,
    /// The global exception handler.
    GlobalHandler,
    /// A `Deferred` returned it to its awaiter.
    Deferred,
    /// A scope builder returned it to its caller.
    Scope,
    /// It was attached as suppressed to a failure whose event had been emitted already.
    SuppressedLate,
}

impl HandledBy {
    fn as_str(self) -> &'static str {
        match self {
            HandledBy::Handler => "CoroutineExceptionHandler",
            HandledBy::GlobalHandler => "global exception handler",
            HandledBy::Deferred => "Deferred",
            HandledBy::Scope => "scope",
            HandledBy::SuppressedLate => "suppressed on a failure reported before",
        }
    }
}

/// A failure was handled by `by`, for the coroutine of `job`: one error event, the first time
/// this failure is handled anywhere. Nothing for a cancellation.
#[inline]
pub(crate) fn failure_handled(job: Option<&Job>, error: &CoroutineError, by: HandledBy) {
    if tracing::level_enabled!(Level::ERROR) && error.is_failure() {
        emit_failure(job, error, by);
    }
}

#[cold]
fn emit_failure(job: Option<&Job>, error: &CoroutineError, by: HandledBy) {
    if !error.mark_traced() {
        return;
    }
    let span = job.and_then(Job::nearest_span);
    // An error's `Display` is user code, which a subscriber runs.
    let _ = crate::user::call(|| {
        let suppressed = Suppressed(error.suppressed());
        let handled_by = by.as_str();
        match span.as_ref().and_then(Span::id) {
            Some(parent) => {
                tracing::error!(parent: parent, error = %error, suppressed = %suppressed, handled_by, "coroutine failed")
            }
            None => {
                tracing::error!(error = %error, suppressed = %suppressed, handled_by, "coroutine failed")
            }
        }
    });
}

/// True if a cancellation event would be emitted: the caller keeps the cause for it then.
#[inline]
pub(crate) fn cancellation_enabled() -> bool {
    tracing::level_enabled!(Level::DEBUG)
}

/// The coroutine of `job` started cancelling with `cause`.
#[cold]
pub(crate) fn cancelled(job: &Job, kind: SpanKind, cause: &CoroutineError) {
    let span = job.nearest_span();
    let _ = crate::user::call(|| {
        let kind = kind.as_str();
        match span.as_ref().and_then(Span::id) {
            Some(parent) => {
                tracing::debug!(parent: parent, cause = %cause, kind, "coroutine cancelled")
            }
            None => tracing::debug!(cause = %cause, kind, "coroutine cancelled"),
        }
    });
}

/// A `NonCancellable` section started (`started`) or ended in the coroutine of `job`.
#[inline]
pub(crate) fn non_cancellable(job: &Job, section: &'static str, started: bool) {
    if tracing::level_enabled!(Level::TRACE) {
        emit_non_cancellable(job, section, started);
    }
}

#[cold]
fn emit_non_cancellable(job: &Job, section: &'static str, started: bool) {
    let span = job.nearest_span();
    let what = match started {
        true => "started",
        false => "ended",
    };
    match span.as_ref().and_then(Span::id) {
        Some(parent) => tracing::trace!(parent: parent, section, "NonCancellable section {what}"),
        None => tracing::trace!(section, "NonCancellable section {what}"),
    }
}
