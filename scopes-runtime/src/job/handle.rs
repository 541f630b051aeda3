//! What a [`Job`] handle does: making jobs, asking their state, cancelling and completing
//! them, waiting for them, and the crate's hooks into them. The states and the job's parts are
//! in `mod.rs`; the transitions these call are in `transitions.rs`.

use super::*;

impl Job {
    /// A standalone job: the root of a scope's tree. It stays active until it is cancelled, or
    /// until `complete()` is called (or its last handle is dropped) and all its children have
    /// finished.
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
    /// Complete it (or drop every handle to it) when it has nothing more to do, or `parent`
    /// waits for it.
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

    #[inline]
    pub(super) fn from_link(link: Link) -> Job {
        if link.inner.kind.is_standalone() {
            link.inner.handles.fetch_add(1, Ordering::Relaxed);
        }
        Job { link }
    }

    pub(crate) fn from_inner(inner: Arc<JobInner>) -> Job {
        Job::from_link(Link { inner })
    }

    pub(crate) fn inner(&self) -> &Arc<JobInner> {
        &self.link.inner
    }

    /// True if this is a standalone job and this handle is its only one: whoever holds it owns
    /// the job.
    pub(crate) fn is_sole_handle(&self) -> bool {
        self.link.inner.kind.is_standalone() && self.link.inner.handles.load(Ordering::Acquire) == 1
    }

    /// Its body's first poll is not to be cancelled (an atomic or undispatched start): set
    /// before its task runs.
    pub(crate) fn shield_first_poll(&self) {
        self.link.inner.shielded.store(true, Ordering::Relaxed);
    }

    /// Whether the next poll of its body is shielded from a cancellation.
    #[inline]
    pub(crate) fn is_shielded(&self) -> bool {
        self.link.inner.shielded.load(Ordering::Relaxed)
    }

    /// The shielded first poll happened.
    #[inline]
    pub(crate) fn end_shield(&self) {
        self.link.inner.shielded.store(false, Ordering::Relaxed);
    }

    /// Tells a standalone job the elements of the `Scope` that owns it: children launched there
    /// may be kept for reuse (see `recycle`).
    pub(crate) fn set_owner_elements(&self, id: usize) {
        if self.link.inner.kind.is_standalone() {
            self.link.set_owner_elements(id);
        }
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
        Job::create_with(kind, context, parent, lazy, frame_parent, Reuse::Never)
    }

    /// A `launch`ed coroutine's job; reusable (`reuse`) if its context is its scope's (it adds
    /// no element), so a parent that keeps it for reuse keeps nothing the scope does not hold.
    #[inline]
    pub(crate) fn create_launch(
        context: CoroutineContext,
        parent: Option<&Job>,
        lazy: bool,
        reuse: Reuse,
    ) -> Job {
        Job::create_with(Kind::Launch, context, parent, lazy, None, reuse)
    }

    #[inline]
    fn create_with(
        kind: Kind,
        context: CoroutineContext,
        parent: Option<&Job>,
        lazy: bool,
        frame_parent: Option<&Job>,
        reuse: Reuse,
    ) -> Job {
        let phase = if lazy {
            JobState::New
        } else {
            JobState::Active
        };
        let thread_locals = context.thread_locals().next().is_some();
        // Its parent coroutine's span is the parent's (or, for a job with no parent, such as a
        // `NonCancellable` scope, the enclosing frame's), whatever span is current here.
        #[cfg(feature = "tracing")]
        let span = kind.span_kind().and_then(|k| {
            crate::trace::coroutine_span(k, &context, || {
                parent.or(frame_parent).and_then(Job::nearest_span)
            })
        });
        // A kept job would close its span only when reused or dropped: a coroutine's span
        // ends when the coroutine does.
        #[cfg(feature = "tracing")]
        let reuse = match span {
            Some(_) => Reuse::Never,
            None => reuse,
        };
        // Built in place (in the new allocation, or over the kept job): one copy less.
        macro_rules! inner {
            () => {
                JobInner {
                    #[cfg(feature = "tracing")]
                    span,
                    kind,
                    frame: FrameState::new(frame_parent),
                    context,
                    phase: AtomicU8::new(phase as u8),
                    state: Mutex::new(State {
                        phase,
                        body_done: false,
                        sealed: false,
                        failure: None,
                        cancellation: None,
                        parent: parent.map(|p| p.link.clone()),
                        children: Slab::default(),
                        listeners: Slab::default(),
                        waiter: None,
                        rare: None,
                        abandoned: false,
                        refuses_children: false,
                    }),
                    driver: AtomicWaker::new(),
                    slot_in_parent: AtomicU32::new(u32::MAX),
                    handles: AtomicU32::new(0),
                    thread_locals,
                    reuse,
                    has_recycled: AtomicBool::new(false),
                    shielded: AtomicBool::new(false),
                }
            };
        }
        // A finished child the parent kept for reuse, else a new allocation.
        let link = match parent.and_then(|p| p.link.take_reusable()) {
            Some(mut link) => {
                link.reuse(inner!());
                link
            }
            None => Link {
                inner: Arc::new(inner!()),
            },
        };
        if let Some(parent) = parent {
            match parent.link.attach_child(&link) {
                Attach::Attached => {}
                Attach::ParentCancelling(cause) => link.cancel_with_error(cause),
                Attach::Rejected(cause) => {
                    let parent = lock(&link.inner.state).parent.take();
                    drop(parent);
                    link.cancel_with_error(cause);
                }
            }
        }
        Job::from_link(link)
    }

