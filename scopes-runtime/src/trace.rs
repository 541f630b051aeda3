//! The `tracing` integration (the `tracing` feature; without it this module does not exist and
//! nothing of `tracing` is compiled in).
//!
//! # Spans
//!
//! Every coroutine has a span named `coroutine`, made when its job is (so a queued or lazy
//! coroutine has one too), and entered on every poll of its body and on the drop of its body:
//!
//! | field | value |
//! |---|---|
//! | `name` | its [`CoroutineName`] (the macros name a coroutine after their source location), else its kind |
//! | `id` | its [`CoroutineId`](crate::CoroutineId) (every coroutine gets one while coroutine spans are enabled, as in debug mode; a scope builder shares its caller's, as in kotlinx) |
//! | `kind` | `launch`, `async_`, `scope` (`coroutine_scope`, `with_context`, `with_timeout`, `non_cancellable`) or `supervisor_scope` |
//! | `dispatcher` | the dispatcher its context names, if any |
//!
//! `launch` and `async_` spans are at `INFO`, scope builders' at `DEBUG` (so a plain `INFO` log
//! shows the coroutines and not every scope level, as kotlinx's `DebugProbes` hides scoped
//! coroutines).
//!
//! **The parent of a coroutine's span is the span of its parent coroutine** (the nearest
//! ancestor in the job tree whose span is enabled), set explicitly: not the span that happened
//! to be current where `launch` was called. A coroutine's span therefore stays inside its
//! parent's, as the job stays inside its parent's job, whichever thread or span launched it. A
//! coroutine with no coroutine above it (a child of a `Scope`'s own job) has a root span, which
//! *follows from* the span current at the launch: `follows_from` records what caused the
//! coroutine (the request handler that launched into a service's scope) without making it part
//! of that span's time, which it may outlive. That is the only use of `follows_from`. Spans a
//! body enters itself nest under its coroutine's span as usual.
//!
//! # Events
//!
//! | when | level | where | fields |
//! |---|---|---|---|
//! | a failure is *handled*: given to an exception handler (the coroutine's or the global one), returned by a `Deferred`, or returned by a scope builder | `ERROR` | the span of the coroutine that handled it | `error`, `suppressed`, `handled_by` |
//! | a coroutine is cancelled (by a `cancel`, its parent, or a failure elsewhere in the tree; not its own failure) | `DEBUG` | its span | `cause`, `kind` |
//! | a `NonCancellable` section (a `non_cancellable` block, `with_context(NonCancellable, ..)`, the cleanup of a `try_finally`) starts and ends | `TRACE` | the span of the coroutine it runs in | `section` |
//!
//! A failure yields one error event, however many places it passes: it is marked when its event
//! is emitted, so the same failure returned by a scope, then by the coroutine around it, then
//! given to its handler is reported where it was first handled. A scope builder's own timeout
//! (returned as a value, or as `Ok(None)` by `with_timeout_or_none`) is not a failure event there.

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
}

impl HandledBy {
    fn as_str(self) -> &'static str {
        match self {
            HandledBy::Handler => "CoroutineExceptionHandler",
            HandledBy::GlobalHandler => "global exception handler",
            HandledBy::Deferred => "Deferred",
            HandledBy::Scope => "scope",
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
