//! Joiners: several coroutines combined into one outcome, and the losers never outlive the call.
//!
//! - [`await_all`] and [`join_all`]: kotlinx's `awaitAll` / `joinAll` over handles you hold.
//! - [`first_success`] and [`all_successful`]: Java `StructuredTaskScope`'s joiners
//!   (`anySuccessfulResultOrThrow`, `allSuccessfulOrThrow`) as scope builders: the block forks
//!   children with `scope.async_(..)` and returns their `Deferred`s; the builder returns when it
//!   has its outcome *and* every child of its scope has finished.
//! - [`Select`] (in `select`): a structured `select` over deferreds, joins, streams, futures,
//!   coroutines it launches itself, and a timeout.
//!
//! One rule for all of them: **what a joiner cancels, it also waits for** before it returns, so
//! the cleanup of a loser (`try_finally`, destructors) has run by then. (A loser cancelled
//! before it first ran never runs, its `try_finally` included, as in kotlinx; launch it with
//! `CoroutineStart::Atomic` if its cleanup must run.) Built on the scope
//! builders (`builders`), so dropping a builder-shaped joiner mid-way cancels what it started,
//! like dropping a `coroutine_scope`.

mod select;

use std::future::{Future, IntoFuture};

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use crate::builders::{coroutine_scope, supervisor_scope};
use crate::coroutine::{Coroutine, Deferred};
use crate::error::{CoroutineError, CoroutineResult};
use crate::job::Job;
use crate::scope::{CoroutineScope, ScopeHandle};
pub use select::Select;

/// Awaits every `Deferred` and returns their values in the order given; **the first failure, in
/// completion order, cancels the others, waits for them to end, and is returned** (kotlinx's
/// `awaitAll`, which also fails as soon as any fails).
///
/// - "Failure" includes a cancelled `Deferred`, as in kotlinx: its cancellation is returned.
/// - The others are cancelled with a cancellation caused by that failure, then awaited, so
///   nothing they run outlives the call (their `try_finally` cleanups have run). A failure of
///   theirs that comes meanwhile (a cleanup's error, a child that failed at the same time) is
///   kept on the returned error as [`suppressed`](CoroutineError::suppressed).
/// - The values of those that had succeeded are dropped with the call: all or nothing. To keep
///   partial results, await the handles one by one.
/// - Lazy `Deferred`s are started. An empty list gives `Ok(vec![])` at once.
/// - Dropping the future before it returns cancels nothing: it drops the handles, and the
///   coroutines go on in their scope, as when any `Deferred` is dropped. (Only [`first_success`],
///   [`all_successful`] and [`Select`] launch coroutines, and cancel them when dropped.)
///
/// Unlike kotlinx, the cancelling is done here, not left to the job tree: kotlinx's `awaitAll`
/// leaves the others running (in a `coroutineScope`, the failed child cancels its parent, and
/// so its siblings, anyway; under a supervisor or across scopes, they run on).
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{await_all, delay, CoroutineError, CoroutineScope, Job, Scope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let scope = Scope::new(Job::supervisor());
/// let ok = await_all([scope.async_(async { 1 }), scope.async_(async { 2 })]).await;
/// assert_eq!(ok.unwrap(), [1, 2]);
///
/// let slow = scope.async_(async { delay(Duration::from_secs(3600)).await; 1u32 });
/// let slow_job = slow.job().clone();
/// let failing = scope.async_(async { Err::<u32, _>(CoroutineError::failed("boom")) });
/// let err = await_all([slow, failing]).await.unwrap_err();
/// assert_eq!(err.to_string(), "boom");
/// assert!(slow_job.is_cancelled() && slow_job.is_completed()); // cancelled *and* awaited
/// # }
/// ```
pub async fn await_all<T, I>(deferreds: I) -> Result<Vec<T>, CoroutineError>
where
    I: IntoIterator<Item = Deferred<T>>,
{
    let mut handles: Vec<Option<Deferred<T>>> = deferreds.into_iter().map(Some).collect();
    let mut values: Vec<Option<T>> = handles.iter().map(|_| None).collect();
    // Joins, not awaits: the handles stay here, to cancel and await the rest on a failure.
    let mut ends: FuturesUnordered<_> = handles
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let join = d.as_ref().expect("all present").join();
            async move {
                join.await;
                i
            }
        })
        .collect();
    while let Some(i) = ends.next().await {
        let ended = handles[i].take().expect("each ends once");
        match ended.await {
            Ok(value) => values[i] = Some(value),
            Err(error) => {
                drop(ends);
                let rest = handles.into_iter().flatten().collect();
                cancel_and_await(rest, &error, "await_all: another Deferred failed").await;
                return Err(error);
            }
        }
    }
    Ok(values
        .into_iter()
        .map(|v| v.expect("every Deferred succeeded"))
        .collect())
}

