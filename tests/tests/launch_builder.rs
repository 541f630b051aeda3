//! The launch builder, `scope.coroutine()`: a name, extra context and a start mode given by name,
//! for `launch` and `async_`, behaving as `launch_with` / `async_with` do.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{ContextElement, JobState, require_dispatcher, try_current_scope};
use scopes_tests::{Recorder, TestError};
use tokio::sync::oneshot;

#[derive(Debug, Clone, PartialEq, ContextElement)]
struct RequestId(u64);

#[derive(Debug, Clone, PartialEq, ContextElement)]
struct Tenant(&'static str);

/// True; hides from the compiler that a body panics, so it still has a value type.
fn scope_is_there() -> bool {
    try_current_scope().is_some()
}

fn name_of(ctx: &CoroutineContext) -> Option<String> {
    ctx.get::<CoroutineName>().map(|n| n.to_string())
}

#[tokio::test(start_paused = true)]
async fn the_name_is_in_the_coroutines_context_its_debug_and_the_dump() {
    let scope = Scope::new(CoroutineName::new("service"));
    let (release, released) = oneshot::channel::<()>();
    let (seen_tx, seen) = oneshot::channel();
    let upload = scope.coroutine().name("upload").launch(async move {
        seen_tx.send(name_of(&current_context())).unwrap();
        released.await.unwrap();
    });
    assert_eq!(seen.await.unwrap().as_deref(), Some("upload"));
    let dump = scope.dump();
    assert!(dump.contains("\"upload\""), "{dump}");
    assert_eq!(
        format!("{upload:?}"),
        "\"upload\" StandaloneCoroutine{Active}"
    );
    release.send(()).unwrap();
    upload.join().await;
    assert_eq!(upload.state(), JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn an_unnamed_builder_launch_inherits_the_scopes_name() {
    let scope = Scope::new(CoroutineName::new("service"));
    let name = scope
        .coroutine()
        .async_(async { name_of(&current_context()) });
    assert_eq!(name.await.unwrap().as_deref(), Some("service"));
}

#[tokio::test(start_paused = true)]
async fn a_lazy_launch_does_not_run_until_started() {
    let scope = Scope::new(());
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let lazy = scope
        .coroutine()
        .name("lazy")
        .start(CoroutineStart::Lazy)
        .launch(async move { r.store(true, Ordering::SeqCst) });
    delay(Duration::from_secs(60)).await;
    yield_now().await;
    assert_eq!(lazy.state(), JobState::New);
    assert!(
        !ran.load(Ordering::SeqCst),
        "a lazy coroutine ran before it was started"
    );
    assert!(scope.dump().contains("\"lazy\""), "{}", scope.dump());
    assert!(lazy.start());
    lazy.join().await;
    assert!(ran.load(Ordering::SeqCst));
    assert!(lazy.final_error().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_lazy_async_runs_when_awaited_and_never_if_cancelled_first() {
    let scope = Scope::new(());
    let lazy = scope
        .coroutine()
        .start(CoroutineStart::Lazy)
        .async_(async { 7u32 });
    delay(Duration::from_secs(1)).await;
    assert_eq!(lazy.job().state(), JobState::New);
    assert_eq!(lazy.await.unwrap(), 7);

    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let never = scope
        .coroutine()
        .start(CoroutineStart::Lazy)
        .async_(async move { r.store(true, Ordering::SeqCst) });
    never.cancel();
    assert!(never.await.unwrap_err().is_cancellation());
    assert!(!ran.load(Ordering::SeqCst));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_elements_combine_with_the_scopes_and_with_each_other() {
    let scope = Scope::new(CoroutineName::new("service") + Tenant("acme"));
    let seen = scope
        .coroutine()
        .context(RequestId(7))
        .name("handler")
        .context(Dispatchers::io())
        .async_(async {
            let ctx = current_context();
            assert!(
                require_dispatcher(&Dispatchers::io()).is_ok(),
                "not on io()"
            );
            (
                name_of(&ctx),
                ctx.get::<RequestId>().cloned(),
                ctx.get::<Tenant>().cloned(),
            )
        });
    assert_eq!(
        seen.await.unwrap(),
        (
            Some("handler".to_owned()),
            Some(RequestId(7)),
            Some(Tenant("acme"))
        )
    );
}

#[tokio::test(start_paused = true)]
async fn a_later_element_of_a_type_replaces_an_earlier_one_as_with_plus() {
    let scope = Scope::new(());
    let later_context = scope
        .coroutine()
        .name("first")
        .context(CoroutineName::new("second") + RequestId(1))
        .context(RequestId(2))
        .async_(async {
            let ctx = current_context();
            (name_of(&ctx), ctx.get::<RequestId>().cloned())
        });
    assert_eq!(
        later_context.await.unwrap(),
        (Some("second".to_owned()), Some(RequestId(2)))
    );
    let later_name = scope
        .coroutine()
        .context(CoroutineName::new("first"))
        .name("second")
        .async_(async { name_of(&current_context()) });
    assert_eq!(later_name.await.unwrap().as_deref(), Some("second"));
}

#[tokio::test(start_paused = true)]
async fn a_job_in_the_context_becomes_the_parent() {
    let scope = Scope::new(());
    let parent = Job::new();
    let child = scope
        .coroutine()
        .context(parent.clone())
        .name("adopted")
        .launch(std::future::pending::<()>());
    assert_eq!(parent.children().len(), 1);
    assert!(scope.job().children().is_empty());
    parent.cancel();
    child.join().await;
    assert!(child.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn async_returns_its_value_and_its_failure() {
    let scope = Scope::new(Job::supervisor());
    let value = scope
        .coroutine()
        .name("answer")
        .async_(async { Ok::<_, TestError>(42u8) });
    assert_eq!(value.await.unwrap(), 42);
    let failed = scope
        .coroutine()
        .name("broken")
        .async_(async { Err::<u8, _>(TestError("no answer")) });
    let error = failed.await.unwrap_err();
    assert_eq!(
        error.downcast_ref::<TestError>(),
        Some(&TestError("no answer"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_handler_given_to_the_builder_gets_the_named_coroutines_failure() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor());
    let failing = scope
        .coroutine()
        .name("uploader")
        .context(recorder.handler())
        .launch(async { Err::<(), _>(TestError("disk full")) });
    failing.join().await;
    let received = recorder.wait_for(1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].name.as_deref(), Some("uploader"));
    assert_eq!(received[0].error.to_string(), "disk full");
    assert!(
        scope.is_active(),
        "a supervisor's child failure cancels nothing else"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_body_is_a_failure_as_with_launch() {
    let scope = Scope::new(Job::supervisor());
    let value = scope.coroutine().name("panics").async_(async {
        if scope_is_there() {
            panic!("boom in a built coroutine");
        }
        1u8
    });
    let error: CoroutineError = value.await.unwrap_err();
    assert!(
        error.to_string().contains("boom in a built coroutine"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_builder_dropped_unlaunched_launches_nothing() {
    let scope = Scope::new(());
    #[allow(unused_must_use)]
    {
        scope
            .coroutine()
            .name("never")
            .start(CoroutineStart::Atomic);
    }
    assert!(scope.job().children().is_empty());
    assert!(!scope.dump().contains("never"));
}

#[tokio::test(start_paused = true)]
async fn inside_a_coroutine_the_current_scope_builds_children() {
    let scope = Scope::new(());
    let parent = scope.coroutine().name("parent").launch(async {
        let child = current_scope()
            .coroutine()
            .name("child")
            .async_(async { name_of(&current_context()) });
        assert_eq!(current_context().job().unwrap().children().len(), 1);
        assert_eq!(child.await.unwrap().as_deref(), Some("child"));
    });
    parent.join().await;
    assert!(parent.final_error().is_none(), "{:?}", parent.final_error());
}

#[scopes::test]
async fn the_builder_works_on_a_test_scope_with_virtual_time(scope: scopes::test::TestScope) {
    let lazy = scope
        .coroutine()
        .name("tick")
        .start(CoroutineStart::Lazy)
        .async_(async {
            delay(Duration::from_secs(3600)).await;
            "an hour later"
        });
    scope.advance_until_idle().await;
    assert_eq!(lazy.job().state(), JobState::New);
    assert_eq!(lazy.await.unwrap(), "an hour later");
    assert_eq!(scope.current_time(), Duration::from_secs(3600));
}
