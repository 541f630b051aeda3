//! Issue 13: a coroutine cancelled before its first poll skips its body, and so the
//! `try_finally` in it (as in kotlinx: `DEFAULT` ran 0 of 2,000 `finally` blocks in the same
//! scenario, `ATOMIC` 2,000, `invokeOnCompletion` 2,000). `CoroutineStart::Atomic` guarantees
//! the cleanup; so does a completion handler, for a cleanup that need not suspend.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::run_test;
use scopes::{Dispatcher, Outcome, try_finally_with};
use scopes_tests::{LIMIT, Rt, on_runtime};

const JOBS: usize = 2000;

/// What a shutdown left behind.
#[derive(Debug, Default)]
struct Counts {
    /// Coroutines that began running (their first poll).
    polled: AtomicUsize,
    /// Bodies of the `try_finally` that began (a `try_finally` entered after the coroutine was
    /// cancelled runs only its cleanup: see its docs).
    started: AtomicUsize,
    cleaned: AtomicUsize,
    /// Cleanups told the body was cancelled.
    interrupted: AtomicUsize,
    completed: AtomicUsize,
}

/// Launches one job of the service: its body marks it started and works for an hour; its
/// cleanup (async: it suspends) marks it cleaned; a completion handler counts it completed.
fn launch_job(scope: &Scope, on: &Dispatcher, start: CoroutineStart, counts: &Arc<Counts>) {
    let (polled, body_counts, cleanup_counts) = (counts.clone(), counts.clone(), counts.clone());
    let job = scope.launch_with(on.clone(), start, async move {
        polled.polled.fetch_add(1, SeqCst);
        let _ = try_finally_with(
            async move {
                body_counts.started.fetch_add(1, SeqCst);
                delay(Duration::from_secs(3600)).await;
            },
            move |outcome: Outcome| async move {
                delay(Duration::from_millis(10)).await;
                if outcome.is_cancelled() {
                    cleanup_counts.interrupted.fetch_add(1, SeqCst);
                }
                cleanup_counts.cleaned.fetch_add(1, SeqCst);
            },
        )
        .await;
    });
    let completed = counts.clone();
    let _ = job.job().invoke_on_completion(move |_| {
        completed.completed.fetch_add(1, SeqCst);
    });
}

/// 500 jobs that started, then 1,500 still queued on a `limited_parallelism(4)` view, all
/// cancelled at once; every count once the scope has completed.
async fn shut_down_with(
    start: CoroutineStart,
    scope: Option<&scopes::test::TestScope>,
) -> Arc<Counts> {
    let counts = Arc::new(Counts::default());
    let service = Scope::new(Job::supervisor());
    let view = Dispatchers::default().limited_parallelism(4);
    for _ in 0..500 {
        launch_job(&service, &view, start, &counts);
    }
    if let Some(scope) = scope {
        scope.run_current().await; // the first 500 start and park in their work
    }
    for _ in 500..JOBS {
        launch_job(&service, &view, start, &counts);
    }
    service.job().cancel_and_join().await; // at once: 1,500 never got a turn
    counts
}

#[test]
fn default_start_skips_the_cleanup_of_a_coroutine_cancelled_before_it_started() {
    run_test(|scope| async move {
        let counts = shut_down_with(CoroutineStart::Default, Some(&scope)).await;
        assert_eq!(counts.started.load(SeqCst), 500);
        assert_eq!(
            counts.cleaned.load(SeqCst),
            500,
            "only the started ones cleaned up: 1,500 skipped their cleanup"
        );
        assert_eq!(
            counts.completed.load(SeqCst),
            JOBS,
            "every completion handler ran"
        );
    });
}

#[test]
fn atomic_start_runs_the_cleanup_of_every_coroutine_cancelled_before_it_started() {
    run_test(|scope| async move {
        let counts = shut_down_with(CoroutineStart::Atomic, Some(&scope)).await;
        assert_eq!(
            counts.started.load(SeqCst),
            500,
            "the queued bodies did not run"
        );
        assert_eq!(
            counts.cleaned.load(SeqCst),
            JOBS,
            "none is left without its cleanup"
        );
        assert_eq!(
            counts.interrupted.load(SeqCst),
            JOBS,
            "each was told it was cancelled"
        );
        assert_eq!(counts.completed.load(SeqCst), JOBS);
        // The cleanups ran within the limit of the view, each 10 ms, awaited by the join.
        assert!(scope.current_time() >= Duration::from_millis(10));
    });
}

/// The same on a real multi-thread runtime, where how many started is up to the threads: with
/// `Default` exactly the ones that began running clean up (one whose cancellation lands between
/// its first poll and its `try_finally` runs only the cleanup: counted as polled, not started);
/// with `Atomic` all of them do.
#[test]
fn on_a_multi_thread_runtime_atomic_cleans_up_every_job() {
    for start in [CoroutineStart::Default, CoroutineStart::Atomic] {
        let counts = on_runtime(Rt::MultiThread(2), LIMIT, "shutdown", move || async move {
            shut_down_with(start, None).await
        });
        let (polled, cleaned) = (counts.polled.load(SeqCst), counts.cleaned.load(SeqCst));
        assert_eq!(counts.completed.load(SeqCst), JOBS, "{start:?}");
        assert!(counts.started.load(SeqCst) <= polled, "{counts:?}");
        match start {
            CoroutineStart::Default => assert_eq!(cleaned, polled, "{counts:?}"),
            _ => assert_eq!(cleaned, JOBS, "{counts:?}"),
        }
    }
}
