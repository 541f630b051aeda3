//! Scope builders: `coroutine_scope`, `supervisor_scope`, `with_context`, `with_timeout`.
//!
//! Each runs its block inline as a *scoped coroutine*, a child job of the caller's and a frame
//! nested in the caller's frame; what users see of that is in the guide's chapter *The job
//! tree* (`scopes::guide::job_tree`, "Scope builders").
//!
//! A builder's future dropped before it returned (a lost `select!`, `tokio::time::timeout`)
//! cancels its scoped job in whatever phase it is (see `Phase`): nothing it started keeps
//! running, and a failure it had for its caller goes up to the caller's job instead.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use crate::timer::Timer;
use pin_project_lite::pin_project;

use crate::cancel::NonCancellable;
use crate::context::{CoroutineContext, IntoContext};
use crate::coroutine::{BodyDone, CoroutineTask, Dropped, ScopeDropped};
use crate::deadline::Limit;
use crate::dispatcher::Dispatcher;
use crate::error::{CoroutineError, CoroutineResult};
use crate::exception;
use crate::frame::{self, Frame, NonCancellableGuard, Outcome, Section};
use crate::job::{Job, Join, Kind};
use crate::scope::ScopeHandle;
use crate::sync::lock_std;
use crate::user;

/// The value of a scope block's result.
type ValueOf<Fut> = <<Fut as Future>::Output as CoroutineResult>::Value;

/// Runs `block` in a new scope and waits for it and every coroutine it launched; any failure
/// cancels the rest and is returned. Kotlin's `coroutineScope { }`.
///
/// The block gets the new scope's handle (`current_scope()` inside it is the same scope).
///
/// # Dropping the future
///
/// Dropped before it returned (a `select!` that took another branch, a `tokio::time::timeout`
/// that fired), it cancels the scope: the block is dropped and every coroutine launched in it is
/// cancelled; the drop does not wait for them (the enclosing coroutine does, as for any child).
/// A failure that nobody will now receive goes up to the enclosing coroutine. The same holds
/// for every scope builder: [`supervisor_scope`], [`with_context`], [`with_timeout`],
/// [`with_timeout_or_none`] and [`non_cancellable`]. Do not leak one instead
/// (`std::mem::forget` after a first poll): a block that runs in place then never ends, and the
/// enclosing coroutine waits for it forever, even once cancelled.
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{coroutine_scope, delay, CoroutineScope, Job, Scope};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let scope = Scope::new(());
/// let (tx, rx) = tokio::sync::oneshot::channel::<Job>();
/// let caller = scope.launch(async move {
///     let slow = coroutine_scope(|s| async move {
///         let worker = s.launch(delay(Duration::from_secs(3600)));
///         tx.send(worker.job().clone()).unwrap();
///         Ok::<_, scopes_runtime::CoroutineError>(())
///     });
///     // The scope's block returned; it waits for its worker when the timeout drops it.
///     assert!(tokio::time::timeout(Duration::from_secs(1), slow).await.is_err());
/// });
/// let worker = rx.await.unwrap();
/// caller.join().await;
/// assert!(worker.is_cancelled()); // nothing the dropped scope started keeps running
/// # }
/// ```
///
/// ```
/// use scopes_runtime::{coroutine_scope, CoroutineScope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let total = coroutine_scope(|scope| async move {
///     let a = scope.async_(async { 20u32 });
///     let b = scope.async_(async { 22u32 });
///     Ok::<_, scopes_runtime::CoroutineError>(a.await? + b.await?)
/// })
/// .await;
/// assert_eq!(total.unwrap(), 42);
/// # }
/// ```
pub fn coroutine_scope<F, Fut, V>(block: F) -> impl Future<Output = Result<V, CoroutineError>>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
{
    Scoped::<_, _, InPlace, _>::new(Kind::Scope, CoroutineContext::new(), None, block)
}

