//! User code: the one path through which the runtime calls or drops it.
//!
//! A body's `poll` and `Drop`, a lazy start that is never run, a completion or exception
//! handler, a `CoroutineResult::into_result`: each is user code and may panic. As tokio's task
//! harness does for every future it polls or drops, the runtime goes through [`call`] (or
//! [`drop_value`]), which turns a panic into a [`CoroutineError`] of kind `Panicked`; the caller
//! then carries on with its bookkeeping as if the user code had returned that error, so a panic
//! never leaves the job tree half-changed.
//!
//! Where the panic goes is the caller's choice, and always somewhere a user sees it: the job's
//! failure (a body, its drop, its conversion), or the global exception handler (a handler that
//! panicked while reporting).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::context::CoroutineContext;
use crate::error::CoroutineError;
use crate::exception;

/// Calls user code, catching a panic as a `Panicked` error.
///
/// `AssertUnwindSafe`: the runtime's own state is never borrowed across user code (no job lock
/// is held, see `job`'s invariant 6), so nothing the runtime reads afterwards can be broken.
pub(crate) fn call<R>(f: impl FnOnce() -> R) -> Result<R, CoroutineError> {
    catch(f).map_err(CoroutineError::from_panic)
}

/// [`call`] that keeps the panic's payload, for code that resumes the panic after it cleaned up
/// (`try_finally`), or that has nobody to report it to (a scheduler's own thread).
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Box<dyn Any + Send>> {
    let result = catch_unwind(AssertUnwindSafe(f));
    if result.is_err() {
        crate::panic_hook::caught();
    }
    result
}

/// Drops a value that holds user code (a future, a closure), catching a panicking destructor.
pub(crate) fn drop_value<T>(value: T) -> Result<(), CoroutineError> {
    call(move || drop(value))
}

/// Calls a handler (user code that reports, and has nowhere to return an error to). A panic is
/// given to the global exception handler, with `what` and the error being handled, if any.
pub(crate) fn call_handler(
    context: impl FnOnce() -> CoroutineContext,
    what: &str,
    handling: Option<&CoroutineError>,
    f: impl FnOnce(),
) {
    if let Err(panic) = call(f) {
        exception::report_handler_failure(&context(), what, &panic, handling);
    }
}

/// Runs a wake-up (`Waker::wake`, `AtomicWaker::wake`). A waker can be a foreign executor's, and
/// so user code: a panic is reported to the global exception handler and the bookkeeping around
/// the wake goes on, so the tree is never left half-updated.
pub(crate) fn wake(f: impl FnOnce()) {
    call_handler(CoroutineContext::new, "a waker panicked", None, f);
}

/// Wakes each of `wakers` through [`wake`]: for the wakers a lock was released to wake.
pub(crate) fn wake_all(wakers: impl IntoIterator<Item = std::task::Waker>) {
    for waker in wakers {
        wake(|| waker.wake());
    }
}
