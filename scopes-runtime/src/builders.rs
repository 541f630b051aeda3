//! Scope builders: `coroutine_scope`, `supervisor_scope`, `with_context`, `with_timeout`.
//!
//! Each runs its block inline, in the caller's task, as a *scoped coroutine*: a job that is a
//! child of the caller's job and a frame nested in the caller's frame. The builder returns when
//! the block and every coroutine launched in it have finished. A failure inside (the block's
//! error, a panic, a child's failure) cancels the block and the other children and is returned
//! to the caller as `Err`; it is never passed to the caller's job. Cancelling the caller cancels
//! the block and its children.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Sleep;

use crate::cancel::NonCancellable;
use crate::context::{CoroutineContext, IntoContext};
use crate::coroutine::BodyDone;
use crate::error::{CoroutineError, CoroutineResult};
use crate::frame::{self, Frame, NonCancellableGuard, Outcome};
use crate::job::{Job, Kind};
use crate::scope::ScopeHandle;

/// The value of a scope block's result.
type ValueOf<Fut> = <<Fut as Future>::Output as CoroutineResult>::Value;

/// Runs `block` in a new scope and waits for it and every coroutine it launched; any failure
/// cancels the rest and is returned. Kotlin's `coroutineScope { }`.
///
/// The block gets the new scope's handle (`current_scope()` inside it is the same scope).
///
/// ```
/// use scopes_runtime::{coroutine_scope, CoroutineScope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let total = coroutine_scope(|scope| async move {
///     let a = scope.async_(async { 20 });
///     let b = scope.async_(async { 22 });
///     Ok::<_, scopes_runtime::CoroutineError>(a.await? + b.await?)
/// })
/// .await;
/// assert_eq!(total.unwrap(), 42);
/// # }
/// ```
pub async fn coroutine_scope<F, Fut>(block: F) -> Result<ValueOf<Fut>, CoroutineError>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult,
{
    let frame = scoped_frame(Kind::Scope, CoroutineContext::new(), false);
    let body = block(ScopeHandle::new(frame.context().clone()));
    run_scoped(frame, body, None).await.0
}

/// Like [`coroutine_scope`], but a child's failure cancels neither the scope nor the other
/// children: the failed child reports to the exception handler in its own context. A failure of
/// the block itself still cancels the scope and is returned. Kotlin's `supervisorScope { }`.
pub async fn supervisor_scope<F, Fut>(block: F) -> Result<ValueOf<Fut>, CoroutineError>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult,
{
    let frame = scoped_frame(Kind::SupervisorScope, CoroutineContext::new(), false);
    let body = block(ScopeHandle::new(frame.context().clone()));
    run_scoped(frame, body, None).await.0
}

/// Runs `body` with `context` added to the current context, as a scoped coroutine, and returns
/// its result. Kotlin's `withContext`.
///
/// With [`NonCancellable`] in `context`, the body runs to its end even when the caller is
/// cancelled: the caller's cancellation waits for it (for async cleanup). A `Job` in `context`
/// becomes the parent of the scoped coroutine.
///
/// ```
/// use scopes_runtime::{with_context, current_context, CoroutineName};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let name = with_context(CoroutineName::new("io"), async {
///     current_context().get::<CoroutineName>().unwrap().to_string()
/// })
/// .await;
/// assert_eq!(name.unwrap(), "io");
/// # }
/// ```
pub async fn with_context<Fut>(context: impl IntoContext, body: Fut) -> Result<ValueOf<Fut>, CoroutineError>
where
    Fut: Future,
    Fut::Output: CoroutineResult,
{
    let context = context.into_context();
    let non_cancellable = context.contains::<NonCancellable>();
    let frame = scoped_frame(Kind::Scope, context, non_cancellable);
    // Counted from the caller's frame outwards: the caller is not dropped while the body runs.
    let _section = non_cancellable.then(|| NonCancellableGuard::enter(frame.parent().cloned()));
    run_scoped(frame, body, None).await.0
}

/// Runs `body` as a scoped coroutine with a time limit. On timeout the body and its children
/// are cancelled (and waited for) and the result is a timed-out error. A zero duration times out
/// at once, without running the body. Kotlin's `withTimeout`, but the timeout is a value, not a
/// cancellation: with `?` it fails the caller like any other error.
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{with_timeout, delay};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let slow = with_timeout(Duration::from_secs(1), async { delay(Duration::from_secs(5)).await }).await;
/// assert!(slow.unwrap_err().is_timeout());
/// # }
/// ```
pub async fn with_timeout<Fut>(duration: Duration, body: Fut) -> Result<ValueOf<Fut>, CoroutineError>
where
    Fut: Future,
    Fut::Output: CoroutineResult,
{
    if duration.is_zero() {
        return Err(CoroutineError::timed_out(duration));
    }
    let frame = scoped_frame(Kind::Scope, CoroutineContext::new(), false);
    run_scoped(frame, body, Some(duration)).await.0
}