/// Like [`coroutine_scope`], but a child's failure cancels neither the scope nor the other
/// children: the failed child reports to the exception handler in its own context. A failure of
/// the block itself still cancels the scope and is returned. Kotlin's `supervisorScope { }`.
///
/// ```
/// use scopes_runtime::{CoroutineError, CoroutineExceptionHandler, CoroutineScope, supervisor_scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (ok, failed) = supervisor_scope(|s| async move {
///     let quiet = CoroutineExceptionHandler::new(|_, _| {}); // where the failure goes
///     let bad = s.launch_with(quiet, Default::default(), async {
///         Err::<(), _>(std::io::Error::other("one image failed"))
///     });
///     let good = s.async_(async { 3u32 });
///     bad.join().await;
///     Ok::<_, CoroutineError>((good.await?, bad.is_cancelled()))
/// })
/// .await
/// .unwrap();
/// assert_eq!((ok, failed), (3, true)); // the sibling and the scope went on
/// # }
/// ```
pub fn supervisor_scope<F, Fut, V>(block: F) -> impl Future<Output = Result<V, CoroutineError>>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
{
    Scoped::<_, _, InPlace, _>::new(Kind::SupervisorScope, CoroutineContext::new(), None, block)
}

/// Runs `body` with `context` added to the current context, as a scoped coroutine, and returns
/// its result. Kotlin's `withContext`.
///
/// - With a dispatcher other than the current one, the body runs there, in a task of its own,
///   and the result, failure or panic comes back; on the same dispatcher it runs in place (no
///   hop). The caller waits for the body even when it is cancelled meanwhile: the cancellation
///   reaches the body through the job tree, and the body's `NonCancellable` sections finish.
/// - With [`NonCancellable`], the body runs to its end even when the caller is cancelled: the
///   caller's cancellation waits for it. For cleanup that borrows, see [`non_cancellable`].
/// - A `Job` in `context` becomes the parent of the scoped coroutine.
///
/// The body may run on another thread, hence `Send + 'static`; [`coroutine_scope`] runs a block
/// in place and may borrow.
///
/// ```
/// use scopes_runtime::{with_context, current_context, CoroutineName, Dispatchers};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let name = with_context(CoroutineName::new("io"), async {
///     current_context().get::<CoroutineName>().unwrap().to_string()
/// })
/// .await;
/// assert_eq!(name.unwrap(), "io");
///
/// let read = with_context(Dispatchers::io(), async {
///     std::fs::read_to_string("Cargo.toml").map(|text| text.len()) // blocking is fine on io()
/// })
/// .await;
/// assert!(read.unwrap() > 0);
/// # }
/// ```
pub fn with_context<Fut, V>(
    context: impl IntoContext,
    body: Fut,
) -> impl Future<Output = Result<V, CoroutineError>>
where
    Fut: Future + Send + 'static,
    Fut::Output: CoroutineResult<Value = V>,
    V: Send + 'static,
{
    Scoped::<_, _, Hopping, _>::new(Kind::Scope, context.into_context(), None, move |_| body)
}

/// Runs `body` in place to its end even when the caller is cancelled: the caller's
/// cancellation waits for it. `with_context(NonCancellable, body)` for a body that borrows.
///
/// ```
/// use scopes_runtime::non_cancellable;
///
/// # struct Conn; impl Conn { async fn flush(&mut self) {} }
/// # async fn demo(conn: &mut Conn) {
/// non_cancellable(conn.flush()).await.unwrap();
/// # }
/// ```
pub fn non_cancellable<Fut, V>(body: Fut) -> impl Future<Output = Result<V, CoroutineError>>
where
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
{
    Scoped::<_, _, InPlace, _>::new(
        Kind::Scope,
        NonCancellable.into_context(),
        None,
        move |_| body,
    )
}

