//! Model checks of the job tree with loom: every interleaving of the racing transitions (within
//! loom's preemption bound) must keep the invariants of `job/mod.rs`.
//!
//! ```sh
//! RUSTFLAGS="--cfg scopes_loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p scopes-runtime --release --lib loom
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use loom::thread;

use super::{Job, JobState, Kind, Reuse};
use crate::context::CoroutineContext;
use crate::error::CoroutineError;
use crate::exception::CoroutineExceptionHandler;

/// A parent, and a child that another thread completes.
fn child_completing_on_another_thread() -> (Job, Job, thread::JoinHandle<()>) {
    let parent = Job::new();
    let child = Job::child_of(&parent);
    let c = child.clone();
    let t = thread::spawn(move || {
        c.complete();
    });
    (parent, child, t)
}

/// A child completing while its parent is cancelled: both end final, the parent last and
/// cancelled, with no child left in its list.
#[test]
fn child_completes_while_parent_is_cancelled() {
    loom::model(|| {
        let (parent, child, t) = child_completing_on_another_thread();
        parent.cancel();
        t.join().unwrap();
        assert_eq!(parent.state(), JobState::Cancelled);
        assert!(child.is_completed(), "{child:?}");
        assert!(parent.children().is_empty());
    });
}

/// A child registering while its parent completes: either the child is admitted and the parent
/// waits for it, or the parent was final and the child is cancelled at once, untracked.
#[test]
fn child_registers_while_parent_completes() {
    loom::model(|| {
        let parent = Job::new();
        let p = parent.clone();
        let t = thread::spawn(move || {
            let child = Job::child_of(&p);
            child.complete();
            child
        });
        parent.complete();
        let child = t.join().unwrap();
        assert!(child.is_completed());
        assert_eq!(
            parent.state(),
            JobState::Completed,
            "a completed child does not cancel it"
        );
        assert!(parent.children().is_empty());
        if child.state() == JobState::Cancelled {
            // Only when it came too late: rejected by a final parent.
            assert!(child.parent().is_none());
        }
    });
}

/// Two coroutines failing at once under a plain `Job`: the parent ends with one failure first
/// and the other suppressed on it, and each coroutine, a root launch, reports its own failure
/// once: never lost, never twice.
#[test]
fn two_children_fail_at_once() {
    loom::model(|| {
        let reports = Arc::new(AtomicUsize::new(0));
        let r = reports.clone();
        let handler = CoroutineExceptionHandler::new(move |_, _| {
            r.fetch_add(1, Ordering::SeqCst);
        });
        let context = CoroutineContext::new().with(handler);
        let parent = Job::new();
        let a = Job::create(Kind::Launch, context.clone(), Some(&parent), false, None);
        let b = Job::create(Kind::Launch, context, Some(&parent), false, None);
        // Two bodies end with an error at the same time (a body still runs while cancelling,
        // so its error is kept even if the other failure cancelled it first).
        let t = thread::spawn(move || a.body_completed(Err(CoroutineError::failed("a"))));
        b.body_completed(Err(CoroutineError::failed("b")));
        t.join().unwrap();
        assert_eq!(parent.state(), JobState::Cancelled);
        let error = parent.final_error().expect("the parent failed");
        let suppressed = error.suppressed();
        assert_eq!(suppressed.len(), 1, "{error:?}");
        let mut both = vec![error.to_string(), suppressed[0].to_string()];
        both.sort();
        assert_eq!(both, ["a", "b"]);
        assert_eq!(
            reports.load(Ordering::SeqCst),
            2,
            "each root launch reports its own failure"
        );
    });
}

