//! Frames: what "the current coroutine" is while a body is polled, and how a cancellation
//! reaches the body.
//!
//! A *frame* is one running body with its context (and so its job): the body of a launched
//! coroutine, or the block of a `coroutine_scope`, `with_context` or `with_timeout`, which run
//! inline in their caller's task. Frames nest: a scope's frame has the enclosing frame of the same
//! task as its parent. While a body is polled its frame is the thread's *current* frame, which is
//! how `current_context()`, `current_scope()` and `is_active()` find it, on whatever thread the
//! poll runs.
//!
//! A frame is not an allocation of its own: its state (`FrameState`) lives in its job, so a
//! launched coroutine costs its tokio task and one job. A body that hops (`with_context` to
//! another dispatcher) runs in a root frame of the task on the target.
//!
//! # Delivering a cancellation
//!
//! When a frame's job starts cancelling, its driver (the task wrapper or the scope's future) is
//! woken and, on its next poll, drops the body: destructors run, nothing after the current
//! `.await` runs. Two things defer that:
//!
//! - **`NonCancellable` sections.** While one is running inside a frame, the frame's
//!   `non_cancellable` count is above zero and the driver keeps polling the body normally. The
//!   count is kept on every frame from the section outwards, so an enclosing cancelled frame
//!   waits too. A frame's own failure is not deferred by a section *outside* it.
//! - **`try_finally` frames.** Before dropping the body, the driver polls it once more (the
//!   *delivery poll*) after waking every `try_finally` still in its body phase. Each of those sees
//!   that its frame is cancelled, drops its body and starts its cleanup inside a
//!   `NonCancellable` section; the driver then keeps polling until the cleanup ends.
//!
//! A frame is *cancelled* for the code inside it when its job is cancelling and no
//! `NonCancellable` section is running in it.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

use futures::task::AtomicWaker;

use crate::context::CoroutineContext;
use crate::error::CoroutineError;
use crate::job::{Job, JobInner};
use crate::user;

/// The frame part of a job: what a body running in it needs beyond the job's state. It lives in
/// the job's own allocation, so a coroutine costs one allocation beside its tokio task.
pub(crate) struct FrameState {
    /// The enclosing frame of the same task (weak: a frame never outlives it while it runs, and
    /// a finished job must not keep its caller's job alive).
    parent: Option<Weak<JobInner>>,
    non_cancellable: AtomicU32,
    /// How many `try_finally`s are registered in the job's `finally` list (kept under its lock).
    finally_count: AtomicU32,
}

impl FrameState {
    /// The frame state of a job nested in `parent` (the job of the enclosing
    /// frame of the same task, if any).
    pub(crate) fn new(parent: Option<&Job>) -> FrameState {
        FrameState {
            parent: parent.map(|p| Arc::downgrade(p.inner())),
            non_cancellable: AtomicU32::new(0),
            finally_count: AtomicU32::new(0),
        }
    }
}

/// One running body: a job seen as the frame its body runs in (see the module docs). Cheap to
/// clone: it is the job.
#[derive(Clone)]
pub(crate) struct Frame {
    job: Job,
}

impl Frame {
    /// The frame of `job`'s body.
    pub(crate) fn of(job: Job) -> Frame {
        Frame { job }
    }

    fn state(&self) -> &FrameState {
        &self.job.inner().frame
    }

    /// The frame's context, with its job.
    pub(crate) fn context(&self) -> CoroutineContext {
        self.job.context()
    }

    pub(crate) fn job(&self) -> &Job {
        &self.job
    }

    /// The enclosing frame of the same task.
    pub(crate) fn parent(&self) -> Option<Frame> {
        let inner = self.state().parent.as_ref()?.upgrade()?;
        Some(Frame::of(Job::from_inner(inner)))
    }