/// Runs `body` as a scoped coroutine with a time limit that covers the body and every child it
/// launched: on timeout, whichever is still running is cancelled (and waited for) and the result
/// is a timed-out error, also when the body itself had returned. A zero duration times out
/// at once, without running the body. Kotlin's `withTimeout`, but the timeout is a value, not a
/// cancellation: with `?` it fails the caller like any other error.
///
/// The body launches children with `current_scope()`; for a block given the scope's handle, a
/// supervisor scope, or an instant rather than a length, see [`Deadline`](crate::Deadline)
/// (`with_timeout(d, body)` is `Deadline::after(d).coroutine_scope(|_| body)`, counted from
/// the first poll).
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
pub fn with_timeout<Fut, V>(
    duration: Duration,
    body: Fut,
) -> impl Future<Output = Result<V, CoroutineError>>
where
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
{
    Scoped::<_, _, InPlace, _>::new(
        Kind::Scope,
        CoroutineContext::new(),
        Some(Limit::After(duration)),
        move |_| body,
    )
}

/// Like [`with_timeout`], but a timeout of *this* call gives `Ok(None)`. Other errors,
/// including the timeout of a nested `with_timeout`, are returned as they are.
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{delay, with_timeout_or_none};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let fast = with_timeout_or_none(Duration::from_secs(1), async { 7u8 }).await;
/// assert_eq!(fast.unwrap(), Some(7));
/// let slow = with_timeout_or_none(Duration::from_secs(1), async {
///     delay(Duration::from_secs(5)).await;
///     7u8
/// });
/// assert_eq!(slow.await.unwrap(), None);
/// # }
/// ```
pub async fn with_timeout_or_none<Fut, V>(
    duration: Duration,
    body: Fut,
) -> Result<Option<V>, CoroutineError>
where
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
{
    own_timeout_as_none(in_place(
        Kind::Scope,
        Some(Limit::After(duration)),
        move |_| body,
    ))
    .await
}

/// A scoped coroutine of `kind` that runs its block in place, in the current context.
pub(crate) fn in_place<F, Fut, V>(
    kind: Kind,
    limit: Option<Limit>,
    block: F,
) -> Scoped<F, Fut, InPlace, V>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
{
    Scoped::new(kind, CoroutineContext::new(), limit, block)
}

/// Awaits `scoped`, giving `Ok(None)` for a timeout of its own limit (a nested one's is an
/// error like any other).
pub(crate) async fn own_timeout_as_none<F, Fut, V>(
    scoped: Scoped<F, Fut, InPlace, V>,
) -> Result<Option<V>, CoroutineError>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
{
    let mut scoped = std::pin::pin!(scoped);
    let result = scoped.as_mut().await;
    match (result, scoped.timed_out()) {
        (Ok(value), _) => Ok(Some(value)),
        (Err(error), Some(own)) if error.ptr_eq(own) => Ok(None),
        (Err(error), _) => Err(error),
    }
}

/// Whether a scoped coroutine may run its body on another dispatcher, and how. Only a body that
/// is `Send + 'static` can; the builders that take no dispatcher run in place.
trait Hop<Fut: Future>
where
    Fut::Output: CoroutineResult,
{
    const CAN_HOP: bool;
    /// Runs `body` in `frame` (a root frame) as a task on `dispatcher`; its value goes to `slot`.
    fn spawn(
        dispatcher: &Dispatcher,
        frame: Frame,
        body: Fut,
        slot: Arc<Mutex<Option<ValueOf<Fut>>>>,
    );
}

/// Runs in place, always.
pub(crate) struct InPlace;

impl<Fut: Future> Hop<Fut> for InPlace
where
    Fut::Output: CoroutineResult,
{
    const CAN_HOP: bool = false;
    fn spawn(_: &Dispatcher, _: Frame, _: Fut, _: Arc<Mutex<Option<ValueOf<Fut>>>>) {
        unreachable!("an in-place scope never hops: CAN_HOP is false")
    }
}

/// Hops to the dispatcher in its context when that is not the current one.
struct Hopping;

