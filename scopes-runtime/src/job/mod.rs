//! `Job`: a node of the job tree, and the state machine that every coroutine, scope and
//! standalone job shares.
//!
//! # States
//!
//! ```text
//!                                         wait for children
//!      +-----+  start   +--------+  body done  +------------+  last child done  +-----------+
//!      | New |--------->| Active |------------>| Completing |------------------>| Completed |
//!      +-----+          +--------+             +------------+                   +-----------+
//!         |                 |                        |
//!         | cancel/fail     | cancel / fail          | cancel / a child fails
//!         |                 v                        v
//!         |            +------------+  body done and last child done   +-----------+
//!         +----------->| Cancelling |--------------------------------->| Cancelled |
//!                      +------------+                                  +-----------+
//! ```
//!
//! | state      | `is_active` | `is_completed` | `is_cancelled` |
//! |------------|-------------|----------------|----------------|
//! | New        | false       | false          | false          |
//! | Active     | true        | false          | false          |
//! | Completing | true        | false          | false          |
//! | Cancelling | false       | false          | true           |
//! | Cancelled  | false       | true           | true           |
//! | Completed  | false       | true           | false          |
//!
//! "Body done" means: a coroutine's body returned, panicked or was dropped; a scope's block did;
//! a standalone [`Job::new()`] was `complete()`d or cancelled (it has no body).
//!
//! # Invariants
//!
//! 1. **A job is final only when its body is done and it has no children.** Children remove
//!    themselves from their parent *after* they are final, so a parent completes after all of
//!    its children, and a `join` on the parent returns after every descendant finished.
//! 2. **Cancellation travels down.** Entering `Cancelling` cancels every child, with the
//!    parent's cancellation, or for a failure a cancellation caused by it.
//! 3. **Failure travels up.** A failure (anything but a cancellation) makes a job notify its
//!    parent when it starts cancelling and again with its final error when it finishes. A regular
//!    parent cancels itself with it; a supervisor ignores it. Scoped jobs (`coroutine_scope`,
//!    `with_context`, `with_timeout`) never tell their parent: they return the error to their
//!    caller instead.
//! 4. **One owner per failure.** The topmost job that *handles* a failure owns it: coroutine jobs
//!    handle; a standalone job handles only if an ancestor does. A failure nobody above handled
//!    goes to the failing coroutine's own exception handler (`launch`) or stays in its
//!    `Deferred` (`async_`). Failures that arrive after the first are suppressed on it.
//! 5. **No recursion across the tree.** Each transition changes one job under its own lock and
//!    returns the effects it asks for (cancel these children, tell that parent). A per-thread
//!    queue runs the effects one by one, so a 10,000-deep chain cancels and completes in constant
//!    stack. A cancellation writes its children's effects into the queue under its lock (the
//!    queue is the thread's own; nothing else is locked or run), so it copies no list of them.
//! 6. **No two job locks are held at once, except** parent-then-child in
//!    [`Job::attach_child`], to publish the child's slot; nothing takes them child-then-parent.
//!    No user code (handlers, wakers, drops of futures) runs under a job lock.
//!
//! # Lifetimes
//!
//! A parent holds its children (strong), a child holds its parent (strong) until it is final;
//! then the child lets go of its parent and the parent of the child, so completed trees are
//! freed. A scoped job's link to the job of its caller's frame (`FrameState::parent`) is weak.
//!
//! # Size
//!
//! A job is one allocation beside its coroutine's tokio task, and holds the frame state too.
//! `JobInner` stays within 232 bytes (a 256-byte glibc chunk with the `Arc`'s counts; a unit
//! test checks it): what few jobs need (a lazy start, `try_finally` wakers, the children's
//! cancellation cause) sits in `Rare`, boxed on first use.

#[cfg(all(test, scopes_loom))]
mod loom_tests;
mod slab;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

use futures::task::AtomicWaker;

use crate::context::{ContextElement, CoroutineContext, CoroutineName};
use crate::debug::CoroutineId;
use crate::dispatcher::Dispatcher;
use crate::error::{BoxError, CoroutineError};
use crate::exception;
use crate::frame::FrameState;
use crate::sync::{AtomicU8, AtomicU32, Mutex, MutexGuard, lock};
pub(crate) use slab::Slab;

/// The public state of a [`Job`]. See the module docs for the diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum JobState {
    /// Created lazily and not started yet.
    New = 0,
    /// Running.
    Active = 1,
    /// The body is done; waiting for children. Looks active from outside.
    Completing = 2,
    /// Cancelled or failed; waiting for the body to stop and the children to finish.
    Cancelling = 3,
    /// Final: ended by a cancellation or a failure.
    Cancelled = 4,
    /// Final: ended normally.
    Completed = 5,
}

impl JobState {
    fn from_u8(v: u8) -> JobState {
        match v {
            0 => JobState::New,
            1 => JobState::Active,
            2 => JobState::Completing,
            3 => JobState::Cancelling,
            4 => JobState::Cancelled,
            _ => JobState::Completed,
        }
    }

