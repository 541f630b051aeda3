//! `Scope::shutdown`: closed for new work, a grace period, then cancellation; the report's
//! counts; `cancel_and_join`; `shutdown_on`.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::run_test;

const SECOND: Duration = Duration::from_secs(1);

fn named(scope: &Scope, name: &str, body: impl std::future::Future<Output = ()> + Send + 'static) {
    scope.coroutine().name(name).launch(body);
}

#[test]
fn the_report_counts_what_finished_failed_and_was_cancelled_at_the_end_of_the_grace() {
    run_test(|test| async move {
        let reported = Arc::new(AtomicUsize::new(0));
        let seen = reported.clone();
        let scope = Scope::new(
            Job::supervisor()
                + CoroutineExceptionHandler::new(move |_, _| {
                    seen.fetch_add(1, SeqCst);
                }),
        );
        for i in 0..3u64 {
            named(
                &scope,
                &format!("quick-{i}"),
                delay(SECOND * (i + 1) as u32),
            );
        }
        scope.launch_with(
            CoroutineName::new("broken"),
            CoroutineStart::Default,
            async {
                delay(SECOND * 2).await;
                Err::<(), CoroutineError>(CoroutineError::failed(std::io::Error::other("disk")))
            },
        );
        named(&scope, "slow-a", delay(SECOND * 60));
        named(&scope, "slow-b", delay(SECOND * 90));
        test.run_current().await;
        let report = scope.shutdown(SECOND * 10).await;
        assert_eq!(
            test.current_time(),
            SECOND * 10,
            "the grace period, then no more"
        );
        assert_eq!(
            (
                report.finished,
                report.failed,
                report.cancelled,
                report.drained
            ),
            (3, 1, 2, false)
        );
        let mut names = report.cancelled_names.clone();
        names.sort();
        assert_eq!(names, ["slow-a", "slow-b"]);
        assert_eq!(report.total(), 6);
        assert_eq!(
            reported.load(SeqCst),
            1,
            "the failure reached the handler once"
        );
        assert!(scope.job().is_completed(), "{:?}", scope.job());
        assert_eq!(
            report.to_string(),
            format!(
                "3 finished, 1 failed, 2 cancelled ({})",
                report.cancelled_names.join(", ")
            )
        );
    });
}

#[test]
fn a_scope_that_drains_in_time_returns_when_the_last_one_ends() {
    run_test(|test| async move {
        let scope = Scope::new(Job::supervisor());
        named(&scope, "a", delay(SECOND));
        named(&scope, "b", delay(SECOND * 3));
        test.run_current().await;
        let report = scope.shutdown(SECOND * 10).await;
        assert_eq!(test.current_time(), SECOND * 3);
        assert_eq!(
            (
                report.finished,
                report.failed,
                report.cancelled,
                report.drained
            ),
            (2, 0, 0, true)
        );
        assert!(report.cancelled_names.is_empty());
    });
}

#[test]
fn launches_during_the_shutdown_are_refused_but_running_coroutines_may_still_launch_children() {
    run_test(|test| async move {
        let scope = Scope::new(Job::supervisor());
        let (sub_done_tx, sub_done) = tokio::sync::oneshot::channel();
        named(&scope, "parent", async move {
            delay(SECOND).await;
            // Its own sub-work is not the scope's: it runs.
            let sub = current_scope().launch(delay(SECOND));
            sub.join().await;
            sub_done_tx
                .send(sub.is_completed() && !sub.is_cancelled())
                .ok();
        });
        test.run_current().await;
        let launcher = scope.handle();
        let shutdown = test.async_(async move { scope.shutdown(SECOND * 10).await });
        test.run_current().await;
        let refused = launcher.launch(async { unreachable!("a refused coroutine never runs") });
        assert!(refused.is_cancelled());
        assert_eq!(
            refused.final_error().map(|e| e.to_string()).as_deref(),
            Some("the scope is shutting down")
        );
        let report = shutdown.await.unwrap();
        assert!(sub_done.await.unwrap(), "the parent's child ran to its end");
        assert_eq!((report.finished, report.cancelled), (1, 0), "{report:?}");
    });
}

#[test]
fn cancelled_coroutines_run_their_cleanup_before_the_shutdown_returns() {
    run_test(|test| async move {
        let cleaned = Arc::new(AtomicUsize::new(0));
        let scope = Scope::new(Job::supervisor());
        for i in 0..5 {
            let cleaned = cleaned.clone();
            named(
                &scope,
                &format!("worker-{i}"),
                try_finally(delay(SECOND * 3600), async move {
                    // An async cleanup: it suspends, in virtual time too.
                    delay(SECOND).await;
                    cleaned.fetch_add(1, SeqCst);
                }),
            );
        }
        test.run_current().await;
        let report = scope.shutdown(SECOND * 2).await;
        assert_eq!(report.cancelled, 5);
        assert_eq!(cleaned.load(SeqCst), 5);
        assert_eq!(
            test.current_time(),
            SECOND * 3,
            "grace, then one second of cleanup"
        );
    });
}

#[test]
fn a_failure_in_a_regular_scope_cancels_its_siblings_which_the_report_counts() {
    run_test(|test| async move {
        let scope = Scope::new(Job::new() + CoroutineExceptionHandler::new(|_, _| {}));
        named(&scope, "sibling", delay(SECOND * 60));
        scope.launch(async {
            delay(SECOND).await;
            panic!("worker broke");
        });
        test.run_current().await;
        let report = scope.shutdown(SECOND * 10).await;
        assert_eq!(
            (report.failed, report.cancelled, report.drained),
            (1, 1, true)
        );
        assert_eq!(report.cancelled_names, ["sibling"]);
        assert_eq!(test.current_time(), SECOND);
    });
}

