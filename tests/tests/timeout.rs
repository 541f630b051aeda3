//! `with_timeout` and `with_timeout_or_none`: a timeout is a value; on timeout the block and
//! its children are cancelled and waited for.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{ErrorKind, JobState};
use scopes_tests::{Recorder, Steps};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn a_zero_timeout_times_out_at_once_without_running_the_body() {
    let steps = Steps::new();
    let s = steps.clone();
    let r = with_timeout(Duration::ZERO, async move {
        s.unreachable("a zero timeout runs nothing")
    })
    .await;
    assert_eq!(r.unwrap_err().kind(), ErrorKind::TimedOut);
    let s = steps.clone();
    let none = with_timeout_or_none(Duration::ZERO, async move { s.unreachable("nor here") }).await;
    assert!(none.unwrap().is_none());
    steps.finish(1);
}

#[tokio::test(start_paused = true)]
async fn a_body_that_finishes_in_time_returns_its_value() {
    let r = with_timeout(Duration::from_secs(2), async {
        delay(Duration::from_secs(1)).await;
        "in time"
    })
    .await;
    assert_eq!(r.unwrap(), "in time");
    let r = with_timeout_or_none(Duration::from_secs(2), async { 5u8 }).await;
    assert_eq!(r.unwrap(), Some(5));
}

#[tokio::test(start_paused = true)]
async fn on_timeout_the_body_and_its_children_are_cancelled_and_waited_for() {
    let child_cleaned = Arc::new(AtomicBool::new(false));
    let flag = child_cleaned.clone();
    let start = Instant::now();
    let r = with_timeout(Duration::from_secs(1), async move {
        current_scope().launch(try_finally(delay(Duration::from_secs(3600)), async move {
            delay(Duration::from_secs(1)).await;
            flag.store(true, Ordering::SeqCst);
        }));
        delay(Duration::from_secs(3600)).await;
    })
    .await;
    let err = r.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.to_string(), "timed out after 1s");
    assert!(
        child_cleaned.load(Ordering::SeqCst),
        "the child's cleanup finished before with_timeout returned"
    );
    assert_eq!(Instant::now() - start, Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn with_timeout_or_none_gives_none_for_its_own_timeout_only() {
    let own = with_timeout_or_none(Duration::from_secs(1), delay(Duration::from_secs(5))).await;
    assert!(own.unwrap().is_none());
    // A nested, shorter timeout that escapes the body is an error, not this call's `None`.
    let nested = with_timeout_or_none(Duration::from_secs(10), async {
        with_timeout(Duration::from_secs(1), delay(Duration::from_secs(5))).await
    })
    .await;
    assert!(nested.unwrap_err().is_timeout());
}

#[tokio::test(start_paused = true)]
async fn a_timeout_that_escapes_a_body_with_question_mark_is_a_failure() {
    // kotlinx treats it as a silent cancellation (kotlinx#1374); here it is a failure.
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let c = scope.launch(async {
        with_timeout(Duration::from_millis(10), delay(Duration::from_secs(5))).await?;
        Ok::<_, CoroutineError>(())
    });
    c.join().await;
    assert_eq!(c.state(), JobState::Cancelled);
    let received = recorder.received();
    assert_eq!(received.len(), 1, "the handler saw the timeout");
    assert!(received[0].error.is_timeout());
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_body_in_a_non_cancellable_section_finishes_the_section_first() {
    let steps = Steps::new();
    let s = steps.clone();
    let r = with_timeout(Duration::from_secs(1), async move {
        let s2 = s.clone();
        let _ = with_context(NonCancellable, async move {
            delay(Duration::from_secs(3)).await;
            s2.expect(1);
        })
        .await;
        delay(Duration::from_secs(1)).await;
        s.unreachable("the timeout applies after the section");
    })
    .await;
    steps.finish(2);
    assert!(r.unwrap_err().is_timeout());
}