    /// True if code in this frame must stop: the job is cancelling and no `NonCancellable`
    /// section runs in the frame.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.job.is_cancelled() && self.state().non_cancellable.load(Ordering::Acquire) == 0
    }

    /// This frame and its enclosing ones, innermost first.
    fn chain(&self) -> impl Iterator<Item = Frame> {
        std::iter::successors(Some(self.clone()), Frame::parent)
    }

    fn has_finally(&self) -> bool {
        self.state().finally_count.load(Ordering::Acquire) > 0
    }

    fn wake_finally(&self) {
        let slots: Vec<Arc<AtomicWaker>> =
            self.job.with_finally(|list| list.iter().cloned().collect());
        for slot in slots {
            user::wake(|| slot.wake());
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Frame>> = const { RefCell::new(None) };
}

/// Runs `f` with `frame` as the current frame and its thread-local elements set, restoring the
/// previous frame and values after, in reverse order (also when `f` panics).
pub(crate) fn enter<R>(frame: &Frame, f: impl FnOnce() -> R) -> R {
    struct Restore<'a> {
        frame: Option<Frame>,
        locals: Option<&'a CoroutineContext>,
        saved: Vec<Box<dyn Any>>,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            if let Some(context) = self.locals {
                // Those installed before a panicking `install`, in reverse.
                let installed: Vec<_> = context.thread_locals().take(self.saved.len()).collect();
                for (local, previous) in installed.into_iter().zip(self.saved.drain(..)).rev() {
                    local.restore(previous);
                }
            }
            let previous = self.frame.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    // The coroutine's span, entered for the poll or the drop (exited after the frame is left).
    #[cfg(feature = "tracing")]
    let _span = frame.job.inner().span.as_deref().map(tracing::Span::enter);
    let previous = CURRENT.with(|c| c.borrow_mut().replace(frame.clone()));
    let locals = frame
        .job
        .inner()
        .thread_locals
        .then(|| frame.job.bare_context());
    let mut restore = Restore {
        frame: previous,
        locals,
        saved: Vec::new(),
    };
    if let Some(context) = locals {
        for local in context.thread_locals() {
            restore.saved.push(local.install());
        }
    }
    let out = f();
    drop(restore);
    out
}

/// Reads the current frame. `f` must not poll, enter or drop frames. In a thread-local's
/// destructor at thread exit, after this one's, there is none.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Frame>) -> R) -> R {
    let mut f = Some(f);
    let read = CURRENT.try_with(|c| (f.take().expect("called once"))(c.borrow().as_ref()));
    read.unwrap_or_else(|_| (f.take().expect("not called: no thread-local"))(None))
}

/// True while a body is polled or dropped on this thread; also while a frame is being entered
/// or left (a panic hook may ask from a destructor that runs then).
pub(crate) fn is_in_frame() -> bool {
    CURRENT
        .try_with(|c| c.try_borrow().map_or(true, |f| f.is_some()))
        .unwrap_or(false)
}

/// The current frame, if code runs inside a coroutine.
pub(crate) fn current_frame() -> Option<Frame> {
    with_current(|f| f.cloned())
}

/// A running `NonCancellable` section: counted on every frame from `from` outwards.
pub(crate) struct NonCancellableGuard {
    from: Option<Frame>,
    section: Section,
}

/// Why a section is non-cancellable.
#[derive(Clone, Copy)]
pub(crate) enum Section {
    /// `non_cancellable`, `with_context(NonCancellable, ..)`.
    NonCancellable,
    /// The cleanup of a `try_finally`.
    Cleanup,
    /// The caller of a body that hopped waits for it (not a section of the user's).
    Hop,
}

impl Section {
    /// The name a trace event gives it; `None` for an internal one.
    #[cfg(feature = "tracing")]
    fn traced(self) -> Option<&'static str> {
        match self {
            Section::NonCancellable => Some("non_cancellable"),
            Section::Cleanup => Some("try_finally cleanup"),
            Section::Hop => None,
        }
    }
}

impl NonCancellableGuard {
    pub(crate) fn enter(from: Option<Frame>, section: Section) -> Self {
        if let Some(frame) = &from {
            #[cfg(feature = "tracing")]
            if let Some(name) = section.traced() {
                crate::trace::non_cancellable(frame.job(), name, true);
            }
            for f in frame.chain() {
                f.state().non_cancellable.fetch_add(1, Ordering::AcqRel);
            }
        }
        NonCancellableGuard { from, section }
    }
}

impl Drop for NonCancellableGuard {
    fn drop(&mut self) {
        #[cfg(feature = "tracing")]
        if let (Some(frame), Some(name)) = (&self.from, self.section.traced()) {
            crate::trace::non_cancellable(frame.job(), name, false);
        }
        #[cfg(not(feature = "tracing"))]
        let _ = self.section;
        if let Some(frame) = &self.from {
            for f in frame.chain() {
                let before = f.state().non_cancellable.fetch_sub(1, Ordering::AcqRel);
                if before == 1 && f.job.is_cancelled() {
                    // The cancellation was waiting for this section: let the driver see it.
                    user::wake(|| f.job.inner().driver.wake());
                }
            }
        }
    }
}

/// A `try_finally` in its body phase, registered on every frame from the current one outwards
/// so a delivery poll can wake it wherever it sits in the body's future tree.
pub(crate) struct FinallyRegistration {
    slot: Arc<AtomicWaker>,
    keys: Vec<(Frame, usize)>,
}

