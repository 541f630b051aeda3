//! Reusing the jobs of finished children (issue 16).
//!
//! A coroutine's job is allocated by the thread that launches it and, without this, freed by
//! the worker that ran it: a `malloc` and a cross-thread `free` per coroutine, which glibc
//! serialises on the launching thread's arena lock. Instead, a job that is still launching
//! keeps a few of its children that completed normally (in `Rare::recycled`), and a later
//! launch under it reuses one whose only owner is that list: the job's allocation goes back to
//! the launching side, with no `malloc` and no `free`.
//!
//! A kept job still holds its driver's waker, a reference to its finished tokio task, if the
//! task is small (`Reuse::WithTask`), so the task's memory too is freed by the launch that
//! reuses the job, on the launching side (as a `JoinHandle` awaited there does for tokio), not
//! by the worker that ran it. A larger task is let go when its job ends (`Reuse::JobOnly`).
//!
//! # Which children are kept
//!
//! A kept child must hold nothing that would not be alive anyway, or it could keep alive what
//! its parent waits for (a channel's sender the parent's body awaits the end of, a handle of a
//! job that waits for its last handle). So a child is kept only if:
//! - it is a `launch` that added nothing to its scope's context and has no span
//!   (`JobInner::reuse`), and it completed normally (no error kept);
//! - and its context's elements are none at all, or elements its parent holds for as long as
//!   it keeps children: a coroutine's own (a child of `current_scope()`), or, for a standalone
//!   job, those of the `Scope` that owns it (`Rare::owner_elements`, set by `Scope::new`; that
//!   scope's drop cancels the job, and so drops what it kept). A child of any other scope
//!   (`Scope::new(current_context() + a)`, `Scope::new(job.clone() + a)`) is not kept.
//!
//! Reusing one overwrites it in place, outside any lock (`Arc::get_mut`, so no other strong or
//! weak reference exists).
//!
//! # What a kept job costs, and for how long
//!
//! - A job keeps at most `KEPT`, and only while it may launch again (active, its body not
//!   done); a final job drops them. A job that launched and then
//!   idles holds at most `KEPT` finished jobs and small tasks, about 5 KiB (see
//!   `RECYCLED_TASK_BYTES`).
//! - Every drop of a kept job goes through `user` (its elements are user code, though by the
//!   rule above another holder normally outlives it): a panic goes to the global exception
//!   handler, never out of the launch that reused the job.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{JobInner, JobState, Link, State};
use crate::context::CoroutineContext;
use crate::sync::lock;
use crate::user;

/// The most finished children a job keeps for reuse.
const KEPT: usize = 8;

/// The largest task (the future tokio stores: the body and its bookkeeping) kept with its job:
/// a larger one's job is kept without it. So a job that launched and then idles holds at most
/// `KEPT` × (a job, ~250 bytes, and a tokio task of at most this many bytes and its header,
/// ~400 bytes) ≈ 5 KiB.
pub(crate) const RECYCLED_TASK_BYTES: usize = 256;

/// Whether a job, once finished, may be kept for reuse, and with its task.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Reuse {
    /// Not kept: an `async_` (its value's slot), a job with elements of its own, a span.
    Never,
    /// Kept; its task is let go when it ends (a task of more than `RECYCLED_TASK_BYTES`).
    JobOnly,
    /// Kept with its task (through the driver's waker): the reusing launch frees both.
    WithTask,
}

impl Link {
    /// A kept child whose only owner is this job's list, taken off the list (one lock of this
    /// job, only while it keeps any).
    #[inline]
    pub(super) fn take_reusable(&self) -> Option<Link> {
        match self.inner.has_recycled.load(Ordering::Relaxed) {
            true => self.take_kept(),
            false => None,
        }
    }

    fn take_kept(&self) -> Option<Link> {
        let mut st = lock(&self.inner.state);
        let recycled = &mut st.rare.as_mut()?.recycled;
        let kept = recycled.pop_front();
        if recycled.is_empty() {
            self.inner.has_recycled.store(false, Ordering::Relaxed);
        }
        drop(st);
        let mut link = kept?;
        // Unique: no other strong or weak reference, so none can appear.
        match Arc::get_mut(&mut link.inner).is_some() {
            true => Some(link),
            // Still held (a handle, a joiner, a completion handle's weak reference): its last
            // holder frees it. That may be this drop, if the holder let go meanwhile.
            false => {
                drop_job(link);
                None
            }
        }
    }

