//! Deadlines on scopes: a [`Deadline`] runs a `coroutine_scope` or a `supervisor_scope` whose
//! block and children all end by it (Trio's `fail_after` / `move_on_after` and their `_at`
//! forms; Kotlin's `withTimeout { }`, whose block is a scope).
//!
//! It is the scoped coroutine of `with_timeout` (see `builders`) with an instant for a limit
//! (`Limit`, the time limit of both) and the block form of the scope builders.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Instant;

use crate::builders::{InPlace, Scoped, in_place, own_timeout_as_none};
use crate::error::{CoroutineError, CoroutineResult};
use crate::job::Kind;
use crate::scope::ScopeHandle;
use crate::timer::Timer;

/// An instant by which a scope, its block and every coroutine launched in it, must have ended.
/// Trio's `fail_after` / `fail_at` (and, with [`or_none`](DeadlineScope::or_none),
/// `move_on_after` / `move_on_at`); Kotlin's `withTimeout(t) { }` and
/// `withTimeout(t) { supervisorScope { } }` in one builder.
///
/// Make one with [`Deadline::after`] or [`Deadline::at`], then run a scope under it with
/// [`coroutine_scope`](Deadline::coroutine_scope) or
/// [`supervisor_scope`](Deadline::supervisor_scope). At the deadline the scope is cancelled:
/// the block and every child still running are cancelled and awaited (their cleanup runs), and
/// the scope returns a timed-out error, or `Ok(None)` with `.or_none()`. A deadline already
/// past when the scope is first polled runs nothing and times out at once.
///
/// A `Deadline` is a point on tokio's clock (virtual in tests), fixed when it is made: pass it
/// down, and nested scopes under the same deadline end together. Nested deadlines compose: the
/// earlier one wins. An inner scope's deadline that passes first is an error in the outer
/// block, like any other (with `?` it fails the outer scope); an outer deadline that passes
/// first cancels the inner scope with everything else.
///
/// # Relation to `with_timeout`
///
/// [`with_timeout(d, body)`](crate::with_timeout) is `Deadline::after(d).coroutine_scope(|_|
/// body)` for a body that needs no handle, and
/// [`with_timeout_or_none`](crate::with_timeout_or_none) is the same with `.or_none()`; they
/// bound the children the body launches too (with `current_scope()`). One difference: a
/// `with_timeout` counts from its first poll, a `Deadline` from when it was made. Use
/// `with_timeout` for "this call may take 2 s", a `Deadline` for the block form, a supervisor
/// scope, or an instant.
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{CoroutineScope, Deadline, delay};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let start = tokio::time::Instant::now();
/// // fail_after: the scope, and the child it launched, end by the deadline.
/// let r = Deadline::after(Duration::from_secs(2))
///     .coroutine_scope(|scope| async move {
///         scope.launch(delay(Duration::from_secs(3600))); // ignores the deadline
///         "the block's value"
///     })
///     .await;
/// assert!(r.unwrap_err().is_timeout());
/// assert_eq!(start.elapsed(), Duration::from_secs(2));
///
/// // move_on_at, with a supervisor: a child's failure leaves its siblings running.
/// let deadline = Deadline::at(start + Duration::from_secs(5));
/// let r = deadline
///     .supervisor_scope(|scope| async move {
///         let answer = scope.async_(async { 42 });
///         Ok::<_, scopes_runtime::CoroutineError>(answer.await?)
///     })
///     .or_none()
///     .await;
/// assert_eq!(r.unwrap(), Some(42));
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Deadline {
    at: Instant,
    /// The length it was given, for the timed-out error ("timed out after 2s").
    length: Duration,
}

impl Deadline {
    /// The deadline `duration` from now (tokio's clock). Trio's `fail_after`.
    pub fn after(duration: Duration) -> Deadline {
        let now = Instant::now();
        // A limit beyond the clock's range is none: tokio's timers treat it so too.
        let at = now
            .checked_add(duration)
            .unwrap_or_else(|| now + Duration::from_secs(86400 * 365 * 30));
        Deadline {
            at,
            length: duration,
        }
    }

    /// The deadline at `instant` (tokio's clock). Trio's `fail_at`.
    pub fn at(instant: Instant) -> Deadline {
        Deadline {
            at: instant,
            length: instant.saturating_duration_since(Instant::now()),
        }
    }

