//! The global exception handler. In its own binary, with one test, because the handler is
//! process-wide.

use std::sync::{Arc, Mutex};

use scopes::prelude::*;
use scopes::{reset_global_exception_handler, set_global_exception_handler};
use scopes_tests::TestError;

#[tokio::test]
async fn failures_without_a_handler_and_panicking_handlers_reach_the_global_handler() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = seen.clone();
    set_global_exception_handler(move |ctx, err| {
        let who = ctx.job().map(|j| format!("{j:?}")).unwrap_or_default();
        sink.lock().unwrap().push(format!("{who}: {err}"));
    });

    // 1. No handler in the context: the global handler gets it, naming the coroutine.
    let scope = Scope::new(Job::supervisor());
    let c = scope.launch_with(
        CoroutineName::new("orphan"),
        CoroutineStart::Default,
        async { Err::<(), _>(TestError("no handler")) },
    );
    c.join().await;

    // 2. A handler that panics: the panic is reported, with the original kept on it.
    let panicking = Scope::new(
        Job::supervisor() + CoroutineExceptionHandler::new(|_, _| panic!("handler bug")),
    );
    panicking
        .launch(async { Err::<(), _>(TestError("original")) })
        .join()
        .await;

    // 3. A panicking completion handler.
    let job = Job::new();
    let _ = job.invoke_on_completion(|_| panic!("completion bug"));
    job.cancel();

    // 4. A cleanup error outside any coroutine.
    try_finally(async {}, async {
        Err::<(), _>(TestError("cleanup outside"))
    })
    .await;

    reset_global_exception_handler();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    // The handler runs before the coroutine is final (kotlinx's order): it is still cancelling,
    // and its `Debug` says with which failure.
    assert_eq!(
        seen[0],
        "\"orphan\" StandaloneCoroutine{Cancelling, failed: no handler}: no handler"
    );
    assert!(
        seen[1].ends_with("the exception handler panicked: coroutine panicked: handler bug"),
        "{}",
        seen[1]
    );
    assert!(
        seen[2].ends_with("a completion handler panicked: coroutine panicked: completion bug"),
        "{}",
        seen[2]
    );
    assert_eq!(seen[3], ": cleanup outside");
}
