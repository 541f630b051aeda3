//! Cancellation: prompt, at every `.await` (foreign futures too), deferred by `NonCancellable`
//! sections, with async cleanup in `try_finally`, and cooperative in CPU loops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{ErrorKind, JobState};
use scopes_tests::{Recorder, Steps, TestError};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_parked_coroutine_is_dropped_at_once_not_when_its_timer_fires() {
    let scope = Scope::new(());
    let c = scope.launch(async { delay(Duration::from_secs(3600)).await });
    yield_now().await;
    let before = Instant::now();
    c.cancel_and_join().await;
    assert_eq!(
        Instant::now(),
        before,
        "no time passed: the timer was not waited for"
    );
    assert_eq!(c.state(), JobState::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn a_foreign_future_is_a_cancellation_point_and_destructors_run() {
    let dropped = Arc::new(AtomicBool::new(false));
    let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
    let scope = Scope::new(());
    let flag = dropped.clone();
    let steps = Steps::new();
    let s = steps.clone();
    let c = scope.launch(async move {
        let _guard = SetOnDrop(flag);
        s.expect(1);
        let _ = rx.await; // tokio's oneshot, never sent
        s.unreachable("cancelled while waiting on a foreign future");
    });
    yield_now().await;
    c.cancel_and_join().await;
    steps.finish(2);
    assert!(dropped.load(Ordering::SeqCst), "RAII is `finally`");
}

struct SetOnDrop(Arc<AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn a_cpu_loop_stops_when_it_checks_is_active() {
    let scope = Scope::new(());
    let iterations = Arc::new(AtomicUsize::new(0));
    let n = iterations.clone();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let c = scope.launch(async move {
        let mut started = Some(started_tx);
        while is_active() {
            n.fetch_add(1, Ordering::SeqCst);
            if let Some(tx) = started.take() {
                let _ = tx.send(());
            }
            tokio::task::yield_now().await;
        }
        // Code after the loop runs: is_active() is cooperative.
        n.fetch_add(1_000_000, Ordering::SeqCst);
    });
    started_rx.await.unwrap();
    c.cancel();
    c.join().await;
    assert_eq!(c.state(), JobState::Cancelled);
    assert!(
        iterations.load(Ordering::SeqCst) < 1_000_000,
        "the yield in the loop was a cancellation point"
    );
}

#[tokio::test(start_paused = true)]
async fn ensure_active_returns_the_cancellation_and_the_coroutine_ends_cancelled() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::new() + recorder.handler());
    let steps = Steps::new();
    let s = steps.clone();
    let c = scope.launch(async move {
        assert!(ensure_active().is_ok());
        current_scope().job().cancel();
        s.expect(1);
        let err = ensure_active().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cancelled);
        ensure_active()?;
        s.unreachable("`?` on ensure_active stops the body");
        Ok::<_, CoroutineError>(())
    });
    c.join().await;
    steps.finish(2);
    assert_eq!(c.state(), JobState::Cancelled);
    assert!(
        recorder.received().is_empty(),
        "a cancellation is not a failure"
    );
    assert!(scope.is_active());
}

#[tokio::test(start_paused = true)]
async fn with_context_non_cancellable_runs_to_its_end_and_the_joiner_waits() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let s = steps.clone();
    let c = scope.launch(async move {
        s.expect(1);
        let s2 = s.clone();
        let r = with_context(NonCancellable, async move {
            delay(Duration::from_secs(1)).await;
            assert!(is_active(), "inside NonCancellable the code is active");
            s2.expect(3);
            5
        })
        .await;
        assert_eq!(r.unwrap(), 5);
        s.expect(4);
        delay(Duration::from_secs(1)).await;
        s.unreachable("cancelled at the first suspension after the section");
    });
    yield_now().await;
    steps.expect(2);
    let before = Instant::now();
    c.cancel_and_join().await;
    assert_eq!(
        Instant::now() - before,
        Duration::from_secs(1),
        "the join waited for the section"
    );
    steps.finish(5);
}

#[tokio::test(start_paused = true)]
async fn try_finally_cleanup_awaits_a_step_and_the_parent_join_waits_for_it() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let s = steps.clone();
    let parent = scope.launch(async move {
        let s1 = s.clone();
        let s2 = s.clone();
        current_scope().launch(try_finally(
            async move {
                s1.expect(1);
                delay(Duration::from_secs(3600)).await;
                s1.unreachable("the body is dropped when cancelled");
            },
            async move {
                s2.expect(3);
                delay(Duration::from_secs(2)).await; // cleanup suspends
                assert!(is_active(), "cleanup runs as NonCancellable");
                s2.expect(4);
            },
        ));
        delay(Duration::from_secs(3600)).await;
    });
    yield_now().await;
    steps.expect(2);
    let before = Instant::now();
    parent.cancel_and_join().await;
    steps.finish(5);
    assert_eq!(
        Instant::now() - before,
        Duration::from_secs(2),
        "the parent's join waited for the cleanup"
    );
    assert_eq!(parent.state(), JobState::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn try_finally_runs_cleanup_after_a_normal_end_and_returns_the_value() {
    let steps = Steps::new();
    let s1 = steps.clone();
    let s2 = steps.clone();
    let v = try_finally(
        async move {
            s1.expect(1);
            10
        },
        async move {
            yield_now().await;
            s2.expect(2);
        },
    )
    .await;
    steps.finish(3);
    assert_eq!(v, 10);
}

#[tokio::test(start_paused = true)]
async fn try_finally_runs_cleanup_after_a_panic_and_the_panic_goes_on() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let cleaned = Arc::new(AtomicBool::new(false));
    let flag = cleaned.clone();
    let c = scope.launch(try_finally(
        async {
            yield_now().await;
            if is_active() {
                panic!("body panicked");
            }
        },
        async move {
            delay(Duration::from_millis(5)).await;
            flag.store(true, Ordering::SeqCst);
        },
    ));
    c.join().await;
    assert!(cleaned.load(Ordering::SeqCst));
    let received = recorder.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].error.panic_message(), Some("body panicked"));
}

