//! `Select`: a structured select. The arms race; the first one ready wins; the coroutines the
//! select launched for the others are cancelled and waited for before it returns; what it only
//! observed is left alone.

use std::fmt;
use std::future::{Future, IntoFuture, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures::{Stream, StreamExt};

use crate::builders::supervisor_scope;
use crate::coroutine::{Coroutine, Deferred};
use crate::error::{CoroutineError, CoroutineResult};
use crate::scope::{CoroutineScope, ScopeHandle};
use crate::timer::Timer;

/// The winning arm's handler with its input, called once the losers have ended.
type Chosen<'a, R> = Box<dyn FnOnce() -> R + Send + 'a>;
/// An arm racing in the select's block.
type ArmFuture<'a, R> = Pin<Box<dyn Future<Output = Chosen<'a, R>> + Send + 'a>>;
/// What starts a launched arm in the select's scope.
type Launch<'a, R> = Box<dyn FnOnce(&ScopeHandle) -> ArmFuture<'a, R> + Send + 'a>;

/// An arm, before the select starts.
enum Arm<'a, R> {
    /// Polled in place, in the caller's task: a `Deferred`, a join, a stream, a future, the
    /// timeout. Dropped if it loses.
    Polled(ArmFuture<'a, R>),
    /// Launched as a child of the select's scope when it starts; cancelled and awaited if it
    /// loses.
    Launched(Launch<'a, R>),
}

/// A structured select: the first arm to be ready wins, and its handler's value is the result.
/// Kotlin's `select { }` with its `onAwait`, `onJoin`, `onReceive`, `onTimeout` clauses; in
/// Rust, a `tokio::select!` that cleans up after itself.
///
/// | arm | races on | if it loses |
/// |---|---|---|
/// | [`on_async(body, h)`](Self::on_async) | a coroutine the select launches | **cancelled and awaited** |
/// | [`on_future(fut, h)`](Self::on_future) | a future, polled in place | dropped (as in `tokio::select!`) |
/// | [`on_await(deferred, h)`](Self::on_await) | a `Deferred` you launched | left alone: it keeps running |
/// | [`on_join(&coroutine, h)`](Self::on_join) | a `Coroutine`'s end | left alone |
/// | [`on_next(&mut stream, h)`](Self::on_next) | a stream's next item (`None` at its end) | the wait for it is dropped; the stream stays yours |
/// | [`on_timeout(d, h)`](Self::on_timeout) | a timer started when the select starts | dropped |
///
/// The rules:
///
/// - **What the select launched, it cancels and awaits** before it returns: an `on_async`
///   arm that lost has ended, its `try_finally` cleanup has run. So have coroutines that an
///   `on_future` arm launched through `current_scope()`: the arms run in the select's own scope
///   (a [`supervisor_scope`](crate::supervisor_scope)), and every child of it is cancelled with
///   the losers.
/// - **What it only observed, it leaves alone**: an `on_await` `Deferred` or an `on_join`
///   coroutine belongs to the scope you launched it in. The select takes the `Deferred` handle
///   (pass a clone to keep one: `d.clone()`, for `T: Clone`), and a losing one keeps running,
///   as in kotlinx (whose guide cancels the losers by hand) and with `tokio::select!`.
/// - **Biased**: when several arms are ready, the first listed wins, as in kotlinx's `select`
///   (`tokio::select!` picks at random unless `biased;`). Put the arm that must not starve
///   first.
/// - **Failures are values**: an `on_async` or `on_await` arm gives its handler the
///   `Result`, a panic included; the select itself fails (`Err`) only if the caller is
///   cancelled, the scope fails, or it has no arm. A launched loser's failure that comes after
///   the win (a cleanup's error) goes to its exception handler: nobody awaits it any more; one
///   that had ended by the time of the win was part of the race and is dropped with its arm.
///   The winning handler runs once the losers have ended, in the caller (its panic is the
///   caller's).
/// - **Dropping the select future** (under `tokio::time::timeout`, a lost outer `select!`)
///   cancels what it launched, like dropping a [`coroutine_scope`](crate::coroutine_scope),
///   and leaves observed arms alone.
///
/// `tokio::select!` over two `Deferred`s leaves the loser running; the same race with arms the
/// select launches cancels it, and waits for its cleanup:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::time::Duration;
/// use scopes_runtime::{delay, try_finally, CoroutineScope, Scope, Select};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let scope = Scope::new(());
///
/// // tokio::select! over two Deferreds: the loser keeps running.
/// let fast = scope.async_(async { delay(Duration::from_secs(1)).await; "fast" });
/// let slow = scope.async_(async { delay(Duration::from_secs(60)).await; "slow" });
/// let loser = slow.job().clone();
/// let winner = tokio::select! {
///     v = fast => v.unwrap(),
///     v = slow => v.unwrap(),
/// };
/// assert_eq!(winner, "fast");
/// assert!(loser.is_active()); // still running: the select only dropped its handle
/// loser.cancel();
///
/// // Select with arms it launches: the loser is cancelled, and has ended when it returns.
/// let cleaned = Arc::new(AtomicBool::new(false));
/// let flag = cleaned.clone();
/// let winner = Select::new()
///     .on_async(async { delay(Duration::from_secs(1)).await; "fast" }, |r| r.unwrap())
///     .on_async(
///         try_finally(
///             async { delay(Duration::from_secs(60)).await; "slow" },
///             async move { flag.store(true, Ordering::SeqCst) },
///         ),
///         |r| r.unwrap(),
///     )
///     .on_timeout(Duration::from_secs(10), || "too slow")
///     .await
///     .unwrap();
/// assert_eq!(winner, "fast");
/// assert!(cleaned.load(Ordering::SeqCst)); // the loser's cleanup ran before the select returned
/// # }
/// ```
///
/// A loop over a stream with a deadline (the stream stays the caller's between rounds):
///
/// ```
/// use std::time::Duration;
/// use futures::stream;
/// use scopes_runtime::Select;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// enum Event { Item(u32), End, Idle }
/// let mut numbers = stream::iter([1u32, 2, 3]);
/// let mut sum = 0;
/// loop {
///     let event = Select::new()
///         .on_next(&mut numbers, |item| item.map_or(Event::End, Event::Item))
///         .on_timeout(Duration::from_secs(1), || Event::Idle)
///         .await
///         .unwrap();
///     match event {
///         Event::Item(n) => sum += n,
///         Event::End | Event::Idle => break,
///     }
/// }
/// assert_eq!(sum, 6);
/// # }
/// ```
#[must_use = "a select does nothing until awaited"]
pub struct Select<'a, R> {
    arms: Vec<Arm<'a, R>>,
}

impl<'a, R: Send + 'a> Select<'a, R> {
    /// A select with no arms yet. Awaited without any, it fails at once.
    pub fn new() -> Self {
        Select { arms: Vec::new() }
    }

    fn polled(mut self, arm: impl Future<Output = Chosen<'a, R>> + Send + 'a) -> Self {
        self.arms.push(Arm::Polled(Box::pin(arm)));
        self
    }

    /// An arm that launches `body` as a child coroutine of the select (an `async_` on the
    /// caller's dispatcher) when the select starts, and races on its result. If another arm
    /// wins, the coroutine is **cancelled and awaited** before the select returns. Its failure or
    /// panic is a value for `handler`, not the select's failure.
    pub fn on_async<Fut, V>(
        mut self,
        body: Fut,
        handler: impl FnOnce(Result<V, CoroutineError>) -> R + Send + 'a,
    ) -> Self
    where
        Fut: Future + Send + 'static,
        Fut::Output: CoroutineResult<Value = V>,
        V: Send + 'static,
    {
        let launch = move |scope: &ScopeHandle| -> ArmFuture<'a, R> {
            let deferred = scope.async_(body);
            Box::pin(async move {
                let result = deferred.await;
                Box::new(move || handler(result)) as Chosen<'a, R>
            })
        };
        self.arms.push(Arm::Launched(Box::new(launch)));
        self
    }

    /// An arm that polls `future` in place, in the caller's task, like a `tokio::select!`
    /// branch: if it loses, it is dropped (its destructors have run when the select returns).
    /// Coroutines it launches through `current_scope()` are children of the select, cancelled
    /// and awaited with the losers.
    pub fn on_future<Fut>(
        self,
        future: Fut,
        handler: impl FnOnce(Fut::Output) -> R + Send + 'a,
    ) -> Self
    where
        Fut: Future + Send + 'a,
        Fut::Output: Send + 'a,
    {
        self.polled(async move {
            let output = future.await;
            Box::new(move || handler(output)) as Chosen<'a, R>
        })
    }

    /// An arm that waits for a `Deferred` launched elsewhere (kotlinx's `onAwait`). The select
    /// observes it: if it loses, it keeps running in its scope. The select takes the handle;
    /// pass a clone to keep awaiting it afterwards.
    pub fn on_await<T: Send + 'a>(
        self,
        deferred: Deferred<T>,
        handler: impl FnOnce(Result<T, CoroutineError>) -> R + Send + 'a,
    ) -> Self {
        self.on_future(deferred.into_future(), handler)
    }

    /// An arm that waits for a coroutine's end (kotlinx's `onJoin`); the handler gets its final
    /// error, `None` if it completed normally. The select observes it: if it loses, it keeps
    /// running.
    pub fn on_join(
        self,
        coroutine: &Coroutine,
        handler: impl FnOnce(Option<CoroutineError>) -> R + Send + 'a,
    ) -> Self {
        let coroutine = coroutine.clone();
        self.on_future(
            async move {
                coroutine.join().await;
                coroutine.final_error()
            },
            handler,
        )
    }

    /// An arm that waits for the next item of `stream` (kotlinx's `onReceive`; a flow's
    /// subscription, any `futures::Stream`); the handler gets `None` at its end. If it loses,
    /// only the wait is dropped: the stream stays the caller's, for the next round. The arm is
    /// as cancel-safe as `StreamExt::next` on that stream (flows' subscribers and tokio's
    /// receivers lose no item).
    pub fn on_next<S>(
        self,
        stream: &'a mut S,
        handler: impl FnOnce(Option<S::Item>) -> R + Send + 'a,
    ) -> Self
    where
        S: Stream + Unpin + Send + ?Sized,
        S::Item: Send + 'a,
    {
        self.on_future(stream.next(), handler)
    }

    /// An arm that wins when `after` has passed since the select started (kotlinx's
    /// `onTimeout`), on tokio's clock (virtual in tests). Zero is ready at once, as kotlinx's
    /// `onTimeout(0)`: it wins unless an arm listed before it is ready at the first poll.
    pub fn on_timeout(self, after: Duration, handler: impl FnOnce() -> R + Send + 'a) -> Self {
        self.polled(async move {
            Timer::after(after).await;
            Box::new(handler) as Chosen<'a, R>
        })
    }

    /// Runs the race; `select.await` does the same.
    pub async fn run(self) -> Result<R, CoroutineError> {
        let arms = self.arms;
        if arms.is_empty() {
            return Err(CoroutineError::failed("a Select needs at least one arm"));
        }
        let chosen = supervisor_scope(move |scope: ScopeHandle| async move {
            let mut racing: Vec<(bool, ArmFuture<'a, R>)> = arms
                .into_iter()
                .map(|arm| match arm {
                    Arm::Polled(future) => (false, future),
                    Arm::Launched(launch) => (true, launch(&scope)),
                })
                .collect();
            let chosen = poll_fn(|cx| {
                let (winner, chosen) = ready!(first_ready(&mut racing, cx));
                // Launched arms that had ended by now were part of the race: their results
                // (a failure too) are taken here, not reported as never awaited. Polled arms
                // are not polled again: that would run their code further.
                for (i, (launched, arm)) in racing.iter_mut().enumerate() {
                    if *launched && i != winner {
                        drop(arm.as_mut().poll(cx));
                    }
                }
                Poll::Ready(chosen)
            })
            .await;
            // The losers polled here end now; the coroutines the select launched are
            // cancelled, and the scope returns once they have ended.
            drop(racing);
            let lost = CoroutineError::cancelled("lost a Select", None);
            for child in scope.job().children() {
                child.cancel_with_error(lost.clone());
            }
            Ok::<_, std::convert::Infallible>(ChosenArm(chosen))
        })
        .await?;
        Ok((chosen.0)())
    }
}

