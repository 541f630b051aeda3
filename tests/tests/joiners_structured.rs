//! `first_success` and `all_successful` (issue 13, joiners): Java's `StructuredTaskScope`
//! joiners as scope builders. The winner's siblings are cancelled and awaited; every error of
//! an all-failing race is kept; a dropped joiner cancels what it launched.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::TestScope;
use scopes::{ErrorKind, JobState};
use scopes_tests::{LIMIT, Rt, TestError, on_runtime, tracked};

const HOUR: Duration = Duration::from_secs(3600);

type Jobs = Arc<Mutex<Vec<Job>>>;

#[scopes::test]
async fn first_success_returns_the_first_value_and_awaits_the_cancelled_rest(scope: TestScope) {
    let (failing, _) = tracked(Duration::from_secs(1), Err::<&str, _>(TestError("down")));
    let (winner, _) = tracked(Duration::from_secs(2), Ok("second"));
    let (loser, loser_cleaned) = tracked(HOUR, Ok("third"));
    let (side, side_cleaned) = tracked(HOUR, Ok(()));
    let jobs: Jobs = Arc::default();
    let keep = jobs.clone();
    let won = first_success(|s| async move {
        // A coroutine the block launches is cancelled with the losers too.
        keep.lock().unwrap().push(s.launch(side).job().clone());
        let loser = s.async_(loser);
        keep.lock().unwrap().push(loser.job().clone());
        vec![s.async_(failing), s.async_(winner), loser]
    })
    .await;
    assert_eq!(won.unwrap(), "second");
    // Won at 3 s (2 s and its own cleanup), then the losers' one-second cleanups.
    assert_eq!(scope.current_time(), Duration::from_secs(4));
    assert!(loser_cleaned.load(SeqCst) && side_cleaned.load(SeqCst));
    for job in jobs.lock().unwrap().iter() {
        assert_eq!(job.state(), JobState::Cancelled);
    }
}

/// All failing: the first failure in completion order, with every other failure (a panic
/// included) suppressed on it. A child's cancellation is primary only if nothing failed.
#[scopes::test]
async fn first_success_with_every_child_failing_carries_every_error(_scope: TestScope) {
    let err = first_success(|s| async move {
        vec![
            s.async_(async {
                delay(Duration::from_secs(3)).await;
                Err::<u8, _>(TestError("third"))
            }),
            s.async_(async {
                delay(Duration::from_secs(1)).await;
                Err::<u8, _>(TestError("first"))
            }),
            s.async_(async {
                delay(Duration::from_secs(2)).await;
                if true {
                    panic!("second");
                }
                Ok::<u8, TestError>(0)
            }),
            s.async_(async {
                current_scope().cancel(); // cancels itself at once
                delay(HOUR).await;
                Ok::<u8, TestError>(0)
            }),
        ]
    })
    .await
    .unwrap_err();
    assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError("first")));
    let suppressed = err.suppressed();
    assert_eq!(suppressed.len(), 2, "{suppressed:?}");
    assert!(suppressed[0].is_panic());
    assert_eq!(suppressed[1].to_string(), "third");
}

#[scopes::test]
async fn first_success_without_children_or_with_a_failing_block_fails(_scope: TestScope) {
    let none = first_success(|_| async { Vec::<Deferred<u8>>::new() }).await;
    assert!(none.unwrap_err().to_string().contains("no child"));
    let (orphan, cleaned) = tracked(HOUR, Ok(()));
    let err = first_success(|s| async move {
        let _orphan = s.async_(orphan);
        // Started (a coroutine cancelled before it first runs skips its cleanup, as in kotlinx).
        delay(Duration::from_secs(1)).await;
        Err::<Vec<Deferred<()>>, _>(TestError("block failed"))
    })
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "block failed");
    assert!(
        cleaned.load(SeqCst),
        "the block's failure cancelled and awaited its child"
    );
}

/// Dropped while racing (under `tokio::time::timeout`): every child it launched ends cancelled
/// by the time the enclosing coroutine has joined; nothing stays in the test's tree.
#[scopes::test]
async fn a_dropped_first_success_cancels_what_it_launched(scope: TestScope) {
    let jobs: Jobs = Arc::default();
    let keep = jobs.clone();
    let outer = scope.launch(async move {
        let race = first_success(|s| async move {
            let ds: Vec<_> = (0..3).map(|_| s.async_(delay(HOUR))).collect();
            keep.lock()
                .unwrap()
                .extend(ds.iter().map(|d| d.job().clone()));
            ds
        });
        assert!(
            tokio::time::timeout(Duration::from_secs(1), race)
                .await
                .is_err()
        );
    });
    outer.join().await;
    let jobs = jobs.lock().unwrap();
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|j| j.state() == JobState::Cancelled));
    assert!(scope.job().children().is_empty(), "{}", scope.dump());
}

/// Under `with_timeout`, the timeout cancels the race and waits for its children's cleanup.
#[scopes::test]
async fn first_success_under_with_timeout_times_out_after_the_cleanup(scope: TestScope) {
    let (a, a_cleaned) = tracked(HOUR, Ok(1u8));
    let (b, b_cleaned) = tracked(HOUR, Ok(2u8));
    let r = with_timeout(
        Duration::from_secs(5),
        first_success(|s| async move { vec![s.async_(a), s.async_(b)] }),
    )
    .await;
    assert_eq!(r.unwrap_err().kind(), ErrorKind::TimedOut);
    assert!(a_cleaned.load(SeqCst) && b_cleaned.load(SeqCst));
    assert_eq!(scope.current_time(), Duration::from_secs(6));
}

