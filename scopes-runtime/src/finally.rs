//! The async `finally`: [`try_finally`], and [`try_finally_with`], whose cleanup is told how
//! the body ended ([`Outcome`]).
//!
//! Both are one future (`Finally`) in two phases: the body, registered with its frame so a
//! cancellation wakes it instead of dropping it (see `frame`), then the cleanup, in a
//! `NonCancellable` section. They differ only in what they make of the body's ending (`Finish`).

use std::any::Any;
use std::future::Future;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::context::CoroutineContext;
use crate::error::{CoroutineError, CoroutineResult, panic_message};
use crate::exception;
use crate::frame::{self, FinallyRegistration, NonCancellableGuard, Section};
use crate::user;

/// A caught panic's payload, to resume once the cleanup is done.
type Payload = Box<dyn Any + Send>;

/// The async `finally`: runs `body`, then `cleanup` to its end however `body` ended (a value, a
/// panic, or the coroutine's cancellation), and returns `body`'s output.
///
/// - When the coroutine is cancelled while in `body`, `body` is dropped and `cleanup` runs, in a
///   `NonCancellable` section, before the cancellation goes on; the parent's `join` waits for it.
/// - When `body` panics, `cleanup` runs and the panic goes on.
/// - An error that `cleanup` returns becomes the coroutine's failure (kept as suppressed if
///   another failure came first); outside coroutines it goes to the global exception handler.
///   A panic in `cleanup` goes on as a panic (when `body` had panicked too, `body`'s panic is
///   the coroutine's failure and the cleanup's is suppressed on it).
/// - For a cleanup that needs to know how `body` ended, see [`try_finally_with`].
///
/// # A coroutine cancelled before it started
///
/// A coroutine launched with [`CoroutineStart::Default`](crate::CoroutineStart::Default) (or
/// `Lazy`) and cancelled before it first ran never runs its body, as in kotlinx: a
/// `try_finally` in it never begins, so its cleanup does not run either. After a shutdown,
/// every coroutine still queued (on a busy `limited_parallelism` view, say) is in that state.
/// To guarantee the cleanup, launch with [`CoroutineStart::Atomic`](crate::CoroutineStart::Atomic):
/// the body is polled at least once, its `try_finally` sees the cancellation at once and runs
/// only the cleanup. A cleanup that need not suspend can instead be a completion handler
/// ([`Job::invoke_on_completion`](crate::Job::invoke_on_completion)), which runs for every
/// coroutine however and whenever it ended.
///
/// ```
/// use scopes_runtime::{try_finally, CoroutineScope, CoroutineStart, Scope, delay};
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
///
/// // Cancelled before it first ran: only `Atomic` runs the cleanup.
/// let (default_cleaned, atomic_cleaned) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
/// for (start, cleaned) in [(CoroutineStart::Default, &default_cleaned), (CoroutineStart::Atomic, &atomic_cleaned)] {
///     let flag = cleaned.clone();
///     let queued = scope.launch_with((), start, try_finally(
///         delay(Duration::from_secs(3600)),
///         async move { flag.store(true, Ordering::SeqCst) },
///     ));
///     queued.cancel_and_join().await; // before it ever ran
/// }
/// assert!(!default_cleaned.load(Ordering::SeqCst));
/// assert!(atomic_cleaned.load(Ordering::SeqCst));
/// # }
/// ```
pub fn try_finally<B, C>(body: B, cleanup: C) -> TryFinally<B, C>
where
    B: Future,
    C: Future,
    C::Output: CoroutineResult<Value = ()>,
{
    TryFinally {
        inner: Finally::new(body, Plain(cleanup)),
    }
}