#[tokio::test(start_paused = true)]
async fn try_finally_inside_a_scope_inside_a_coroutine_gets_the_cancellation() {
    let cleaned = Arc::new(AtomicBool::new(false));
    let scope = Scope::new(());
    let flag = cleaned.clone();
    let c = scope.launch(async move {
        let _ = coroutine_scope(|_| async move {
            try_finally(delay(Duration::from_secs(3600)), async move {
                delay(Duration::from_secs(1)).await;
                flag.store(true, Ordering::SeqCst);
            })
            .await;
            Ok::<_, CoroutineError>(())
        })
        .await;
    });
    yield_now().await;
    c.cancel_and_join().await;
    assert!(
        cleaned.load(Ordering::SeqCst),
        "the cleanup two frames down ran"
    );
}

#[tokio::test(start_paused = true)]
async fn try_finally_in_a_join_of_two_branches_gets_the_cancellation() {
    let cleaned = Arc::new(AtomicUsize::new(0));
    let scope = Scope::new(());
    let (a, b) = (cleaned.clone(), cleaned.clone());
    let c = scope.launch(async move {
        let first = try_finally(delay(Duration::from_secs(3600)), async move {
            yield_now().await;
            a.fetch_add(1, Ordering::SeqCst);
        });
        let second = try_finally(delay(Duration::from_secs(3600)), async move {
            b.fetch_add(1, Ordering::SeqCst);
        });
        tokio::join!(first, second);
    });
    yield_now().await;
    c.cancel_and_join().await;
    assert_eq!(cleaned.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_cleanup_error_fails_the_coroutine() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let c = scope.launch(async {
        try_finally(async { 1 }, async {
            Err::<(), _>(TestError("cleanup failed"))
        })
        .await;
        delay(Duration::from_secs(1)).await;
    });
    c.join().await;
    assert_eq!(
        c.final_error().unwrap().downcast_ref::<TestError>(),
        Some(&TestError("cleanup failed"))
    );
    assert_eq!(recorder.messages(), vec!["cleanup failed"]);
}

#[tokio::test(start_paused = true)]
async fn cancel_and_join_from_inside_the_coroutine_returns() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let holder: Arc<std::sync::Mutex<Option<Coroutine>>> = Arc::default();
    let h = holder.clone();
    let s = steps.clone();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let c = scope.launch(async move {
        go_rx.await.unwrap();
        let me = h.lock().unwrap().clone().unwrap();
        me.cancel_and_join().await;
        s.expect(1);
        assert!(!is_active());
        yield_now().await;
        s.unreachable("cancelled at the next suspension");
    });
    *holder.lock().unwrap() = Some(c.clone());
    go_tx.send(()).unwrap();
    c.join().await;
    steps.finish(2);
    assert_eq!(c.state(), JobState::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_destructor_during_cancellation_becomes_the_failure() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop panicked");
        }
    }
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let c = scope.launch(async {
        let _bomb = PanicOnDrop;
        delay(Duration::from_secs(60)).await;
    });
    yield_now().await;
    c.cancel_and_join().await;
    assert_eq!(c.state(), JobState::Cancelled);
    assert_eq!(
        c.final_error().unwrap().panic_message(),
        Some("drop panicked")
    );
    assert_eq!(recorder.received().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_panic_inside_a_non_cancellable_section_is_a_failure() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let c = scope.launch(async {
        with_context(NonCancellable, async {
            yield_now().await;
            if is_active() {
                panic!("in the section");
            }
        })
        .await?;
        Ok::<_, CoroutineError>(())
    });
    c.join().await;
    let err = c.final_error().unwrap();
    assert_eq!(err.panic_message(), Some("in the section"));
    assert_eq!(recorder.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pure_cpu_loop_cooperates_through_is_active() {
    let scope = Scope::new(());
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let after_loop = Arc::new(AtomicBool::new(false));
    let flag = after_loop.clone();
    let c = scope.launch(async move {
        started_tx.send(()).unwrap();
        while is_active() {
            std::hint::spin_loop(); // no await in the loop
        }
        // Cooperative: the loop saw the cancellation (maybe before its first turn, under load)
        // and the code after it runs.
        flag.store(true, Ordering::SeqCst);
    });
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
        .await
        .unwrap();
    c.cancel();
    c.join().await;
    assert!(after_loop.load(Ordering::SeqCst));
    assert_eq!(c.state(), JobState::Cancelled);
}
