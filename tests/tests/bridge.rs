//! The continuation bridge: callbacks as suspensions, the synchronous fast path, cancellation.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{
    CancellableContinuation, Continuation, JobState, suspend_cancellable_coroutine,
    suspend_coroutine,
};

#[tokio::test(flavor = "current_thread")]
async fn a_million_immediate_resumes_run_in_constant_stack() {
    let scope = Scope::new(());
    let total = scope.async_(async {
        let mut total = 0u64;
        for i in 0..1_000_000u64 {
            total += suspend_coroutine(|cont| cont.resume(i % 3)).await.unwrap();
        }
        total
    });
    assert_eq!(
        total.await.unwrap(),
        (0..1_000_000u64).map(|i| i % 3).sum::<u64>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_from_another_thread_ends_the_suspension() {
    let value = suspend_coroutine(|cont: Continuation<&str>| {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5)); // ok: a plain thread, not the runtime
            cont.resume("from a thread");
        });
    })
    .await;
    assert_eq!(value.unwrap(), "from a thread");
}

#[tokio::test(flavor = "current_thread")]
async fn resume_with_an_error_and_a_dropped_continuation_give_errors() {
    let failed: Result<u8, _> =
        suspend_coroutine(|cont| cont.resume_with(Err(CoroutineError::failed("callback failed"))))
            .await;
    assert_eq!(failed.unwrap_err().to_string(), "callback failed");
    let abandoned: Result<u8, _> = suspend_coroutine(drop).await;
    assert_eq!(
        abandoned.unwrap_err().to_string(),
        "the continuation was dropped without being resumed"
    );
}

#[test]
#[should_panic(expected = "continuation already resumed")]
fn a_second_resume_panics() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let _ = suspend_coroutine(|cont| {
            cont.resume(1);
            cont.resume(2);
        })
        .await;
    });
}

#[tokio::test(flavor = "current_thread")]
async fn clones_resume_the_same_suspension_once() {
    let v = suspend_coroutine(|cont: Continuation<u8>| {
        let on_error = cont.clone();
        drop(on_error); // one callback is dropped unused; the other resumes
        cont.resume(7);
    })
    .await;
    assert_eq!(v.unwrap(), 7);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn cancellation_reaches_the_callback_side_and_a_late_resume_is_ignored() {
    let cancelled_with = Arc::new(Mutex::new(None));
    let seen = cancelled_with.clone();
    let kept: Arc<Mutex<Option<CancellableContinuation<u8>>>> = Arc::default();
    let keep = kept.clone();
    let scope = Scope::new(());
    let waiter = scope.launch(async move {
        let _ = suspend_cancellable_coroutine(|cont: CancellableContinuation<u8>| {
            cont.invoke_on_cancellation(move |cause| {
                *seen.lock().unwrap() = Some(cause.to_string())
            });
            *keep.lock().unwrap() = Some(cont);
        })
        .await;
    });
    yield_now().await;
    waiter.cancel_and_join().await;
    assert_eq!(waiter.state(), JobState::Cancelled);
    assert_eq!(
        cancelled_with.lock().unwrap().as_deref(),
        Some("Job was cancelled")
    );
    let cont = kept.lock().unwrap().take().unwrap();
    assert!(cont.is_cancelled());
    cont.resume(1); // ignored, no panic
}

#[tokio::test(flavor = "current_thread")]
#[should_panic(expected = "a cancellation handler is registered already")]
async fn only_one_cancellation_handler() {
    let _ = suspend_cancellable_coroutine(|cont: CancellableContinuation<u8>| {
        cont.invoke_on_cancellation(|_| {});
        cont.invoke_on_cancellation(|_| {});
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_resumed_suspension_does_not_call_the_cancellation_handler() {
    let called = Arc::new(AtomicBool::new(false));
    let flag = called.clone();
    let v = suspend_cancellable_coroutine(|cont: CancellableContinuation<u8>| {
        cont.invoke_on_cancellation(move |_| flag.store(true, Ordering::SeqCst));
        cont.resume(3);
    })
    .await;
    assert_eq!(v.unwrap(), 3);
    assert!(!called.load(Ordering::SeqCst));
}

/// A resumed suspension lets go of its cancellation handler at once (it will never be
/// cancelled), with whatever the handler holds, a clone of its own continuation included. It
/// used to keep both until the last continuation handle went, and a handler holding a clone
/// made that never.
#[tokio::test]
async fn a_resume_releases_the_cancellation_handler() {
    struct Dropped(Arc<AtomicUsize>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    for i in 0..1_000u32 {
        let held = Dropped(dropped.clone());
        let value = suspend_cancellable_coroutine(|cont| {
            let own = cont.clone();
            cont.invoke_on_cancellation(move |_| {
                let _held = &held;
                drop(own);
            });
            cont.resume(i);
        })
        .await
        .unwrap();
        assert_eq!(value, i);
    }
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1_000,
        "every handler released"
    );
}