    /// True for `Cancelled` and `Completed`.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Cancelled | JobState::Completed)
    }

    fn word(self) -> &'static str {
        match self {
            JobState::New => "New",
            JobState::Active => "Active",
            JobState::Completing => "Completing",
            JobState::Cancelling => "Cancelling",
            JobState::Cancelled => "Cancelled",
            JobState::Completed => "Completed",
        }
    }
}

/// Where an unhandled failure of an `async_` coroutine goes: its `Deferred`.
pub(crate) trait UnhandledSink: Send + Sync {
    fn unhandled(&self, error: &CoroutineError, context: &CoroutineContext);
}

/// What kind of node a job is; decides the child policy and who owns failures.
pub(crate) enum Kind {
    /// `Job::new()`: no body; completes on `complete()` once its children have.
    Job,
    /// `Job::supervisor()`: like `Job`, but a child's failure cancels neither it nor siblings.
    SupervisorJob,
    /// A `launch`ed coroutine: reports its unhandled failure to its exception handler.
    Launch,
    /// An `async_` coroutine: keeps its unhandled failure for its awaiters.
    Async(Arc<dyn UnhandledSink>),
    /// `coroutine_scope`, `with_context`, `with_timeout`: returns its failure to its caller.
    Scope,
    /// `supervisor_scope`.
    SupervisorScope,
}

impl Kind {
    fn is_supervisor(&self) -> bool {
        matches!(self, Kind::SupervisorJob | Kind::SupervisorScope)
    }
    fn is_scoped(&self) -> bool {
        matches!(self, Kind::Scope | Kind::SupervisorScope)
    }
    fn is_standalone(&self) -> bool {
        matches!(self, Kind::Job | Kind::SupervisorJob)
    }
    fn name(&self) -> &'static str {
        match self {
            Kind::Job => "Job",
            Kind::SupervisorJob => "SupervisorJob",
            Kind::Launch => "StandaloneCoroutine",
            Kind::Async(_) => "DeferredCoroutine",
            Kind::Scope => "ScopeCoroutine",
            Kind::SupervisorScope => "SupervisorCoroutine",
        }
    }
}

type Handler = Box<dyn FnOnce(Option<&CoroutineError>) + Send>;
pub(crate) type LazyStart = Box<dyn FnOnce() + Send>;
pub(crate) type FinallyList = Slab<Arc<AtomicWaker>>;

/// The parts of a job's state that few jobs use, kept out of line so every job is smaller.
#[derive(Default)]
struct Rare {
    /// What `start()` runs, for a lazy coroutine.
    lazy_start: Option<LazyStart>,
    /// The `try_finally`s running in this job's frame (see `frame`).
    finally: FinallyList,
    /// What the children of a cancelling job are cancelled with, made once per job.
    child_cause: Option<CoroutineError>,
}

/// Who is told when a job becomes final: a completion handler or a joiner's waker. One list for
/// both, so a job that has neither keeps one empty list.
enum Listener {
    Handler(Handler),
    Waker(Waker),
}

struct State {
    phase: JobState,
    body_done: bool,
    /// The first failure; later failures are suppressed on it.
    failure: Option<CoroutineError>,
    /// The first cancellation cause.
    cancellation: Option<CoroutineError>,
    parent: Option<Job>,
    children: Slab<Job>,
    listeners: Slab<Listener>,
    /// The first joiner's waker, kept inline: most awaited jobs have one joiner, which then
    /// costs no list.
    waiter: Option<Waker>,
    /// What few jobs need, allocated by the first that does.
    rare: Option<Box<Rare>>,
    /// A scoped job whose caller dropped it: nobody will receive its result.
    abandoned: bool,
}

pub(crate) struct JobInner {
    kind: Kind,
    /// The coroutine's context without its job (name, handler, id, dispatcher, ...), so no cycle.
    context: CoroutineContext,
    /// Mirror of `State::phase`, written under the lock, read without it.
    phase: AtomicU8,
    state: Mutex<State>,
    /// Whoever polls the body; woken when the job starts cancelling.
    pub(crate) driver: AtomicWaker,
    /// This job's key in its parent's children; written and read under the parent's lock.
    slot_in_parent: AtomicU32,
    /// What the body running in this job needs (see `frame`).
    pub(crate) frame: FrameState,
}

/// A node of the job tree: a coroutine's job, a scope's job or a standalone job.
///
/// `Job::new()` and `Job::supervisor()` are standalone: they have no body and serve as the root
/// of a scope (`Scope::new(Job::supervisor())`). Every `launch`, `async_` and scope builder makes
/// a job that is a child of the job in its context. Cheap to clone; clones are the same job.
///
/// ```
/// use scopes_runtime::{Job, JobState};
///
/// let parent = Job::new();
/// let child = Job::child_of(&parent);
/// parent.cancel();
/// assert_eq!(child.state(), JobState::Cancelled);
/// assert_eq!(parent.state(), JobState::Cancelled);
/// ```
#[derive(Clone)]
pub struct Job {
    pub(crate) inner: Arc<JobInner>,
}

