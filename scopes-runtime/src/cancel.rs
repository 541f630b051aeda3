//! Cancellation from the inside: checking for it, suspending, and cleaning up.
//!
//! What users see of it (a body dropped at its `.await`, cooperating loops, async cleanup) is in
//! the guide's chapter *Cancellation and cleanup* (`scopes::guide::cancellation`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use crate::context::ContextElement;
use crate::error::CoroutineError;
use crate::frame;

/// The element that makes `with_context` run its body to the end even when the caller is
/// cancelled; the caller's cancellation waits for it. Use it for async cleanup, and only there.
///
/// ```
/// use scopes_runtime::{with_context, NonCancellable};
///
/// # async fn flush() {}
/// # async fn demo() {
/// // In a coroutine that may be cancelled:
/// with_context(NonCancellable, async { flush().await }).await.unwrap();
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NonCancellable;

impl ContextElement for NonCancellable {}
crate::__context_add!(NonCancellable);

/// True unless the running coroutine is cancelled (and not inside a `NonCancellable` section).
/// True outside coroutines. For CPU loops: `while is_active() { .. }`.
///
/// ```
/// use scopes_runtime::{CoroutineScope, Scope, is_active, yield_now};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let crunch = scope.launch(async {
///     let mut steps = 0u64;
///     while is_active() {
///         steps += 1; // a step of CPU work
///         yield_now().await;
///     }
/// });
/// yield_now().await;
/// crunch.cancel_and_join().await;
/// assert!(crunch.is_cancelled());
/// # }
/// ```
pub fn is_active() -> bool {
    frame::with_current(|f| f.is_none_or(|f| !f.is_cancelled()))
}

/// `Err` with the cancellation if the running coroutine is cancelled: `ensure_active()?` in a
/// CPU loop stops it there, as a cancellation (not a failure).
///
/// ```
/// use scopes_runtime::{CoroutineError, CoroutineScope, Scope, ensure_active, yield_now};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let hashing = scope.async_(async {
///     let mut h = 0u64;
///     for chunk in 0..u64::MAX {
///         ensure_active()?; // stops here once cancelled, as a cancellation
///         h = h.wrapping_mul(31).wrapping_add(chunk);
///         yield_now().await;
///     }
///     Ok::<u64, CoroutineError>(h)
/// });
/// yield_now().await;
/// hashing.cancel();
/// assert!(hashing.await.unwrap_err().is_cancellation());
/// # }
/// ```
pub fn ensure_active() -> Result<(), CoroutineError> {
    frame::with_current(|f| match f {
        Some(f) if f.is_cancelled() => Err(f.job().cancellation_error()),
        _ => Ok(()),
    })
}

/// Gives other coroutines a turn (and a cancellation a chance): suspends once.
///
/// Fair: on scopes' own schedulers (views, `unconfined()`, `main()`) and on a current-thread
/// runtime, every other coroutine that is ready runs first, in the order they became ready, so
/// two coroutines that print and yield take turns (`a0 b0 a1 b1`). tokio's own `yield_now`
/// resumes yielded tasks newest-first there. On a multi-thread runtime it is tokio's
/// `yield_now`, whose order among several yielded tasks tokio does not promise.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use scopes_runtime::{CoroutineScope, Scope, yield_now};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let scope = Scope::new(());
/// let turns: Vec<_> = ["a", "b"]
///     .into_iter()
///     .map(|name| {
///         let log = log.clone();
///         scope.launch(async move {
///             for i in 0..3 {
///                 log.lock().unwrap().push(format!("{name}{i}"));
///                 yield_now().await;
///             }
///         })
///     })
///     .collect();
/// for t in turns {
///     t.join().await;
/// }
/// assert_eq!(*log.lock().unwrap(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
/// # }
/// ```
pub async fn yield_now() {
    // Read in place: a yield in a CPU loop clones no dispatcher.
    let wakes_itself = frame::with_current(|f| {
        f.and_then(|f| {
            f.job()
                .bare_context()
                .get::<crate::dispatcher::Dispatcher>()
        })
        .is_some_and(|d| d.queues_self_wakes_last())
    });
    if wakes_itself {
        YieldOnce { yielded: false }.await
    } else {
        tokio::task::yield_now().await
    }
}

/// Suspends once, waking itself: the scheduler queues it behind what is ready. It spends a
/// unit of tokio's cooperative budget, as tokio's own resources do, so a loop of yields inside
/// one tokio poll (coroutines on `unconfined()` yielding to each other) ends when the budget
/// does and gives the thread back.
struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        // Out of budget: tokio has arranged the wake-up; this is the yield.
        let progress = ready!(tokio::task::coop::poll_proceed(cx));
        progress.made_progress();
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Suspends for `duration`, on tokio's clock: in a [`scopes::test`] test (feature
/// `test-util`) that is the test's virtual time, and so is a paused `#[tokio::test]` clock. A
/// cancelled coroutine is dropped at once, without waiting for the timer.
///
/// The time counts from the call, as with tokio's `sleep`: a lazy `launch(delay(d))` counts
/// from the launch; `launch(async { delay(d).await })` counts from the start.
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{CoroutineScope, Scope, delay};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let start = tokio::time::Instant::now();
/// let scope = Scope::new(());
/// let reminder = scope.async_(async {
///     delay(Duration::from_secs(30)).await;
///     "time's up"
/// });
/// assert_eq!(reminder.await.unwrap(), "time's up");
/// assert!(start.elapsed() >= Duration::from_secs(30));
/// # }
/// ```
#[cfg_attr(feature = "test-util", doc = "", doc = "[`scopes::test`]: crate::test")]
#[cfg_attr(
    not(feature = "test-util"),
    doc = "",
    doc = "[`scopes::test`]: https://docs.rs/scopes/latest/scopes/test/index.html"
)]
pub fn delay(duration: Duration) -> impl Future<Output = ()> + Send + Sync + 'static {
    // tokio's `Sleep` itself (and, in tests, its registration), not an `async fn` around it: a
    // parked coroutine is smaller.
    crate::timer::Timer::after(duration)
}
