//! Dispatchers in contexts: names, contracts that know views, `with_context` hops (values,
//! failures and panics come back; cancellation goes there), and which runtime a scope uses.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{Dispatchers, JobState, current_dispatcher, require_dispatcher};
use scopes_tests::{Steps, TestError};

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

#[test]
fn dispatchers_have_kotlins_names() {
    assert_eq!(Dispatchers::default().to_string(), "Dispatchers.Default");
    assert_eq!(Dispatchers::io().to_string(), "Dispatchers.IO");
    assert_eq!(
        format!("{:?}", Dispatchers::io().limited_parallelism(50)),
        "Dispatchers.IO.limitedParallelism(50)"
    );
    assert_eq!(
        Dispatchers::default().limited_parallelism(4).to_string(),
        "Dispatchers.Default.limitedParallelism(4)"
    );
    assert_eq!(
        Dispatchers::unconfined().to_string(),
        "Dispatchers.Unconfined"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(
        Dispatchers::from_handle(rt.handle().clone()).to_string(),
        "TokioRuntime(current_thread)"
    );
    let ctx = CoroutineName::new("sync") + Job::supervisor() + Dispatchers::io();
    assert_eq!(
        format!("{ctx:?}"),
        "[CoroutineName(sync), SupervisorJob{Active}, Dispatchers.IO]"
    );
}

#[test]
fn the_same_dispatcher_is_returned_every_time() {
    assert!(Dispatchers::io().ptr_eq(&Dispatchers::io()));
    assert!(Dispatchers::default().ptr_eq(&Dispatchers::default()));
    assert!(
        !Dispatchers::io()
            .limited_parallelism(2)
            .ptr_eq(&Dispatchers::io().limited_parallelism(2))
    );
}

#[test]
fn serves_knows_views() {
    let io = Dispatchers::io();
    let view = io.limited_parallelism(50);
    let view_of_view = view.limited_parallelism(5);
    assert!(view.serves(&io) && view_of_view.serves(&io) && view_of_view.serves(&view));
    assert!(!io.serves(&view), "io() is not a view of its view");
    assert!(!Dispatchers::default().serves(&io));
    assert!(!Dispatchers::default().limited_parallelism(2).serves(&io));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_dispatcher_accepts_views_and_names_both_sides_when_it_refuses() {
    let io = Dispatchers::io();
    let on_view = with_context(io.limited_parallelism(50), async move {
        require_dispatcher(&Dispatchers::io())
    });
    assert!(on_view.await.is_ok());
    let on_default = with_context(Dispatchers::default(), async {
        require_dispatcher(&Dispatchers::io())
    });
    assert_eq!(
        on_default.await.unwrap_err().to_string(),
        "expected Dispatchers.IO, but running on Dispatchers.Default"
    );
    let view = Dispatchers::io().limited_parallelism(3);
    let wanted = view.clone();
    let on_io = with_context(
        Dispatchers::io(),
        async move { require_dispatcher(&wanted) },
    );
    assert_eq!(
        on_io.await.unwrap_err().to_string(),
        "expected Dispatchers.IO.limitedParallelism(3), but running on Dispatchers.IO"
    );
    assert_eq!(
        require_dispatcher(&view).unwrap_err().to_string(),
        "expected Dispatchers.IO.limitedParallelism(3), but running outside any coroutine's dispatcher"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_context_hops_to_io_and_back() {
    let caller = std::thread::current().id();
    let runtime = tokio::runtime::Handle::current().id();
    let (on, thread, name, served_by) = with_context(Dispatchers::io(), async {
        (
            current_dispatcher().unwrap().to_string(),
            std::thread::current().id(),
            thread_name(),
            tokio::runtime::Handle::current().id(),
        )
    })
    .await
    .unwrap();
    assert_eq!(on, "Dispatchers.IO");
    assert_ne!(thread, caller);
    assert_eq!(
        served_by, runtime,
        "io() runs on the blocking pool of the runtime it is used in"
    );
    assert_ne!(name, "scopes-default", "no runtime of scopes' own was used");
    assert!(current_dispatcher().is_none(), "back outside any coroutine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_context_on_the_same_dispatcher_does_not_hop() {
    let scope = Scope::new(Dispatchers::default());
    let same = scope.async_(scopes_tests::with_context_stays_on_thread(
        Dispatchers::default(),
    ));
    assert!(same.await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_context_returns_failures_and_panics_from_the_other_dispatcher() {
    let failed = with_context(Dispatchers::io(), async {
        Err::<(), _>(TestError("io failed"))
    })
    .await;
    assert_eq!(
        failed.unwrap_err().downcast_ref::<TestError>(),
        Some(&TestError("io failed"))
    );
    let panicked = with_context(Dispatchers::io(), async {
        if is_active() {
            panic!("io panicked");
        }
    })
    .await;
    assert_eq!(panicked.unwrap_err().panic_message(), Some("io panicked"));
    // Children launched over there are waited for, and their failure comes back too.
    let child = with_context(Dispatchers::default(), async {
        current_scope().launch(async {
            delay(Duration::from_millis(5)).await;
            Err::<(), _>(TestError("child over there"))
        });
    })
    .await;
    assert_eq!(child.unwrap_err().to_string(), "child over there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_caller_cancels_the_work_it_hopped_to() {
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let scope = Scope::new(());
    let caller = scope.launch(async move {
        let _ = with_context(Dispatchers::io(), async move {
            struct SetOnDrop(Arc<AtomicBool>);
            impl Drop for SetOnDrop {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::SeqCst);
                }
            }
            let _guard = SetOnDrop(flag);
            started_tx.send(()).unwrap();
            delay(Duration::from_secs(3600)).await;
        })
        .await;
    });
    started_rx.await.unwrap();
    caller.cancel_and_join().await;
    assert!(
        dropped.load(Ordering::SeqCst),
        "the hopped body was dropped before the caller's join returned"
    );
    assert_eq!(caller.state(), JobState::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hopped_non_cancellable_section_finishes_before_the_caller_ends() {
    let steps = Steps::new();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let scope = Scope::new(());
    let s = steps.clone();
    let caller = scope.launch(async move {
        let s2 = s.clone();
        let _ = with_context(Dispatchers::io() + NonCancellable, async move {
            started_tx.send(()).unwrap();
            delay(Duration::from_millis(50)).await;
            s2.expect(2);
        })
        .await;
        s.expect(3);
    });
    started_rx.await.unwrap();
    steps.expect(1);
    caller.cancel_and_join().await;
    steps.finish(4);
}

#[tokio::test(flavor = "current_thread")]
async fn a_scope_without_a_dispatcher_runs_on_the_runtime_it_was_created_in() {
    let here = std::thread::current().id();
    let scope = Scope::new(());
    assert_eq!(
        format!("{:?}", scope.coroutine_context()),
        "[Job{Active}, TokioRuntime(current_thread)]",
        "no second runtime"
    );
    let there = scope
        .async_(async { std::thread::current().id() })
        .await
        .unwrap();
    assert_eq!(there, here);
}

#[test]
fn a_scope_made_outside_any_runtime_uses_the_default_dispatcher() {
    let scope = Scope::new(());
    assert!(
        scope
            .coroutine_context()
            .get::<scopes::Dispatcher>()
            .unwrap()
            .ptr_eq(&Dispatchers::default())
    );
    let (tx, rx) = std::sync::mpsc::channel();
    scope.launch(async move {
        tx.send(std::thread::current().name().map(str::to_owned))
            .unwrap()
    });
    assert_eq!(rx.recv().unwrap().as_deref(), Some("scopes-default"));
}

#[test]
fn install_default_after_first_use_is_refused() {
    let _ = Dispatchers::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = Dispatchers::install_default(rt.handle().clone()).unwrap_err();
    assert!(
        err.to_string()
            .contains("install your runtime before the first use"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_inherit_the_dispatcher_and_a_launch_context_can_change_it() {
    let scope = Scope::new(Dispatchers::io().limited_parallelism(2));
    let (parent, child, other) = scope
        .async_(async {
            let parent = current_dispatcher().unwrap().to_string();
            let child = current_scope().async_(async { current_dispatcher().unwrap().to_string() });
            let other = current_scope().async_with(
                Dispatchers::default(),
                CoroutineStart::Default,
                async { current_dispatcher().unwrap().to_string() },
            );
            Ok::<_, CoroutineError>((parent, child.await?, other.await?))
        })
        .await
        .unwrap();
    assert_eq!(parent, "Dispatchers.IO.limitedParallelism(2)");
    assert_eq!(child, parent);
    assert_eq!(other, "Dispatchers.Default");
}

#[tokio::test(flavor = "current_thread")]
async fn unconfined_runs_in_place_then_where_it_is_woken() {
    let steps = Steps::new();
    let scope = Scope::new(Dispatchers::unconfined());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let s = steps.clone();
    let here = std::thread::current().id();
    let resumed_on = scope.async_(async move {
        s.expect(1);
        assert_eq!(
            std::thread::current().id(),
            here,
            "runs in place until its first suspension"
        );
        let _ = rx.await;
        std::thread::current().id()
    });
    steps.expect(2);
    let waker_thread = std::thread::spawn(move || {
        tx.send(()).unwrap();
        std::thread::current().id()
    })
    .join()
    .unwrap();
    assert_eq!(
        resumed_on.await.unwrap(),
        waker_thread,
        "resumed on the thread that woke it"
    );
    steps.finish(3);
}