    /// The instant of the deadline.
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// The time left until the deadline; zero once it has passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// [`coroutine_scope`](crate::coroutine_scope) under this deadline: runs `block` with the
    /// new scope's handle and waits for it and every coroutine launched in it; any failure
    /// cancels the rest and is returned, and so is a timed-out error at the deadline (after
    /// everything still running was cancelled and awaited), also when the block had returned.
    pub fn coroutine_scope<F, Fut, V>(self, block: F) -> DeadlineScope<F, Fut, V>
    where
        F: FnOnce(ScopeHandle) -> Fut,
        Fut: Future,
        Fut::Output: CoroutineResult<Value = V>,
    {
        self.scope(Kind::Scope, block)
    }

    /// [`supervisor_scope`](crate::supervisor_scope) under this deadline: a child's failure
    /// cancels neither the scope nor the other children (it goes to the exception handler in
    /// the child's context), but the deadline still ends them all.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scopes_runtime::{CoroutineExceptionHandler, CoroutineScope, CoroutineStart, Deadline, delay};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let quiet = CoroutineExceptionHandler::new(|_, _| {}); // the failed child's report
    /// let r = Deadline::after(Duration::from_secs(1))
    ///     .supervisor_scope(|scope| async move {
    ///         scope.launch_with(quiet, CoroutineStart::Default, async { Err::<(), _>("upload failed") });
    ///         let other = scope.launch(delay(Duration::from_secs(3600)));
    ///         delay(Duration::from_millis(10)).await;
    ///         assert!(other.is_active()); // the failure did not cancel its sibling
    ///     })
    ///     .await;
    /// assert!(r.unwrap_err().is_timeout()); // the deadline did
    /// # }
    /// ```
    pub fn supervisor_scope<F, Fut, V>(self, block: F) -> DeadlineScope<F, Fut, V>
    where
        F: FnOnce(ScopeHandle) -> Fut,
        Fut: Future,
        Fut::Output: CoroutineResult<Value = V>,
    {
        self.scope(Kind::SupervisorScope, block)
    }

    fn scope<F, Fut, V>(self, kind: Kind, block: F) -> DeadlineScope<F, Fut, V>
    where
        F: FnOnce(ScopeHandle) -> Fut,
        Fut: Future,
        Fut::Output: CoroutineResult<Value = V>,
    {
        DeadlineScope {
            scoped: in_place(kind, Some(Limit::At(self.at, self.length)), block),
        }
    }
}

pin_project! {
    /// A scope under a [`Deadline`]: a future of `Result<V, CoroutineError>`, a timed-out error
    /// at the deadline; [`or_none`](DeadlineScope::or_none) for `Ok(None)` instead. Dropped
    /// before it returned, it cancels the scope as every scope builder does (see
    /// [`coroutine_scope`](crate::coroutine_scope)).
    #[must_use = "futures do nothing unless awaited"]
    pub struct DeadlineScope<F, Fut, V> {
        #[pin]
        scoped: Scoped<F, Fut, InPlace, V>,
    }
}

impl<F, Fut, V> DeadlineScope<F, Fut, V>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
{
    /// Trio's `move_on_after`: `Ok(None)` when *this* deadline passed; any other error,
    /// including a nested deadline's timeout, is returned as it is.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scopes_runtime::{Deadline, delay};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let r = Deadline::after(Duration::from_secs(1))
    ///     .coroutine_scope(|_| delay(Duration::from_secs(5)))
    ///     .or_none()
    ///     .await;
    /// assert_eq!(r.unwrap(), None);
    /// # }
    /// ```
    pub fn or_none(self) -> impl Future<Output = Result<Option<V>, CoroutineError>> {
        own_timeout_as_none(self.scoped)
    }
}

impl<F, Fut, V> Future for DeadlineScope<F, Fut, V>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
{
    type Output = Result<V, CoroutineError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().scoped.poll(cx)
    }
}

/// The time limit of a scoped coroutine: its timer covers the block and every child.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Limit {
    /// `with_timeout`'s: a length, counted from the first poll.
    After(Duration),
    /// A [`Deadline`]'s: an instant, and the length it was given (what the
    /// timed-out error says).
    At(Instant, Duration),
}

impl Limit {
    /// The length the timed-out error says.
    pub(crate) fn length(self) -> Duration {
        match self {
            Limit::After(length) | Limit::At(_, length) => length,
        }
    }

    /// Over already at the first poll: then nothing runs.
    pub(crate) fn is_over(self) -> bool {
        match self {
            Limit::After(length) => length.is_zero(),
            Limit::At(at, _) => at <= Instant::now(),
        }
    }

    /// The timer, started at the first poll.
    pub(crate) fn timer(self) -> Timer {
        match self {
            Limit::After(length) => Timer::after(length),
            Limit::At(at, _) => Timer::at(at),
        }
    }
}