    /// The current state.
    pub fn state(&self) -> JobState {
        self.link.state()
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
        self.link.inner.kind.is_supervisor()
    }

    /// True for a job made by `Job::new()` or `Job::supervisor()` (no body of its own).
    pub(crate) fn is_standalone(&self) -> bool {
        self.link.inner.kind.is_standalone()
    }

    /// Cancels this job and all its descendants. Does not cancel the parent. A no-op on a job
    /// that is already cancelling or final. When it returns, every descendant is cancelling or
    /// final (also when called from a completion or exception handler); never panics.
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
        self.link.cancel_with_error(cause)
    }

    /// The span of this coroutine, else of the nearest ancestor that has one.
    #[cfg(feature = "tracing")]
    pub(crate) fn nearest_span(&self) -> Option<tracing::Span> {
        self.link.nearest_span()
    }

    /// The parent, while this job is attached to one (until it is final).
    pub fn parent(&self) -> Option<Job> {
        self.link.parent().map(Job::from_link)
    }

    /// Marks the body done: `Ok` for a normal end (or a body dropped by cancellation), `Err` for
    /// a failure or a cancellation the body returned.
    pub(crate) fn body_completed(&self, result: Result<(), CoroutineError>) {
        if let Err(error) = result {
            // A test names the coroutine a failure started in, wherever it is reported.
            #[cfg(feature = "test-util")]
            if error.is_failure()
                && let Some(test) = crate::test::scheduler::current()
            {
                test.record_origin(&error, self);
            }
            // Its own failure: an error event where it is handled, no cancellation event.
            self.link.cancel_with_error_traced(error, false);
        }
        let mut st = lock(&self.link.inner.state);
        st.body_done = true;
        if st.phase == JobState::Active || st.phase == JobState::New {
            self.link.set_phase(&mut st, JobState::Completing);
        }
        self.link.finalize_if_done(st);
    }

    /// Marks a scoped job whose caller dropped it, so its failure goes to its parent. If the job
    /// had already decided to return its failure to the caller (it is final, or being reported),
    /// that failure is given back: the caller, who will not receive it, must pass it on.
    #[must_use]
    pub(crate) fn abandon(&self) -> Option<CoroutineError> {
        let mut st = lock(&self.link.inner.state);
        st.abandoned = true;
        let decided = st.sealed || st.phase.is_final();
        decided.then(|| st.failure.clone()).flatten()
    }

    /// Completes a standalone job: it becomes final once all its children are. Returns true
    /// the first time, false if it was already completing, cancelled or final, or if this is a
    /// coroutine's job (a coroutine completes when its body does).
    pub fn complete(&self) -> bool {
        self.link.complete_standalone()
    }

    /// Starts a lazily created coroutine. Returns true if this call started it; false if it was
    /// started already, is final, or was not lazy.
    pub fn start(&self) -> bool {
        self.link.start()
    }

    /// Keeps what `start()` must run for a lazy coroutine. Gives it back if the job is no longer
    /// `New` (cancelled meanwhile), for the caller to drop outside the lock.
    #[must_use]
    pub(crate) fn set_lazy_start(&self, start: LazyStart) -> Option<LazyStart> {
        let mut st = lock(&self.link.inner.state);
        if st.phase != JobState::New {
            return Some(start);
        }
        st.rare.get_or_insert_default().lazy_start = Some(start);
        None
    }

    /// How many slots the list of children holds, live or free: what it costs in memory.
    #[cfg(all(test, not(scopes_loom)))]
    pub(crate) fn children_slots(&self) -> usize {
        lock(&self.link.inner.state).children.slots()
    }

    /// The children that have not finished yet.
    pub fn children(&self) -> Vec<Job> {
        let links: Vec<Link> = lock(&self.link.inner.state)
            .children
            .iter()
            .cloned()
            .collect();
        links.into_iter().map(Job::from_link).collect()
    }

    /// Cancels every current child; this job stays as it is.
    pub fn cancel_children(&self) {
        for child in self.link.children() {
            child.cancel_with_error(CoroutineError::cancelled("Job was cancelled", None));
        }
    }

    /// The error this job ended with: `None` while it runs and after a normal completion.
    pub fn final_error(&self) -> Option<CoroutineError> {
        final_error_of(&lock(&self.link.inner.state))
    }

    /// The cancellation error a cancelled job's code sees (kotlinx's `getCancellationException`):
    /// its cancellation, or one caused by its failure.
    pub(crate) fn cancellation_error(&self) -> CoroutineError {
        let st = lock(&self.link.inner.state);
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
    /// normal completion); at once if it is final already. "At once" means before this returns,
    /// except while the runtime is updating the job tree on this thread (called from a handler,
    /// from a waker or a `Drop` that an update runs, or from a coroutine such a wake-up resumed
    /// in place): then right after that step, so handlers never nest. The handler runs on the thread that
    /// completes the job, after the job tree has settled, and must be quick; a panic in it is
    /// caught and reported to the global exception handler. The job keeps the handler until it
    /// runs: a handler that holds a handle of its own standalone job keeps that job reachable,
    /// so its last-handle completion never comes (hold the handle elsewhere).
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
        let mut st = lock(&self.link.inner.state);
        if st.phase.is_final() {
            let final_error = final_error_of(&st);
            drop(st);
            // As a callback: at once, or right after the handler this is called from, so
            // handlers that register handlers on final jobs do not nest on the stack.
            defer(Callback::Notify {
                job: self.link.clone(),
                listeners: vec![Listener::Handler(Box::new(handler))],
                waiter: None,
                final_error,
            });
            return CompletionHandle::done();
        }
        let key = st.listeners.insert(Listener::Handler(Box::new(handler)));
        CompletionHandle::new(Arc::downgrade(&self.link.inner), key)
    }

    /// Waits until the job is final, whatever its outcome (a failure is not returned: ask
    /// [`final_error`](Self::final_error)). Starts a lazy job. Inside a coroutine, joining the
    /// coroutine itself or one of its ancestors returns at once, since waiting would never end.
    pub fn join(&self) -> Join {
        Join::new(self.link.clone())
    }

    /// From now on, a child that attaches is cancelled at once (a shutdown).
    pub(crate) fn refuse_children(&self) {
        lock(&self.link.inner.state).refuses_children = true;
    }

    /// Cancels the job, then waits until it is final.
    pub async fn cancel_and_join(&self) {
        self.cancel();
        self.join().await;
    }

    /// Runs `f` on the frame's list of `try_finally` wakers, under the job's lock: `f` must
    /// only change the list (wake or drop nothing).
    pub(crate) fn with_finally<R>(&self, f: impl FnOnce(&mut FinallyList) -> R) -> R {
        f(&mut lock(&self.link.inner.state)
            .rare
            .get_or_insert_default()
            .finally)
    }

    /// The context without the job: its elements.
    pub(crate) fn bare_context(&self) -> &CoroutineContext {
        &self.link.inner.context
    }

    /// The coroutine's context with its own job, as handlers see it.
    pub(crate) fn context(&self) -> CoroutineContext {
        self.link.context()
    }
}