/// The winner, carried out of the scope (a newtype: a box of a closure is no plain value).
struct ChosenArm<'a, R>(Chosen<'a, R>);

impl<'a, R> CoroutineResult for ChosenArm<'a, R> {
    type Value = Self;
    fn into_result(self) -> Result<Self, CoroutineError> {
        Ok(self)
    }
}

/// Polls the arms in order (biased) and gives the first that is ready, with its index.
fn first_ready<'a, R>(
    racing: &mut [(bool, ArmFuture<'a, R>)],
    cx: &mut Context<'_>,
) -> Poll<(usize, Chosen<'a, R>)> {
    racing
        .iter_mut()
        .enumerate()
        .find_map(|(i, (_, arm))| match arm.as_mut().poll(cx) {
            Poll::Ready(chosen) => Some((i, chosen)),
            Poll::Pending => None,
        })
        .map_or(Poll::Pending, Poll::Ready)
}

impl<'a, R: Send + 'a> Default for Select<'a, R> {
    fn default() -> Self {
        Select::new()
    }
}

impl<'a, R: Send + 'a> IntoFuture for Select<'a, R> {
    type Output = Result<R, CoroutineError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<R, CoroutineError>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<R> fmt::Debug for Select<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let launched = self
            .arms
            .iter()
            .filter(|arm| matches!(arm, Arm::Launched(_)))
            .count();
        f.debug_struct("Select")
            .field("arms", &self.arms.len())
            .field("launched", &launched)
            .finish()
    }
}
