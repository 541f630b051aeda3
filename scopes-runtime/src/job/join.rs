//! Waiting for a job: the [`Join`] future, and the handle that removes a completion handler.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;
use std::task::{Context, Poll};

use super::{JobInner, Link, Listener};
use crate::sync::lock;

/// Unregisters a completion handler: see [`Job::invoke_on_completion`](crate::Job::invoke_on_completion).
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use scopes_runtime::Job;
///
/// let calls = Arc::new(AtomicUsize::new(0));
/// let job = Job::new();
/// let (c1, c2) = (calls.clone(), calls.clone());
/// let kept = job.invoke_on_completion(move |_| { c1.fetch_add(1, Ordering::SeqCst); });
/// let removed = job.invoke_on_completion(move |_| { c2.fetch_add(10, Ordering::SeqCst); });
/// removed.dispose(); // this one will not run
/// drop(kept); // dropping the handle keeps the handler
/// job.complete();
/// assert_eq!(calls.load(Ordering::SeqCst), 1);
/// ```
#[must_use = "dropping the handle keeps the handler; call `dispose` to remove it"]
pub struct CompletionHandle {
    job: Weak<JobInner>,
    key: usize,
}

impl CompletionHandle {
    pub(super) fn new(job: Weak<JobInner>, key: usize) -> Self {
        CompletionHandle { job, key }
    }

    /// The handle of a handler that ran already.
    pub(super) fn done() -> Self {
        CompletionHandle {
            job: Weak::new(),
            key: 0,
        }
    }

    /// Removes the handler if it has not run yet.
    pub fn dispose(self) {
        if let Some(inner) = self.job.upgrade() {
            let removed = lock(&inner.state).listeners.remove(self.key);
            // The handler (user code) is dropped outside the lock, its panic caught.
            crate::user::call_handler(
                crate::CoroutineContext::new,
                "a disposed completion handler panicked when dropped",
                None,
                move || drop(removed),
            );
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

/// The future of [`Job::join`](crate::Job::join). It holds the job as the tree does, not as a handle: waiting
/// for a job neither completes nor cancels it, so a `Join` does not keep a standalone job
/// reachable (see [`Job`](crate::Job)'s last-handle rule).
#[must_use = "futures do nothing unless awaited"]
pub struct Join {
    job: Link,
    key: Option<usize>,
    checked: bool,
}

impl Join {
    pub(super) fn new(job: Link) -> Join {
        Join {
            job,
            key: None,
            checked: false,
        }
    }
}

impl Future for Join {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if !this.checked {
            this.checked = true;
            let joins_itself = crate::frame::with_current(|frame| {
                frame.is_some_and(|frame| this.job.is_ancestor_or_self_of(&frame.job().link))
            });
            if joins_itself {
                return Poll::Ready(());
            }
            this.job.start();
        }
        // Final: the listeners were taken, this joiner's waker with them (the phase is
        // published in the same critical section).
        if this.job.state().is_final() {
            this.key = None;
            return Poll::Ready(());
        }
        // A waker's clone and drop may be a foreign executor's code: never under the job's lock
        // (invariant 6).
        let waker = cx.waker().clone();
        let mut st = lock(&this.job.inner.state);
        if st.phase.is_final() {
            drop(st);
            this.key = None;
            return Poll::Ready(());
        }
        // A joiner polled again keeps its slot, with the current waker.
        let slot = match this.key {
            Some(INLINE_WAITER) => st.waiter.as_mut(),
            Some(key) => match st.listeners.get_mut(key) {
                Some(Listener::Waker(waker)) => Some(waker),
                _ => None,
            },
            None => None,
        };
        let unused = match slot {
            Some(current) if current.will_wake(&waker) => Some(waker),
            Some(current) => Some(std::mem::replace(current, waker)),
            None => {
                let key = match st.waiter.is_none() {
                    true => {
                        st.waiter = Some(waker);
                        INLINE_WAITER
                    }
                    false => st.listeners.insert(Listener::Waker(waker)),
                };
                this.key = Some(key);
                None
            }
        };
        drop(st);
        drop(unused);
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
