//! Start modes: `Default`, `Lazy`, `Atomic`, `Undispatched`, with kotlinx's meanings.

use std::time::Duration;

use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::Steps;

#[tokio::test(start_paused = true)]
async fn default_start_is_dispatched_not_run_in_place() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let s = steps.clone();
    let c = scope.launch(async move { s.expect(2) });
    steps.expect(1);
    c.join().await;
    steps.finish(3);
}

#[tokio::test(start_paused = true)]
async fn a_lazy_coroutine_runs_only_when_started_or_joined() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let s = steps.clone();
    let c = scope.launch_with((), CoroutineStart::Lazy, async move { s.expect(2) });
    delay(Duration::from_secs(1)).await;
    steps.expect(1);
    assert_eq!(c.state(), JobState::New);
    c.join().await; // join starts it
    steps.finish(3);
}

#[tokio::test(start_paused = true)]
async fn awaiting_a_lazy_deferred_starts_it() {
    let scope = Scope::new(());
    let d = scope.async_with((), CoroutineStart::Lazy, async { "lazy value" });
    yield_now().await;
    assert_eq!(d.job().state(), JobState::New);
    assert_eq!(d.await.unwrap(), "lazy value");
}

#[tokio::test(start_paused = true)]
async fn a_lazy_coroutine_cancelled_before_start_never_runs() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let s = steps.clone();
    let c = scope.launch_with((), CoroutineStart::Lazy, async move {
        s.unreachable("cancelled lazy coroutine")
    });
    c.cancel();
    assert_eq!(c.state(), JobState::Cancelled);
    assert!(!c.start());
    c.join().await;
    steps.finish(1);
}

#[tokio::test(start_paused = true)]
async fn a_parent_waits_for_its_lazy_child_once_started() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let s = steps.clone();
    let parent = scope.launch(async move {
        let s2 = s.clone();
        let lazy = current_scope().launch_with((), CoroutineStart::Lazy, async move {
            delay(Duration::from_secs(1)).await;
            s2.expect(2);
        });
        s.expect(1);
        lazy.start();
    });
    parent.join().await;
    steps.finish(3);
}

#[tokio::test(start_paused = true)]
async fn an_atomic_coroutine_runs_until_its_first_suspension_even_if_cancelled_first() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let s = steps.clone();
    let c = scope.launch_with((), CoroutineStart::Atomic, async move {
        s.expect(2);
        yield_now().await;
        s.unreachable("cancelled at the first suspension");
    });
    c.cancel();
    steps.expect(1);
    c.join().await;
    steps.finish(3);
    assert_eq!(c.state(), JobState::Cancelled);

    let s = steps.clone();
    let never =
        scope.launch(async move { s.unreachable("a Default start cancelled first never runs") });
    never.cancel();
    never.join().await;
}

#[tokio::test(start_paused = true)]
async fn an_undispatched_coroutine_runs_in_place_until_its_first_suspension() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let s = steps.clone();
    let caller_thread = std::thread::current().id();
    let c = scope.launch_with((), CoroutineStart::Undispatched, async move {
        s.expect(1);
        assert_eq!(std::thread::current().id(), caller_thread);
        assert!(
            current_context().job().is_some(),
            "it runs inside its own frame"
        );
        yield_now().await;
        s.expect(3);
    });
    steps.expect(2);
    c.join().await;
    steps.finish(4);
}

#[tokio::test(start_paused = true)]
async fn an_undispatched_coroutine_that_finishes_in_place_is_complete_at_once() {
    let scope = Scope::new(());
    let c = scope.launch_with((), CoroutineStart::Undispatched, async {});
    assert_eq!(c.state(), JobState::Completed);
}
