//! `scopes::test` acceptance: a deadlocked test fails instead of hanging `cargo test`, with the
//! live coroutines' names in its message: at its real-time limit when the test cannot go on (its
//! thread is blocked, or the body awaits the deadlock), and a virtual hour after the body when
//! only leaked children are stuck.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use scopes::prelude::*;
use scopes::test::{Test, TestFailure, TestScope};
use tokio::sync::oneshot;

const LIMIT: Duration = Duration::from_millis(300);
/// How late after its limit a failure may come on a loaded machine (it is reported by the
/// caller's `recv_timeout`, which only needs the thread to be scheduled).
const SLACK: Duration = Duration::from_secs(10);

/// Two coroutines, "a" and "b", each waiting for the other's message before sending its own.
/// `ended` counts the ones whose body was dropped or ended.
fn launch_deadlocked_pair(scope: &TestScope, ended: Arc<AtomicUsize>) -> [Coroutine; 2] {
    let (to_a, from_b) = oneshot::channel::<()>();
    let (to_b, from_a) = oneshot::channel::<()>();
    let make = |inbox: oneshot::Receiver<()>, outbox: oneshot::Sender<()>| {
        let ended = ended.clone();
        async move {
            try_finally(
                async move {
                    let _ = inbox.await;
                    let _ = outbox.send(());
                },
                async move {
                    ended.fetch_add(1, SeqCst);
                },
            )
            .await;
        }
    };
    [
        scope.launch_with(
            CoroutineName::new("a"),
            CoroutineStart::Default,
            make(from_b, to_b),
        ),
        scope.launch_with(
            CoroutineName::new("b"),
            CoroutineStart::Default,
            make(from_a, to_a),
        ),
    ]
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

fn assert_names(failure: &TestFailure, names: &[&str]) {
    for name in names {
        assert!(
            failure.message().contains(&format!("\"{name}\"")),
            "{name:?} missing from: {failure}"
        );
    }
}

#[test]
fn a_body_that_awaits_an_async_deadlock_fails_at_its_real_time_limit_with_the_live_tree() {
    let (result, elapsed) = timed(|| {
        Test::new()
            .fifo()
            .time_limit(LIMIT)
            .try_run(|scope| async move {
                let pair = launch_deadlocked_pair(&scope, Arc::default());
                delay(Duration::from_secs(5)).await; // virtual time still moves before the deadlock
                for coroutine in pair {
                    coroutine.join().await; // no timer left: the runtime parks for good
                }
            })
    });
    let failure = result.unwrap_err();
    assert!(failure.timed_out(), "{failure}");
    assert!(
        elapsed >= LIMIT,
        "failed after {elapsed:?}, before its limit"
    );
    assert!(elapsed < LIMIT + SLACK, "failed only after {elapsed:?}");
    assert!(
        failure
            .message()
            .contains("did not end within its real-time limit of 300ms"),
        "{failure}"
    );
    assert!(
        failure.message().contains("the test body had not ended"),
        "{failure}"
    );
    assert_names(&failure, &["test body", "a", "b"]);
    assert_eq!(failure.seed(), None);
    assert!(failure.to_string().contains("(default order)"), "{failure}");
}

#[test]
fn leaked_deadlocked_children_fail_the_test_a_virtual_hour_after_the_body() {
    let ended = Arc::new(AtomicUsize::new(0));
    let counter = ended.clone();
    let (result, elapsed) = timed(|| {
        // The default limit (60 s): the test must not need it.
        Test::new().try_run(move |scope| {
            let ended = counter.clone();
            async move {
                launch_deadlocked_pair(&scope, ended);
                delay(Duration::from_secs(1)).await;
                // The body ends; its two children never will.
            }
        })
    });
    let failure = result.unwrap_err();
    assert!(!failure.timed_out(), "{failure}");
    assert!(
        elapsed < SLACK,
        "a virtual hour took {elapsed:?} of real time"
    );
    assert!(
        failure
            .message()
            .contains("still running a virtual hour after the test body ended"),
        "{failure}"
    );
    assert_names(&failure, &["a", "b"]);
    assert_eq!(
        ended.load(SeqCst),
        2,
        "both were cancelled, their cleanups ran"
    );
}

#[test]
fn a_thread_blocked_by_std_mpsc_fails_at_the_real_time_limit() {
    let (result, elapsed) = timed(|| {
        Test::new().time_limit(LIMIT).try_run(|scope| async move {
            scope.launch_with(
                CoroutineName::new("blocker"),
                CoroutineStart::Default,
                async {
                    delay(Duration::from_secs(2)).await;
                    let (_tx, rx) = std::sync::mpsc::channel::<()>();
                    let _ = rx.recv(); // blocks the test's only thread
                },
            );
            scope.launch_with(
                CoroutineName::new("bystander"),
                CoroutineStart::Default,
                delay(Duration::from_secs(3600)),
            );
            delay(Duration::from_secs(10)).await;
        })
    });
    let failure = result.unwrap_err();
    assert!(failure.timed_out(), "{failure}");
    assert!(elapsed >= LIMIT && elapsed < LIMIT + SLACK, "{elapsed:?}");
    assert!(
        failure.message().contains("the test body had not ended"),
        "{failure}"
    );
    assert_names(&failure, &["test body", "blocker", "bystander"]);
}

#[test]
fn a_child_that_blocks_after_the_body_ended_is_named_at_the_real_time_limit() {
    let (result, elapsed) = timed(|| {
        Test::new().time_limit(LIMIT).try_run(|scope| async move {
            scope.launch_with(
                CoroutineName::new("late-blocker"),
                CoroutineStart::Default,
                async {
                    delay(Duration::from_secs(2)).await;
                    let (_tx, rx) = std::sync::mpsc::channel::<()>();
                    let _ = rx.recv();
                },
            );
        })
    });
    let failure = result.unwrap_err();
    assert!(failure.timed_out(), "{failure}");
    assert!(elapsed >= LIMIT && elapsed < LIMIT + SLACK, "{elapsed:?}");
    assert!(
        failure
            .message()
            .contains("the test body had ended, but coroutines it launched had not"),
        "{failure}"
    );
    assert_names(&failure, &["late-blocker"]);
}

#[test]
fn a_background_coroutine_stuck_at_the_limit_is_dumped_too() {
    let failure = Test::new()
        .time_limit(LIMIT)
        .try_run(|scope| async move {
            scope.background_scope().launch_with(
                CoroutineName::new("bg-waiter"),
                CoroutineStart::Default,
                std::future::pending::<()>(),
            );
            let (_tx, rx) = oneshot::channel::<()>();
            let _ = rx.await; // the body waits forever, and no timer is left
        })
        .unwrap_err();
    assert!(failure.timed_out(), "{failure}");
    assert!(
        failure.message().contains("the background scope:"),
        "{failure}"
    );
    assert_names(&failure, &["test body", "bg-waiter"]);
}
