//! `await_all` and `join_all` (issue 13, joiners): values in list order, fail-fast in completion
//! order, the rest cancelled *and awaited*, nothing lost, nothing cancelled on a drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::TestScope;
use scopes::{ErrorKind, JobState};
use scopes_tests::{LIMIT, Recorder, Rt, TestError, on_runtime, tracked};

const HOUR: Duration = Duration::from_secs(3600);

#[scopes::test]
async fn values_come_in_list_order_whatever_the_completion_order(scope: TestScope) {
    let ds: Vec<_> = [3u64, 1, 2]
        .into_iter()
        .map(|s| {
            scope.async_(async move {
                delay(Duration::from_secs(s)).await;
                s
            })
        })
        .collect();
    assert_eq!(await_all(ds).await.unwrap(), [3, 1, 2]);
    assert_eq!(scope.current_time(), Duration::from_secs(3));
    assert!(
        await_all(Vec::<Deferred<u8>>::new())
            .await
            .unwrap()
            .is_empty()
    );
}

/// The later-listed deferred fails first: its failure is the one returned, at its time; the
/// others are cancelled with a cause that names it, and have ended (cleanup run) by the return.
#[scopes::test]
async fn the_first_failure_in_completion_order_cancels_and_awaits_the_rest(scope: TestScope) {
    supervisor_scope(|s| async move {
        let (slow, slow_cleaned) = tracked(HOUR, Ok(1u32));
        let (late_fail, late_cleaned) = tracked(Duration::from_secs(5), Err(TestError("late")));
        let (early_fail, _) = tracked(Duration::from_secs(2), Err(TestError("early")));
        let slow = s.async_(slow);
        let slow_job = slow.job().clone();
        let late_job = {
            let late = s.async_(late_fail);
            let job = late.job().clone();
            let err = await_all([slow, late, s.async_(early_fail)])
                .await
                .unwrap_err();
            assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError("early")));
            job
        };
        // Failed at 3 s (2 s, then its own one-second cleanup), then waited for the others'
        // one-second cleanups.
        assert_eq!(scope.current_time(), Duration::from_secs(4));
        for (job, cleaned) in [(&slow_job, &slow_cleaned), (&late_job, &late_cleaned)] {
            assert_eq!(job.state(), JobState::Cancelled);
            assert!(
                cleaned.load(SeqCst),
                "the cleanup ran before await_all returned"
            );
        }
        let cause = slow_job.final_error().unwrap();
        assert!(cause.is_cancellation());
        assert_eq!(cause.cause().unwrap().to_string(), "early");
        Ok::<_, CoroutineError>(())
    })
    .await
    .unwrap();
}

/// As in kotlinx, a cancelled `Deferred` makes `await_all` return its cancellation; the
/// others are cancelled too.
#[scopes::test]
async fn a_cancelled_deferred_is_a_failure_of_await_all(scope: TestScope) {
    let (slow, cleaned) = tracked(HOUR, Ok(()));
    let slow = scope.async_(slow);
    let slow_job = slow.job().clone();
    let victim = scope.async_(async { delay(HOUR).await });
    let victim_job = victim.job().clone();
    scope.launch(async move {
        delay(Duration::from_secs(1)).await;
        victim_job.cancel();
    });
    let err = await_all([slow, victim]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(cleaned.load(SeqCst));
    assert!(slow_job.is_cancelled() && slow_job.is_completed());
}

/// A panicking child is a failure like any other: returned, the rest cancelled and awaited.
#[scopes::test]
async fn a_panicking_deferred_is_returned_and_the_rest_end(_scope: TestScope) {
    supervisor_scope(|s| async move {
        let (slow, cleaned) = tracked(HOUR, Ok(()));
        let boom = s.async_(async {
            delay(Duration::from_secs(1)).await;
            if true {
                panic!("kaboom");
            }
        });
        let err = await_all([s.async_(slow), boom]).await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("kaboom"));
        assert!(cleaned.load(SeqCst));
        Ok::<_, CoroutineError>(())
    })
    .await
    .unwrap();
}