impl<Fut> Hop<Fut> for Hopping
where
    Fut: Future + Send + 'static,
    Fut::Output: CoroutineResult,
    ValueOf<Fut>: Send + 'static,
{
    const CAN_HOP: bool = true;
    fn spawn(
        dispatcher: &Dispatcher,
        frame: Frame,
        body: Fut,
        slot: Arc<Mutex<Option<ValueOf<Fut>>>>,
    ) {
        let sink = move |output: Fut::Output| {
            *lock_std(&slot) = Some(output.into_result()?);
            Ok(())
        };
        let name = crate::dispatcher::task_name(frame.job().bare_context());
        dispatcher.spawn_named(CoroutineTask::new(frame, body, sink), name.as_deref());
    }
}

/// What a scoped coroutine needs to begin, taken at its first poll.
struct Begin<F> {
    kind: Kind,
    extra: CoroutineContext,
    block: F,
}

pin_project! {
    /// The phases of a scoped coroutine:
    ///
    /// ```text
    ///   Begin --first poll--> InPlace --block ends--> Joining --children done--> Done
    ///     |                                              ^
    ///     +--first poll, another dispatcher--> Hopped ---+ (the join covers block and children)
    /// ```
    ///
    /// The scoped job exists from the first poll on (`Scoped::frame`); whatever the phase, a
    /// drop before `Done` cancels it (see `Scoped`'s drop). The timer of `with_timeout` runs
    /// beside every phase until the join ends.
    #[project = PhaseProj]
    enum Phase<F, Fut, V> {
        /// Not polled yet. (An `Option`, to be taken through the pinned projection.)
        Begin { begin: Option<Begin<F>> },
        /// The block runs here, in the caller's task; `done` marks its end (or its drop).
        InPlace {
            #[pin]
            body: Option<Fut>,
            done: BodyDone<ScopeDropped>,
        },
        /// The block runs on another dispatcher, in a task of its own that leaves its value in
        /// `slot`; `join` waits for the block and the children.
        Hopped {
            slot: Arc<Mutex<Option<V>>>,
            join: Join,
        },
        /// The block ended here (with its value, if it had one); `join` waits for the children.
        Joining {
            value: Option<V>,
            join: Join,
        },
        /// The result was returned.
        Done,
    }
}

pin_project! {
    /// A scoped coroutine: created at its first poll in the current frame, it drives its body,
    /// then waits for its children and returns the outcome; a timer bounds both. One future, so
    /// a nested scope costs few stack frames.
    // No bounds on the struct: an enclosing future's `Send` check re-proves a struct's where
    // clauses with erased lifetimes, which `Box<dyn Error>` errors cannot pass. The value type
    // is a parameter, and the bounds live on the impls.
    pub(crate) struct Scoped<F, Fut, H, V> {
        #[pin]
        phase: Phase<F, Fut, V>,
        #[pin]
        timer: Option<Timer>,
        // Taken at the first poll, which sets the timer and `timeout`.
        limit: Option<Limit>,
        // The length of the limit, for the timed-out error.
        timeout: Option<Duration>,
        timed_out: Option<CoroutineError>,
        // The scoped job's frame, from the first poll until the result is taken: the drop
        // guard's "armed" state.
        frame: Option<Frame>,
        // Counted from the caller's frame outwards for a hop or a `NonCancellable` context.
        section: Option<NonCancellableGuard>,
        hop: PhantomData<H>,
    }

    impl<F, Fut, H, V> PinnedDrop for Scoped<F, Fut, H, V> {
        /// Dropped before it returned (a `select!` lost, a timeout fired, the caller was
        /// cancelled): whatever the phase, the scoped job is cancelled, so the block and every
        /// child end, and its failure, having nobody to return to, goes up to its parent. A block
        /// running in place is dropped here, in its frame; its destructor's panic becomes the
        /// job's failure. Nothing here waits.
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            let Some(frame) = this.frame.take() else {
                return;
            };
            let job = frame.job();
            if let Some(failure) = job.abandon() {
                // It ended with a failure for this future to return: nobody will receive it
                // now, so it goes where an abandoned scope's failure goes, up to the caller.
                match frame::current_frame() {
                    Some(caller) => caller.job().cancel_with_error(failure),
                    None => exception::handle_coroutine_exception(&frame.context(), &failure),
                }
            }
            job.cancel_with_error(CoroutineError::cancelled(ScopeDropped::REASON, None));
            if let PhaseProj::InPlace { body, done } = this.phase.as_mut().project() {
                let dropped = frame::drop_body(&frame, body);
                done.finish(dropped);
            }
            this.phase.set(Phase::Done);
        }
    }
}