/// [`try_finally`] whose cleanup is told how the body ended: `cleanup` is called with the
/// [`Outcome`] and its future runs to its end, as `try_finally`'s does (in a `NonCancellable`
/// section, awaited by a cancellation). kotlinx's `invokeOnCompletion { cause -> }`, for a
/// stretch of code and with async cleanup.
///
/// The body ends in a [`CoroutineResult`] (`()`, a value, or a `Result`); this returns it as
/// `Result<V, CoroutineError>`, the same error the cleanup saw as [`Outcome::Failed`]. A
/// panicking body gives the cleanup `Outcome::Failed` with a `Panicked` error, then the panic
/// goes on. Errors and panics of the cleanup (and of `cleanup` itself, called to make it) are
/// handled as in [`try_finally`]. As `try_finally`, it does not run in a coroutine that was
/// cancelled before it first ran (see there: `CoroutineStart::Atomic`).
///
/// Cancelled from outside is different from dropped: a `try_finally_with` future dropped by
/// its caller (a `select!` that took another branch) runs no cleanup, as no future can wait in
/// its `Drop`. Put it inside what may be dropped, or use a scope builder, which turns a drop
/// into a cancellation of its block.
///
/// ```
/// use std::time::Duration;
/// use std::sync::{Arc, Mutex};
/// use scopes_runtime::{try_finally_with, CoroutineScope, Outcome, Scope, delay};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let store = Arc::new(Mutex::new(Vec::new()));
/// let scope = Scope::new(());
/// for (id, work) in [(1, Ok(())), (2, Err("disk full")), (3, Ok(()))] {
///     let store = store.clone();
///     scope.launch(async move {
///         let r = try_finally_with(
///             async move {
///                 delay(Duration::from_secs(id)).await;
///                 work
///             },
///             |outcome: Outcome| async move {
///                 let state = match outcome {
///                     Outcome::Finished => "done".to_string(),
///                     Outcome::Failed(error) => format!("failed: {error}"),
///                     Outcome::Cancelled(_) => "interrupted".to_string(),
///                 };
///                 store.lock().unwrap().push((id, state)); // an async write, in real code
///             },
///         )
///         .await;
///         let _ = r; // the body's result: `Err` for job 2
///     });
/// }
/// delay(Duration::from_millis(2500)).await;
/// scope.job().cancel_and_join().await;
/// assert_eq!(
///     *store.lock().unwrap(),
///     [(1, "done".into()), (2, "failed: disk full".into()), (3, "interrupted".into())]
/// );
/// # }
/// ```
pub fn try_finally_with<B, F, C, V>(body: B, cleanup: F) -> TryFinallyWith<B, F, C, V>
where
    B: Future,
    B::Output: CoroutineResult<Value = V>,
    F: FnOnce(Outcome) -> C,
    C: Future,
    C::Output: CoroutineResult<Value = ()>,
{
    TryFinallyWith {
        inner: Finally::new(body, WithOutcome(cleanup)),
    }
}

/// How the body of a [`try_finally_with`] ended, as its cleanup is told. kotlinx's completion
/// `cause`, sorted: `null` is `Finished`, a `CancellationException` is `Cancelled`, anything
/// else is `Failed`.
///
/// ```
/// use scopes_runtime::{Outcome, try_finally_with};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let result = try_finally_with(
///     async { Err::<u8, _>(std::io::Error::other("write failed")) },
///     |outcome: Outcome| async move {
///         assert!(outcome.is_failed());
///         assert_eq!(outcome.error().unwrap().to_string(), "write failed");
///     },
/// )
/// .await;
/// assert!(result.is_err());
/// # }
/// ```
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The body returned its value (`Ok`, or a plain value).
    Finished,
    /// The body returned an error (the one `try_finally_with` returns), or panicked (an error
    /// of kind `Panicked`, and the panic goes on after the cleanup). A timeout that escaped the
    /// body is a failure too.
    Failed(CoroutineError),
    /// The coroutine was cancelled while in the body (or the body returned a cancellation, such
    /// as `ensure_active()?`'s): the cancellation, whose [`cause`](CoroutineError::cause) says
    /// why (a failed sibling, a timeout, ..).
    Cancelled(CoroutineError),
}

