//! `Job`: a node of the job tree, and the state machine that every coroutine, scope and
//! standalone job shares.
//!
//! # States and rules
//!
//! The diagram and the state table are on [`Job`], where the rendered docs show them; what a
//! state and "body done" mean, and the rules below as users see them, are in the guide's
//! chapter *The job tree* (`scopes::guide::job_tree`).
//!
//! # Invariants
//!
//! 1. **A job is final only when its body is done and it has no children** (children leave
//!    their parent after they are final).
//! 2. **Cancellation travels down**: entering `Cancelling` cancels every child.
//! 3. **Failure travels up**: a failing job tells its parent when it starts cancelling and
//!    again with its final error; scoped jobs return it to their caller instead.
//! 4. **One owner per failure**: the topmost job that *handles* it (coroutine jobs handle; a
//!    standalone job only if an ancestor does); later failures are suppressed on it.
//! 5. **No recursion across the tree.** Each transition changes one job under its own lock and
//!    returns the effects it asks for (cancel these children, tell that parent). A per-thread
//!    queue runs the effects one by one, so a 10,000-deep chain cancels and completes in constant
//!    stack. A cancellation writes its children's effects into the queue under its lock (the
//!    queue is the thread's own; nothing else is locked or run), so it copies no list of them.
//! 6. **No two job locks are held at once.** No user code (handlers, wakers, drops of futures,
//!    drops of `Job` handles) runs under a job lock.
//! 7. **The owner of a failure hears of it before anyone sees the job final.** A job whose
//!    failure must be reported is *sealed* (no child may join it, nobody else finalizes it), the
//!    report runs as a callback, and only then does the job become final and its joiners wake
//!    (kotlinx's order: `handleJobException` before the final state).
//! 8. **User code runs after the tree settles** (`effects`): a handler that cancels a job sees
//!    that cancellation spread when `cancel()` returns, as any caller would.
//!
//! # Where the parts live
//!
//! This file: the states, the job's parts, and `Job`, the public handle. `handle.rs`: what the
//! handle does (make, ask, cancel, complete, wait, hooks). `transitions.rs`: the
//! transitions and the steps after them. `effects.rs`: the per-thread queue of effects and
//! callbacks. `join.rs`: waiting. `dump.rs`: the tree as text and data. `slab.rs`: the lists.
//! `recycle.rs`: reusing the jobs of finished children.
//!
//! # Transitions
//!
//! Each runs under the job's lock, changes its state, and returns a `#[must_use]` outcome that
//! says what the caller must do once the lock is released:
//!
//! | transition | from | to | outcome: what the caller does after the lock |
//! |---|---|---|---|
//! | `transition_to_cancelling` | New, Active, Completing | Cancelling | `ToCancelling`: drop a lazy start, tell the parent, drain the children's cancellations, maybe finalize |
//! | `transition_to_final` | Completing, Cancelling (body done, no child) | sealed, or final | `ToFinal`: `Sealed` (tell the parent, report, then `end`), `Final` (announce) |
//! | `transition_to_ended` | sealed | Cancelled | `Ended`: leave the parent's list, run handlers, wake joiners |
//!
//! `start`, `complete` and `body_completed` are small enough to do their one change inline and
//! then call `finalize_if_done` with the lock still held, so a transition that may end the job
//! locks it once.
//!
//! # Lifetimes
//!
//! The tree's own references are [`Link`]s: a parent holds its children, a child holds its
//! parent until it is final; then the child lets go of its parent and the parent of the child,
//! so completed trees are freed. A scoped job's link to the job of its caller's frame
//! (`FrameState::parent`) is weak.
//!
//! A [`Job`] value is a *handle*: what users (and contexts) hold. A standalone job counts its
//! handles, as tokio-util's token tree does: when the last one drops, nobody can complete or
//! cancel the job any more, so it completes as `complete()` would (it becomes final once its
//! children are, then leaves its parent). Without that, a parent and a child that hold each
//! other would never be freed, and the parent would wait for the child forever. A coroutine's
//! job needs no count: its body ends it.
//!
//! # Size
//!
//! A job is one allocation beside its coroutine's tokio task, and holds the frame state too.
//! `JobInner` stays within 232 bytes (a 256-byte glibc chunk with the `Arc`'s counts; a unit
//! test checks it; the `tracing` feature adds a word for the span): what few jobs need (a lazy start, `try_finally` wakers, the children's
//! cancellation cause) sits in `Rare`, boxed on first use.

mod dump;
mod effects;
mod handle;
mod join;
#[cfg(all(test, scopes_loom))]
mod loom_tests;
mod recycle;
mod slab;
mod transitions;

use std::collections::VecDeque;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Waker;

use futures::task::AtomicWaker;

use crate::context::{ContextElement, CoroutineContext};
use crate::error::{BoxError, CoroutineError};
use crate::frame::FrameState;
use crate::sync::{AtomicBool, AtomicU8, AtomicU32, Mutex, lock};
pub use dump::JobSnapshot;
use effects::{Callback, defer};
pub use join::{CompletionHandle, Join};
pub(crate) use recycle::{RECYCLED_TASK_BYTES, Reuse};
pub(crate) use slab::Slab;
use transitions::{Attach, final_error_of};