impl<F, Fut, H, V> Scoped<F, Fut, H, V>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
{
    pub(crate) fn new(kind: Kind, extra: CoroutineContext, limit: Option<Limit>, block: F) -> Self {
        Scoped {
            phase: Phase::Begin {
                begin: Some(Begin { kind, extra, block }),
            },
            timer: None,
            limit,
            timeout: None,
            timed_out: None,
            frame: None,
            section: None,
            hop: PhantomData,
        }
    }

    /// The timeout this call made, once it fired.
    fn timed_out(self: Pin<&mut Self>) -> Option<&CoroutineError> {
        self.project().timed_out.as_ref()
    }
}

impl<F, Fut, H, V> Future for Scoped<F, Fut, H, V>
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
    Fut::Output: CoroutineResult<Value = V>,
    H: Hop<Fut>,
{
    type Output = Result<V, CoroutineError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let PhaseProj::Begin { begin } = this.phase.as_mut().project() {
            let Begin { kind, extra, block } = begin.take().expect("begins once");
            // No `Timer` is held here: this frame's size is paid once per nested scope level.
            let limit = this.limit.take();
            *this.timeout = limit.map(Limit::length);
            if let Some(duration) = limit.filter(|l| l.is_over()).map(Limit::length) {
                this.phase.set(Phase::Done);
                return Poll::Ready(Err(this
                    .timed_out
                    .insert(CoroutineError::timed_out(duration))
                    .clone()));
            }
            let ScopedFrame {
                frame,
                outer,
                hop_to,
            } = scoped_frame(kind, extra, H::CAN_HOP);
            let context = frame.context();
            let section = match context.contains::<NonCancellable>() {
                true => Some(Section::NonCancellable),
                false => hop_to.is_some().then_some(Section::Hop),
            };
            if let Some(section) = section {
                // The caller waits for the body: a hopped body, like a `NonCancellable` one, is
                // not dropped with the caller; the cancellation reaches it through its job.
                *this.section = Some(NonCancellableGuard::enter(outer, section));
            }
            let frame = this.frame.insert(frame);
            // Making the block is user code: its panic is the scope's failure.
            let handle = ScopeHandle::new(context);
            match (user::call(|| block(handle)), hop_to) {
                (Ok(body), Some(target)) => {
                    let slot = Arc::new(Mutex::new(None));
                    H::spawn(&target, frame.clone(), body, slot.clone());
                    let join = frame.job().join();
                    this.phase.set(Phase::Hopped { slot, join });
                }
                (Ok(body), None) => {
                    let done = BodyDone::new(frame.clone());
                    let body = Some(body);
                    this.phase.set(Phase::InPlace { body, done });
                }
                (Err(panic), _) => {
                    frame.job().body_completed(Err(panic));
                    let join = frame.job().join();
                    this.phase.set(Phase::Joining { value: None, join });
                }
            }
            this.timer.set(limit.map(Limit::timer));
        }
        let frame = this
            .frame
            .as_ref()
            .expect("a scoped coroutine has its frame until it returns");
        let fired = this
            .timer
            .as_mut()
            .as_pin_mut()
            .is_some_and(|timer| timer.poll(cx).is_ready());
        if let (true, Some(duration)) = (fired, *this.timeout) {
            this.timer.set(None);
            let error = this
                .timed_out
                .insert(CoroutineError::timed_out(duration))
                .clone();
            let message = format!("timed out waiting for {duration:?}");
            frame
                .job()
                .cancel_with_error(CoroutineError::cancelled(message, Some(error)));
        }
        let value = loop {
            match this.phase.as_mut().project() {
                PhaseProj::InPlace { body, done } => {
                    let outcome = ready!(frame::poll_body(frame, body, cx, &mut false));
                    let mut value = None;
                    let result = match outcome {
                        // The conversion is user code.
                        Outcome::Done(output) => user::call(|| output.into_result())
                            .and_then(|result| result)
                            .map(|v| value = Some(v)),
                        Outcome::Panicked(error) => Err(error),
                        Outcome::Cancelled => Ok(()),
                    };
                    done.finish(result);
                    let join = frame.job().join();
                    this.phase.set(Phase::Joining { value, join });
                }
                PhaseProj::Hopped { slot, join } => {
                    ready!(Pin::new(join).poll(cx));
                    break lock_std(slot).take();
                }
                PhaseProj::Joining { value, join } => {
                    ready!(Pin::new(join).poll(cx));
                    break value.take();
                }
                PhaseProj::Begin { .. } | PhaseProj::Done => {
                    panic!("a scope builder's future was polled after it returned")
                }
            }
        };
        // Returned: the drop guard is disarmed, the timer and the section end.
        let job = this.frame.take().expect("checked above").job().clone();
        this.phase.set(Phase::Done);
        this.timer.set(None);
        *this.section = None;
        Poll::Ready(match job.final_error() {
            Some(error) => match &this.timed_out {
                Some(timeout) if error.is_cancellation() => Err(timeout.clone()),
                _ => {
                    // Returned to the caller: handled here (its own timeout is a value).
                    #[cfg(feature = "tracing")]
                    if !this.timed_out.as_ref().is_some_and(|t| t.ptr_eq(&error)) {
                        crate::trace::failure_handled(
                            Some(&job),
                            &error,
                            crate::trace::HandledBy::Scope,
                        );
                    }
                    Err(error)
                }
            },
            None => value.ok_or_else(|| {
                CoroutineError::cancelled("the scope completed without its block's value", None)
            }),
        })
    }
}