impl ContextElement for Job {}
crate::__context_add!(Job);

impl PartialEq for Job {
    fn eq(&self, other: &Job) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
impl Eq for Job {}
impl Hash for Job {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.inner).hash(state)
    }
}

/// What `attach_child` found in the parent.
#[must_use]
pub(crate) enum Attach {
    /// The child is tracked.
    Attached,
    /// The child is tracked, and must be cancelled at once with this cause.
    ParentCancelling(CoroutineError),
    /// The parent is final; the child is not tracked and must be cancelled with this cause.
    Rejected(CoroutineError),
}

/// What a transition asks of the tree once the job's lock is released.
enum Effect {
    Cancel(Job, CoroutineError),
    ChildFailed { parent: Job, error: CoroutineError },
    Finalize(Job),
}

impl Effect {
    fn run(self) {
        match self {
            Effect::Cancel(job, cause) => job.cancel_with_error(cause),
            Effect::ChildFailed { parent, error } => {
                let _handled = parent.child_failed(&error);
            }
            Effect::Finalize(job) => job.try_finalize(),
        }
    }
}

#[cfg(not(scopes_loom))]
thread_local! {
    /// The effects waiting to run on this thread, and whether a drain is under way. The queue
    /// keeps its capacity between drains: completing a coroutine allocates nothing here.
    static EFFECTS: (RefCell<VecDeque<Effect>>, Cell<bool>) = const { (RefCell::new(VecDeque::new()), Cell::new(false)) };
}

#[cfg(scopes_loom)]
loom::thread_local! {
    static EFFECTS: (RefCell<VecDeque<Effect>>, Cell<bool>) = (RefCell::new(VecDeque::new()), Cell::new(false));
}

/// Runs `effects`, and everything they cause, before returning; nested calls only enqueue, so
/// propagation through the tree is a loop, not a recursion.
fn schedule(effects: impl IntoIterator<Item = Effect>) {
    // One thread-local access to queue them and to learn whether a drain runs already.
    let mut effects = Some(effects);
    let draining_already = EFFECTS.try_with(|(queue, draining)| {
        queue
            .borrow_mut()
            .extend(effects.take().expect("called once"));
        draining.replace(true)
    });
    match draining_already {
        Ok(true) => {}
        Ok(false) => run_queue(),
        Err(_) => run_without_queue(effects.take().expect("not queued")),
    }
}

/// Adds effects to this thread's queue without running them: for a transition that has many
/// (one per child) and writes them straight in, under its job's lock. `add` must do nothing
/// else. [`drain`] runs them.
fn enqueue(add: impl FnOnce(&mut VecDeque<Effect>)) {
    let mut add = Some(add);
    let queued = EFFECTS.try_with(|(queue, _)| {
        let add = add.take().expect("called once");
        add(&mut queue.borrow_mut())
    });
    if queued.is_err() {
        let mut here = VecDeque::new();
        (add.take().expect("not called: the queue was gone"))(&mut here);
        run_without_queue(here);
    }
}

/// Runs effects in place when the thread's queue is gone: the thread is exiting, and a scope
/// kept in a thread-local is dropped after the queue. This recurses along the tree, which only
/// a thread's last moments do.
fn run_without_queue(effects: impl IntoIterator<Item = Effect>) {
    for effect in effects {
        effect.run();
    }
}

/// Runs the queued effects, unless a drain further up this thread's stack is doing it.
fn drain() {
    // No queue (the thread is exiting): `enqueue` ran the effects already.
    let draining_already = EFFECTS
        .try_with(|(_, draining)| draining.replace(true))
        .unwrap_or(true);
    if !draining_already {
        run_queue();
    }
}

/// Runs the queue until it is empty; the caller has marked this thread as draining.
fn run_queue() {
    struct EndDrain;
    impl Drop for EndDrain {
        fn drop(&mut self) {
            // Normally empty; after a panic, what was left is dropped outside the borrow.
            let rest = EFFECTS.with(|(queue, draining)| {
                draining.set(false);
                let mut queue = queue.borrow_mut();
                (!queue.is_empty()).then(|| std::mem::take(&mut *queue))
            });
            drop(rest);
        }
    }
    let _end = EndDrain;
    while let Some(effect) = EFFECTS.with(|(queue, _)| queue.borrow_mut().pop_front()) {
        effect.run();
    }
}

