//! The job tree: failures travel up, cancellation travels down, the first failure wins, and
//! parents wait for children.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{ErrorKind, JobState};
use scopes_tests::{Recorder, Steps, TestError};

#[tokio::test(start_paused = true)]
async fn a_childs_failure_cancels_its_siblings_and_its_parent() {
    let steps = Steps::new();
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let s = steps.clone();
    let parent = scope.launch_with(
        CoroutineName::new("parent"),
        CoroutineStart::Default,
        async move {
            let s1 = s.clone();
            let sibling = current_scope().launch(async move {
                s1.expect(2);
                delay(Duration::from_secs(3600)).await;
                s1.unreachable("the sibling must be cancelled while parked");
            });
            let s2 = s.clone();
            current_scope().launch(async move {
                s2.expect(3);
                Err::<(), _>(TestError("child failed"))
            });
            s.expect(1);
            sibling.join().await;
            s.unreachable("the parent is cancelled while it joins");
        },
    );
    parent.join().await;
    steps.finish(4);
    assert_eq!(parent.state(), JobState::Cancelled);
    let received = recorder.received();
    assert_eq!(
        received.len(),
        1,
        "reported once, by the root launch: {received:?}"
    );
    assert_eq!(received[0].name.as_deref(), Some("parent"));
    assert_eq!(
        received[0].error.downcast_ref::<TestError>(),
        Some(&TestError("child failed"))
    );
    assert!(parent.final_error().unwrap().ptr_eq(&received[0].error));
    assert_eq!(
        scope.job().state(),
        JobState::Active,
        "the supervisor scope survives"
    );
}