/// A scoped coroutine's frame, with what decided its place.
struct ScopedFrame {
    frame: Frame,
    /// The caller's frame.
    outer: Option<Frame>,
    /// The dispatcher the body hops to, if it runs elsewhere than the caller.
    hop_to: Option<Dispatcher>,
}

/// A frame for a scoped coroutine of `kind` in the current context plus `extra`. It is nested
/// in the current frame, unless its body hops (`can_hop`, and the context's dispatcher is not
/// the caller's): then it is the root frame of the body's task. With `NonCancellable` in
/// `extra` its job is a root: the caller's cancellation does not reach it.
fn scoped_frame(kind: Kind, extra: CoroutineContext, can_hop: bool) -> ScopedFrame {
    let detached = extra.contains::<NonCancellable>();
    let outer = frame::current_frame();
    let outer_dispatcher = outer
        .as_ref()
        .and_then(|f| f.job().bare_context().get::<Dispatcher>());
    let context = outer.as_ref().map(Frame::context).unwrap_or_default() + extra;
    let hop_to = context
        .get::<Dispatcher>()
        .filter(|target| can_hop && target.needs_hop_from(outer_dispatcher))
        .cloned();
    let parent = if detached {
        None
    } else {
        context.job().cloned()
    };
    let frame_parent = match hop_to {
        Some(_) => None,
        None => outer.as_ref().map(Frame::job),
    };
    let job = Job::create(
        kind,
        context.minus::<Job>(),
        parent.as_ref(),
        false,
        frame_parent,
    );
    ScopedFrame {
        frame: Frame::of(job),
        outer,
        hop_to,
    }
}