/// A failure that comes while the others are being cancelled (here: a cleanup's error) is not
/// lost: it is suppressed on the returned error, and reaches no exception handler.
#[test]
fn failures_of_the_cancelled_ones_are_kept_as_suppressed() {
    on_runtime(Rt::Paused, LIMIT, "suppressed", || async {
        let recorder = Recorder::new();
        let scope = Scope::new(Job::supervisor() + recorder.handler());
        let stubborn = scope.async_(try_finally(
            async {
                delay(HOUR).await;
                Ok::<u8, TestError>(0)
            },
            async { Err::<(), _>(TestError("cleanup failed")) },
        ));
        let failing = scope.async_(async {
            delay(Duration::from_secs(1)).await;
            Err::<u8, _>(TestError("first"))
        });
        let err = await_all([stubborn, failing]).await.unwrap_err();
        assert_eq!(err.to_string(), "first");
        let suppressed: Vec<String> = err.suppressed().iter().map(|e| e.to_string()).collect();
        assert_eq!(suppressed, ["cleanup failed"]);
        scope.complete_and_join().await;
        assert!(recorder.messages().is_empty(), "{:?}", recorder.messages());
    });
}

/// Dropping `await_all` (a timeout) cancels nothing: it launched nothing, and the handles it
/// drops do not own their coroutines (as with any `Deferred`).
#[scopes::test]
async fn dropping_await_all_leaves_the_deferreds_running(scope: TestScope) {
    let a = scope.async_(async { delay(HOUR).await });
    let a_job = a.job().clone();
    let timed = tokio::time::timeout(Duration::from_secs(1), await_all([a])).await;
    assert!(timed.is_err());
    assert!(a_job.is_active());
    a_job.cancel();
}

#[scopes::test]
async fn join_all_waits_for_every_coroutine_and_returns_no_failure(_scope: TestScope) {
    supervisor_scope(|s| async move {
        let lazy = s.launch_with((), CoroutineStart::Lazy, async {
            delay(Duration::from_secs(2)).await;
        });
        let failing = s.launch_with(Recorder::new().handler(), CoroutineStart::Default, async {
            delay(Duration::from_secs(1)).await;
            Err::<(), _>(TestError("ignored by join_all"))
        });
        let value = s.async_(async { 5u8 });
        join_all([&lazy, &failing]).await;
        join_all([&value]).await;
        join_all(&[lazy.job().clone()]).await;
        assert!(
            lazy.is_completed() && !lazy.is_cancelled(),
            "started and joined"
        );
        assert_eq!(
            failing.final_error().unwrap().to_string(),
            "ignored by join_all"
        );
        assert_eq!(value.await.unwrap(), 5);
        Ok::<_, CoroutineError>(())
    })
    .await
    .unwrap();
}

/// The same fail-fast on a current-thread runtime with real time, and on a multi-thread one,
/// synchronised by channels only.
#[test]
fn await_all_fails_fast_on_real_runtimes() {
    for rt in [Rt::CurrentThread, Rt::MultiThread(2)] {
        on_runtime(rt, LIMIT, "await_all on a runtime", || async {
            let scope = Scope::new(Job::supervisor());
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let cleaned = Arc::new(AtomicBool::new(false));
            let flag = cleaned.clone();
            let parked = scope.async_(try_finally(
                async move {
                    let _ = tx.send(());
                    std::future::pending::<()>().await;
                },
                async move { flag.store(true, SeqCst) },
            ));
            let parked_job = parked.job().clone();
            let failing = scope.async_(async move {
                let _ = rx.await; // fails once the other is parked
                Err::<(), _>(TestError("no"))
            });
            let err = await_all([parked, failing]).await.unwrap_err();
            assert_eq!(err.to_string(), "no");
            assert!(cleaned.load(SeqCst));
            assert_eq!(parked_job.state(), JobState::Cancelled);
        });
    }
}

/// Errors are shared: two joiners attaching the same two failures to each other in opposite
/// orders must not make a cycle (printing one would never end).
#[test]
fn opposite_joins_of_the_same_failures_make_no_cycle() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let scope = Scope::new(Job::supervisor() + CoroutineExceptionHandler::new(|_, _| {}));
        let a = scope.async_(async { Err::<u32, _>(CoroutineError::failed("A")) });
        let b = scope.async_(async { Err::<u32, _>(CoroutineError::failed("B")) });
        a.join().await;
        b.join().await;
        let first = await_all([a.clone(), b.clone()]).await.unwrap_err();
        let second = await_all([b, a]).await.unwrap_err();
        let printed = format!("{first:?} {second:?}");
        assert!(
            printed.contains("\"A\"") && printed.contains("\"B\""),
            "{printed}"
        );
    });
}