impl Job {
    /// A standalone job: the root of a scope's tree. It stays active until it is cancelled, or
    /// until `complete()` is called and all its children have finished.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Job {
        Job::create(Kind::Job, CoroutineContext::new(), None, false, None)
    }

    /// A standalone supervisor job: a child's failure cancels neither it nor the other children;
    /// the failing child reports to the exception handler in its own context.
    pub fn supervisor() -> Job {
        Job::create(
            Kind::SupervisorJob,
            CoroutineContext::new(),
            None,
            false,
            None,
        )
    }

    /// A standalone job that is a child of `parent`: cancelled with it, and waited for by it.
    pub fn child_of(parent: &Job) -> Job {
        Job::create(
            Kind::Job,
            CoroutineContext::new(),
            Some(parent),
            false,
            None,
        )
    }

    /// A standalone supervisor job that is a child of `parent`.
    pub fn supervisor_child_of(parent: &Job) -> Job {
        Job::create(
            Kind::SupervisorJob,
            CoroutineContext::new(),
            Some(parent),
            false,
            None,
        )
    }

    /// Makes a job of `kind` under `parent` (attached, and cancelled at once if the parent is
    /// cancelling or final). Its body's frame is nested in `frame_parent`'s, if given.
    pub(crate) fn create(
        kind: Kind,
        context: CoroutineContext,
        parent: Option<&Job>,
        lazy: bool,
        frame_parent: Option<&Job>,
    ) -> Job {
        let phase = if lazy {
            JobState::New
        } else {
            JobState::Active
        };
        let job = Job {
            inner: Arc::new(JobInner {
                kind,
                frame: FrameState::new(&context, frame_parent),
                context,
                phase: AtomicU8::new(phase as u8),
                state: Mutex::new(State {
                    phase,
                    body_done: false,
                    failure: None,
                    cancellation: None,
                    parent: parent.cloned(),
                    children: Slab::default(),
                    listeners: Slab::default(),
                    waiter: None,
                    rare: None,
                    abandoned: false,
                }),
                driver: AtomicWaker::new(),
                slot_in_parent: AtomicU32::new(u32::MAX),
            }),
        };
        if let Some(parent) = parent {
            match parent.attach_child(&job) {
                Attach::Attached => {}
                Attach::ParentCancelling(cause) => job.cancel_with_error(cause),
                Attach::Rejected(cause) => {
                    lock(&job.inner.state).parent = None;
                    job.cancel_with_error(cause);
                }
            }
        }
        job
    }

    /// Tracks `child` as a child of this job, unless this job is final.
    pub(crate) fn attach_child(&self, child: &Job) -> Attach {
        let mut st = lock(&self.inner.state);
        if st.phase.is_final() {
            let cause = match &final_error_of(&st) {
                Some(e) if e.is_cancellation() => e.clone(),
                Some(e) => CoroutineError::cancelled("parent job is cancelled", Some(e.clone())),
                None => CoroutineError::cancelled("parent job has completed", None),
            };
            return Attach::Rejected(cause);
        }
        let key = st.children.insert(child.clone());
        // Published under the parent's lock: `detach_child` reads it under the same lock.
        let key = u32::try_from(key).expect("slab keys are u32");
        child.inner.slot_in_parent.store(key, Ordering::Relaxed);
        if st.phase == JobState::Cancelling {
            Attach::ParentCancelling(child_cause(&mut st))
        } else {
            Attach::Attached
        }
    }

    /// The current state.
    pub fn state(&self) -> JobState {
        JobState::from_u8(self.inner.phase.load(Ordering::Acquire))
    }

    /// True while `Active` or `Completing`: started, and neither cancelled nor final.
    pub fn is_active(&self) -> bool {
        matches!(self.state(), JobState::Active | JobState::Completing)
    }

    /// True once final (`Cancelled` or `Completed`).
    pub fn is_completed(&self) -> bool {
        self.state().is_final()
    }

    /// True once cancelled or failed (`Cancelling` or `Cancelled`).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.state(), JobState::Cancelling | JobState::Cancelled)
    }

    /// True for `Job::supervisor()` and the job of a `supervisor_scope`.
    pub fn is_supervisor(&self) -> bool {
        self.inner.kind.is_supervisor()
    }

    /// Cancels this job and all its descendants. Does not cancel the parent. A no-op on a job
    /// that is already cancelling or final.
    pub fn cancel(&self) {
        self.cancel_with_error(CoroutineError::cancelled("Job was cancelled", None));
    }

    /// Cancels this job with a reason, which becomes the cause of the cancellation error.
    pub fn cancel_with(&self, reason: impl Into<BoxError>) {
        let cause = CoroutineError::failed(reason);
        self.cancel_with_error(CoroutineError::cancelled("Job was cancelled", Some(cause)));
    }

    /// Cancels with `cause`: a cancellation, or a failure (which then travels up).
    pub(crate) fn cancel_with_error(&self, cause: CoroutineError) {
        let mut st = lock(&self.inner.state);
        match st.phase {
            JobState::Cancelled | JobState::Completed => return,
            JobState::Cancelling => {
                record(&mut st, cause);
                return;
            }
            JobState::New | JobState::Active | JobState::Completing => {}
        }
        let never_started = st.phase == JobState::New;
        let lazy_start = st.rare.as_mut().and_then(|r| r.lazy_start.take());
        if never_started || self.inner.kind.is_standalone() {
            st.body_done = true;
        }
        let to_parent = (cause.is_failure() && !self.inner.kind.is_scoped())
            .then(|| st.parent.clone())
            .flatten()
            .map(|parent| Effect::ChildFailed {
                parent,
                error: cause.clone(),
            });
        record(&mut st, cause);
        self.set_phase(&mut st, JobState::Cancelling);
        let has_children = !st.children.is_empty();
        if has_children {
            let for_children = child_cause(&mut st);
            enqueue(|queue| {
                let children = st.children.iter();
                queue.extend(children.map(|c| Effect::Cancel(c.clone(), for_children.clone())));
            });
        }
        // A running body finalizes the job when it ends (`body_completed`): only a job whose
        // body is done already may be final now, once its children are.
        let finalize = st.body_done.then(|| Effect::Finalize(self.clone()));
        drop(st);
        // A lazy coroutine's future is user code: dropped outside the lock.
        drop(lazy_start);
        self.inner.driver.wake();
        if to_parent.is_some() || finalize.is_some() {
            schedule(to_parent.into_iter().chain(finalize));
        } else if has_children {
            drain();
        }
    }

    /// A child failed with `error`: cancel this job with it unless it is a supervisor. Returns
    /// true if the failure is *handled* here or above, so the child must not report it.
    pub(crate) fn child_failed(&self, error: &CoroutineError) -> bool {
        if self.inner.kind.is_supervisor() {
            return false;
        }
        self.cancel_with_error(error.clone());
        self.handles_exception()
    }

    /// Coroutine jobs handle the failures of their children; a standalone job only if an
    /// ancestor does (kotlinx's `JobImpl.handlesException`).
    fn handles_exception(&self) -> bool {
        let mut job = self.clone();
        loop {
            if !job.inner.kind.is_standalone() {
                return true;
            }
            match job.parent() {
                Some(parent) => job = parent,
                None => return false,
            }
        }
    }

    /// The parent, while this job is attached to one (until it is final).
    pub fn parent(&self) -> Option<Job> {
        lock(&self.inner.state).parent.clone()
    }

    /// Marks the body done: `Ok` for a normal end (or a body dropped by cancellation), `Err` for
    /// a failure or a cancellation the body returned.
    pub(crate) fn body_completed(&self, result: Result<(), CoroutineError>) {
        if let Err(error) = result {
            self.cancel_with_error(error);
        }
        let mut st = lock(&self.inner.state);
        st.body_done = true;
        if st.phase == JobState::Active || st.phase == JobState::New {
            self.set_phase(&mut st, JobState::Completing);
        }
        self.finalize_if_done(st);
    }

    /// Marks a scoped job whose caller dropped it, so its failure goes to its parent.
    pub(crate) fn abandon(&self) {
        lock(&self.inner.state).abandoned = true;
    }

    /// Completes a standalone job: it becomes final once all its children are. Returns true
    /// the first time, false if it was already completing, cancelled or final, or if this is a
    /// coroutine's job (a coroutine completes when its body does).
    pub fn complete(&self) -> bool {
        if !self.inner.kind.is_standalone() {
            return false;
        }
        let mut st = lock(&self.inner.state);
        if st.body_done || st.phase != JobState::Active {
            return false;
        }
        st.body_done = true;
        self.set_phase(&mut st, JobState::Completing);
        self.finalize_if_done(st);
        true
    }

    /// Starts a lazily created coroutine. Returns true if this call started it; false if it was
    /// started already, is final, or was not lazy.
    pub fn start(&self) -> bool {
        let mut st = lock(&self.inner.state);
        if st.phase != JobState::New {
            return false;
        }
        self.set_phase(&mut st, JobState::Active);
        let start = st.rare.as_mut().and_then(|r| r.lazy_start.take());
        drop(st);
        if let Some(start) = start {
            start();
        }
        true
    }

    /// Keeps what `start()` must run for a lazy coroutine. Gives it back if the job is no longer
    /// `New` (cancelled meanwhile), for the caller to drop outside the lock.
    #[must_use]
    pub(crate) fn set_lazy_start(&self, start: LazyStart) -> Option<LazyStart> {
        let mut st = lock(&self.inner.state);
        if st.phase != JobState::New {
            return Some(start);
        }
        st.rare.get_or_insert_default().lazy_start = Some(start);
        None
    }

    /// Becomes final if the body is done and no child is left; reports the failure to its owner,
    /// runs the completion handlers, wakes the joiners, then lets the parent know.
    fn try_finalize(&self) {
        self.finalize_if_done(lock(&self.inner.state));
    }

    /// `try_finalize` with the job's lock already taken (released here), so a transition that
    /// may end the job locks it once.
    fn finalize_if_done(&self, mut st: MutexGuard<'_, State>) {
        if st.phase.is_final()
            || st.phase == JobState::New
            || !st.body_done
            || !st.children.is_empty()
        {
            return;
        }
        let phase = match st.failure.is_some() || st.cancellation.is_some() {
            true => JobState::Cancelled,
            false => JobState::Completed,
        };
        self.set_phase(&mut st, phase);
        let failure = st.failure.clone();
        let child_cause = st.rare.as_mut().and_then(|r| r.child_cause.take());
        // Most jobs have no listener: skip the collecting (and the final error) then.
        let (listeners, final_error): (Vec<Listener>, _) = match st.listeners.is_empty() {
            true => (Vec::new(), None),
            false => (st.listeners.drain().collect(), final_error_of(&st)),
        };
        let waiter = st.waiter.take();
        let parent = st.parent.take();
        // A scoped job returns its failure to its caller, unless the caller is gone: then it
        // goes up like a launch's, so it is not lost.
        let returned_to_caller = self.inner.kind.is_scoped() && !st.abandoned;
        drop(st);
        drop(child_cause);

        if let Some(error) = &failure {
            let handled =
                returned_to_caller || parent.as_ref().is_some_and(|p| p.child_failed(error));
            if !handled {
                match &self.inner.kind {
                    Kind::Launch => exception::handle_coroutine_exception(&self.context(), error),
                    Kind::Async(sink) => sink.unhandled(error, &self.context()),
                    // A standalone job's failure came from a child, which reported it.
                    _ => {}
                }
            }
        }
        // Off the parent's list before anyone hears of the end (as kotlinx disposes the parent
        // handle first): a joiner that wakes finds the parent without this child.
        let parent_may_end = parent.as_ref().is_some_and(|p| p.detach_child(self));
        if !listeners.is_empty() {
            self.notify(listeners, final_error.as_ref());
        }
        // Every handler has run when a joiner wakes.
        if let Some(waker) = waiter {
            waker.wake();
        }
        if let (Some(parent), true) = (parent, parent_may_end) {
            schedule([Effect::Finalize(parent)]);
        }
    }

    /// Runs the completion handlers of a job that became final, then wakes the other joiners.
    fn notify(&self, listeners: Vec<Listener>, final_error: Option<&CoroutineError>) {
        let mut waiters = Vec::new();
        for listener in listeners {
            let handler = match listener {
                Listener::Handler(handler) => handler,
                Listener::Waker(waker) => {
                    waiters.push(waker);
                    continue;
                }
            };
            let outcome = catch_unwind(AssertUnwindSafe(|| handler(final_error)));
            if let Err(payload) = outcome {
                let error = CoroutineError::from_panic(payload);
                exception::report_handler_failure(
                    &self.context(),
                    "a completion handler panicked",
                    &error,
                    None,
                );
            }
        }
        for waker in waiters {
            waker.wake();
        }
    }

    /// Takes a final `child` off the list of children. Returns true if this job may be final
    /// now (its body is done and it has no child left), for the caller to finalize it through
    /// the effect queue, which keeps a long chain of endings off the stack.
    fn detach_child(&self, child: &Job) -> bool {
        let mut st = lock(&self.inner.state);
        let key = child.inner.slot_in_parent.load(Ordering::Relaxed) as usize;
        // Not the last reference (the caller holds `child`), so no drop runs under the lock.
        let removed = st.children.remove(key);
        debug_assert!(
            removed.is_some_and(|c| c == *child),
            "a child left a slot it did not hold"
        );
        st.body_done && st.children.is_empty() && !st.phase.is_final()
    }

    fn set_phase(&self, st: &mut State, phase: JobState) {
        st.phase = phase;
        self.inner.phase.store(phase as u8, Ordering::Release);
    }

    /// How many slots the list of children holds, live or free: what it costs in memory. For
    /// tests that check the list does not grow with finished children.
    #[doc(hidden)]
    pub fn __children_slots(&self) -> usize {
        lock(&self.inner.state).children.slots()
    }

    /// The children that have not finished yet.
    pub fn children(&self) -> Vec<Job> {
        lock(&self.inner.state).children.iter().cloned().collect()
    }

    /// Cancels every current child; this job stays as it is.
    pub fn cancel_children(&self) {
        for child in self.children() {
            child.cancel();
        }
    }

    /// The error this job ended with: `None` while it runs and after a normal completion.
    pub fn final_error(&self) -> Option<CoroutineError> {
        final_error_of(&lock(&self.inner.state))
    }

    /// The cancellation error a cancelled job's code sees (kotlinx's `getCancellationException`):
    /// its cancellation, or one caused by its failure.
    pub(crate) fn cancellation_error(&self) -> CoroutineError {
        let st = lock(&self.inner.state);
        match (&st.failure, &st.cancellation) {
            (Some(failure), _) => {
                CoroutineError::cancelled("job is cancelling", Some(failure.clone()))
            }
            (None, Some(cancellation)) => cancellation.clone(),
            (None, None) if st.phase == JobState::Completed => {
                CoroutineError::cancelled("job has completed normally", None)
            }
            (None, None) => CoroutineError::cancelled("job is not cancelled", None),
        }
    }

    /// Calls `handler` once, when the job becomes final, with its final error (`None` for a
    /// normal completion); at once if it is final already. The handler runs on the thread that
    /// completes the job and must be quick; a panic in it is caught and reported to the global
    /// exception handler.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use scopes_runtime::Job;
    ///
    /// let job = Job::new();
    /// let seen = Arc::new(Mutex::new(None));
    /// let sink = seen.clone();
    /// let _handle = job.invoke_on_completion(move |err| {
    ///     *sink.lock().unwrap() = Some(err.map(|e| e.to_string()));
    /// });
    /// job.cancel();
    /// assert_eq!(*seen.lock().unwrap(), Some(Some("Job was cancelled".to_string())));
    /// ```
    pub fn invoke_on_completion<F>(&self, handler: F) -> CompletionHandle
    where
        F: FnOnce(Option<&CoroutineError>) + Send + 'static,
    {
        let mut st = lock(&self.inner.state);
        if st.phase.is_final() {
            let error = final_error_of(&st);
            drop(st);
            handler(error.as_ref());
            return CompletionHandle {
                job: Weak::new(),
                key: 0,
            };
        }
        let key = st.listeners.insert(Listener::Handler(Box::new(handler)));
        CompletionHandle {
            job: Arc::downgrade(&self.inner),
            key,
        }
    }

    /// Waits until the job is final, whatever its outcome (a failure is not returned: ask
    /// [`final_error`](Self::final_error)). Starts a lazy job. Inside a coroutine, joining the
    /// coroutine itself or one of its ancestors returns at once, since waiting would never end.
    pub fn join(&self) -> Join {
        Join {
            job: self.clone(),
            key: None,
            checked: false,
        }
    }

    /// Cancels the job, then waits until it is final.
    pub async fn cancel_and_join(&self) {
        self.cancel();
        self.join().await;
    }

    /// The live tree under this job, one line per job, indented two spaces per level; a
    /// coroutine whose dispatcher differs from its parent's says where it runs:
    ///
    /// ```text
    /// SupervisorJob{Active}
    ///   "loader"#3 StandaloneCoroutine{Active} on Dispatchers.IO
    ///     "page 1"#4 StandaloneCoroutine{Completing}
    /// ```
    pub fn dump(&self) -> String {
        let mut out = String::new();
        let mut stack = vec![(self.clone(), 0usize, None::<Dispatcher>)];
        while let Some((job, depth, parent_dispatcher)) = stack.pop() {
            out.push_str(&"  ".repeat(depth));
            out.push_str(&format!("{job:?}"));
            let dispatcher = job
                .inner
                .context
                .get::<Dispatcher>()
                .cloned()
                .or(parent_dispatcher.clone());
            if let Some(d) = &dispatcher {
                if !parent_dispatcher.as_ref().is_some_and(|p| p.same_as(d)) {
                    out.push_str(&format!(" on {d}"));
                }
            }
            out.push('\n');
            let children = job.children();
            stack.extend(
                children
                    .into_iter()
                    .rev()
                    .map(|c| (c, depth + 1, dispatcher.clone())),
            );
        }
        out
    }

    /// Runs `f` on the frame's list of `try_finally` wakers, under the job's lock: `f` must
    /// only change the list (wake or drop nothing).
    pub(crate) fn with_finally<R>(&self, f: impl FnOnce(&mut FinallyList) -> R) -> R {
        f(&mut lock(&self.inner.state).rare.get_or_insert_default().finally)
    }

    /// The context without the job: its elements.
    pub(crate) fn bare_context(&self) -> &CoroutineContext {
        &self.inner.context
    }

    /// The coroutine's context with its own job, as handlers see it.
    pub(crate) fn context(&self) -> CoroutineContext {
        self.inner.context.with_job(self.clone())
    }

    /// True if `self` is `other` or one of its ancestors.
    pub(crate) fn is_ancestor_or_self_of(&self, other: &Job) -> bool {
        let mut job = Some(other.clone());
        while let Some(j) = job {
            if j == *self {
                return true;
            }
            job = j.parent();
        }
        false
    }
}

