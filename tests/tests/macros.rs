//! The macros at run time: names from source locations, contracts that hold or fail, scopes
//! owned by structs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{JobState, async_, coroutine_scope, dispatched, launch};
use scopes_tests::{Recorder, TestError};

#[tokio::test(start_paused = true)]
async fn launch_names_coroutines_after_their_source_location() {
    let scope = Scope::new(());
    let line = line!() + 1; // the line of the `launch!` below
    let parked = launch!(scope, {
        delay(Duration::from_secs(60)).await;
    });
    let named =
        launch!(scope, CoroutineName::new("mine") => { delay(Duration::from_secs(60)).await; });
    yield_now().await;
    let dump = scope.dump();
    assert!(
        dump.contains(&format!(
            "tests/tests/macros.rs:{line}\" StandaloneCoroutine{{Active}}"
        )),
        "{dump}"
    );
    assert!(
        dump.contains("\"mine\" StandaloneCoroutine{Active}"),
        "a given name wins: {dump}"
    );
    scope.cancel();
    parked.join().await;
    named.join().await;
}

#[tokio::test(start_paused = true)]
async fn question_mark_in_a_launch_body_is_the_coroutines_failure() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let c = launch!(scope, {
        let n: u8 = "not a number".parse()?;
        let _ = n;
    });
    c.join().await;
    assert_eq!(c.state(), JobState::Cancelled);
    assert_eq!(recorder.messages(), vec!["invalid digit found in string"]);
    let d = async_!(scope, { Err::<u8, _>(TestError("nope"))? });
    assert_eq!(
        d.await.unwrap_err().downcast_ref::<TestError>(),
        Some(&TestError("nope"))
    );
}

#[tokio::test(start_paused = true)]
async fn launch_without_a_scope_launches_a_child_of_the_current_coroutine() {
    let scope = Scope::new(());
    let parent = scope.async_(async {
        let child = launch!({
            delay(Duration::from_secs(1)).await;
        });
        Ok::<_, CoroutineError>(child.job().parent() == Some(current_scope().job()))
    });
    assert!(parent.await.unwrap());
}

#[dispatched(on = Dispatchers::io())]
async fn blocking_len(text: String) -> usize {
    std::thread::sleep(Duration::from_millis(1)); // ok: a blocking call, on io()
    scopes::require_dispatcher(&Dispatchers::io()).unwrap();
    text.len()
}

#[dispatched(requires = Dispatchers::io())]
async fn must_be_on_io() -> u8 {
    1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_on_runs_the_body_on_its_dispatcher() {
    assert_eq!(blocking_len("four".into()).await, 4);
    let scope = Scope::new(Dispatchers::io().limited_parallelism(2));
    let n = scope.async_(blocking_len("ab".into()));
    assert_eq!(
        n.await.unwrap(),
        2,
        "already on a view of io(): no hop needed, and it works"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_requires_accepts_views_and_fails_the_caller_otherwise() {
    let on_view = with_context(Dispatchers::io().limited_parallelism(3), must_be_on_io());
    assert_eq!(on_view.await.unwrap(), 1);
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + Dispatchers::default() + recorder.handler());
    let wrong = scope.launch(async {
        must_be_on_io().await;
    });
    wrong.join().await;
    let received = recorder.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].error.panic_message(),
        Some(
            "`must_be_on_io` requires Dispatchers.IO: expected Dispatchers.IO, but running on Dispatchers.Default"
        )
    );
}

#[coroutine_scope(context = Job::supervisor())]
struct Worker {
    #[scope]
    scope: Scope,
    name: &'static str,
}

#[tokio::test(start_paused = true)]
async fn a_coroutine_scope_struct_cancels_its_work_when_dropped() {
    let cleaned = Arc::new(AtomicBool::new(false));
    let flag = cleaned.clone();
    let worker = Worker {
        scope: Worker::new_scope(),
        name: "w",
    };
    assert!(worker.job().is_supervisor());
    let running = launch!(worker, {
        try_finally(delay(Duration::from_secs(3600)), async move {
            flag.store(true, Ordering::SeqCst)
        })
        .await;
    });
    yield_now().await;
    assert_eq!(worker.name, "w");
    drop(worker);
    running.join().await;
    assert!(running.is_cancelled() && cleaned.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn with_context_macro_awaits_its_body_with_question_mark() {
    let scope = Scope::new(());
    let v = scope.async_(async {
        let parsed = scopes::with_context!(CoroutineName::new("parse"), {
            let n: u32 = "41".parse()?;
            (
                n + 1,
                current_context()
                    .get::<CoroutineName>()
                    .unwrap()
                    .to_string(),
            )
        });
        parsed
    });
    assert_eq!(v.await.unwrap(), (42, "parse".to_string()));
}
