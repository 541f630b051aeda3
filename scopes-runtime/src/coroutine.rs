//! Launched coroutines: the task that runs a body, the handles `launch` and `async_` return, and
//! the start modes.
//!
//! A coroutine is a job plus a tokio task. The task polls the body inside the coroutine's frame
//! (see `frame`), and when the body ends it marks the job's body done; the job then becomes final
//! once its children are. So the task can finish long before the job does, and a parked
//! coroutine costs its task and its job, nothing more.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};

use pin_project_lite::pin_project;

use crate::context::CoroutineContext;
use crate::debug::{self, CoroutineId};
use crate::dispatcher;
use crate::error::CoroutineError;
use crate::exception;
use crate::frame::{self, Frame, Outcome};
use crate::job::{Job, JobState, Join, Kind, RECYCLED_TASK_BYTES, Reuse, UnhandledSink};
use crate::sync::lock_std;
use crate::user;

/// The job-state methods that `Coroutine` and `Deferred` share: both are handles on a job.
macro_rules! delegate_to_job {
    ($ty:ty $(, $param:ident)?) => {
        impl$(<$param>)? $ty {
            /// The coroutine's job (for its state, children, completion handlers).
            pub fn job(&self) -> &Job {
                &self.job
            }

            /// Cancels the coroutine and its children.
            pub fn cancel(&self) {
                self.job.cancel()
            }

            /// Starts a lazy coroutine; see [`Job::start`].
            pub fn start(&self) -> bool {
                self.job.start()
            }

            /// The current state.
            pub fn state(&self) -> JobState {
                self.job.state()
            }

            /// See [`Job::is_active`].
            pub fn is_active(&self) -> bool {
                self.job.is_active()
            }

            /// See [`Job::is_completed`].
            pub fn is_completed(&self) -> bool {
                self.job.is_completed()
            }

            /// See [`Job::is_cancelled`].
            pub fn is_cancelled(&self) -> bool {
                self.job.is_cancelled()
            }
        }
    };
}

/// When a coroutine starts, with kotlinx's meanings.
///
/// # Cleanup of a coroutine cancelled before it started
///
/// With `Default` and `Lazy`, a coroutine cancelled before it first runs never runs: its body
/// is dropped unpolled (destructors of what it captured run), so a
/// [`try_finally`](crate::try_finally) inside it never begins and its async cleanup never
/// runs, as in kotlinx. After a shutdown that is every coroutine still queued behind a busy
/// dispatcher. Launch with `Atomic` where the cleanup must run: the body is polled once even
/// when cancelled, and a `try_finally` at its top, seeing the cancellation, skips its body and
/// runs its cleanup. A cleanup that need not suspend can be a completion handler instead
/// ([`Job::invoke_on_completion`], which runs for every coroutine, started or not).
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
/// use std::time::Duration;
/// use scopes_runtime::{try_finally, CoroutineScope, CoroutineStart, Dispatchers, Scope, delay};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let cleaned = Arc::new(AtomicUsize::new(0));
/// let scope = Scope::new(());
/// let one_at_a_time = Dispatchers::default().limited_parallelism(1);
/// for _ in 0..100 {
///     let cleaned = cleaned.clone();
///     scope.launch_with(one_at_a_time.clone(), CoroutineStart::Atomic, try_finally(
///         delay(Duration::from_secs(3600)),
///         async move {
///             delay(Duration::from_millis(5)).await; // e.g. mark the job interrupted
///             cleaned.fetch_add(1, Ordering::SeqCst);
///         },
///     ));
/// }
/// scope.job().cancel_and_join().await; // none of them had run yet
/// assert_eq!(cleaned.load(Ordering::SeqCst), 100); // with `Default`: 0
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CoroutineStart {
    /// Scheduled at once on its dispatcher. If it is cancelled before it first runs, it never
    /// runs, and neither does a `try_finally` in it (see above).
    #[default]
    Default,
    /// Created `New`; starts on `start()`, `join()` or (for `async_`) when awaited. Cancelled
    /// before that, it never runs.
    Lazy,
    /// Scheduled at once, and runs until its first suspension even if it was cancelled before
    /// (for code that must at least begin, like registering a resource it will release, or
    /// for a `try_finally` whose cleanup must run: see above).
    Atomic,
    /// Runs in place, in the caller's thread, until its first suspension, then continues on its
    /// dispatcher. Like `Atomic`, it is not cancelled before that first run.
    Undispatched,
}

