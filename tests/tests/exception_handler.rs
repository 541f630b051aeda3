//! Which failure reaches which handler: root launches, supervisors, `async_`, panicking
//! handlers. (The global handler is process-wide; its tests are in `exception_global.rs`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::{Recorder, Steps, TestError};

#[tokio::test(start_paused = true)]
async fn a_root_launch_reports_to_the_handler_in_its_context() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::new() + recorder.handler() + CoroutineName::new("worker"));
    let c = scope.launch(async { Err::<(), _>(TestError("root failed")) });
    c.join().await;
    let received = recorder.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].name.as_deref(), Some("worker"));
    assert_eq!(
        received[0].error.downcast_ref::<TestError>(),
        Some(&TestError("root failed"))
    );
}

#[tokio::test(start_paused = true)]
async fn async_keeps_its_failure_for_the_awaiter_and_calls_no_handler() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let d = scope.async_(async { Err::<u8, _>(TestError("async failed")) });
    let err = d.await.unwrap_err();
    assert_eq!(
        err.downcast_ref::<TestError>(),
        Some(&TestError("async failed"))
    );
    assert!(
        recorder.received().is_empty(),
        "an observed async failure reaches no handler"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unobserved_async_failure_goes_to_the_handler_when_its_deferred_is_dropped() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let d = scope.async_(async { Err::<u8, _>(TestError("nobody awaited me")) });
    d.join().await;
    assert!(
        recorder.received().is_empty(),
        "kept while a handle could still await it"
    );
    drop(d);
    assert_eq!(recorder.messages(), vec!["nobody awaited me"]);
}

#[tokio::test(start_paused = true)]
async fn an_async_whose_deferred_was_dropped_early_reports_when_it_fails() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let d = scope.async_(async {
        delay(Duration::from_secs(1)).await;
        Err::<u8, _>(TestError("late failure"))
    });
    let job = d.job().clone();
    drop(d);
    job.join().await;
    assert_eq!(recorder.messages(), vec!["late failure"]);
}

#[tokio::test(start_paused = true)]
async fn an_async_failure_taken_by_its_parent_is_not_reported_twice() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let root = scope.launch(async {
        let d = current_scope().async_(async { Err::<u8, _>(TestError("inside a launch")) });
        drop(d);
        delay(Duration::from_secs(60)).await;
    });
    root.join().await;
    assert_eq!(
        recorder.messages(),
        vec!["inside a launch"],
        "reported once, by the root launch"
    );
}

#[tokio::test(start_paused = true)]
async fn supervisor_children_fail_alone_and_each_reports() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let ok = scope.launch(async { delay(Duration::from_secs(2)).await });
    let bad1 = scope.launch_with(CoroutineName::new("bad1"), CoroutineStart::Default, async {
        Err::<(), _>(TestError("one"))
    });
    let bad2 = scope.launch_with(CoroutineName::new("bad2"), CoroutineStart::Default, async {
        delay(Duration::from_secs(1)).await;
        Err::<(), _>(TestError("two"))
    });
    ok.join().await;
    bad1.join().await;
    bad2.join().await;
    assert_eq!(
        ok.state(),
        JobState::Completed,
        "a sibling of a failed child is not cancelled"
    );
    assert!(scope.is_active(), "the supervisor is not cancelled");
    let names: Vec<_> = recorder
        .received()
        .into_iter()
        .map(|r| (r.name, r.error.to_string()))
        .collect();
    assert_eq!(
        names,
        vec![
            (Some("bad1".into()), "one".into()),
            (Some("bad2".into()), "two".into())
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_supervisor_childs_own_handler_wins_over_the_scopes() {
    let scope_handler = Recorder::new();
    let child_handler = Recorder::new();
    let scope = Scope::new(Job::supervisor() + scope_handler.handler());
    let c = scope.launch_with(child_handler.handler(), CoroutineStart::Default, async {
        Err::<(), _>(TestError("mine"))
    });
    c.join().await;
    assert_eq!(child_handler.messages(), vec!["mine"]);
    assert!(scope_handler.received().is_empty());
}

#[tokio::test(start_paused = true)]
async fn supervisor_scope_isolates_children_and_waits_for_them() {
    let recorder = Recorder::new();
    let steps = Steps::new();
    let s = steps.clone();
    let handler = recorder.handler();
    let result = with_context(
        handler,
        supervisor_scope(|scope| async move {
            scope.launch(async { Err::<(), _>(TestError("child")) });
            let s2 = s.clone();
            scope.launch(async move {
                delay(Duration::from_secs(1)).await;
                s2.expect(2);
            });
            yield_now().await;
            s.expect(1);
            assert!(is_active());
            Ok::<_, CoroutineError>("block done")
        }),
    )
    .await;
    steps.finish(3);
    assert_eq!(result.unwrap(), "block done");
    assert_eq!(recorder.messages(), vec!["child"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_supervisor_scope_block_cancels_its_children_and_returns_the_error() {
    let cancelled = Arc::new(AtomicUsize::new(0));
    let c = cancelled.clone();
    let result = supervisor_scope(|scope| async move {
        let child = scope.launch(async { delay(Duration::from_secs(3600)).await });
        let _ = child.job().invoke_on_completion(move |e| {
            if e.is_some_and(|e| e.is_cancellation()) {
                c.fetch_add(1, Ordering::SeqCst);
            }
        });
        yield_now().await;
        Err::<(), _>(TestError("block failed"))
    })
    .await;
    assert_eq!(result.unwrap_err().to_string(), "block failed");
    assert_eq!(cancelled.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_supervisor_cancels_all_its_children() {
    let scope = Scope::new(Job::supervisor());
    let a = scope.launch(async { delay(Duration::from_secs(60)).await });
    let b = scope.launch(async { delay(Duration::from_secs(60)).await });
    yield_now().await;
    scope.cancel();
    a.join().await;
    b.join().await;
    assert!(a.is_cancelled() && b.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn a_panicking_handler_is_caught_and_the_coroutine_still_completes() {
    let scope = Scope::new(
        Job::supervisor() + CoroutineExceptionHandler::new(|_, _| panic!("handler bug")),
    );
    let c = scope.launch(async { Err::<(), _>(TestError("original")) });
    c.join().await;
    assert_eq!(c.state(), JobState::Cancelled);
    // The supervisor and its other children are unaffected.
    let next = scope.async_(async { 1 });
    assert_eq!(next.await.unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancellation_never_reaches_a_handler() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::new() + recorder.handler());
    let c = scope.launch(async { delay(Duration::from_secs(60)).await });
    let returned = scope.launch(async { Err::<(), _>(CoroutineError::cancelled("gave up", None)) });
    yield_now().await;
    c.cancel_and_join().await;
    returned.join().await;
    assert!(returned.is_cancelled());
    assert!(recorder.received().is_empty());
    assert!(
        scope.is_active(),
        "a returned cancellation does not cancel the parent"
    );
}

#[tokio::test(start_paused = true)]
async fn coroutine_scope_returns_the_failure_instead_of_reporting_it() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let d = scope.async_(async {
        let inner = coroutine_scope(|s| async move {
            s.launch(async { Err::<(), _>(TestError("inner")) });
            delay(Duration::from_secs(60)).await;
            Ok::<_, CoroutineError>(())
        })
        .await;
        Ok::<_, CoroutineError>(inner.unwrap_err().to_string())
    });
    assert_eq!(d.await.unwrap(), "inner");
    assert!(
        recorder.received().is_empty(),
        "the caller got it: nobody else does"
    );
}
