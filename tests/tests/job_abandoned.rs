//! Issue 10, item 6: a standalone job that no handle can reach any more completes (as if
//! `complete()` were called): it leaves its parent and is freed, so dropped `Job::new()` +
//! `Job::child_of` pairs do not leak.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::{LIMIT, Rt, on_runtime, within};

const PAIRS: usize = 200_000;

/// Counts completions with no error; anything else is counted as `bad`.
#[derive(Clone, Default)]
struct Probe {
    normal: Arc<AtomicUsize>,
    bad: Arc<AtomicUsize>,
}

impl Probe {
    fn watch(&self, job: &Job) {
        let me = self.clone();
        drop(job.invoke_on_completion(move |error| {
            let counter = if error.is_none() { &me.normal } else { &me.bad };
            counter.fetch_add(1, Ordering::SeqCst);
        }));
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.normal.load(Ordering::SeqCst),
            self.bad.load(Ordering::SeqCst),
        )
    }

    /// Handlers that still exist (each holds a clone): a leaked job keeps its handler.
    fn alive_handlers(&self) -> usize {
        Arc::strong_count(&self.normal) - 1
    }
}

/// Issue 10, item 6: dropping the only handle of a child job completes it (handler with `None`)
/// and removes it from its parent's children at once.
#[test]
fn a_dropped_child_handle_completes_the_child_and_leaves_the_parent() {
    let probe = Probe::default();
    let p = Job::new();
    let c = Job::child_of(&p);
    probe.watch(&c);
    drop(c);
    assert!(p.children().is_empty(), "{:?}", p.children());
    assert_eq!(probe.counts(), (1, 0), "the child completed normally");
    assert!(p.is_active(), "the parent is untouched");
}

/// Issue 10, item 6: 200,000 pairs `Job::new()` + `Job::child_of(&p)` dropped child first, then
/// parent: every job completes normally (its handler ran with `None`) and nothing keeps them
/// (no handler closure left alive).
#[test]
fn dropped_pairs_child_first_complete_and_are_freed() {
    let probe = Probe::default();
    let p2 = probe.clone();
    within(LIMIT, "pairs child first", move || {
        for _ in 0..PAIRS {
            let p = Job::new();
            let c = Job::child_of(&p);
            p2.watch(&p);
            p2.watch(&c);
            drop(c);
            drop(p);
        }
    });
    assert_eq!(probe.counts(), (2 * PAIRS, 0));
    assert_eq!(
        probe.alive_handlers(),
        0,
        "jobs (and their handlers) leaked"
    );
}

/// Issue 10, item 6: the same, parent dropped first, then child.
#[test]
fn dropped_pairs_parent_first_complete_and_are_freed() {
    let probe = Probe::default();
    let p2 = probe.clone();
    within(LIMIT, "pairs parent first", move || {
        for _ in 0..PAIRS {
            let p = Job::new();
            let c = Job::child_of(&p);
            p2.watch(&p);
            p2.watch(&c);
            drop(p);
            drop(c);
        }
    });
    assert_eq!(probe.counts(), (2 * PAIRS, 0));
    assert_eq!(
        probe.alive_handlers(),
        0,
        "jobs (and their handlers) leaked"
    );
}

/// Issue 10, item 6: a parent whose only child's handle was dropped can complete: after
/// `complete()`, `join()` returns (it waited forever for the unreachable child).
#[test]
fn a_parent_of_a_dropped_child_completes_and_its_join_returns() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "parent of dropped child",
        || async {
            let parent = Job::new();
            {
                let _c = Job::child_of(&parent);
            }
            parent.complete();
            parent.join().await;
            assert!(parent.is_completed(), "{:?}", parent.state());
            assert_eq!(parent.final_error().map(|e| e.to_string()), None);
        },
    );
}

/// A `Join` waits for a job but can neither complete nor cancel it: it does not keep a
/// standalone job reachable. A join made before the last handle is dropped returns once the job,
/// unreachable, has completed; a pending join of a dropped child does not keep its parent
/// waiting.
#[test]
fn a_pending_join_does_not_keep_a_dropped_job_alive() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "join of a dropped job",
        || async {
            let job = Job::new();
            let join = job.join();
            drop(job);
            join.await; // returns: the job completed when its last handle went

            let parent = Job::new();
            let child = Job::child_of(&parent);
            let child_join = child.join();
            drop(child);
            parent.complete();
            parent.join().await;
            assert_eq!(parent.state(), JobState::Completed);
            child_join.await;
        },
    );
}