pin_project! {
    /// The future a coroutine's tokio task runs.
    pub(crate) struct CoroutineTask<F, S> {
        #[pin]
        body: Option<F>,
        // Called once, by reference (`Fn`): no `Option` to take it, so a launch's (a function
        // item) costs no byte.
        sink: S,
        // Holds the frame (the job): one word per task for both.
        done: BodyDone<TaskDropped>,
    }

    impl<F, S> PinnedDrop for CoroutineTask<F, S> {
        /// A task dropped before its body ended (never started, a lazy start refused, its runtime
        /// shut down): the body is dropped in its frame, a panicking destructor caught and made
        /// the job's failure, then the job is told its body is done.
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.body.is_none() {
                return;
            }
            let dropped = match this.done.frame() {
                Some(frame) => frame::drop_body(frame, this.body),
                None => Ok(()),
            };
            this.done.dropped(dropped);
        }
    }
}

/// Marks a job's body done, also when whatever runs the body is dropped before it finishes: a
/// task whose runtime shut down, or a scope builder's future that its caller dropped. Then the
/// job is cancelled first, with the reason `D` gives. One word: what ran the body is a type, so
/// a coroutine's task stays small enough for tokio's smallest task cell.
pub(crate) struct BodyDone<D: Dropped> {
    frame: Option<Frame>,
    dropped: PhantomData<D>,
}

/// What ran a body and was dropped before the body ended: [`TaskDropped`] or [`ScopeDropped`].
pub(crate) trait Dropped {
    /// The cancellation's reason.
    const REASON: &'static str;
}

/// A coroutine's task (its runtime shut down).
pub(crate) struct TaskDropped;

impl Dropped for TaskDropped {
    const REASON: &'static str =
        "the coroutine's task was dropped before its body ended (its runtime shut down)";
}

/// A scope builder's future (its caller dropped it).
pub(crate) struct ScopeDropped;

impl Dropped for ScopeDropped {
    const REASON: &'static str = "the scope's future was dropped before its block ended";
}

impl<D: Dropped> BodyDone<D> {
    pub(crate) fn new(frame: Frame) -> Self {
        BodyDone {
            frame: Some(frame),
            dropped: PhantomData,
        }
    }

    /// The frame of the body, until it is done.
    fn frame(&self) -> Option<&Frame> {
        self.frame.as_ref()
    }

    #[inline]
    pub(crate) fn finish(&mut self, result: Result<(), CoroutineError>) {
        if let Some(frame) = self.frame.take() {
            frame.job().body_completed(result);
        }
    }

    /// Whatever ran the body was dropped before the body ended: the job is cancelled with the
    /// reason, and its body is done with `result` (the panic of the body's destructor, if any).
    pub(crate) fn dropped(&mut self, result: Result<(), CoroutineError>) {
        if let Some(frame) = &self.frame {
            let reason = D::REASON;
            frame
                .job()
                .cancel_with_error(CoroutineError::cancelled(reason, None));
        }
        self.finish(result);
    }
}

impl<D: Dropped> Drop for BodyDone<D> {
    fn drop(&mut self) {
        self.dropped(Ok(()));
    }
}

impl<F, S> CoroutineTask<F, S> {
    /// The task that drives `body` in `frame` (a root frame) and marks its body done at the end.
    pub(crate) fn new(frame: Frame, body: F, sink: S) -> Self {
        CoroutineTask {
            body: Some(body),
            sink,
            done: BodyDone::new(frame),
        }
    }
}