/// The public state of a [`Job`]: see the diagram in the [`Job`] docs.
///
/// `#[non_exhaustive]`: match with a `_` arm; later versions may tell more states apart.
///
/// ```
/// use scopes_runtime::{Job, JobState};
///
/// let job = Job::new();
/// let child = Job::child_of(&job);
/// assert_eq!(job.state(), JobState::Active);
/// job.complete();
/// assert_eq!(job.state(), JobState::Completing); // waits for its child
/// child.complete();
/// assert_eq!(job.state(), JobState::Completed);
/// assert!(job.state().is_final());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
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
    /// How spans and events name a coroutine's kind; `None` for a standalone job.
    #[cfg(feature = "tracing")]
    fn span_kind(&self) -> Option<crate::trace::SpanKind> {
        use crate::trace::SpanKind;
        match self {
            Kind::Job | Kind::SupervisorJob => None,
            Kind::Launch => Some(SpanKind::Launch),
            Kind::Async(_) => Some(SpanKind::Async),
            Kind::Scope => Some(SpanKind::Scope),
            Kind::SupervisorScope => Some(SpanKind::SupervisorScope),
        }
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
    /// Finished children kept for the next launch to reuse (see `recycle`).
    recycled: VecDeque<Link>,
    /// A standalone job's: the elements of the `Scope` that owns it (`elements_id`), whose
    /// children may be kept (see `recycle`); 0 for none.
    owner_elements: usize,
}

/// Who is told when a job becomes final: a completion handler or a joiner's waker. One list for
/// both, so a job that has neither keeps one empty list.
pub(crate) enum Listener {
    Handler(Handler),
    Waker(Waker),
}

struct State {
    phase: JobState,
    body_done: bool,
    /// The job's failure is being reported (invariant 7): no child may join, and nobody else
    /// finalizes it. Only ever set on a job that is about to be final.
    sealed: bool,
    /// The first failure; later failures are suppressed on it.
    failure: Option<CoroutineError>,
    /// The first cancellation cause.
    cancellation: Option<CoroutineError>,
    parent: Option<Link>,
    children: Slab<Link>,
    listeners: Slab<Listener>,
    /// The first joiner's waker, kept inline: most awaited jobs have one joiner, which then
    /// costs no list.
    waiter: Option<Waker>,
    /// What few jobs need, allocated by the first that does.
    rare: Option<Box<Rare>>,
    /// A scoped job whose caller dropped it: nobody will receive its result.
    abandoned: bool,
    /// Shutting down: a child that attaches is cancelled at once (`Scope::shutdown`).
    refuses_children: bool,
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
    /// How many `Job` handles a standalone job has (unused for coroutine jobs).
    handles: AtomicU32,
    /// The context holds thread-local elements, to set around every poll of the body (kept
    /// here rather than in `frame`, where it would cost a word of padding).
    pub(crate) thread_locals: bool,
    /// Once it completes normally, its parent may keep it for a later launch to reuse (see
    /// `recycle`): a `launch` whose context is its scope's.
    reuse: Reuse,
    /// This job keeps finished children for reuse (read without the lock, as a hint).
    has_recycled: AtomicBool,
    /// The first poll of its body is not cancelled (an atomic or undispatched start); that
    /// poll clears it. Only the task that polls the body touches it.
    shielded: AtomicBool,
    /// What the body running in this job needs (see `frame`).
    pub(crate) frame: FrameState,
    /// The coroutine's span (`trace`), when it is enabled: boxed, so a disabled one costs a word.
    #[cfg(feature = "tracing")]
    pub(crate) span: Option<Box<tracing::Span>>,
}

/// The job tree's own reference to a job: a parent's to its child, a child's to its parent, a
/// queued effect's. Unlike a [`Job`] handle it does not keep a standalone job reachable.
#[derive(Clone)]
pub(crate) struct Link {
    inner: Arc<JobInner>,
}

impl PartialEq for Link {
    fn eq(&self, other: &Link) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
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
///
/// # States
///
/// ```text
///                                         wait for children
///      +-----+  start   +--------+  body done  +------------+  last child done  +-----------+
///      | New |--------->| Active |------------>| Completing |------------------>| Completed |
///      +-----+          +--------+             +------------+                   +-----------+
///         |                 |                        |
///         | cancel/fail     | cancel / fail          | cancel / a child fails
///         |                 v                        v
///         |            +------------+  body done and last child done   +-----------+
///         +----------->| Cancelling |--------------------------------->| Cancelled |
///                      +------------+  (a failure: after its handler)  +-----------+
/// ```
///
/// | state      | `is_active` | `is_completed` | `is_cancelled` |
/// |------------|-------------|----------------|----------------|
/// | New        | false       | false          | false          |
/// | Active     | true        | false          | false          |
/// | Completing | true        | false          | false          |
/// | Cancelling | false       | false          | true           |
/// | Cancelled  | false       | true           | true           |
/// | Completed  | false       | true           | false          |
///
/// A standalone job's "body" is done when it is `complete()`d, cancelled, or when its last
/// handle is dropped (nobody can complete it any more: it completes, and is freed once its
/// children are done).
pub struct Job {
    link: Link,
}

impl Clone for Job {
    #[inline]
    fn clone(&self) -> Job {
        Job::from_link(self.link.clone())
    }
}

impl Drop for Job {
    #[inline]
    fn drop(&mut self) {
        let inner = &self.link.inner;
        if inner.kind.is_standalone() && inner.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last handle: nobody can complete or cancel this job any more.
            self.link.complete_standalone();
        }
    }
}