impl FinallyRegistration {
    pub(crate) fn register(frame: &Frame, waker: &Waker) -> Self {
        let slot = Arc::new(AtomicWaker::new());
        slot.register(waker);
        let keys = frame
            .chain()
            .map(|f| {
                let key = f.job.with_finally(|list| list.insert(slot.clone()));
                f.state().finally_count.fetch_add(1, Ordering::AcqRel);
                (f, key)
            })
            .collect();
        FinallyRegistration { slot, keys }
    }

    pub(crate) fn update(&self, waker: &Waker) {
        self.slot.register(waker);
    }
}

impl Drop for FinallyRegistration {
    fn drop(&mut self) {
        for (frame, key) in self.keys.drain(..) {
            let removed = frame.job.with_finally(|list| list.remove(key));
            drop(removed);
            frame.state().finally_count.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// How a driven body ended.
pub(crate) enum Outcome<T> {
    /// The body returned.
    Done(T),
    /// The body (or its destructor) panicked.
    Panicked(CoroutineError),
    /// The frame was cancelled and the body dropped.
    Cancelled,
}

/// Polls `body` as the body of `frame`: delivers a cancellation (see the module docs), catches
/// panics, and drops the body as soon as it ends. `shielded` skips the cancellation check for
/// one poll (the first poll of an atomic or undispatched start).
pub(crate) fn poll_body<F: Future>(
    frame: &Frame,
    mut body: Pin<&mut Option<F>>,
    cx: &mut Context<'_>,
    shielded: &mut bool,
) -> Poll<Outcome<F::Output>> {
    let mut delivered = false;
    loop {
        let cancelled = !*shielded && frame.is_cancelled();
        if cancelled && (delivered || !frame.has_finally()) {
            return Poll::Ready(match drop_body(frame, body.as_mut()) {
                Ok(()) => Outcome::Cancelled,
                Err(panic) => Outcome::Panicked(panic),
            });
        }
        if cancelled {
            delivered = true;
            frame.wake_finally();
        }
        if body.is_none() {
            return Poll::Ready(Outcome::Cancelled);
        }
        // Registered before the body's poll: a cancellation after it wakes this driver, one
        // before it is seen by the check after the poll. A body dropped above needs no wake-up.
        frame.job.inner().driver.register(cx.waker());
        // One entry into the frame for the poll and, when the body ends, its drop.
        let polled = enter(frame, || {
            let fut = body.as_mut().as_pin_mut().expect("checked above");
            match user::call(|| fut.poll(cx)) {
                Ok(Poll::Pending) => Poll::Pending,
                Ok(Poll::Ready(value)) => Poll::Ready(match drop_caught(body.as_mut()) {
                    Ok(()) => Outcome::Done(value),
                    Err(panic) => Outcome::Panicked(panic),
                }),
                Err(error) => {
                    if let Err(second) = drop_caught(body.as_mut()) {
                        error.add_suppressed(&second);
                    }
                    Poll::Ready(Outcome::Panicked(error))
                }
            }
        });
        *shielded = false;
        match polled {
            Poll::Pending if frame.is_cancelled() => continue,
            Poll::Ready(Outcome::Panicked(error)) if is_runtime_shutdown(&error) => {
                // Not the body's fault: its runtime is gone (a timer or socket of a runtime
                // that shut down panics when polled). That ends a coroutine as a cancellation.
                let reason = "the coroutine's runtime shut down while it ran";
                frame
                    .job
                    .cancel_with_error(CoroutineError::cancelled(reason, None));
                return Poll::Ready(Outcome::Cancelled);
            }
            polled => return polled,
        }
    }
}

/// tokio's panic when a resource of a runtime that shut down is polled (its
/// `RUNTIME_SHUTTING_DOWN_ERROR`). A coroutine on one of our own schedulers (`unconfined()`, a
/// view on the blocking pool) may be woken, and so polled, by the runtime's last wake-ups; tokio
/// never polls its own tasks then.
const RUNTIME_SHUTTING_DOWN: &str = "A Tokio 1.x context was found, but it is being shutdown.";

fn is_runtime_shutdown(error: &CoroutineError) -> bool {
    error.panic_message() == Some(RUNTIME_SHUTTING_DOWN)
}

/// Drops the body in place, inside its frame, catching a panicking destructor.
pub(crate) fn drop_body<F>(frame: &Frame, body: Pin<&mut Option<F>>) -> Result<(), CoroutineError> {
    enter(frame, || drop_caught(body))
}

/// Drops the body in place, catching a panicking destructor.
fn drop_caught<F>(mut body: Pin<&mut Option<F>>) -> Result<(), CoroutineError> {
    user::call(|| body.set(None))
}