impl<F, S> Future for CoroutineTask<F, S>
where
    F: Future,
    S: Fn(F::Output) -> Result<(), CoroutineError>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let frame = this
            .done
            .frame()
            .expect("a coroutine's task is not polled once it ended");
        // Kept in the job rather than here: a task one word smaller fits a 16-byte body in
        // tokio's 128-byte task cell.
        let first_shielded = frame.job().is_shielded();
        let mut shielded = first_shielded;
        let polled = frame::poll_body(frame, this.body, cx, &mut shielded);
        if first_shielded && !shielded {
            frame.job().end_shield();
        }
        let outcome = ready!(polled);
        let result = match outcome {
            // The sink runs the body's `CoroutineResult::into_result`: user code.
            Outcome::Done(output) => user::call(|| (this.sink)(output)).and_then(|result| result),
            Outcome::Panicked(error) => Err(error),
            Outcome::Cancelled => Ok(()),
        };
        this.done.finish(result);
        Poll::Ready(())
    }
}

/// Creates the job of a coroutine under the job of `scope_context + extra` and starts its task
/// as `start` says. `sink` turns the body's output into the job's result (and keeps an
/// `async_`'s value).
pub(crate) fn start_coroutine<F, S>(
    scope_context: &CoroutineContext,
    extra: CoroutineContext,
    start: CoroutineStart,
    kind: Kind,
    body: F,
    sink: S,
) -> Job
where
    F: Future + Send + 'static,
    S: Fn(F::Output) -> Result<(), CoroutineError> + Send + 'static,
{
    // Most launches add nothing to the scope's context: no merged copy then (fewer reference
    // counts touched on the scope's shared job and elements).
    let merged;
    // While coroutine spans are enabled every coroutine gets an id, as in debug mode: the
    // span's `id` is the dump's.
    #[cfg(feature = "tracing")]
    let with_id = debug::is_debug_mode() || crate::trace::coroutine_spans_enabled();
    #[cfg(not(feature = "tracing"))]
    let with_id = debug::is_debug_mode();
    // A launch that adds nothing to its scope's context may be reused by its parent, which
    // holds a small task with it until the reuse (see `job::recycle`).
    let reuse = match extra.is_empty() && !with_id && matches!(kind, Kind::Launch) {
        false => Reuse::Never,
        true if size_of::<CoroutineTask<F, S>>() <= RECYCLED_TASK_BYTES => Reuse::WithTask,
        true => Reuse::JobOnly,
    };
    let context = match (extra.is_empty(), with_id) {
        (true, false) => scope_context,
        (_, debug) => {
            let context = scope_context.clone() + extra;
            merged = match debug {
                true => context.with(CoroutineId::next()),
                false => context,
            };
            &merged
        }
    };
    let lazy = start == CoroutineStart::Lazy;
    let job = match kind {
        Kind::Launch => Job::create_launch(context.minus::<Job>(), context.job(), lazy, reuse),
        kind => Job::create(kind, context.minus::<Job>(), context.job(), lazy, None),
    };
    if matches!(start, CoroutineStart::Atomic | CoroutineStart::Undispatched) {
        job.shield_first_poll();
    }
    let task = CoroutineTask::new(Frame::of(job.clone()), body, sink);
    let never_runs =
        job.is_cancelled() && matches!(start, CoroutineStart::Default | CoroutineStart::Lazy);
    if never_runs {
        // Born into a cancelled or final parent: dropping the task ends the job.
        drop(task);
        return job;
    }
    let dispatcher = dispatcher::dispatcher_for(context);
    // A name for the tokio task (tokio-console), only under `tokio_unstable`.
    let name = dispatcher::task_name(context);
    let in_place = start == CoroutineStart::Undispatched
        || (start == CoroutineStart::Default && dispatcher.runs_in_place_here());
    if start == CoroutineStart::Lazy {
        let dispatcher = dispatcher.into_owned();
        let refused = job.set_lazy_start(Box::new(move || {
            dispatcher.spawn_named(task, name.as_deref())
        }));
        // Cancelled meanwhile: the task (user code) is dropped here, outside any lock.
        drop(refused);
    } else if in_place {
        let mut task = Box::pin(task);
        // The first poll runs here; the task's own first poll re-registers its waker, so
        // a no-op waker is enough for this one.
        let mut cx = Context::from_waker(Waker::noop());
        let runtime = tokio::runtime::Handle::try_current()
            .is_err()
            .then(|| dispatcher.handle());
        let _enter = runtime.as_ref().map(|h| h.enter());
        if task.as_mut().poll(&mut cx).is_pending() {
            dispatcher.spawn_named(task, name.as_deref());
        }
    } else {
        dispatcher.spawn_named(task, name.as_deref());
    }
    job
}