/// Like [`with_timeout`], but a timeout of *this* call gives `Ok(None)`. Other errors,
/// including the timeout of a nested `with_timeout`, are returned as they are.
pub async fn with_timeout_or_none<Fut>(duration: Duration, body: Fut) -> Result<Option<ValueOf<Fut>>, CoroutineError>
where
    Fut: Future,
    Fut::Output: CoroutineResult,
{
    if duration.is_zero() {
        return Ok(None);
    }
    let frame = scoped_frame(Kind::Scope, CoroutineContext::new(), false);
    match run_scoped(frame, body, Some(duration)).await {
        (Ok(value), _) => Ok(Some(value)),
        (Err(error), Some(own)) if error.ptr_eq(&own) => Ok(None),
        (Err(error), _) => Err(error),
    }
}

/// A frame for a scoped coroutine of `kind` in the current context plus `extra`, nested in the
/// current frame. `detached` makes its job a root (for `NonCancellable`).
fn scoped_frame(kind: Kind, extra: CoroutineContext, detached: bool) -> Arc<Frame> {
    let outer = frame::current_frame();
    let context = outer.as_ref().map(|f| f.context().clone()).unwrap_or_default() + extra;
    let parent = if detached { None } else { context.job().cloned() };
    let job = Job::create(kind, context.minus::<Job>(), parent.as_ref(), false);
    Frame::new(context.with_job(job), outer)
}

/// Drives a scoped coroutine's body, then waits for its children. Returns the result and, if
/// this call's timer fired, the timed-out error it made.
async fn run_scoped<Fut>(
    frame: Arc<Frame>,
    body: Fut,
    timeout: Option<Duration>,
) -> (Result<ValueOf<Fut>, CoroutineError>, Option<CoroutineError>)
where
    Fut: Future,
    Fut::Output: CoroutineResult,
{
    let job = frame.job().clone();
    // If the caller drops this future (it was cancelled), the body is done all the same.
    let mut done = BodyDone::new(job.clone());
    let (outcome, timed_out) = DriveScoped {
        body: Some(body),
        frame,
        timeout,
        timer: timeout.map(tokio::time::sleep),
        shielded: false,
        timed_out: None,
    }
    .await;
    let (value, result) = match outcome {
        Outcome::Done(output) => match output.into_result() {
            Ok(value) => (Some(value), Ok(())),
            Err(error) => (None, Err(error)),
        },
        Outcome::Panicked(error) => (None, Err(error)),
        Outcome::Cancelled => (None, Ok(())),
    };
    done.finish(result);
    job.join().await;
    let result = match job.final_error() {
        Some(error) => match &timed_out {
            Some(timeout) if error.is_cancellation() => Err(timeout.clone()),
            _ => Err(error),
        },
        None => value.ok_or_else(|| CoroutineError::cancelled("the scope completed without its block's value", None)),
    };
    (result, timed_out)
}

pin_project! {
    /// Polls a scoped body in its frame, and fires its timer.
    struct DriveScoped<F> {
        #[pin]
        body: Option<F>,
        frame: Arc<Frame>,
        timeout: Option<Duration>,
        #[pin]
        timer: Option<Sleep>,
        shielded: bool,
        timed_out: Option<CoroutineError>,
    }
}

impl<F: Future> Future for DriveScoped<F> {
    type Output = (Outcome<F::Output>, Option<CoroutineError>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let fired = this.timer.as_mut().as_pin_mut().is_some_and(|timer| timer.poll(cx).is_ready());
        if let (true, Some(duration)) = (fired, *this.timeout) {
            this.timer.set(None);
            let error = CoroutineError::timed_out(duration);
            let message = format!("timed out waiting for {duration:?}");
            this.frame.job().cancel_with_error(CoroutineError::cancelled(message, Some(error.clone())));
            *this.timed_out = Some(error);
        }
        let outcome = ready!(frame::poll_body(this.frame, this.body, cx, this.shielded));
        Poll::Ready((outcome, this.timed_out.take()))
    }
}