#[test]
fn dropping_the_shutdown_future_stops_the_wait_not_the_work() {
    run_test(|test| async move {
        let scope = Scope::new(Job::supervisor());
        let worker = scope.launch(delay(SECOND * 5));
        test.run_current().await;
        let waited = with_timeout_or_none(SECOND, scope.shutdown(SECOND * 60))
            .await
            .unwrap();
        assert!(waited.is_none());
        assert!(worker.is_active(), "the grace period was not over");
        assert!(scope.launch(async {}).is_cancelled(), "still closed");
        worker.join().await;
        assert!(worker.is_completed() && !worker.is_cancelled());
    });
}

#[test]
fn cancel_and_join_ends_everything_and_waits_for_the_cleanup() {
    run_test(|test| async move {
        let cleaned = Arc::new(Mutex::new(Vec::new()));
        let scope = Scope::new(());
        for i in 0..3 {
            let cleaned = cleaned.clone();
            scope.launch(try_finally(delay(SECOND * 3600), async move {
                delay(SECOND).await;
                cleaned.lock().unwrap().push(i);
            }));
        }
        test.run_current().await;
        scope.cancel_and_join().await;
        assert_eq!(cleaned.lock().unwrap().len(), 3);
        assert!(scope.job().is_cancelled());
        assert_eq!(test.current_time(), SECOND);
    });
}

#[test]
fn shutdown_on_waits_for_its_signal() {
    run_test(|test| async move {
        let scope = Scope::new(Job::supervisor());
        named(&scope, "work", delay(SECOND * 60));
        let (signal_tx, signal) = tokio::sync::oneshot::channel::<()>();
        let stopper = test.launch(async move {
            delay(SECOND * 5).await;
            signal_tx.send(()).ok();
        });
        let report = scope.shutdown_on(signal, SECOND * 5).await;
        stopper.join().await;
        assert_eq!(test.current_time(), SECOND * 10);
        assert_eq!(report.cancelled_names, ["work"]);
    });
}

#[test]
fn two_thousand_queued_coroutines_on_a_limited_view_all_end_and_none_is_lost() {
    run_test(|test| async move {
        let scope =
            Scope::new(Job::supervisor() + scopes::Dispatchers::io().limited_parallelism(50));
        for i in 0..2_000u32 {
            scope.launch(delay(SECOND * (i % 7)));
        }
        let report = scope.shutdown(SECOND * 3).await;
        // Delays under 3 seconds end within the grace, longer ones are cancelled (one due
        // exactly at the end of the grace may go either way).
        assert_eq!(report.total(), 2_000);
        assert_eq!(report.finished + report.cancelled, 2_000);
        assert_eq!(report.failed, 0);
        assert!(report.cancelled > 0 && report.finished > 0, "{report}");
        assert_eq!(test.current_time(), SECOND * 3);
        assert!(scope.job().children().is_empty());
    });
}

#[test]
fn a_shutdown_from_inside_one_of_the_scopes_coroutines_leaves_that_one_out() {
    run_test(|test| async move {
        let scope = Arc::new(Scope::new(Job::supervisor()));
        named(&scope, "other", delay(SECOND * 60));
        let inside = scope.clone();
        let stopper = scope.async_(async move { inside.shutdown(SECOND).await });
        let report = stopper.await.unwrap();
        assert_eq!((report.total(), report.cancelled), (1, 1), "{report}");
        assert_eq!(test.current_time(), SECOND);
    });
}

#[test]
fn a_lazy_coroutine_nobody_started_is_cancelled_without_running() {
    run_test(|test| async move {
        let scope = Scope::new(Job::supervisor());
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = ran.clone();
        scope
            .coroutine()
            .name("lazy")
            .start(scopes::CoroutineStart::Lazy)
            .launch(async move {
                counter.fetch_add(1, SeqCst);
            });
        let report = scope.shutdown(SECOND * 10).await;
        assert_eq!(ran.load(SeqCst), 0);
        assert_eq!((report.cancelled, report.drained), (1, true), "{report}");
        assert_eq!(report.cancelled_names, ["lazy"]);
        assert_eq!(test.current_time(), Duration::ZERO);
    });
}

/// A join can return before a child's completion handlers have run: the report waits for its
/// own handlers, so a slow handler of the user's on a child loses nothing.
#[test]
fn the_report_counts_every_child_even_behind_a_slow_completion_handler() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for _ in 0..20 {
            let scope = Scope::new(Job::supervisor());
            let a = scope.launch(delay(Duration::from_millis(1)));
            scope.launch(delay(Duration::from_millis(1)));
            let slow = a.job().invoke_on_completion(|_| {
                std::thread::sleep(Duration::from_millis(20)); // ok: the slow handler under test
            });
            drop(slow);
            let report = tokio::time::timeout(SECOND * 30, scope.shutdown(SECOND * 5))
                .await
                .expect("the shutdown ends");
            assert_eq!((report.total(), report.finished), (2, 2), "{report}");
        }
    });
}

#[test]
fn a_zero_grace_cancels_at_once_and_a_scope_with_nothing_running_is_drained() {
    run_test(|test| async move {
        let scope = Scope::new(Job::supervisor());
        named(&scope, "busy", delay(SECOND * 60));
        test.run_current().await;
        let report = scope.shutdown(Duration::ZERO).await;
        assert_eq!((report.cancelled, report.drained), (1, false), "{report}");
        assert_eq!(test.current_time(), Duration::ZERO);
        let idle = Scope::new(Job::supervisor());
        let report = idle.shutdown(Duration::ZERO).await;
        assert_eq!((report.total(), report.drained), (0, true), "{report}");
    });
}