/// Cancels `rest` with a cancellation caused by `error`, awaits them, and keeps their failures
/// as suppressed on `error`.
async fn cancel_and_await<T>(rest: Vec<Deferred<T>>, error: &CoroutineError, why: &str) {
    let cause = CoroutineError::cancelled(why, Some(error.clone()));
    for d in &rest {
        d.job().cancel_with_error(cause.clone());
    }
    for d in rest {
        if let Err(other) = d.await {
            error.add_suppressed(&other);
        }
    }
}

/// Waits until every coroutine has finished, whatever its outcome (kotlinx's `joinAll`): a
/// failure is not returned (ask each one's `final_error`). Starts lazy ones. Takes anything
/// that is a handle on a job: [`Coroutine`]s, [`Deferred`]s, [`Job`]s, or references to them.
/// Dropping the future cancels nothing: it only watches.
///
/// ```
/// use scopes_runtime::{join_all, CoroutineScope, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let workers: Vec<_> = (0..3).map(|i| scope.launch(async move { println!("{i}") })).collect();
/// join_all(&workers).await;
/// assert!(workers.iter().all(|w| w.is_completed()));
/// # }
/// ```
pub async fn join_all<I>(coroutines: I)
where
    I: IntoIterator,
    I::Item: AsRef<Job>,
{
    let joins: Vec<_> = coroutines.into_iter().map(|c| c.as_ref().join()).collect();
    for join in joins {
        join.await;
    }
}

impl AsRef<Job> for Job {
    fn as_ref(&self) -> &Job {
        self
    }
}

impl AsRef<Job> for Coroutine {
    fn as_ref(&self) -> &Job {
        self.job()
    }
}

impl<T> AsRef<Job> for Deferred<T> {
    fn as_ref(&self) -> &Job {
        self.job()
    }
}

