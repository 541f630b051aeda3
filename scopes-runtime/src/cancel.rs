//! Cancellation from the inside: checking for it, suspending, and cleaning up.
//!
//! Every suspension point is a cancellation point: a cancelled coroutine's body is dropped at
//! its current `.await` (so destructors run: RAII is `finally`). CPU loops cooperate with
//! [`is_active`], [`ensure_active`] and [`yield_now`]. Async cleanup runs in
//! `with_context(NonCancellable, ..)` or in the cleanup of [`try_finally`]: the cancellation
//! waits for it.

use std::any::Any;
use std::future::Future;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::context::{ContextElement, CoroutineContext};
use crate::error::{CoroutineError, CoroutineResult};
use crate::exception;
use crate::frame::{self, FinallyRegistration, NonCancellableGuard};
use crate::user;

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
pub fn is_active() -> bool {
    frame::with_current(|f| f.is_none_or(|f| !f.is_cancelled()))
}

/// `Err` with the cancellation if the running coroutine is cancelled: `ensure_active()?` in a
/// CPU loop stops it there, as a cancellation (not a failure).
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

/// Suspends for `duration`, on tokio's clock: in a [`scopes::test`](crate::test) test (feature
/// `test-util`) that is the test's virtual time, and so is a paused `#[tokio::test]` clock. A
/// cancelled coroutine is dropped at once, without waiting for the timer.
///
/// The time counts from the call, as with tokio's `sleep`: a lazy `launch(delay(d))` counts
/// from the launch; `launch(async { delay(d).await })` counts from the start.
pub fn delay(duration: Duration) -> impl Future<Output = ()> + Send + Sync + 'static {
    // tokio's `Sleep` itself (and, in tests, its registration), not an `async fn` around it: a
    // parked coroutine is smaller.
    crate::timer::Timer::after(duration)
}

/// The async `finally`: runs `body`, then `cleanup` to its end however `body` ended (a value, a
/// panic, or the coroutine's cancellation), and returns `body`'s output.
///
/// - When the coroutine is cancelled while in `body`, `body` is dropped and `cleanup` runs, in a
///   `NonCancellable` section, before the cancellation goes on; the parent's `join` waits for it.
/// - When `body` panics, `cleanup` runs and the panic goes on.
/// - An error that `cleanup` returns becomes the coroutine's failure (kept as suppressed if
///   another failure came first); outside coroutines it goes to the global exception handler.
///
/// ```
/// use scopes_runtime::{try_finally, CoroutineScope, Scope, delay};
/// use std::time::Duration;
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let released = Arc::new(AtomicBool::new(false));
/// let flag = released.clone();
/// let scope = Scope::new(());
/// let worker = scope.launch(try_finally(
///     async { delay(Duration::from_secs(3600)).await },
///     async move {
///         delay(Duration::from_millis(10)).await; // cleanup may suspend
///         flag.store(true, Ordering::SeqCst);
///     },
/// ));
/// tokio::task::yield_now().await;
/// worker.cancel_and_join().await;
/// assert!(released.load(Ordering::SeqCst));
/// # }
/// ```
pub fn try_finally<B, C>(body: B, cleanup: C) -> TryFinally<B, C>
where
    B: Future,
    C: Future,
    C::Output: CoroutineResult<Value = ()>,
{
    TryFinally {
        body: Some(body),
        cleanup: None,
        pending_cleanup: Some(cleanup),
        ending: None,
        registration: None,
        section: None,
    }
}

enum Ending<T> {
    Value(T),
    Panic(Box<dyn Any + Send>),
    Cancelled,
}

pin_project! {
    /// The future of [`try_finally`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct TryFinally<B: Future, C> {
        #[pin]
        body: Option<B>,
        #[pin]
        cleanup: Option<C>,
        pending_cleanup: Option<C>,
        ending: Option<Ending<B::Output>>,
        registration: Option<FinallyRegistration>,
        section: Option<NonCancellableGuard>,
    }
}

impl<B, C> Future for TryFinally<B, C>
where
    B: Future,
    C: Future,
    C::Output: CoroutineResult<Value = ()>,
{
    type Output = B::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<B::Output> {
        let mut this = self.project();
        if let Some(body) = this.body.as_mut().as_pin_mut() {
            let current = frame::current_frame();
            let ending = if current.as_ref().is_some_and(|f| f.is_cancelled()) {
                Some(Ending::Cancelled)
            } else {
                if let Some(current) = &current {
                    match this.registration {
                        Some(registration) => registration.update(cx.waker()),
                        None => {
                            *this.registration =
                                Some(FinallyRegistration::register(current, cx.waker()))
                        }
                    }
                }
                match user::catch(|| body.poll(cx)) {
                    Ok(Poll::Ready(value)) => Some(Ending::Value(value)),
                    Ok(Poll::Pending) => return Poll::Pending,
                    Err(payload) => Some(Ending::Panic(payload)),
                }
            };
            let dropped = user::catch(|| this.body.set(None));
            *this.ending = match (ending, dropped) {
                (_, Err(payload)) => Some(Ending::Panic(payload)),
                (ending, Ok(())) => ending,
            };
            *this.registration = None;
            *this.section = Some(NonCancellableGuard::enter(current));
            this.cleanup.set(this.pending_cleanup.take());
        }
        let Some(cleanup) = this.cleanup.as_mut().as_pin_mut() else {
            // Cleaned up after a cancellation: the driver drops this future.
            return Poll::Pending;
        };
        let result = match cleanup.poll(cx) {
            Poll::Ready(output) => output.into_result(),
            Poll::Pending => return Poll::Pending,
        };
        this.cleanup.set(None);
        if let Err(error) = result {
            match frame::current_frame() {
                Some(current) => current.job().cancel_with_error(error),
                None => exception::report_global(&CoroutineContext::new(), &error),
            }
        }
        *this.section = None;
        match this.ending.take() {
            Some(Ending::Value(value)) => Poll::Ready(value),
            Some(Ending::Panic(payload)) => resume_unwind(payload),
            Some(Ending::Cancelled) | None => Poll::Pending,
        }
    }
}