    /// Overwrites a job taken by `take_reusable` with a new one. The old one's context (its
    /// scope's elements, user code) is dropped through `user`, so a panicking element's `Drop`
    /// goes to the global exception handler instead of out of the launch that reused the job.
    pub(super) fn reuse(&mut self, inner: JobInner) {
        let slot = Arc::get_mut(&mut self.inner).expect("take_reusable found it unique");
        drop_job(std::mem::replace(slot, inner));
    }

    /// Sets the elements of the scope that owns this standalone job (see the module docs).
    pub(super) fn set_owner_elements(&self, id: usize) {
        lock(&self.inner.state)
            .rare
            .get_or_insert_default()
            .owner_elements = id;
    }

    /// Whether what `child` holds (its context's elements) may stay with this job: only what
    /// this job's own context or its owning scope holds anyway, so a kept child never keeps
    /// anything alive longer than it would live without it (see the module docs).
    fn may_keep(&self, st: &State, child: &Link) -> bool {
        let id = child.inner.context.elements_id();
        id == 0
            || match self.inner.kind.is_standalone() {
                true => st.rare.as_ref().is_some_and(|r| r.owner_elements == id),
                false => id == self.inner.context.elements_id(),
            }
    }

    /// Under this job's lock, as `child` leaves it: keeps `child` for reuse if it qualifies
    /// (see the module docs) and this job may launch again.
    pub(super) fn keep_for_reuse(&self, st: &mut State, child: &Link) {
        // The cheap checks first: a cancelled tree's children fail them.
        let keep = child.inner.reuse != Reuse::Never
            && st.phase == JobState::Active
            && !st.body_done
            && child.state() == JobState::Completed
            && self.may_keep(st, child)
            && st.rare.as_ref().is_none_or(|r| r.recycled.len() < KEPT);
        if keep {
            st.rare
                .get_or_insert_default()
                .recycled
                .push_back(child.clone());
            self.inner.has_recycled.store(true, Ordering::Relaxed);
        }
    }
}

/// Drops a job (or what was in its allocation) that may hold its scope's context elements:
/// user code, whose panic goes to the global exception handler.
pub(super) fn drop_job<T>(job: T) {
    user::call_handler(
        CoroutineContext::new,
        "dropping a finished job panicked",
        None,
        || drop(job),
    );
}

#[cfg(all(test, not(scopes_loom)))]
mod tests {
    use std::sync::Arc;

    use crate::context::CoroutineContext;
    use crate::{CoroutineName, CoroutineScope, CoroutineStart, Job, JobState, Scope};