/// Runs `block` in a new scope where children race for a value: **the first child to succeed
/// wins**, the others (every child of the scope) are cancelled, and the call returns once they
/// have ended. Java's `StructuredTaskScope` with `Joiner.anySuccessfulResultOrThrow()`; the
/// "happy eyeballs" shape.
///
/// The block forks the children with `scope.async_(..)` and returns their `Deferred`s (any
/// `IntoIterator`; or `Ok(..)` of one, or an `Err` to fail). Then:
///
/// - A failure of one child cancels no one: the scope is a supervisor, and the others go on.
/// - If all fail, the error is **the first failure** (in completion order; a child's
///   cancellation only if none failed), with every other failure attached as
///   [`suppressed`](CoroutineError::suppressed): no error is lost. No child at all is an error.
/// - The block's own error or panic cancels the scope and is returned.
/// - Coroutines the block `launch`es in the scope are cancelled with the losers. Under the
///   supervisor their failures go to their exception handler, and so does a loser's failure
///   that comes after the win (a cleanup's error): nobody awaits it any more, and nothing is
///   lost. Failures of children that had ended by the time of the win were part of the race
///   and are ignored, as Java's joiner ignores them.
/// - Dropped before it returns, it cancels the scope (see [`coroutine_scope`]).
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{first_success, delay, CoroutineError, CoroutineScope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let fastest = first_success(|scope| async move {
///     vec![
///         scope.async_(async { Err::<&str, _>(CoroutineError::failed("mirror 1 is down")) }),
///         scope.async_(async { delay(Duration::from_millis(20)).await; Ok::<_, CoroutineError>("mirror 2") }),
///         scope.async_(async { delay(Duration::from_secs(60)).await; Ok::<_, CoroutineError>("mirror 3") }),
///     ]
/// })
/// .await;
/// assert_eq!(fastest.unwrap(), "mirror 2"); // mirror 3 was cancelled and has ended
///
/// let none = first_success(|scope| async move {
///     vec![
///         scope.async_(async { Err::<(), _>(CoroutineError::failed("a")) }),
///         scope.async_(async { Err::<(), _>(CoroutineError::failed("b")) }),
///     ]
/// })
/// .await
/// .unwrap_err();
/// assert_eq!(none.to_string(), "a");
/// assert_eq!(none.suppressed()[0].to_string(), "b");
/// # }
/// ```
pub fn first_success<F, Fut, I, T>(block: F) -> impl Future<Output = Result<T, CoroutineError>>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult<Value = I>,
    I: IntoIterator<Item = Deferred<T>>,
{
    supervisor_scope(move |scope: ScopeHandle| {
        let forked = block(scope.clone());
        async move {
            let deferreds = forked.await.into_result()?;
            race_for_success(&scope, deferreds).await
        }
    })
}

/// The first value among `deferreds` (children of `scope`), every other child of `scope`
/// cancelled (the scope waits for them); or the first failure with the others suppressed.
async fn race_for_success<T>(
    scope: &ScopeHandle,
    deferreds: impl IntoIterator<Item = Deferred<T>>,
) -> Result<T, CoroutineError> {
    let mut racing: FuturesUnordered<_> =
        deferreds.into_iter().map(IntoFuture::into_future).collect();
    if racing.is_empty() {
        return Err(CoroutineError::failed(
            "first_success: the block forked no child",
        ));
    }
    let mut errors = Vec::new();
    while let Some(result) = racing.next().await {
        match result {
            Ok(value) => {
                // Children that had ended by now were part of the race: their failures are
                // taken here (and ignored, as Java's joiner does), not reported as unawaited.
                while let Some(Some(_)) = racing.next().now_or_never() {}
                let lost =
                    CoroutineError::cancelled("first_success: another child succeeded", None);
                for child in scope.job().children() {
                    child.cancel_with_error(lost.clone());
                }
                return Ok(value);
            }
            Err(error) => errors.push(error),
        }
    }
    let primary = errors
        .iter()
        .position(CoroutineError::is_failure)
        .unwrap_or(0);
    let first = errors.remove(primary);
    for other in &errors {
        first.add_suppressed(other);
    }
    Err(first)
}

/// Runs `block` in a new scope whose children must all succeed: returns their values **in the
/// order the block returned them**; the first failure (in completion order) cancels the others
/// and, once they have ended, is returned, later failures suppressed on it. Java's
/// `StructuredTaskScope` with `Joiner.allSuccessfulOrThrow()`; kotlinx's `coroutineScope {
/// listOf(async { .. }, ..).awaitAll() }`, which is what it is.
///
/// The block forks the children with `scope.async_(..)` and returns their `Deferred`s (any
/// `IntoIterator`, or `Ok(..)` of one). Coroutines it `launch`es in the scope must succeed too.
/// Dropped before it returns, it cancels the scope (see [`coroutine_scope`]).
///
/// ```
/// use scopes_runtime::{all_successful, CoroutineError, CoroutineScope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let pages = all_successful(|scope| async move {
///     (1..=3u32).map(|p| scope.async_(async move { p * 100 })).collect::<Vec<_>>()
/// })
/// .await;
/// assert_eq!(pages.unwrap(), [100, 200, 300]);
///
/// let failed = all_successful(|scope| async move {
///     vec![
///         scope.async_(async { Ok::<u32, CoroutineError>(1) }),
///         scope.async_(async { Err(CoroutineError::failed("page 2 is gone")) }),
///     ]
/// })
/// .await;
/// assert_eq!(failed.unwrap_err().to_string(), "page 2 is gone");
/// # }
/// ```
pub fn all_successful<F, Fut, I, T>(
    block: F,
) -> impl Future<Output = Result<Vec<T>, CoroutineError>>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult<Value = I>,
    I: IntoIterator<Item = Deferred<T>>,
{
    // A child's failure cancels a `coroutine_scope` and its other children, and the scope
    // returns it once they have ended: the job tree is the joiner.
    coroutine_scope(move |scope: ScopeHandle| {
        let forked = block(scope);
        async move { await_all(forked.await.into_result()?).await }
    })
}