impl Outcome {
    /// The error, `None` when the body finished: kotlinx's `cause`.
    pub fn error(&self) -> Option<&CoroutineError> {
        match self {
            Outcome::Finished => None,
            Outcome::Failed(error) | Outcome::Cancelled(error) => Some(error),
        }
    }

    /// True when the body finished with its value.
    pub fn is_finished(&self) -> bool {
        matches!(self, Outcome::Finished)
    }

    /// True when the body failed or panicked.
    pub fn is_failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }

    /// True when the body was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Outcome::Cancelled(_))
    }

    /// The outcome of a body's result.
    fn of<V>(result: &Result<V, CoroutineError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Finished,
            Err(error) if error.is_cancellation() => Outcome::Cancelled(error.clone()),
            Err(error) => Outcome::Failed(error.clone()),
        }
    }
}

pin_project! {
    /// The future of [`try_finally`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct TryFinally<B: Future, C> {
        #[pin]
        inner: Finally<B, C, Plain<C>, B::Output>,
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
        self.project().inner.poll(cx)
    }
}

pin_project! {
    /// The future of [`try_finally_with`]: the body's result, `Result<V, CoroutineError>`.
    #[must_use = "futures do nothing unless awaited"]
    pub struct TryFinallyWith<B, F, C, V> {
        #[pin]
        inner: Finally<B, C, WithOutcome<F>, Result<V, CoroutineError>>,
    }
}