/// The handle of a `launch`ed coroutine: join it, cancel it, start it if it is lazy.
///
/// Dropping the handle does not cancel the coroutine: it belongs to its scope, which cancels it.
///
/// ```
/// use scopes_runtime::{CoroutineScope, Scope, delay};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let scope = Scope::new(());
/// let worker = scope.launch(async { delay(Duration::from_secs(3600)).await });
/// assert!(worker.is_active());
/// worker.cancel_and_join().await;
/// assert!(worker.is_cancelled());
/// # }
/// ```
#[derive(Clone)]
pub struct Coroutine {
    job: Job,
}

impl Coroutine {
    pub(crate) fn new(job: Job) -> Self {
        Coroutine { job }
    }

    /// Waits until the coroutine and all its children are final. Does not return its failure
    /// (ask [`final_error`](Self::final_error)). Starts a lazy coroutine.
    pub fn join(&self) -> Join {
        self.job.join()
    }

    /// Cancels, then waits until final. From inside the coroutine itself it returns at once
    /// (the coroutine stops at its next suspension).
    pub async fn cancel_and_join(&self) {
        self.job.cancel_and_join().await
    }

    /// The error it ended with, once final; `None` for a normal end.
    pub fn final_error(&self) -> Option<CoroutineError> {
        self.job.final_error()
    }
}

delegate_to_job!(Coroutine);

/// `.await` on a `Coroutine` does not compile: the bound is never met. The impl exists for its
/// error, whose note shows the comment below (rustc reports `.await` errors as "not a future"
/// and shows the impl it could not use). `for<'a>` keeps the never-met bound from being an
/// error where it is written.
#[doc(hidden)]
impl IntoFuture for Coroutine
where
    // wait for it with `coroutine.join().await`; for a value, use `async_` and `.await` its `Deferred`
    for<'a> &'a Coroutine: crate::__private::JoinItToAwaitIt,
{
    type Output = ();
    type IntoFuture = Join;

    fn into_future(self) -> Join {
        self.job.join()
    }
}

impl fmt::Debug for Coroutine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.job, f)
    }
}

/// What the job and the handles of an `async_` share.
pub(crate) struct DeferredShared<T> {
    slot: Mutex<Slot<T>>,
}

struct Slot<T> {
    value: Option<T>,
    /// Live `Deferred` handles.
    handles: usize,
    /// Some awaiter saw the outcome.
    observed: bool,
    /// A failure no parent took, kept until an awaiter sees it or the last handle is dropped.
    unhandled: Option<(CoroutineError, CoroutineContext)>,
    /// Set by `Clone` (which needs `T: Clone`), so an awaiter that is not the last can clone.
    clone: Option<fn(&T) -> T>,
}

impl<T: Send> UnhandledSink for DeferredShared<T> {
    fn unhandled(&self, error: &CoroutineError, context: &CoroutineContext) {
        let mut slot = lock_std(&self.slot);
        if slot.handles == 0 && !slot.observed {
            drop(slot);
            exception::handle_coroutine_exception(context, error);
        } else {
            slot.unhandled = Some((error.clone(), context.clone()));
        }
    }
}

/// The handle of an `async_` coroutine: await it for `Result<T, CoroutineError>`.
///
/// Clones (for `T: Clone`) are handles to the same coroutine; each may be awaited and gets the
/// value (the last one moves it out, the others clone it). A failure is returned to every
/// awaiter; it still cancelled a non-supervisor parent. If every handle is dropped without
/// seeing a failure that no parent took (under a supervisor, or at the root), the failure goes to
/// the exception handler then, so it is never lost.
///
/// ```
/// use scopes_runtime::{CoroutineScope, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let answer = scope.async_(async { 6 * 7 });
/// assert_eq!(answer.await.unwrap(), 42);
/// # }
/// ```
#[must_use = "a Deferred holds its coroutine's value or failure: await it (dropping it unawaited sends a failure to the exception handler)"]
pub struct Deferred<T> {
    shared: Arc<DeferredShared<T>>,
    job: Job,
}