#[scopes::test]
async fn all_successful_returns_values_in_fork_order(scope: TestScope) {
    let values = all_successful(|s| async move {
        [3u64, 1, 2]
            .map(|secs| {
                s.async_(async move {
                    delay(Duration::from_secs(secs)).await;
                    secs
                })
            })
            .to_vec()
    })
    .await;
    assert_eq!(values.unwrap(), [3, 1, 2]);
    assert_eq!(scope.current_time(), Duration::from_secs(3));
}

/// The later-listed child fails first: it is the error returned; the others were cancelled and
/// have ended (their cleanup ran) when the joiner returns; a later failure is suppressed.
#[scopes::test]
async fn all_successful_fails_fast_with_the_first_failure_and_awaits_the_rest(scope: TestScope) {
    let (slow, slow_cleaned) = tracked(HOUR, Ok(0u8));
    let (late, late_cleaned) = tracked(Duration::from_secs(5), Err(TestError("late")));
    let err = all_successful(|s| async move {
        vec![
            s.async_(slow),
            s.async_(late),
            s.async_(async {
                delay(Duration::from_secs(2)).await;
                Err::<u8, _>(TestError("early"))
            }),
            s.async_(async {
                try_finally(delay(HOUR), async {
                    Err::<(), _>(TestError("cleanup failed"))
                })
                .await;
                Ok::<u8, TestError>(0)
            }),
        ]
    })
    .await
    .unwrap_err();
    assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError("early")));
    let suppressed: Vec<String> = err.suppressed().iter().map(|e| e.to_string()).collect();
    assert_eq!(suppressed, ["cleanup failed"]);
    assert!(slow_cleaned.load(SeqCst) && late_cleaned.load(SeqCst));
    assert_eq!(scope.current_time(), Duration::from_secs(3));
}

#[scopes::test]
async fn all_successful_with_a_panicking_child_returns_the_panic(_scope: TestScope) {
    let (slow, cleaned) = tracked(HOUR, Ok(()));
    let err = all_successful(|s| async move {
        vec![
            s.async_(slow),
            s.async_(async {
                // After the other one started, whatever the test's seed: a coroutine cancelled
                // before it first runs skips its cleanup.
                delay(Duration::from_secs(1)).await;
                if true {
                    panic!("child panicked");
                }
                Ok::<(), TestError>(())
            }),
        ]
    })
    .await
    .unwrap_err();
    assert!(err.is_panic());
    assert!(cleaned.load(SeqCst));
}

#[scopes::test]
async fn a_dropped_all_successful_cancels_what_it_launched(scope: TestScope) {
    let jobs: Jobs = Arc::default();
    let keep = jobs.clone();
    let outer = scope.launch(async move {
        let all = all_successful(|s| async move {
            let ds: Vec<_> = (0..3).map(|_| s.async_(delay(HOUR))).collect();
            keep.lock()
                .unwrap()
                .extend(ds.iter().map(|d| d.job().clone()));
            ds
        });
        assert!(
            tokio::time::timeout(Duration::from_secs(1), all)
                .await
                .is_err()
        );
    });
    outer.join().await;
    assert!(
        jobs.lock()
            .unwrap()
            .iter()
            .all(|j| j.state() == JobState::Cancelled)
    );
    assert!(scope.job().children().is_empty(), "{}", scope.dump());
}

/// Both joiners on real current-thread and multi-thread runtimes, synchronised by channels.
#[test]
fn the_joiners_on_real_runtimes() {
    for rt in [Rt::CurrentThread, Rt::MultiThread(2)] {
        on_runtime(rt, LIMIT, "joiners on a runtime", || async {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let cleaned = Arc::new(AtomicBool::new(false));
            let flag = cleaned.clone();
            let won = first_success(|s| async move {
                vec![
                    s.async_(try_finally(
                        async move {
                            let _ = tx.send(());
                            std::future::pending::<&str>().await
                        },
                        async move { flag.store(true, SeqCst) },
                    )),
                    s.async_(async move {
                        let _ = rx.await;
                        "winner"
                    }),
                ]
            })
            .await;
            assert_eq!(won.unwrap(), "winner");
            assert!(cleaned.load(SeqCst));
            let all = all_successful(|s| async move {
                (0..10u32)
                    .map(|i| s.async_(async move { i * i }))
                    .collect::<Vec<_>>()
            })
            .await;
            assert_eq!(all.unwrap().iter().sum::<u32>(), 285);
        });
    }
}

/// A race whose loser failed before the win (both done by the time the joiner looks): the
/// failure was part of the race, so no exception handler hears of it.
#[test]
fn a_loser_that_failed_before_the_win_is_not_reported_as_unawaited() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for _ in 0..50 {
            let reported = Arc::new(Mutex::new(Vec::new()));
            let sink = reported.clone();
            let handler = CoroutineExceptionHandler::new(move |_, e| {
                sink.lock().unwrap().push(e.to_string());
            });
            let scope = Scope::new(Job::supervisor() + handler);
            let won = scope
                .async_(async {
                    first_success(|s| async move {
                        vec![
                            s.async_(async { Ok::<u32, CoroutineError>(1) }),
                            s.async_(async { Err::<u32, _>(CoroutineError::failed("down")) }),
                        ]
                    })
                    .await
                })
                .await
                .unwrap();
            assert_eq!(won, 1);
            let picked = scope
                .async_(async {
                    Select::new()
                        .on_async(async { 1u32 }, |r| r.unwrap())
                        .on_async(
                            async { Err::<u32, _>(CoroutineError::failed("down")) },
                            |_| 2,
                        )
                        .await
                })
                .await
                .unwrap();
            assert_eq!(picked, 1);
            assert!(reported.lock().unwrap().is_empty(), "{reported:?}");
        }
    });
}