#[tokio::test(start_paused = true)]
async fn siblings_are_cancelled_with_a_cancellation_caused_by_the_failure() {
    let scope = Scope::new(Job::supervisor() + Recorder::new().handler());
    let sibling_error = Arc::new(std::sync::Mutex::new(None));
    let keep = sibling_error.clone();
    let parent = scope.launch(async move {
        let sibling = current_scope().launch(async { delay(Duration::from_secs(60)).await });
        let _ = sibling
            .job()
            .invoke_on_completion(move |e| *keep.lock().unwrap() = e.cloned());
        yield_now().await;
        Err::<(), _>(TestError("boom"))
    });
    parent.join().await;
    let err = sibling_error
        .lock()
        .unwrap()
        .clone()
        .expect("the sibling ended with an error");
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(
        err.cause().unwrap().downcast_ref::<TestError>(),
        Some(&TestError("boom"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_childs_cancellation_does_not_travel_up() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::new() + recorder.handler());
    let steps = Steps::new();
    let s = steps.clone();
    let parent = scope.launch(async move {
        let child = current_scope().launch(async { delay(Duration::from_secs(60)).await });
        let other = current_scope().launch(async { delay(Duration::from_secs(1)).await });
        child.cancel_and_join().await;
        s.expect(1);
        assert!(is_active(), "the parent is still active");
        other.join().await;
        assert_eq!(
            other.state(),
            JobState::Completed,
            "the sibling ran to its end"
        );
        s.expect(2);
    });
    parent.join().await;
    steps.finish(3);
    assert_eq!(parent.state(), JobState::Completed);
    assert!(
        recorder.received().is_empty(),
        "a cancellation reaches no handler"
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_scope_cancels_all_descendants() {
    let scope = Scope::new(());
    let cancelled = Arc::new(AtomicUsize::new(0));
    let mut leaves = Vec::new();
    for _ in 0..3 {
        let c = cancelled.clone();
        leaves.push(scope.launch(async move {
            let c2 = c.clone();
            current_scope().launch(async move {
                let _count = CountOnDrop(c2);
                delay(Duration::from_secs(3600)).await;
            });
            let _count = CountOnDrop(c);
            delay(Duration::from_secs(3600)).await;
        }));
    }
    yield_now().await;
    scope.cancel();
    for leaf in &leaves {
        leaf.join().await;
        assert_eq!(leaf.state(), JobState::Cancelled);
    }
    assert_eq!(
        cancelled.load(Ordering::SeqCst),
        6,
        "every parked body was dropped"
    );
}

struct CountOnDrop(Arc<AtomicUsize>);
impl Drop for CountOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn the_first_failure_wins_and_later_ones_are_suppressed_on_it() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let parent = scope.launch(async {
        // The second child fails only during its cancellation, so the order is fixed.
        current_scope().launch(try_finally(
            async { delay(Duration::from_secs(60)).await },
            async { Err::<(), _>(TestError("second")) },
        ));
        yield_now().await;
        current_scope().launch(async { Err::<(), _>(TestError("first")) });
    });
    parent.join().await;
    let received = recorder.wait_for(1).await;
    assert_eq!(received.len(), 1);
    let error = &received[0].error;
    assert_eq!(error.downcast_ref::<TestError>(), Some(&TestError("first")));
    let suppressed = error.suppressed();
    assert_eq!(suppressed.len(), 1, "{error:?}");
    assert_eq!(
        suppressed[0].downcast_ref::<TestError>(),
        Some(&TestError("second"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_travels_up_to_the_root_through_every_level() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::new() + recorder.handler());
    let root = scope.launch(async {
        current_scope().launch(async {
            current_scope().launch(async {
                current_scope().launch(async { Err::<(), _>(TestError("deep")) });
                delay(Duration::from_secs(60)).await;
            });
            delay(Duration::from_secs(60)).await;
        });
        delay(Duration::from_secs(60)).await;
    });
    root.join().await;
    assert_eq!(recorder.messages(), vec!["deep"]);
    assert_eq!(
        scope.job().state(),
        JobState::Cancelled,
        "a plain Job scope is cancelled by a failing root launch"
    );
}

#[tokio::test(start_paused = true)]
async fn an_inner_coroutines_own_handler_is_not_used() {
    let root_handler = Recorder::new();
    let inner_handler = Recorder::new();
    let scope = Scope::new(Job::supervisor() + root_handler.handler());
    let inner = inner_handler.clone();
    let root = scope.launch(async move {
        current_scope().launch_with(inner.handler(), CoroutineStart::Default, async {
            Err::<(), _>(TestError("inner"))
        });
    });
    root.join().await;
    assert_eq!(root_handler.messages(), vec!["inner"]);
    assert!(
        inner_handler.received().is_empty(),
        "a handler on a non-root coroutine is ignored"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_caught_and_becomes_a_failure() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let c = scope.launch(async {
        if is_active() {
            panic!("kaboom");
        }
    });
    c.join().await;
    let received = recorder.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].error.is_panic());
    assert_eq!(received[0].error.panic_message(), Some("kaboom"));
}

#[tokio::test(start_paused = true)]
async fn an_async_failure_cancels_a_regular_parent_even_when_awaited() {
    // The failure cancels the scope before the awaiter could see it, so the awaiter is dropped
    // at its `.await` (prompt cancellation; kotlinx resumes it once with the failure instead).
    // The failure is not lost: the scope returns it.
    let steps = Steps::new();
    let s = steps.clone();
    let result = coroutine_scope(|scope| async move {
        let failing = scope.async_(async {
            yield_now().await;
            Err::<u32, _>(TestError("async failed"))
        });
        s.expect(1);
        let _awaited = failing.await;
        s.unreachable("the scope is cancelled by the failure it awaits");
        Ok::<_, CoroutineError>(())
    })
    .await;
    steps.finish(2);
    assert_eq!(
        result.unwrap_err().downcast_ref::<TestError>(),
        Some(&TestError("async failed"))
    );
}

#[tokio::test(start_paused = true)]
async fn under_a_supervisor_the_awaiter_gets_the_async_failure() {
    let result = supervisor_scope(|scope| async move {
        let failing = scope.async_(async {
            yield_now().await;
            Err::<u32, _>(TestError("async failed"))
        });
        let awaited = failing.await;
        assert!(is_active(), "a supervisor is not cancelled by its child");
        Ok::<_, CoroutineError>(awaited.unwrap_err().to_string())
    })
    .await;
    assert_eq!(result.unwrap(), "async failed");
}

#[tokio::test(start_paused = true)]
async fn dropping_a_scope_cancels_its_coroutines() {
    let scope = Scope::new(());
    let c = scope.launch(async { delay(Duration::from_secs(3600)).await });
    drop(scope);
    c.join().await;
    assert_eq!(c.state(), JobState::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_scope_from_inside_its_own_coroutine_works() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let holder = Arc::new(std::sync::Mutex::new(Some(scope)));
    let h = holder.clone();
    let s = steps.clone();
    let c = holder.lock().unwrap().as_ref().unwrap().launch(async move {
        s.expect(1);
        let scope = h.lock().unwrap().take();
        drop(scope);
        s.expect(2);
        assert!(!is_active());
        yield_now().await;
        s.unreachable("cancelled at the next suspension");
    });
    c.join().await;
    steps.finish(3);
    assert_eq!(c.state(), JobState::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn launching_into_a_cancelled_scope_never_runs() {
    let steps = Steps::new();
    let scope = Scope::new(());
    scope.cancel();
    let s = steps.clone();
    let c = scope.launch(async move { s.unreachable("launched into a cancelled scope") });
    assert_eq!(c.state(), JobState::Cancelled);
    c.join().await;
    let s = steps.clone();
    let lazy = scope.launch_with(
        (),
        CoroutineStart::Lazy,
        async move { s.unreachable("lazy") },
    );
    assert_eq!(lazy.state(), JobState::Cancelled);
    assert!(!lazy.start());
    steps.finish(1);
}

#[tokio::test(start_paused = true)]
async fn launching_into_a_completed_scope_never_runs() {
    let steps = Steps::new();
    let scope = Scope::new(());
    scope.complete_and_join().await;
    assert_eq!(scope.job().state(), JobState::Completed);
    let s = steps.clone();
    let c = scope.launch(async move { s.unreachable("launched into a completed scope") });
    c.join().await;
    assert_eq!(c.state(), JobState::Cancelled);
    steps.finish(1);
}

#[tokio::test(start_paused = true)]
async fn awaiting_a_deferred_of_a_cancelled_scope_gives_a_cancelled_error() {
    let scope = Scope::new(());
    let d = scope.async_(async {
        delay(Duration::from_secs(60)).await;
        7
    });
    scope.cancel();
    let err = d.await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    let born_cancelled = scope.async_(async { 8 });
    assert!(born_cancelled.await.unwrap_err().is_cancellation());
}

#[tokio::test(start_paused = true)]
async fn an_error_after_cancellation_still_becomes_the_failure() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let c = scope.launch(try_finally(
        async { delay(Duration::from_secs(60)).await },
        async { Err::<(), _>(TestError("cleanup failed")) },
    ));
    yield_now().await;
    c.cancel_and_join().await;
    let err = c.final_error().unwrap();
    assert_eq!(
        err.downcast_ref::<TestError>(),
        Some(&TestError("cleanup failed"))
    );
    assert_eq!(recorder.messages(), vec!["cleanup failed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_children_launched_and_joined() {
    let scope = Scope::new(());
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let parent = scope.launch(async move {
        for _ in 0..100_000 {
            let d = d.clone();
            current_scope().launch(async move {
                d.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    parent.join().await;
    assert_eq!(done.load(Ordering::Relaxed), 100_000);
    assert_eq!(parent.state(), JobState::Completed);
    assert!(parent.job().children().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_ten_thousand_deep_chain_completes_and_cancels_in_constant_stack() {
    // Each coroutine launches one child and ends: completion runs up 10,000 parents at once.
    // (Written as `impl Future` fns: a recursive `async fn` would need boxing.)
    #[allow(clippy::manual_async_fn)]
    fn chain(depth: usize) -> impl std::future::Future<Output = ()> + Send + 'static {
        async move {
            if depth > 0 {
                current_scope().launch(chain(depth - 1));
            } else {
                delay(Duration::from_secs(1)).await;
            }
        }
    }
    let scope = Scope::new(());
    let root = scope.launch(chain(10_000));
    root.join().await;
    assert_eq!(root.state(), JobState::Completed);

    // The same chain, parked at the bottom, cancelled from the top.
    #[allow(clippy::manual_async_fn)]
    fn parked(depth: usize) -> impl std::future::Future<Output = ()> + Send + 'static {
        async move {
            if depth > 0 {
                current_scope().launch(parked(depth - 1));
            }
            delay(Duration::from_secs(3600)).await;
        }
    }
    let root = scope.launch(parked(10_000));
    while root.job().children().is_empty() {
        yield_now().await;
    }
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    root.cancel_and_join().await;
    assert_eq!(root.state(), JobState::Cancelled);
}