impl<T: Send + 'static> Deferred<T> {
    /// Starts an `async_` coroutine whose body is `body`.
    pub(crate) fn spawn<F>(
        scope_context: &CoroutineContext,
        extra: CoroutineContext,
        start: CoroutineStart,
        body: F,
    ) -> Self
    where
        F: Future + Send + 'static,
        F::Output: crate::CoroutineResult<Value = T>,
    {
        let shared = Arc::new(DeferredShared {
            slot: Mutex::new(Slot {
                value: None,
                handles: 1,
                observed: false,
                unhandled: None,
                clone: None,
            }),
        });
        let keep = shared.clone();
        let sink = move |output: F::Output| {
            let value = crate::CoroutineResult::into_result(output)?;
            lock_std(&keep.slot).value = Some(value);
            Ok(())
        };
        let kind = Kind::Async(shared.clone());
        let job = start_coroutine(scope_context, extra, start, kind, body, sink);
        Deferred { shared, job }
    }
}

delegate_to_job!(Deferred<T>, T);

impl<T> Deferred<T> {
    /// Waits until final, without taking the result.
    pub fn join(&self) -> Join {
        self.job.join()
    }

    /// The outcome, once final (the value cloned); `None` while it runs.
    pub fn get_completed(&self) -> Option<Result<T, CoroutineError>>
    where
        T: Clone,
    {
        if !self.job.is_completed() {
            return None;
        }
        Some(self.outcome(|slot| slot.value.clone()))
    }

    /// The outcome of a final job; `take` gets the value out of the slot.
    fn outcome(&self, take: impl FnOnce(&mut Slot<T>) -> Option<T>) -> Result<T, CoroutineError> {
        let mut slot = lock_std(&self.shared.slot);
        slot.observed = true;
        slot.unhandled = None;
        if let Some(error) = self.job.final_error() {
            #[cfg(feature = "tracing")]
            crate::trace::failure_handled(
                Some(&self.job),
                &error,
                crate::trace::HandledBy::Deferred,
            );
            return Err(error);
        }
        take(&mut slot).ok_or_else(|| {
            CoroutineError::cancelled("the Deferred's value was taken already", None)
        })
    }

    fn take_value(slot: &mut Slot<T>) -> Option<T> {
        if slot.handles > 1 {
            let clone = slot
                .clone
                .expect("a Deferred with several handles was cloned, which records how to clone");
            slot.value.as_ref().map(clone)
        } else {
            slot.value.take()
        }
    }
}

impl<T: Clone> Clone for Deferred<T> {
    fn clone(&self) -> Self {
        let mut slot = lock_std(&self.shared.slot);
        slot.handles += 1;
        slot.clone = Some(T::clone);
        drop(slot);
        Deferred {
            shared: self.shared.clone(),
            job: self.job.clone(),
        }
    }
}

impl<T> Drop for Deferred<T> {
    fn drop(&mut self) {
        let mut slot = lock_std(&self.shared.slot);
        slot.handles -= 1;
        if slot.handles == 0
            && !slot.observed
            && let Some((error, context)) = slot.unhandled.take()
        {
            drop(slot);
            exception::handle_coroutine_exception(&context, &error);
        }
    }
}

impl<T> fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.job, f)
    }
}

impl<T> IntoFuture for Deferred<T> {
    type Output = Result<T, CoroutineError>;
    type IntoFuture = Await<T>;

    fn into_future(self) -> Await<T> {
        Await {
            join: self.job.join(),
            deferred: self,
        }
    }
}

/// The future of awaiting a [`Deferred`].
#[must_use = "futures do nothing unless awaited"]
pub struct Await<T> {
    join: Join,
    deferred: Deferred<T>,
}

impl<T> Future for Await<T> {
    type Output = Result<T, CoroutineError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(Pin::new(&mut self.join).poll(cx));
        if !self.deferred.job.is_completed() {
            // `join` returned at once: the coroutine awaits itself or an ancestor.
            return Poll::Ready(Err(CoroutineError::cancelled(
                "a coroutine cannot await its own Deferred or an ancestor's: it would wait forever",
                None,
            )));
        }
        Poll::Ready(self.deferred.outcome(Deferred::take_value))
    }
}

impl<T> fmt::Debug for Await<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Await")
            .field("deferred", &self.deferred)
            .finish()
    }
}
