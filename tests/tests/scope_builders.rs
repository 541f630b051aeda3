//! `coroutine_scope`, `with_context` and `current_scope`: scoped coroutines that run inline,
//! wait for their children and return their failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{JobState, try_current_scope};
use scopes_tests::{Recorder, Steps, TestError};

#[tokio::test(start_paused = true)]
async fn coroutine_scope_waits_for_every_child_before_returning() {
    let steps = Steps::new();
    let s = steps.clone();
    let value = coroutine_scope(|scope| async move {
        for i in 1..=3u64 {
            let s = s.clone();
            scope.launch(async move {
                delay(Duration::from_secs(i)).await;
                s.expect(i as usize + 1);
            });
        }
        s.expect(1);
        Ok::<_, CoroutineError>("value")
    })
    .await;
    steps.finish(5);
    assert_eq!(value.unwrap(), "value");
}

#[tokio::test(start_paused = true)]
async fn coroutine_scope_returns_a_childs_failure_and_cancels_the_rest() {
    let cancelled = Arc::new(AtomicUsize::new(0));
    let c = cancelled.clone();
    let result = coroutine_scope(|scope| async move {
        let parked = scope.launch(async { delay(Duration::from_secs(3600)).await });
        let _ = parked.job().invoke_on_completion(move |e| {
            if e.is_some_and(CoroutineError::is_cancellation) {
                c.fetch_add(1, Ordering::SeqCst);
            }
        });
        scope.launch(async {
            delay(Duration::from_secs(1)).await;
            Err::<(), _>(TestError("child"))
        });
        delay(Duration::from_secs(3600)).await;
        Ok::<_, CoroutineError>(())
    })
    .await;
    assert_eq!(
        result.unwrap_err().downcast_ref::<TestError>(),
        Some(&TestError("child"))
    );
    assert_eq!(cancelled.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn coroutine_scope_returns_its_blocks_error_and_panic() {
    let err = coroutine_scope(|_| async { Err::<(), _>(TestError("block")) })
        .await
        .unwrap_err();
    assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError("block")));
    let panic = coroutine_scope(|_| async {
        if is_active() {
            panic!("block panicked");
        }
    })
    .await
    .unwrap_err();
    assert_eq!(panic.panic_message(), Some("block panicked"));
}