/// The error a final job ended with: its failure, else its cancellation; `None` before.
fn final_error_of(st: &State) -> Option<CoroutineError> {
    match st.phase.is_final() {
        true => st.failure.clone().or_else(|| st.cancellation.clone()),
        false => None,
    }
}

/// Keeps `cause` on the job: the first failure, with later ones suppressed on it, and the
/// first cancellation.
fn record(st: &mut State, cause: CoroutineError) {
    if cause.is_failure() {
        match &st.failure {
            None => st.failure = Some(cause),
            Some(first) => first.add_suppressed(&cause),
        }
    } else if st.cancellation.is_none() {
        st.cancellation = Some(cause);
    }
}

/// What the children of a cancelling job are cancelled with: its cancellation, or a
/// cancellation caused by its failure. Made once and shared by every child.
fn child_cause(st: &mut State) -> CoroutineError {
    if let Some(cause) = st.rare.as_ref().and_then(|r| r.child_cause.as_ref()) {
        return cause.clone();
    }
    let cause = match (&st.failure, &st.cancellation) {
        (Some(failure), _) => {
            CoroutineError::cancelled("parent job is cancelling", Some(failure.clone()))
        }
        (None, Some(cancellation)) => cancellation.clone(),
        (None, None) => CoroutineError::cancelled("parent job is cancelling", None),
    };
    st.rare.get_or_insert_default().child_cause = Some(cause.clone());
    cause
}

