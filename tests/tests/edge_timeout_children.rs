//! Issue 10, item 2: `with_timeout` bounds the children its body launched, not only the body.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::{LIMIT, Rt, on_runtime};
use tokio::time::Instant;

/// Issue 10, item 2: `with_timeout(100ms, ..)` whose body launches a child parked for an hour
/// and returns at once gives a timed-out error at 100 ms (paused clock), and the child ends
/// cancelled (final).
#[test]
fn with_timeout_times_out_on_a_child_left_running_by_a_body_that_returned() {
    on_runtime(Rt::Paused, LIMIT, "with_timeout child", || async {
        let child: Arc<Mutex<Option<Job>>> = Arc::default();
        let slot = child.clone();
        let start = Instant::now();
        let r = with_timeout(Duration::from_millis(100), async move {
            let c = current_scope().launch(delay(Duration::from_secs(3600)));
            *slot.lock().unwrap() = Some(c.job().clone());
            Ok::<_, CoroutineError>(())
        })
        .await;
        let elapsed = Instant::now() - start;
        let child = child.lock().unwrap().clone().expect("the body ran");
        let err = r.expect_err("the child outlived the limit: a timeout");
        assert!(err.is_timeout(), "{err}");
        assert!(
            elapsed < Duration::from_secs(1),
            "timed out at about 100 ms, not at {elapsed:?}"
        );
        assert_eq!(
            child.state(),
            JobState::Cancelled,
            "the child ends cancelled"
        );
    });
}

/// Issue 10, item 2: a child that would end after the limit (200 ms) of a body that returned at
/// once: timed out at the limit (100 ms), not when the child ends; the child is cancelled.
#[test]
fn with_timeout_does_not_wait_past_its_limit_for_a_slow_child() {
    on_runtime(Rt::Paused, LIMIT, "with_timeout slow child", || async {
        let child: Arc<Mutex<Option<Job>>> = Arc::default();
        let slot = child.clone();
        let start = Instant::now();
        let r = with_timeout(Duration::from_millis(100), async move {
            let c = current_scope().launch(delay(Duration::from_millis(200)));
            *slot.lock().unwrap() = Some(c.job().clone());
            7u8
        })
        .await;
        let elapsed = Instant::now() - start;
        let child = child.lock().unwrap().clone().expect("the body ran");
        assert!(
            r.as_ref().is_err_and(|e| e.is_timeout()),
            "a timeout, got {r:?}"
        );
        assert!(elapsed < Duration::from_millis(200), "{elapsed:?}");
        assert!(child.is_completed() && child.is_cancelled(), "{child:?}");
    });
}

/// Issue 10, item 2 (control, passed before the fix too): the body itself still running at the limit with a
/// parked child: timed out, and the child is cancelled.
#[test]
fn with_timeout_times_out_a_running_body_and_its_child() {
    on_runtime(Rt::Paused, LIMIT, "with_timeout running body", || async {
        let child: Arc<Mutex<Option<Job>>> = Arc::default();
        let slot = child.clone();
        let r = with_timeout(Duration::from_millis(100), async move {
            let c = current_scope().launch(delay(Duration::from_secs(3600)));
            *slot.lock().unwrap() = Some(c.job().clone());
            delay(Duration::from_secs(3600)).await;
        })
        .await;
        let child = child.lock().unwrap().clone().expect("the body ran");
        assert!(r.unwrap_err().is_timeout());
        assert_eq!(child.state(), JobState::Cancelled);
    });
}

/// Issue 10, item 2: the same from inside a launched coroutine: the coroutine gets the timeout
/// as a value and itself completes; the child it could not see is cancelled.
#[test]
fn with_timeout_in_a_coroutine_bounds_the_children_of_its_body() {
    on_runtime(Rt::Paused, LIMIT, "with_timeout in a coroutine", || async {
        let scope = Scope::new(());
        let child: Arc<Mutex<Option<Job>>> = Arc::default();
        let slot = child.clone();
        let outcome = scope.async_(async move {
            let r = with_timeout(Duration::from_millis(100), async move {
                let c = current_scope().launch(delay(Duration::from_secs(3600)));
                *slot.lock().unwrap() = Some(c.job().clone());
            })
            .await;
            Ok::<_, CoroutineError>(r.map_err(|e| e.is_timeout()))
        });
        let start = Instant::now();
        let r = outcome.await.unwrap();
        assert_eq!(r, Err(true), "a timed-out error");
        assert!(Instant::now() - start < Duration::from_secs(1));
        let child = child.lock().unwrap().clone().expect("the body ran");
        assert_eq!(child.state(), JobState::Cancelled);
    });
}
