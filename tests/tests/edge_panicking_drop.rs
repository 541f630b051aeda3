//! Issue 10, item 5: a panic in user code that the runtime drops or calls (a future's `Drop`, a
//! `CoroutineResult::into_result`) becomes a reported failure, and the rest of the tree still
//! ends. (The completion handler on a final job is in `edge_panicking_completion_handler.rs`,
//! a binary of its own since it sets the global exception handler.)

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{CoroutineResult, ErrorKind};
use scopes_tests::{LIMIT, Received, Recorder, Rt, on_runtime};

/// Panics when dropped: put it in a future so that dropping the future panics.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}

/// True if `error` is a panic whose message contains `text`.
fn is_panic_with(error: &CoroutineError, text: &str) -> bool {
    error.kind() == ErrorKind::Panicked && error.panic_message().is_some_and(|m| m.contains(text))
}

/// True if the panic `text` is visible to the user: the final error of `job`, or a report.
fn panic_visible(job: &Job, reports: &[Received], text: &str) -> bool {
    job.final_error().is_some_and(|e| is_panic_with(&e, text))
        || reports.iter().any(|r| is_panic_with(&r.error, text))
}

/// Issue 10, item 5: a scope with a lazy child whose future's `Drop` panics, a lazy sibling and
/// a parked sibling: `scope.job().cancel()` does not panic; afterwards every child and the
/// scope's job are final, `join` returns, and the panic is visible (the lazy child's final error
/// is a panic, or the scope's handler received it).
#[test]
fn a_panicking_drop_of_a_lazy_child_during_cancel_leaves_the_tree_ending() {
    on_runtime(Rt::CurrentThread, LIMIT, "panicking lazy drop", || async {
        let recorder = Recorder::new();
        let scope = Scope::new(Job::supervisor() + recorder.handler());
        let bomb = PanicOnDrop("lazy child's drop panicked");
        let lazy_bad = scope.launch_with((), CoroutineStart::Lazy, async move {
            let _bomb = bomb;
        });
        let lazy_ok = scope.launch_with((), CoroutineStart::Lazy, async {});
        let parked = scope.launch(delay(Duration::from_secs(3600)));
        yield_now().await; // the parked one reaches its delay

        let cancelled = catch_unwind(AssertUnwindSafe(|| scope.job().cancel()));
        assert!(cancelled.is_ok(), "cancel() must not panic");

        let job = scope.job();
        job.join().await;
        for (name, c) in [
            ("lazy_bad", &lazy_bad),
            ("lazy_ok", &lazy_ok),
            ("parked", &parked),
        ] {
            assert!(c.is_completed(), "{name} is final: {:?}", c.state());
        }
        assert!(
            job.is_completed(),
            "the scope's job is final: {:?}",
            job.state()
        );
        assert!(
            panic_visible(
                lazy_bad.job(),
                &recorder.received(),
                "lazy child's drop panicked"
            ),
            "the panic is reported: final error {:?}, reports {:?}",
            lazy_bad.final_error(),
            recorder.received()
        );
    });
}

/// Issue 10, item 5: the same with the panicking child last in the list (after its siblings).
#[test]
fn a_panicking_drop_of_the_last_lazy_child_during_cancel_leaves_the_tree_ending() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "panicking lazy drop, last",
        || async {
            let recorder = Recorder::new();
            let scope = Scope::new(Job::supervisor() + recorder.handler());
            let parked = scope.launch(delay(Duration::from_secs(3600)));
            let lazy_ok = scope.launch_with((), CoroutineStart::Lazy, async {});
            let bomb = PanicOnDrop("last lazy child's drop panicked");
            let lazy_bad = scope.launch_with((), CoroutineStart::Lazy, async move {
                let _bomb = bomb;
            });
            yield_now().await;

            let cancelled = catch_unwind(AssertUnwindSafe(|| scope.job().cancel()));
            assert!(cancelled.is_ok(), "cancel() must not panic");
            let job = scope.job();
            job.join().await;
            assert!(lazy_bad.is_completed() && lazy_ok.is_completed() && parked.is_completed());
            assert!(job.is_completed());
            assert!(panic_visible(
                lazy_bad.job(),
                &recorder.received(),
                "last lazy child's drop panicked"
            ));
        },
    );
}

/// Issue 10, item 5: a coroutine launched into a cancelled scope never runs; its future is
/// dropped by `launch` itself, and that `Drop` panics: `launch` does not panic, the coroutine is
/// final, and the panic is visible.
#[test]
fn a_panicking_drop_of_a_coroutine_that_never_runs_does_not_escape_launch() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "panicking never-ran drop",
        || async {
            let recorder = Recorder::new();
            let scope = Scope::new(Job::supervisor() + recorder.handler());
            scope.cancel();
            let bomb = PanicOnDrop("never-ran drop panicked");
            let launched = catch_unwind(AssertUnwindSafe(|| {
                scope.launch(async move {
                    let _bomb = bomb;
                })
            }));
            let c = launched.expect("launch must not panic");
            c.join().await;
            assert!(c.is_completed(), "{:?}", c.state());
            assert!(
                panic_visible(c.job(), &recorder.received(), "never-ran drop panicked"),
                "final error {:?}, reports {:?}",
                c.final_error(),
                recorder.received()
            );
        },
    );
}

/// A body result whose conversion panics.
struct Explodes;

impl CoroutineResult for Explodes {
    type Value = ();
    fn into_result(self) -> Result<(), CoroutineError> {
        panic!("into_result panicked");
    }
}

/// Issue 10, item 5: a user `CoroutineResult` whose `into_result` panics, launched under a
/// supervisor with a `Recorder`: the failure reported is that panic (kind `Panicked`, its
/// message), not "runtime shut down", and the coroutine's final error is the panic.
#[test]
fn a_panicking_into_result_is_reported_as_that_panic() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "panicking into_result",
        || async {
            let recorder = Recorder::new();
            let scope = Scope::new(Job::supervisor() + recorder.handler());
            let c = scope.launch(async { Explodes });
            c.join().await;
            let received = tokio::time::timeout(Duration::from_secs(2), recorder.wait_for(1))
                .await
                .unwrap_or_default();
            assert_eq!(received.len(), 1, "one report: {received:?}");
            assert!(
                is_panic_with(&received[0].error, "into_result panicked"),
                "{:?}",
                received[0].error
            );
            let error = c.final_error().expect("failed");
            assert!(is_panic_with(&error, "into_result panicked"), "{error:?}");
        },
    );
}

/// A failure whose `Display` panics.
#[derive(Debug)]
struct Unprintable;

impl std::fmt::Display for Unprintable {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("Display of a failure panicked")
    }
}

impl std::error::Error for Unprintable {}

/// A failure whose `Display` panics, reported by the default global handler (it prints the
/// failure): the report's panic is caught and the coroutine still ends, its joiners wake. (The
/// report is the last thing before the job ends; a panic there left the job sealed forever.)
#[test]
fn a_failure_whose_display_panics_still_ends_its_coroutine() {
    on_runtime(Rt::CurrentThread, LIMIT, "unprintable failure", || async {
        let scope = Scope::new(Job::supervisor());
        let c = scope.launch(async { Err::<(), _>(Unprintable) });
        c.join().await;
        assert_eq!(c.state(), scopes::JobState::Cancelled);
        let d = scope.async_(async { Err::<u8, _>(Unprintable) });
        let job = d.job().clone();
        drop(d); // unobserved: reported when dropped
        job.join().await;
        assert_eq!(job.state(), scopes::JobState::Cancelled);
    });
}