/// A completion handler registered while the job completes runs exactly once.
#[test]
fn handler_registered_during_completion_runs_once() {
    loom::model(|| {
        let job = Job::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let j = job.clone();
        let t = thread::spawn(move || {
            j.complete();
        });
        let r = runs.clone();
        let _handle = job.invoke_on_completion(move |error| {
            assert!(error.is_none());
            r.fetch_add(1, Ordering::SeqCst);
        });
        t.join().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}

/// `join` racing the completion returns, whichever comes first.
#[test]
fn join_races_completion() {
    loom::model(|| {
        let (parent, _child, t) = child_completing_on_another_thread();
        parent.complete();
        loom::future::block_on(parent.join());
        assert_eq!(parent.state(), JobState::Completed);
        t.join().unwrap();
    });
}

/// The last handle of a child dropped on one thread while its parent is cancelled on another:
/// the child ends (completed or cancelled), the parent ends cancelled with no child left.
#[test]
fn last_handle_dropped_while_parent_cancels() {
    loom::model(|| {
        let parent = Job::new();
        let child = Job::child_of(&parent);
        let t = thread::spawn(move || drop(child));
        parent.cancel();
        t.join().unwrap();
        assert_eq!(parent.state(), JobState::Cancelled);
        assert!(parent.children().is_empty());
    });
}

/// A failing launch joined on another thread: whenever the job reads final or the join returns,
/// its exception handler has run (invariant 7).
#[test]
fn handler_runs_before_a_failed_job_reads_final() {
    loom::model(|| {
        let handled = Arc::new(AtomicUsize::new(0));
        let h = handled.clone();
        let handler = CoroutineExceptionHandler::new(move |_, _| {
            h.fetch_add(1, Ordering::SeqCst);
        });
        let context = CoroutineContext::new().with(handler);
        let job = Job::create(Kind::Launch, context, None, false, None);
        let j = job.clone();
        let t = thread::spawn(move || j.body_completed(Err(CoroutineError::failed("x"))));
        if job.is_completed() {
            assert_eq!(handled.load(Ordering::SeqCst), 1);
        }
        loom::future::block_on(job.join());
        assert_eq!(handled.load(Ordering::SeqCst), 1);
        t.join().unwrap();
    });
}

/// A child attaching while its parent's failure is reported: either it joined before the seal
/// (and the parent waited for it) or it is rejected, cancelled at once; the parent never ends
/// with a child in its list.
#[test]
fn child_attaches_while_a_failure_is_reported() {
    loom::model(|| {
        let handler = CoroutineExceptionHandler::new(|_, _| {});
        let context = CoroutineContext::new().with(handler);
        let parent = Job::create(Kind::Launch, context, None, false, None);
        let p = parent.clone();
        let t = thread::spawn(move || {
            let child = Job::child_of(&p);
            child.complete();
            child
        });
        parent.body_completed(Err(CoroutineError::failed("x")));
        let child = t.join().unwrap();
        assert!(child.is_completed(), "{child:?}");
        assert_eq!(parent.state(), JobState::Cancelled);
        assert!(parent.children().is_empty());
    });
}

/// A launch racing the end of a finished child's last handle, then a second launch: a kept job
/// is reused only once nothing else holds it, and each launch starts a fresh, active job in the
/// parent's list; the parent ends with none left.
#[test]
fn launches_reuse_a_kept_child_only_once_it_is_unique() {
    // Interleavings in which a launch did reuse the first job's allocation (std's atomic: it
    // counts across loom's runs).
    static REUSED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    loom::model(|| {
        let parent = Job::new();
        let launch = |parent: &Job| {
            Job::create_launch(CoroutineContext::new(), Some(parent), false, Reuse::JobOnly)
        };
        let first = launch(&parent);
        let address = Arc::as_ptr(first.inner());
        let t = thread::spawn(move || {
            first.body_completed(Ok(()));
            drop(first);
        });
        let second = launch(&parent);
        t.join().unwrap();
        let third = launch(&parent);
        for job in [&second, &third] {
            assert_eq!(job.state(), JobState::Active);
            assert!(job.children().is_empty());
        }
        assert_ne!(second, third);
        assert_eq!(parent.children().len(), 2);
        if [&second, &third]
            .iter()
            .any(|j| Arc::as_ptr(j.inner()) == address)
        {
            REUSED.fetch_add(1, Ordering::Relaxed);
        }
        second.body_completed(Ok(()));
        third.body_completed(Ok(()));
        assert!(second.is_completed() && third.is_completed());
        parent.complete();
        assert!(parent.is_completed());
        assert!(parent.children().is_empty());
    });
    assert!(
        REUSED.load(Ordering::Relaxed) > 0,
        "no interleaving reused the job"
    );
}