#[tokio::test(start_paused = true)]
async fn a_failing_coroutine_scope_does_not_cancel_its_caller() {
    let scope = Scope::new(());
    let steps = Steps::new();
    let s = steps.clone();
    let caller = scope.launch(async move {
        let r = coroutine_scope(|inner| async move {
            inner.launch(async { Err::<(), _>(TestError("inner child")) });
            Ok::<_, CoroutineError>(())
        })
        .await;
        assert!(r.is_err());
        assert!(
            is_active(),
            "the caller is not cancelled by a scope it called"
        );
        s.expect(1);
    });
    caller.join().await;
    steps.finish(2);
    assert_eq!(caller.state(), JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_caller_cancels_the_scope_and_its_children() {
    let scope = Scope::new(());
    let child_state = Arc::new(std::sync::Mutex::new(None));
    let keep = child_state.clone();
    let caller = scope.launch(async move {
        let _ = coroutine_scope(|inner| async move {
            let child = inner.launch(async { delay(Duration::from_secs(3600)).await });
            let _ = child
                .job()
                .invoke_on_completion(move |e| *keep.lock().unwrap() = Some(e.cloned()));
            delay(Duration::from_secs(3600)).await;
            Ok::<_, CoroutineError>(())
        })
        .await;
    });
    yield_now().await;
    caller.cancel_and_join().await;
    let state = child_state
        .lock()
        .unwrap()
        .clone()
        .expect("the child finished before the caller");
    assert!(state.unwrap().is_cancellation());
}

#[tokio::test(start_paused = true)]
async fn current_scope_inside_a_coroutine_launches_its_children() {
    let scope = Scope::new(());
    assert!(try_current_scope().is_none());
    let parent = scope.launch(async {
        let me = current_scope();
        let child = me.launch(async { delay(Duration::from_secs(1)).await });
        assert_eq!(child.job().parent().as_ref(), Some(&me.job()));
    });
    parent.join().await;
    assert_eq!(parent.state(), JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn the_scope_handle_given_to_the_block_is_the_current_scope() {
    let same = coroutine_scope(|scope| async move {
        Ok::<_, CoroutineError>(scope.job() == current_scope().job())
    })
    .await;
    assert!(same.unwrap());
}

#[tokio::test(start_paused = true)]
async fn with_context_adds_elements_for_the_body_and_its_children() {
    let scope = Scope::new(CoroutineName::new("outer"));
    let names = scope.async_(async {
        let outer = current_context()
            .get::<CoroutineName>()
            .unwrap()
            .to_string();
        let (inner, child) = with_context(CoroutineName::new("inner"), async {
            let inner = current_context()
                .get::<CoroutineName>()
                .unwrap()
                .to_string();
            let child = current_scope().async_(async {
                current_context()
                    .get::<CoroutineName>()
                    .unwrap()
                    .to_string()
            });
            (inner, child.await.unwrap())
        })
        .await
        .unwrap();
        let after = current_context()
            .get::<CoroutineName>()
            .unwrap()
            .to_string();
        (outer, inner, child, after)
    });
    let (outer, inner, child, after) = names.await.unwrap();
    assert_eq!(
        (
            outer.as_str(),
            inner.as_str(),
            child.as_str(),
            after.as_str()
        ),
        ("outer", "inner", "inner", "outer")
    );
}

#[tokio::test(start_paused = true)]
async fn with_context_waits_for_children_launched_inside() {
    let steps = Steps::new();
    let s = steps.clone();
    with_context(CoroutineName::new("w"), async move {
        let s2 = s.clone();
        current_scope().launch(async move {
            delay(Duration::from_secs(1)).await;
            s2.expect(2);
        });
        s.expect(1);
    })
    .await
    .unwrap();
    steps.finish(3);
}

#[tokio::test(start_paused = true)]
async fn scope_builders_work_outside_any_coroutine() {
    // Called straight from a tokio task: the scope is a root.
    let v = coroutine_scope(|scope| async move {
        let d = scope.async_(async { 2u32 });
        Ok::<_, CoroutineError>(d.await? * 21)
    })
    .await;
    assert_eq!(v.unwrap(), 42);
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_nested_coroutine_scopes() {
    // Completion and cancellation propagate in constant stack (the job tree runs a queue, not
    // a recursion). The polls of the nested blocks are the user's own async recursion, boxed as
    // any recursive async fn must be; each level costs about 0.5 KiB of stack in release and
    // 6-7 KiB in debug (measured: 10,000 levels need 60-64 MiB, and under 72 MiB with the
    // `tracing` feature, which the tests crate turns on; plain boxed async recursion: 0.1 /
    // 0.4 KiB), so this debug-build test gives its runtime thread 128 MiB.
    fn nest(
        depth: u32,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u32, CoroutineError>> + Send>>
    {
        Box::pin(async move {
            if depth == 0 {
                return Ok(0);
            }
            coroutine_scope(|_| async move { Ok::<_, CoroutineError>(nest(depth - 1).await? + 1) })
                .await
        })
    }
    let depth = 10_000;
    let handle = std::thread::Builder::new()
        .stack_size(128 << 20)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(nest(depth))
        })
        .unwrap();
    assert_eq!(handle.join().unwrap().unwrap(), depth);
}

#[tokio::test(start_paused = true)]
async fn a_failure_inside_a_scope_whose_caller_was_cancelled_is_not_lost() {
    // The caller is cancelled, so nobody will receive the scope's result; a child of the scope
    // then fails in its cleanup. The failure goes up to the caller, which reports it.
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let caller = scope.launch(async {
        let _ = coroutine_scope(|inner| async move {
            inner.launch(try_finally(delay(Duration::from_secs(3600)), async {
                delay(Duration::from_secs(1)).await;
                Err::<(), _>(TestError("cleanup failed after the caller was cancelled"))
            }));
            delay(Duration::from_secs(3600)).await;
            Ok::<_, CoroutineError>(())
        })
        .await;
    });
    yield_now().await;
    caller.cancel_and_join().await;
    assert_eq!(
        recorder.messages(),
        vec!["cleanup failed after the caller was cancelled"]
    );
    assert_eq!(
        caller
            .final_error()
            .unwrap()
            .downcast_ref::<TestError>()
            .map(|e| e.0),
        Some("cleanup failed after the caller was cancelled")
    );
}

#[tokio::test(start_paused = true)]
async fn a_builder_whose_body_returns_a_boxed_error_can_be_awaited_in_a_send_coroutine() {
    // Regression: the builders' return types once named `<Fut::Output as CoroutineResult>::Value`,
    // which an enclosing future's `Send` check could not prove for `Box<dyn Error>` errors
    // ("implementation of `From` is not general enough").
    let scope = Scope::new(());
    let v = scope.async_(async {
        with_context(CoroutineName::new("p"), async move {
            let n: u32 = "41".parse()?;
            Ok::<_, scopes::BoxError>(n + 1)
        })
        .await
    });
    assert_eq!(v.await.unwrap(), 42);
}

#[tokio::test(start_paused = true)]
async fn a_scope_dropped_by_its_caller_says_so_in_its_cancellation() {
    // A caller may drop a scope builder's future (here `tokio::time::timeout` does): the scope's
    // job is cancelled with a cause that says what happened.
    let inner: Arc<std::sync::Mutex<Option<Job>>> = Arc::default();
    let keep = inner.clone();
    let outcome = tokio::time::timeout(
        Duration::from_secs(1),
        coroutine_scope(|scope| async move {
            *keep.lock().unwrap() = Some(scope.job());
            delay(Duration::from_secs(3600)).await;
            Ok::<_, CoroutineError>(())
        }),
    )
    .await;
    assert!(outcome.is_err(), "tokio's timeout dropped the scope");
    let job = inner.lock().unwrap().clone().unwrap();
    job.join().await;
    let cause = job.final_error().unwrap();
    assert!(cause.is_cancellation());
    assert_eq!(
        cause.to_string(),
        "the scope's future was dropped before its block ended"
    );
}