    fn address(job: &Job) -> *const super::JobInner {
        Arc::as_ptr(job.inner())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_launch_reuses_the_job_of_a_joined_child_nobody_holds() {
        let scope = Scope::new(());
        let first = scope.launch(async {});
        first.join().await;
        let before = address(first.job());
        drop(first);
        let second = scope.launch(async {});
        assert_eq!(address(second.job()), before, "the kept job was reused");
        assert_eq!(second.state(), JobState::Active);
        second.join().await;
        assert_eq!(second.state(), JobState::Completed);
        assert_eq!(scope.job().children().len(), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_held_handle_keeps_its_job_from_reuse() {
        let scope = Scope::new(());
        let first = scope.launch(async {});
        first.join().await;
        let second = scope.launch(std::future::pending::<()>());
        assert_ne!(address(second.job()), address(first.job()));
        assert_eq!(first.state(), JobState::Completed);
        assert_eq!(second.state(), JobState::Active);
        // A weak reference (a completion handler's handle) also keeps it.
        let third = scope.launch(async {});
        let handle = third.job().invoke_on_completion(|_| {});
        third.join().await;
        let kept = address(third.job());
        drop(third);
        let fourth = scope.launch(async {});
        assert_ne!(address(fourth.job()), kept);
        handle.dispose();
        second.cancel_and_join().await;
        fourth.join().await;
    }

    /// How many finished children `job` keeps for reuse.
    fn kept(job: &Job) -> usize {
        let st = crate::sync::lock(&job.inner().state);
        st.rare.as_ref().map_or(0, |r| r.recycled.len())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn only_plain_launches_that_completed_normally_are_kept() {
        let scope = Scope::new(Job::supervisor());
        scope.launch(async {}).join().await;
        assert_eq!(kept(&scope.job()), 1);
        // Any job made under the parent reuses it; one with an element of its own (a name) is
        // not kept in turn: nothing of its context outlives it.
        let named = CoroutineName::new("named");
        scope
            .launch_with(named, CoroutineStart::Default, async {})
            .join()
            .await;
        assert_eq!(kept(&scope.job()), 0);
        // A failed child keeps its error: not kept either.
        let failed = scope.launch(async { Err::<(), _>(std::io::Error::other("boom")) });
        failed.join().await;
        assert!(failed.final_error().is_some());
        assert_eq!(kept(&scope.job()), 0);
        // An `async_` holds its value's slot: not kept.
        assert_eq!(scope.async_(async { 7 }).await.unwrap(), 7);
        assert_eq!(kept(&scope.job()), 0);
        // A large task's job is kept without its task: a kept job would hold its memory.
        let large = scope.launch(async {
            let buffer = [7u8; 4 * super::RECYCLED_TASK_BYTES];
            crate::yield_now().await;
            std::hint::black_box(&buffer);
        });
        large.join().await;
        assert_eq!(large.job().inner().reuse, super::Reuse::JobOnly);
        assert!(
            large.job().inner().driver.take().is_none(),
            "its task was let go"
        );
        drop(large);
        assert_eq!(kept(&scope.job()), 1);
        // A small one's is kept with it (its driver's waker) until the reuse.
        let small = scope.launch(crate::yield_now());
        small.join().await;
        assert_eq!(small.job().inner().reuse, super::Reuse::WithTask);
        assert!(
            small.job().inner().driver.take().is_some(),
            "its task is held"
        );
        drop(small);
        scope.launch(async {}).join().await;
        // At most a few, however many finish.
        let batch: Vec<_> = (0..100).map(|_| scope.launch(async {})).collect();
        for c in &batch {
            c.join().await;
        }
        assert_eq!(kept(&scope.job()), super::KEPT);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn only_children_holding_what_their_parent_holds_are_kept() {
        // Owned (the scope was its only holder): kept.
        let owned = Scope::new(Job::new());
        owned.launch(async {}).join().await;
        assert_eq!(kept(&owned.job()), 1);
        // Held elsewhere too: the scope's elements could hold that handle; nothing kept.
        let job = Job::new();
        let shared = Scope::new(job.clone());
        shared.launch(async {}).join().await;
        assert_eq!(kept(&job), 0);
        // A scope with no elements at all (a handle on the bare job): nothing to hold, kept.
        let bare = crate::ScopeHandle::new(CoroutineContext::new().with_job(job.clone()));
        bare.launch(async {}).join().await;
        assert_eq!(kept(&job), 1);
        // Under a coroutine's job, children of `current_scope()` (its own elements) are kept;
        // one of a scope with other elements reuses the kept job, and is not kept in turn.
        let outer = Scope::new(());
        let inner = outer
            .async_(async {
                let own = crate::current_scope();
                own.launch(async {}).join().await;
                let after_own = kept(&own.job());
                let other = Scope::new(crate::current_context() + CoroutineName::new("x"));
                other.launch(async {}).join().await;
                (after_own, kept(&own.job()))
            })
            .await
            .unwrap();
        assert_eq!(inner, (1, 0));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_final_parent_keeps_nothing() {
        let scope = Scope::new(());
        for _ in 0..20 {
            scope.launch(async {}).join().await;
        }
        let job = scope.job().clone();
        scope.complete_and_join().await;
        assert!(job.is_completed());
        assert!(crate::sync::lock(&job.inner().state).rare.is_none());
    }
}