impl ContextElement for Job {}
crate::__context_add!(Job);

impl PartialEq for Job {
    fn eq(&self, other: &Job) -> bool {
        self.link == other.link
    }
}
impl Eq for Job {}
impl Hash for Job {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.link.inner).hash(state)
    }
}

impl Default for Job {
    fn default() -> Self {
        Job::new()
    }
}

impl Job {
    /// The job's `Debug` without its state (`"name"#id StandaloneCoroutine`), for reports that
    /// outlive the moment.
    pub(crate) fn label(&self) -> String {
        struct Label<'a>(&'a Link);
        impl fmt::Display for Label<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.write_label(f)
            }
        }
        Label(&self.link).to_string()
    }
}

impl fmt::Debug for Job {
    /// `"name"#id StandaloneCoroutine{Active}` for a coroutine (name and id when known),
    /// `Job{Active}` / `SupervisorJob{Active}` for a standalone job. A cancelling or cancelled
    /// job also says why, so a failed coroutine and a cancelled one read differently (kotlinx
    /// prints `{Cancelled}` for both): `{Cancelled, failed: disk full}` for a failure (its own,
    /// or one of a child's that reached it), `{Cancelled, cancelled: Job was cancelled}` for a
    /// cancellation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.link, f)
    }
}

impl Link {
    /// `"name"#id StandaloneCoroutine`: the job's `Debug` without its state.
    fn write_label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::context::CoroutineName;
        use crate::debug::CoroutineId;
        let name = self.inner.context.get::<CoroutineName>();
        let id = self.inner.context.get::<CoroutineId>();
        match (name, id) {
            (Some(name), Some(id)) => write!(f, "\"{name}\"#{} ", id.0)?,
            (Some(name), None) => write!(f, "\"{name}\" ")?,
            (None, Some(id)) => write!(f, "\"coroutine\"#{} ", id.0)?,
            (None, None) => {}
        }
        f.write_str(self.inner.kind.name())
    }

    /// Why a cancelling or cancelled job is: its first failure, else its cancellation.
    fn cause(&self) -> Option<CoroutineError> {
        let st = lock(&self.inner.state);
        st.failure.clone().or_else(|| st.cancellation.clone())
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_label(f)?;
        let state = self.state();
        let cause = match state {
            JobState::Cancelling | JobState::Cancelled => self.cause(),
            _ => None,
        };
        let Some(cause) = cause else {
            return write!(f, "{{{}}}", state.word());
        };
        let how = if cause.is_cancellation() {
            "cancelled"
        } else {
            "failed"
        };
        // The error's `Display` is user code: a panic in it stays out of a `Debug`.
        let why = crate::user::call(|| cause.to_string())
            .unwrap_or_else(|_| "(the error's `Display` panicked)".to_owned());
        write!(f, "{{{}, {how}: {why}}}", state.word())
    }
}

#[cfg(all(test, target_pointer_width = "64", not(scopes_loom)))]
mod size {
    /// A coroutine costs its tokio task and one `Arc<JobInner>`; with the `Arc`'s two counts
    /// that is 248 bytes, which glibc serves from its 256-byte chunks. A field added here that
    /// pushes it over belongs in `Rare`.
    #[test]
    fn a_job_fits_a_256_byte_chunk() {
        // The `tracing` feature adds the span's box (a word): one glibc size class up, there
        // only.
        let limit = if cfg!(feature = "tracing") { 240 } else { 232 };
        assert!(std::mem::size_of::<super::JobInner>() <= limit);
    }
}

#[cfg(all(test, not(scopes_loom)))]
mod children_list {
    use crate::{CoroutineScope, Scope};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_jobs_list_of_children_does_not_grow_over_a_million_cycles() {
        let scope = Scope::new(());
        let job = scope.job();
        let mut most = 0;
        for _ in 0..1_000 {
            let batch: Vec<_> = (0..1_000).map(|_| scope.launch(async {})).collect();
            most = most.max(job.children_slots());
            for c in batch {
                c.join().await;
            }
        }
        // About one slot per live child (a slot vacated while a batch is launched may be passed
        // over once): bounded, not growing with the cycles.
        assert!(
            most <= 1_100,
            "at most about one slot per live child: {most}"
        );
        // A child leaves its parent's list before it wakes its joiners, but a join polled on
        // another worker may see it final a moment before it has left.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !job.children().is_empty() && std::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert!(job.children().is_empty());
        assert_eq!(
            job.children_slots(),
            0,
            "an empty list gives its memory back"
        );
    }
}
