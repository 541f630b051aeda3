//! The transitions of a job (see the table in the module docs of `job`): each runs under the
//! job's lock and returns a `#[must_use]` outcome, and the step that acts on the outcome after
//! the lock. What the tree's own references (`Link`) do; `Job`'s public methods call them.

use std::sync::atomic::Ordering;
use std::task::Waker;

use super::effects::{Callback, Effect, defer, drain, enqueue, schedule};
use super::{Job, JobState, Kind, LazyStart, Link, Listener, Rare, Reuse, State};
use crate::context::CoroutineContext;
use crate::error::CoroutineError;
use crate::exception;
use crate::sync::{MutexGuard, lock};
use crate::user;
#[cfg(feature = "tracing")]
use tracing::Span;

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

/// What [`Link::transition_to_cancelling`] asks of its caller once the lock is released.
#[must_use]
enum ToCancelling {
    /// Cancelling or final already: the cause was recorded (or, on a final job, dropped).
    Already,
    /// The job entered `Cancelling`.
    Entered(EnteredCancelling),
}

struct EnteredCancelling {
    /// A lazy coroutine's start (its future): to drop, outside the lock.
    lazy_start: Option<LazyStart>,
    /// A failure to tell the parent of.
    to_parent: Option<Effect>,
    /// The body was done already: the job may be final once its children are.
    finalize: Option<Effect>,
    /// The children's cancellations are in this thread's queue: to drain.
    children_queued: bool,
}

/// What [`Link::transition_to_final`] found.
#[must_use]
enum ToFinal {
    /// The body runs, children are left, or the job is final or sealed already.
    NotYet,
    /// Sealed with a failure: tell the parent, have the failure's owner hear of it, then end.
    Sealed {
        failure: CoroutineError,
        parent: Option<Link>,
        returned_to_caller: bool,
    },
    /// Final now.
    Final(Ended),
}

/// What a job that became final leaves to do after the lock: see [`Link::announce`].
#[must_use]
struct Ended {
    listeners: Vec<Listener>,
    final_error: Option<CoroutineError>,
    waiter: Option<Waker>,
    parent: Option<Link>,
    /// The children's cause and the children kept for reuse (`recycle`), of no use to a
    /// final job: dropped after the lock.
    rare: Option<Box<Rare>>,
}

impl Link {
    /// `Job::start`.
    pub(super) fn start(&self) -> bool {
        let mut st = lock(&self.inner.state);
        if st.phase != JobState::New {
            return false;
        }
        self.set_phase(&mut st, JobState::Active);
        let start = st.rare.as_mut().and_then(|r| r.lazy_start.take());
        drop(st);
        if let Some(start) = start {
            // Spawning runs no user code, but a dispatcher may: a panic is this job's failure.
            if let Err(panic) = user::call(start) {
                self.cancel_with_error(panic);
            }
        }
        true
    }

    /// True if `self` is `other` or one of its ancestors.
    pub(super) fn is_ancestor_or_self_of(&self, other: &Link) -> bool {
        let mut job = Some(other.clone());
        while let Some(j) = job {
            if j == *self {
                return true;
            }
            job = j.parent();
        }
        false
    }

    /// The span of this job, else of its nearest ancestor that has one.
    #[cfg(feature = "tracing")]
    pub(super) fn nearest_span(&self) -> Option<tracing::Span> {
        let mut link = self.clone();
        loop {
            if let Some(span) = &link.inner.span {
                return Some(Span::clone(span));
            }
            link = link.parent()?;
        }
    }

    pub(super) fn state(&self) -> JobState {
        JobState::from_u8(self.inner.phase.load(Ordering::Acquire))
    }

    pub(super) fn parent(&self) -> Option<Link> {
        lock(&self.inner.state).parent.clone()
    }

    pub(super) fn children(&self) -> Vec<Link> {
        lock(&self.inner.state).children.iter().cloned().collect()
    }