impl Default for Job {
    fn default() -> Self {
        Job::new()
    }
}

impl fmt::Debug for Job {
    /// `"name"#id StandaloneCoroutine{Active}` for a coroutine (name and id when known),
    /// `Job{Active}` / `SupervisorJob{Active}` for a standalone job.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.inner.context.get::<CoroutineName>();
        let id = self.inner.context.get::<CoroutineId>();
        match (name, id) {
            (Some(name), Some(id)) => write!(f, "\"{name}\"#{} ", id.0)?,
            (Some(name), None) => write!(f, "\"{name}\" ")?,
            (None, Some(id)) => write!(f, "\"coroutine\"#{} ", id.0)?,
            (None, None) => {}
        }
        write!(f, "{}{{{}}}", self.inner.kind.name(), self.state().word())
    }
}

/// Unregisters a completion handler: see [`Job::invoke_on_completion`].
#[must_use = "dropping the handle keeps the handler; call `dispose` to remove it"]
pub struct CompletionHandle {
    job: Weak<JobInner>,
    key: usize,
}

impl CompletionHandle {
    /// Removes the handler if it has not run yet.
    pub fn dispose(self) {
        if let Some(inner) = self.job.upgrade() {
            let removed = lock(&inner.state).listeners.remove(self.key);
            drop(removed);
        }
    }
}