impl<B, F, C, V> Future for TryFinallyWith<B, F, C, V>
where
    B: Future,
    B::Output: CoroutineResult<Value = V>,
    F: FnOnce(Outcome) -> C,
    C: Future,
    C::Output: CoroutineResult<Value = ()>,
{
    type Output = Result<V, CoroutineError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

/// How the body ended, kept until the cleanup is done.
enum Ending<T> {
    Value(T),
    Panic(Payload),
    Cancelled,
}

/// What a finally makes of its body's ending: what it will return (`Value`) and its cleanup
/// future of type `C` (or the panic of the user code that makes it).
trait Finish<T, C> {
    type Value;
    fn finish(self, ending: Ending<T>) -> (Ending<Self::Value>, Result<C, Payload>);
}

/// `try_finally`'s: a cleanup made in advance, the body's output returned as it is.
struct Plain<C>(C);

impl<T, C> Finish<T, C> for Plain<C> {
    type Value = T;
    fn finish(self, ending: Ending<T>) -> (Ending<T>, Result<C, Payload>) {
        (ending, Ok(self.0))
    }
}

/// `try_finally_with`'s: the output becomes a `Result` and the cleanup is made from the
/// `Outcome`.
struct WithOutcome<F>(F);

impl<T, F, C> Finish<T, C> for WithOutcome<F>
where
    T: CoroutineResult,
    F: FnOnce(Outcome) -> C,
{
    type Value = Result<T::Value, CoroutineError>;

    fn finish(self, ending: Ending<T>) -> (Ending<Self::Value>, Result<C, Payload>) {
        let panicked =
            |payload: &Payload| CoroutineError::panicked(panic_message(payload.as_ref()));
        let (ending, outcome) = match ending {
            // The conversion is user code.
            Ending::Value(output) => match user::catch(|| output.into_result()) {
                Ok(result) => {
                    let outcome = Outcome::of(&result);
                    (Ending::Value(result), outcome)
                }
                Err(payload) => {
                    let outcome = Outcome::Failed(panicked(&payload));
                    (Ending::Panic(payload), outcome)
                }
            },
            Ending::Panic(payload) => {
                let outcome = Outcome::Failed(panicked(&payload));
                (Ending::Panic(payload), outcome)
            }
            Ending::Cancelled => {
                let cause = frame::current_frame()
                    .map(|f| f.job().cancellation_error())
                    .unwrap_or_else(|| CoroutineError::cancelled("cancelled", None));
                (Ending::Cancelled, Outcome::Cancelled(cause))
            }
        };
        (ending, user::catch(|| (self.0)(outcome)))
    }
}

pin_project! {
    /// The two phases of a finally: `body` is `Some` while the body runs (registered with the
    /// frame), then `cleanup` while the cleanup runs (in a `NonCancellable` section), with the
    /// body's `ending` kept for the end.
    struct Finally<B, C, M, V> {
        #[pin]
        body: Option<B>,
        #[pin]
        cleanup: Option<C>,
        finish: Option<M>,
        ending: Option<Ending<V>>,
        registration: Option<FinallyRegistration>,
        section: Option<NonCancellableGuard>,
    }
}

impl<B, C, M, V> Finally<B, C, M, V> {
    fn new(body: B, finish: M) -> Self {
        Finally {
            body: Some(body),
            cleanup: None,
            finish: Some(finish),
            ending: None,
            registration: None,
            section: None,
        }
    }
}

impl<B, C, M, V> Future for Finally<B, C, M, V>
where
    B: Future,
    C: Future,
    C::Output: CoroutineResult<Value = ()>,
    M: Finish<B::Output, C, Value = V>,
{
    type Output = V;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<V> {
        let mut this = self.project();
        if let Some(body) = this.body.as_mut().as_pin_mut() {
            let current = frame::current_frame();
            let ending = if current.as_ref().is_some_and(|f| f.is_cancelled()) {
                Ending::Cancelled
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
                    Ok(Poll::Ready(value)) => Ending::Value(value),
                    Ok(Poll::Pending) => return Poll::Pending,
                    Err(payload) => Ending::Panic(payload),
                }
            };
            let ending = match user::catch(|| this.body.set(None)) {
                Err(payload) => Ending::Panic(payload),
                Ok(()) => ending,
            };
            *this.registration = None;
            *this.section = Some(NonCancellableGuard::enter(current, Section::Cleanup));
            let finish = this.finish.take().expect("the body ends once");
            let (ending, cleanup) = finish.finish(ending);
            *this.ending = Some(ending);
            match cleanup {
                Ok(cleanup) => this.cleanup.set(Some(cleanup)),
                Err(payload) => cleanup_panicked(this.ending, payload),
            }
        }
        let Some(cleanup) = this.cleanup.as_mut().as_pin_mut() else {
            // Cleaned up after a cancellation: the driver drops this future.
            return Poll::Pending;
        };
        let result = match user::catch(|| cleanup.poll(cx)) {
            Ok(Poll::Ready(output)) => user::call(|| output.into_result()).and_then(|r| r),
            Ok(Poll::Pending) => return Poll::Pending,
            Err(payload) => cleanup_panicked(this.ending, payload),
        };
        this.cleanup.set(None);
        if let Err(error) = result {
            report(error);
        }
        *this.section = None;
        match this.ending.take() {
            Some(Ending::Value(value)) => Poll::Ready(value),
            Some(Ending::Panic(payload)) => resume_unwind(payload),
            Some(Ending::Cancelled) | None => Poll::Pending,
        }
    }
}

/// The cleanup panicked: its panic goes on. A body that had panicked first is the
/// coroutine's failure, reported before, so the cleanup's panic is suppressed on it.
/// The ending stays in the future, dropped with it by whoever catches the panic.
fn cleanup_panicked<T>(ending: &Option<Ending<T>>, payload: Payload) -> ! {
    if let Some(Ending::Panic(first)) = ending {
        report(CoroutineError::panicked(panic_message(first.as_ref())));
    }
    resume_unwind(payload)
}

/// A failure with nowhere to return to: the coroutine's, or the global handler's outside one.
fn report(error: CoroutineError) {
    match frame::current_frame() {
        Some(current) => current.job().cancel_with_error(error),
        None => {
            #[cfg(feature = "tracing")]
            crate::trace::failure_handled(None, &error, crate::trace::HandledBy::GlobalHandler);
            exception::report_global(&CoroutineContext::new(), &error);
        }
    }
}
