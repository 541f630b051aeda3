//! The `Debug` of a coroutine (and so each line of `dump()`) tells a failed coroutine from a
//! cancelled one: kotlinx prints `{Cancelled}` for both; scopes adds the cause.

use std::fmt;

use scopes::prelude::*;

#[tokio::test]
async fn a_failed_coroutine_says_failed_with_its_error() {
    let scope = Scope::new(Job::supervisor() + CoroutineExceptionHandler::new(|_, _| {}));
    let c = scope
        .coroutine()
        .name("upload")
        .launch(async { Err::<(), _>("disk full") });
    c.join().await;
    assert_eq!(
        format!("{c:?}"),
        "\"upload\" StandaloneCoroutine{Cancelled, failed: disk full}"
    );
}

#[tokio::test]
async fn a_panicked_coroutine_says_failed_with_the_panic() {
    let scope = Scope::new(Job::supervisor() + CoroutineExceptionHandler::new(|_, _| {}));
    let c = scope
        .coroutine()
        .name("parser")
        .launch(async { panic!("bad header") });
    c.join().await;
    assert_eq!(
        format!("{c:?}"),
        "\"parser\" StandaloneCoroutine{Cancelled, failed: coroutine panicked: bad header}"
    );
}

#[tokio::test]
async fn a_cancelled_coroutine_says_cancelled_with_its_cause() {
    let scope = Scope::new(());
    let c = scope
        .coroutine()
        .name("sync")
        .launch(std::future::pending::<()>());
    c.cancel_and_join().await;
    assert_eq!(
        format!("{c:?}"),
        "\"sync\" StandaloneCoroutine{Cancelled, cancelled: Job was cancelled}"
    );
    // A reason given to `cancel_with` is the cancellation's cause.
    let job = Job::new();
    job.cancel_with("shutting down");
    assert_eq!(
        format!("{job:?}"),
        "Job{Cancelled, cancelled: Job was cancelled (caused by: shutting down)}"
    );
}

/// A regular parent takes its child's failure as its own, and cancels its other children with
/// a cancellation caused by it; a completed coroutine says nothing more.
#[tokio::test]
async fn a_failure_that_went_up_reads_as_failed_and_the_siblings_as_cancelled() {
    let scope = Scope::new(Job::supervisor() + CoroutineExceptionHandler::new(|_, _| {}));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let parent = scope.coroutine().name("upload").launch(async move {
        let s = current_scope();
        let failing = s
            .coroutine()
            .name("chunk 1")
            .launch(async { Err::<(), _>("network unreachable") });
        let sibling = s
            .coroutine()
            .name("chunk 2")
            .launch(std::future::pending::<()>());
        let done = s.coroutine().name("chunk 0").launch(async {});
        tx.send((failing, sibling, done)).unwrap();
    });
    let (failing, sibling, done) = rx.await.unwrap();
    parent.join().await;
    assert_eq!(
        format!("{parent:?}"),
        "\"upload\" StandaloneCoroutine{Cancelled, failed: network unreachable}"
    );
    assert_eq!(
        format!("{failing:?}"),
        "\"chunk 1\" StandaloneCoroutine{Cancelled, failed: network unreachable}"
    );
    assert_eq!(
        format!("{sibling:?}"),
        "\"chunk 2\" StandaloneCoroutine{Cancelled, cancelled: parent job is cancelling \
         (caused by: network unreachable)}"
    );
    let done = format!("{done:?}");
    assert!(
        done == "\"chunk 0\" StandaloneCoroutine{Completed}"
            || done.starts_with("\"chunk 0\" StandaloneCoroutine{Cancelled, cancelled: "),
        "{done}"
    );
}

/// An error whose `Display` panics.
#[derive(Debug)]
struct Unprintable;

impl fmt::Display for Unprintable {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("Display of Unprintable")
    }
}

impl std::error::Error for Unprintable {}

/// The error's `Display` is user code: a panic in it stays out of the job's `Debug` (and of a
/// `dump()` that prints the job).
#[test]
fn a_panicking_display_of_the_cause_does_not_escape_debug() {
    let job = Job::new();
    job.cancel_with(Unprintable);
    assert_eq!(
        format!("{job:?}"),
        "Job{Cancelled, cancelled: (the error's `Display` panicked)}"
    );
}