    pub(super) fn context(&self) -> CoroutineContext {
        self.inner.context.with_job(Job::from_link(self.clone()))
    }

    /// Tracks `child` as a child of this job, unless this job is final (or sealed: about to be).
    pub(super) fn attach_child(&self, child: &Link) -> Attach {
        let mut st = lock(&self.inner.state);
        if st.phase.is_final() || st.sealed {
            let cause = match (&st.failure, &st.cancellation) {
                (Some(e), _) => {
                    CoroutineError::cancelled("parent job is cancelled", Some(e.clone()))
                }
                (None, Some(e)) => e.clone(),
                (None, None) => CoroutineError::cancelled("parent job has completed", None),
            };
            return Attach::Rejected(cause);
        }
        if st.refuses_children {
            let cause = CoroutineError::cancelled("the scope is shutting down", None);
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

    /// `Job::complete` (also what the drop of a standalone job's last handle does).
    pub(super) fn complete_standalone(&self) -> bool {
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

    /// Cancels with `cause`: a cancellation, or a failure (which then travels up).
    #[inline]
    pub(super) fn cancel_with_error(&self, cause: CoroutineError) {
        self.cancel_with_error_traced(cause, true)
    }

    /// `cancel_with_error`; `traced` says whether the cancellation is an event (not for a
    /// coroutine's own failure, which is one where it is handled).
    pub(super) fn cancel_with_error_traced(&self, cause: CoroutineError, traced: bool) {
        #[cfg(feature = "tracing")]
        let traced = traced
            .then(|| self.inner.kind.span_kind())
            .flatten()
            .filter(|_| crate::trace::cancellation_enabled())
            .map(|kind| (kind, cause.clone()));
        #[cfg(not(feature = "tracing"))]
        let _ = traced;
        let ToCancelling::Entered(step) = self.transition_to_cancelling(cause) else {
            return;
        };
        #[cfg(feature = "tracing")]
        if let Some((kind, cause)) = traced {
            crate::trace::cancelled(&Job::from_link(self.clone()), kind, &cause);
        }
        // A lazy coroutine's future is user code: dropped outside the lock, its panic caught
        // (the task's own drop turns a panicking body destructor into this job's failure).
        if let Some(start) = step.lazy_start
            && let Err(panic) = user::drop_value(start)
        {
            self.cancel_with_error(panic);
        }
        user::wake(|| self.inner.driver.wake());
        if step.to_parent.is_some() || step.finalize.is_some() {
            schedule(step.to_parent.into_iter().chain(step.finalize));
        } else if step.children_queued {
            drain();
        }
    }

    /// Under the lock: records `cause`, and enters `Cancelling` unless the job is cancelling or
    /// final already. Its children's cancellations go straight into this thread's queue.
    fn transition_to_cancelling(&self, cause: CoroutineError) -> ToCancelling {
        let mut st = lock(&self.inner.state);
        match st.phase {
            JobState::Cancelled | JobState::Completed => return ToCancelling::Already,
            JobState::Cancelling => {
                record(&mut st, cause);
                return ToCancelling::Already;
            }
            JobState::New | JobState::Active | JobState::Completing => {}
        }
        let lazy_start = st.rare.as_mut().and_then(|r| r.lazy_start.take());
        // A coroutine's body is done when its task says so, also for one that never ran (the
        // drop of its task does), so a panic in that drop still finds the job open.
        if self.inner.kind.is_standalone() {
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
        let children_queued = !st.children.is_empty();
        if children_queued {
            let for_children = child_cause(&mut st);
            enqueue(|queue| {
                let children = st.children.iter();
                queue.extend(children.map(|c| Effect::Cancel(c.clone(), for_children.clone())));
            });
        }
        // A running body finalizes the job when it ends (`body_completed`): only a job whose
        // body is done already may be final now, once its children are.
        let finalize = st.body_done.then(|| Effect::Finalize(self.clone()));
        ToCancelling::Entered(EnteredCancelling {
            lazy_start,
            to_parent,
            finalize,
            children_queued,
        })
    }

    /// A child failed with `error`: cancel this job with it unless it is a supervisor. Returns
    /// true if the failure is *handled* here or above, so the child must not report it.
    pub(super) fn child_failed(&self, error: &CoroutineError) -> bool {
        if self.inner.kind.is_supervisor() {
            return false;
        }
        self.cancel_with_error(error.clone());
        self.handles_exception()
    }

    /// Coroutine jobs handle the failures of their children; a standalone job only if an
    /// ancestor does (kotlinx's `JobImpl.handlesException`).
    pub(super) fn handles_exception(&self) -> bool {
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

    pub(super) fn try_finalize(&self) {
        self.finalize_if_done(lock(&self.inner.state));
    }

    /// Ends the job if its body is done and no child is left (the lock is released here, so a
    /// transition that may end the job locks it once). A failure whose owner must hear of it
    /// first seals the job and reports through a callback (invariant 7); otherwise the job
    /// becomes final here.
    pub(super) fn finalize_if_done(&self, mut st: MutexGuard<'_, State>) {
        match self.transition_to_final(&mut st) {
            ToFinal::NotYet => {}
            ToFinal::Sealed {
                failure,
                parent,
                returned_to_caller,
            } => {
                drop(st);
                let handled =
                    returned_to_caller || parent.is_some_and(|p| p.child_failed(&failure));
                // Nobody above took it: a launch reports it, an `async_` keeps it, and a scope
                // whose caller is gone reports it as a launch would. (A standalone job's failure
                // came from a child, which reported it.)
                let owner_hears = !handled && !self.inner.kind.is_standalone();
                if owner_hears {
                    defer(Callback::Report(self.clone(), failure));
                } else {
                    self.end();
                }
            }
            ToFinal::Final(ended) => {
                drop(st);
                self.announce(ended);
            }
        }
    }

    /// Under the lock: whether the job may end now, and how.
    fn transition_to_final(&self, st: &mut State) -> ToFinal {
        if st.phase.is_final()
            || st.sealed
            || st.phase == JobState::New
            || !st.body_done
            || !st.children.is_empty()
        {
            return ToFinal::NotYet;
        }
        let Some(failure) = st.failure.clone() else {
            return ToFinal::Final(self.transition_to_ended(st));
        };
        st.sealed = true;
        ToFinal::Sealed {
            failure,
            parent: st.parent.clone(),
            // A scoped job returns its failure to its caller, unless the caller is gone: then
            // it goes up like a launch's, so it is not lost.
            returned_to_caller: self.inner.kind.is_scoped() && !st.abandoned,
        }
    }

    /// The `Report` callback: the failure's owner hears of it, then the job ends, whatever the
    /// report did (user code: a handler, a failure's `Display`).
    pub(super) fn report_and_end(&self, failure: &CoroutineError) {
        let reported = user::call(|| match &self.inner.kind {
            Kind::Async(sink) => sink.unhandled(failure, &self.context()),
            // A standalone job's failure came from a child, which reported it.
            Kind::Job | Kind::SupervisorJob => {}
            Kind::Launch | Kind::Scope | Kind::SupervisorScope => {
                exception::handle_coroutine_exception(&self.context(), failure)
            }
        });
        self.end();
        if let Err(panic) = reported {
            exception::report_unprintable(&panic);
        }
    }

    /// Ends a sealed job once its failure was reported.
    pub(super) fn end(&self) {
        let ended = self.transition_to_ended(&mut lock(&self.inner.state));
        self.announce(ended);
    }

    /// Under the lock: the job becomes final; takes what must hear of it.
    fn transition_to_ended(&self, st: &mut State) -> Ended {
        let phase = match st.failure.is_some() || st.cancellation.is_some() {
            true => JobState::Cancelled,
            false => JobState::Completed,
        };
        self.set_phase(st, phase);
        // Most jobs have no listener: skip the collecting (and the final error) then.
        let (listeners, final_error) = match st.listeners.is_empty() {
            true => (Vec::new(), None),
            false => (st.listeners.drain().collect(), final_error_of(st)),
        };
        Ended {
            listeners,
            final_error,
            waiter: st.waiter.take(),
            parent: st.parent.take(),
            rare: st.rare.take(),
        }
    }

    /// After the lock: the final job leaves its parent's list, then its handlers run and its
    /// joiners wake (after the tree settles, when there are handlers).
    fn announce(&self, ended: Ended) {
        let Ended {
            listeners,
            final_error,
            waiter,
            parent,
            rare,
        } = ended;
        // Kept children hold their scopes' context elements: user code.
        if let Some(rare) = rare {
            super::recycle::drop_job(rare);
        }
        // A large task is not kept with its job (see `recycle`): let it go now.
        if self.inner.reuse == Reuse::JobOnly {
            drop(self.inner.driver.take());
        }
        // Off the parent's list before anyone hears of the end (as kotlinx disposes the parent
        // handle first): a joiner that wakes finds the parent without this child.
        let parent_may_end = parent.as_ref().is_some_and(|p| p.detach_child(self));
        // The parent's end is queued before this job's handlers: they run once the tree has
        // settled, and see the parent final if this was all it waited for (as in kotlinx, where
        // the parent's child-completion handler was registered first).
        let parent_ends = match (parent, parent_may_end) {
            (Some(parent), true) => {
                enqueue(|queue| queue.push_back(Effect::Finalize(parent)));
                true
            }
            _ => false,
        };
        if listeners.is_empty() {
            // The common case: one joiner or none.
            if let Some(waker) = waiter {
                user::wake(|| waker.wake());
            }
        } else if listeners.iter().any(|l| matches!(l, Listener::Handler(_))) {
            // If nothing drains yet, this runs the queued finalize, then the handlers.
            defer(Callback::Notify {
                job: self.clone(),
                listeners,
                waiter,
                final_error,
            });
        } else {
            self.notify(listeners, waiter, None);
        }
        if parent_ends {
            drain();
        }
    }

    /// Runs the completion handlers of a job that became final, then wakes the joiners: every
    /// handler has run when a joiner wakes.
    pub(super) fn notify(
        &self,
        listeners: Vec<Listener>,
        waiter: Option<Waker>,
        final_error: Option<&CoroutineError>,
    ) {
        let mut wakers = Vec::new();
        for listener in listeners {
            match listener {
                Listener::Handler(handler) => user::call_handler(
                    || self.context(),
                    "a completion handler panicked",
                    None,
                    || handler(final_error),
                ),
                Listener::Waker(waker) => wakers.push(waker),
            }
        }
        user::wake_all(waiter.into_iter().chain(wakers));
    }

    /// Takes a final `child` off the list of children. Returns true if this job may be final
    /// now (its body is done and it has no child left), for the caller to finalize it through
    /// the effect queue, which keeps a long chain of endings off the stack. The job may keep
    /// `child` for reuse (`recycle`).
    pub(super) fn detach_child(&self, child: &Link) -> bool {
        let mut st = lock(&self.inner.state);
        let key = child.inner.slot_in_parent.load(Ordering::Relaxed) as usize;
        // Not the last reference (the caller holds `child`), so no drop runs under the lock.
        let removed = st.children.remove(key);
        debug_assert!(
            removed.is_some_and(|c| c == *child),
            "a child left a slot it did not hold"
        );
        self.keep_for_reuse(&mut st, child);
        st.body_done && st.children.is_empty() && !st.phase.is_final()
    }

    pub(super) fn set_phase(&self, st: &mut State, phase: JobState) {
        st.phase = phase;
        self.inner.phase.store(phase as u8, Ordering::Release);
    }
}

/// The error a final job ended with: its failure, else its cancellation; `None` before.
pub(super) fn final_error_of(st: &State) -> Option<CoroutineError> {
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
