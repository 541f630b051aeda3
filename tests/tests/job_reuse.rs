//! A scope reuses the jobs of its finished children (issue 16): what users hold must not see it.
//! A handle, a joiner or a completion handler's handle keeps its job its own; a reused job is a
//! fresh one (its state, its error, its children, its handlers).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scopes::{CoroutineScope, Job, JobState, Scope, current_scope, yield_now};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_kept_across_many_reuses_keep_their_own_state() {
    let scope = Scope::new(Job::supervisor());
    let mut kept = Vec::new();
    for round in 0..2_000u32 {
        let child = scope.launch(async move {
            if round % 7 == 0 {
                yield_now().await;
            }
            if round % 100 == 50 {
                return Err(std::io::Error::other("boom"));
            }
            Ok(())
        });
        if round % 10 == 0 {
            kept.push((round, child.clone()));
        }
        if round % 3 == 0 {
            child.join().await;
        }
    }
    for (_, child) in &kept {
        child.join().await;
    }
    for (round, child) in &kept {
        let failed = round % 100 == 50;
        let expected = match failed {
            true => JobState::Cancelled,
            false => JobState::Completed,
        };
        assert_eq!(child.state(), expected, "child {round}");
        assert_eq!(child.final_error().is_some(), failed, "child {round}");
        assert!(child.job().children().is_empty());
        assert!(
            child.job().parent().is_none(),
            "a final job has left its parent"
        );
    }
    scope.complete_and_join().await;
    assert_eq!(scope.job().state(), JobState::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_job_runs_only_its_own_handlers_and_children() {
    let scope = Scope::new(());
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..500 {
        let child = scope.launch(async {
            // A child of its own, so a reused job starts with an empty list.
            current_scope().launch(yield_now()).join().await;
        });
        let count = ran.clone();
        let _handle = child.job().invoke_on_completion(move |error| {
            assert!(error.is_none());
            count.fetch_add(1, Ordering::SeqCst);
        });
        child.join().await;
        assert!(child.job().children().is_empty());
    }
    scope.complete_and_join().await;
    // Each handler ran once, for its own job: none was carried into a reused one.
    assert_eq!(ran.load(Ordering::SeqCst), 500);
}

#[tokio::test(flavor = "current_thread")]
async fn cancelling_a_parent_that_keeps_finished_children_cancels_only_live_ones() {
    let scope = Scope::new(());
    for _ in 0..20 {
        scope.launch(async {}).join().await;
    }
    let parked = scope.launch(std::future::pending::<()>());
    assert_eq!(
        scope.job().children().len(),
        1,
        "kept children are not children"
    );
    scope.job().cancel_and_join().await;
    assert_eq!(parked.state(), JobState::Cancelled);
    assert_eq!(scope.job().state(), JobState::Cancelled);
}

/// A handler that cancels its own job, in a scope on a job it does not own: kept children would
/// hold the handler, and so the job's last handle, for ever (the adversarial review's cycle).
/// That scope keeps nothing: once the scope and the other handle are gone, the job ends and its
/// parent completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_on_a_job_it_does_not_own_keeps_no_children() {
    let root = Scope::new(());
    let job = Job::child_of(&root.job());
    let handle = job.clone();
    let handler = scopes::CoroutineExceptionHandler::new(move |_, _| handle.cancel());
    let scope = Scope::new(job.clone() + handler);
    drop(job);
    for _ in 0..10 {
        scope.launch(async {}).join().await;
    }
    drop(scope);
    let ended =
        tokio::time::timeout(std::time::Duration::from_secs(30), root.complete_and_join()).await;
    assert!(
        ended.is_ok(),
        "the root still waits for:\n{}",
        root.job().dump()
    );
    assert_eq!(root.job().state(), JobState::Completed);
}

/// A coroutine waits for the end of a channel whose sender is an element of a scope it made:
/// once that scope and its finished child are gone, the channel ends. A kept child must not keep
/// the sender (the second adversarial review: the coroutine hung).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_child_keeps_nothing_its_parent_waits_to_see_dropped() {
    #[derive(Debug)]
    struct Holder(#[allow(dead_code)] tokio::sync::mpsc::Sender<()>);
    impl scopes::ContextElement for Holder {}

    let outer = Scope::new(());
    let waits = outer.launch(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let scope = Scope::new(scopes::current_context() + Holder(tx));
        scope.launch(async {}).join().await;
        drop(scope);
        assert!(rx.recv().await.is_none(), "every sender is gone");
    });
    let ended = tokio::time::timeout(std::time::Duration::from_secs(30), waits.join()).await;
    assert!(
        ended.is_ok(),
        "the coroutine still waits:\n{}",
        outer.job().dump()
    );
    assert_eq!(waits.state(), JobState::Completed);
}