impl fmt::Debug for CompletionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletionHandle")
            .field("key", &self.key)
            .finish()
    }
}

/// The future of [`Job::join`].
#[must_use = "futures do nothing unless awaited"]
pub struct Join {
    job: Job,
    key: Option<usize>,
    checked: bool,
}

impl Future for Join {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if !this.checked {
            this.checked = true;
            let joins_itself = crate::frame::with_current(|frame| {
                frame.is_some_and(|frame| this.job.is_ancestor_or_self_of(frame.job()))
            });
            if joins_itself {
                return Poll::Ready(());
            }
            this.job.start();
        }
        let mut st = lock(&this.job.inner.state);
        if st.phase.is_final() {
            // Final: the listeners were drained, this joiner's waker with them.
            this.key = None;
            return Poll::Ready(());
        }
        // A joiner polled again keeps its slot, with the current waker.
        let refresh = |slot: Option<&mut Waker>| match slot {
            Some(waker) => {
                if !waker.will_wake(cx.waker()) {
                    *waker = cx.waker().clone();
                }
                true
            }
            None => false,
        };
        let refreshed = match this.key {
            Some(INLINE_WAITER) => refresh(st.waiter.as_mut()),
            Some(key) => refresh(match st.listeners.get_mut(key) {
                Some(Listener::Waker(waker)) => Some(waker),
                _ => None,
            }),
            None => false,
        };
        if !refreshed {
            let key = match st.waiter.is_none() {
                true => {
                    st.waiter = Some(cx.waker().clone());
                    INLINE_WAITER
                }
                false => st.listeners.insert(Listener::Waker(cx.waker().clone())),
            };
            this.key = Some(key);
        }
        Poll::Pending
    }
}

/// The key of a `Join` whose waker sits in the job's inline `waiter` slot (slab keys are `u32`).
const INLINE_WAITER: usize = usize::MAX;

impl Drop for Join {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut st = lock(&self.job.inner.state);
            // Taken out under the lock, dropped after it.
            let removed = match key {
                INLINE_WAITER => st.waiter.take().map(Listener::Waker),
                key => st.listeners.remove(key),
            };
            drop(st);
            drop(removed);
        }
    }
}

impl fmt::Debug for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("job", &self.job).finish()
    }
}
#[cfg(all(test, target_pointer_width = "64", not(scopes_loom)))]
mod size {
    /// A coroutine costs its tokio task and one `Arc<JobInner>`; with the `Arc`'s two counts
    /// that is 248 bytes, which glibc serves from its 256-byte chunks. A field added here that
    /// pushes it over belongs in `Rare`.
    #[test]
    fn a_job_fits_a_256_byte_chunk() {
        assert!(std::mem::size_of::<super::JobInner>() <= 232);
    }
}
