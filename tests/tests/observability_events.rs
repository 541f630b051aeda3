//! Issue 14: `tracing` events. A failure is one error event where it is handled; a cancelled
//! subtree is one debug event per cancelled coroutine; `NonCancellable` sections are trace events.

#![cfg(feature = "tracing")]

use std::collections::HashMap;

use scopes::prelude::*;
use scopes::{non_cancellable, try_finally};
use scopes_tests::Recorder;
use scopes_tests::capture::{Captured, EventRecord};
use tokio::sync::oneshot;
use tracing::Level;

fn errors(captured: &Captured) -> Vec<EventRecord> {
    captured.at(Level::ERROR)
}

/// A failure taken by a `CoroutineExceptionHandler`: one error event, in the span of the
/// coroutine whose handler took it, with the suppressed failure that came second.
#[tokio::test(flavor = "current_thread")]
async fn a_failure_given_to_a_handler_is_one_error_event_with_its_suppressed_ones() {
    let (captured, _guard) = Captured::install();
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let root = scope.coroutine().name("root").launch(async {
        let s = current_scope();
        // The first failure cancels the sibling, whose cleanup fails too: suppressed.
        s.coroutine().name("first").launch(async {
            yield_now().await; // the sibling is in its `try_finally` by then
            Err::<(), _>("first failure")
        });
        s.coroutine()
            .name("second")
            .launch(try_finally(std::future::pending::<()>(), async {
                if true {
                    panic!("second failure")
                }
            }));
    });
    root.join().await;
    assert_eq!(recorder.received().len(), 1);
    let errors = errors(&captured);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let event = &errors[0];
    assert_eq!(event.fields["error"], "first failure");
    assert!(
        event.fields["suppressed"].contains("second failure"),
        "{event:?}"
    );
    assert_eq!(event.fields["handled_by"], "CoroutineExceptionHandler");
    assert_eq!(event.span, Some(captured.coroutine("root").id));
}

/// A failure that passes several owners (an `async_`'s, returned by its `Deferred` twice, by
/// the scope around it, then by the coroutine around that to its handler) is one event, where
/// it was handled first: the `Deferred`.
#[tokio::test(flavor = "current_thread")]
async fn a_failure_passed_on_is_one_error_event_where_it_was_first_handled() {
    let (captured, _guard) = Captured::install();
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let outer = scope.coroutine().name("outer").launch(async {
        // A supervisor scope: the child's failure does not cancel the block awaiting it.
        supervisor_scope(|s| async move {
            let failing = s
                .coroutine()
                .name("failing")
                .async_(async { Err::<u32, _>("broken") });
            let again = failing.clone();
            let first = failing.await;
            let second = again.await;
            assert!(first.is_err() && second.is_err());
            first
        })
        .await
        .map(|_| ())
    });
    outer.join().await;
    assert_eq!(recorder.messages(), vec!["broken".to_owned()]);
    let errors = errors(&captured);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].fields["handled_by"], "Deferred");
    assert_eq!(errors[0].span, Some(captured.coroutine("failing").id));
}

/// A scope that returns a child's panic: the scope handles it (one event, in the scope's
/// span); its caller that ignores the `Err` adds nothing.
#[tokio::test(flavor = "current_thread")]
async fn a_failure_returned_by_a_scope_is_one_error_event() {
    let (captured, _guard) = Captured::install();
    let scope = Scope::new(());
    let caller = scope.coroutine().name("caller").launch(async {
        let result = supervisor_scope(|_| async {
            coroutine_scope(|s| async move {
                s.launch(async { panic!("in a child") });
                Ok::<_, CoroutineError>(())
            })
            .await
        })
        .await;
        assert!(result.unwrap_err().is_panic());
    });
    caller.join().await;
    assert!(caller.final_error().is_none());
    let errors = errors(&captured);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].fields["handled_by"], "scope");
    let span = captured.span(errors[0].span.unwrap());
    assert_eq!(span.fields["kind"], "scope");
    // A scope's own timeout is a value, not a failure event.
    let timed = scope.launch(async {
        let none = scopes::with_timeout_or_none(std::time::Duration::ZERO, async {}).await;
        assert!(none.unwrap().is_none());
        let err = with_timeout(
            std::time::Duration::from_millis(1),
            std::future::pending::<()>(),
        )
        .await;
        assert!(err.unwrap_err().is_timeout());
    });
    timed.join().await;
    assert_eq!(captured.at(Level::ERROR).len(), 1);
}

/// Cancelling a subtree of 1 + 3 + 6 coroutines: one debug event per cancelled coroutine, in
/// its own span, with the cause; nothing at error level.
#[tokio::test(flavor = "current_thread")]
async fn a_cancelled_subtree_is_one_debug_event_per_coroutine() {
    let (captured, _guard) = Captured::install();
    let scope = Scope::new(());
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let top = scope.coroutine().name("top").launch(async move {
        for c in 0..3 {
            let ready_tx = ready_tx.clone();
            current_scope()
                .coroutine()
                .name(format!("child {c}"))
                .launch(async move {
                    for g in 0..2 {
                        let ready_tx = ready_tx.clone();
                        current_scope()
                            .coroutine()
                            .name(format!("grandchild {c}.{g}"))
                            .launch(async move {
                                ready_tx.send(()).unwrap();
                                std::future::pending::<()>().await
                            });
                    }
                    std::future::pending::<()>().await
                });
        }
        std::future::pending::<()>().await
    });
    for _ in 0..6 {
        ready_rx.recv().await.unwrap();
    }
    top.cancel_and_join().await;
    let cancelled: Vec<EventRecord> = captured
        .at(Level::DEBUG)
        .into_iter()
        .filter(|e| e.message() == "coroutine cancelled")
        .collect();
    let mut per_span: HashMap<String, usize> = HashMap::new();
    for event in &cancelled {
        let span = captured.span(event.span.expect("in the coroutine's span"));
        *per_span.entry(span.fields["name"].clone()).or_default() += 1;
        assert!(event.fields["cause"].contains("cancelled"), "{event:?}");
    }
    assert_eq!(per_span.len(), 10, "{per_span:?}");
    assert!(per_span.values().all(|&n| n == 1), "{per_span:?}");
    assert!(per_span.contains_key("top") && per_span.contains_key("grandchild 2.1"));
    assert!(captured.at(Level::ERROR).is_empty());
}

/// A failing coroutine is no cancellation event; the siblings it cancels are.
#[tokio::test(flavor = "current_thread")]
async fn a_failure_cancels_its_siblings_as_debug_events_but_is_not_one_itself() {
    let (captured, _guard) = Captured::install();
    let scope = Scope::new(());
    let result = scope
        .async_(async {
            coroutine_scope(|s| async move {
                s.coroutine()
                    .name("sibling")
                    .launch(std::future::pending::<()>());
                s.coroutine().name("failing").launch(async {
                    yield_now().await;
                    Err::<(), _>("boom")
                });
                Ok::<_, CoroutineError>(())
            })
            .await
        })
        .await;
    assert_eq!(result.unwrap_err().to_string(), "boom");
    let names: Vec<String> = captured
        .at(Level::DEBUG)
        .into_iter()
        .filter(|e| e.message() == "coroutine cancelled")
        .map(|e| captured.span(e.span.unwrap()).fields["name"].clone())
        .collect();
    assert!(names.contains(&"sibling".to_owned()), "{names:?}");
    assert!(!names.contains(&"failing".to_owned()), "{names:?}");
    assert_eq!(captured.at(Level::ERROR).len(), 1);
}

/// A `NonCancellable` section's start and end are trace events in its coroutine's span.
#[tokio::test(flavor = "current_thread")]
async fn a_non_cancellable_section_starts_and_ends_at_trace_level() {
    let (captured, _guard) = Captured::install();
    let scope = Scope::new(());
    let (tx, rx) = oneshot::channel::<()>();
    let worker = scope.coroutine().name("worker").launch(async move {
        non_cancellable(async move {
            rx.await.unwrap();
        })
        .await
        .unwrap();
    });
    yield_now().await;
    worker.cancel();
    tx.send(()).unwrap();
    worker.join().await;
    let sections: Vec<EventRecord> = captured
        .at(Level::TRACE)
        .into_iter()
        .filter(|e| e.message().starts_with("NonCancellable section"))
        .collect();
    let messages: Vec<&str> = sections.iter().map(EventRecord::message).collect();
    assert_eq!(
        messages,
        [
            "NonCancellable section started",
            "NonCancellable section ended"
        ]
    );
    for event in &sections {
        assert_eq!(event.fields["section"], "non_cancellable");
        assert_eq!(event.span, Some(captured.coroutine("worker").id));
    }
}

/// A failure attached as suppressed after its owner's event went out (the owner was returned by
/// a `Deferred` first, then a sibling's cleanup failed) gets an event of its own: no failure is
/// missing from the log.
#[tokio::test(flavor = "current_thread")]
async fn a_failure_suppressed_after_its_owners_event_gets_its_own_event() {
    let (captured, _guard) = Captured::install();
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let (ready_tx, ready) = oneshot::channel::<()>();
    let failing = scope.async_(async move {
        ready.await.ok();
        Err::<u32, _>(CoroutineError::failed("owner"))
    });
    let root = scope.coroutine().name("root").launch(async move {
        current_scope().launch(try_finally(std::future::pending::<()>(), async {
            Err::<(), _>(CoroutineError::failed("late"))
        }));
        yield_now().await; // the child is in its `try_finally`
        ready_tx.send(()).ok();
        failing.await?; // the `Deferred` returns "owner": its event goes out here
        Ok::<(), CoroutineError>(())
    });
    root.join().await;
    let errors = errors(&captured);
    let messages: Vec<&str> = errors.iter().map(|e| e.fields["error"].as_str()).collect();
    assert!(messages.contains(&"owner"), "{errors:?}");
    assert!(messages.contains(&"late"), "{errors:?}");
    assert_eq!(messages.len(), 2, "each failure once: {errors:?}");
}

/// A `try_finally` cleanup that fails outside any coroutine goes to the global handler: one
/// error event.
#[tokio::test(flavor = "current_thread")]
async fn a_cleanup_failure_outside_a_coroutine_is_one_error_event() {
    let (captured, _guard) = Captured::install();
    let value = try_finally(async { 1 }, async {
        Err::<(), _>(CoroutineError::failed("cleanup outside"))
    })
    .await;
    assert_eq!(value, 1);
    let errors = errors(&captured);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].fields["error"], "cleanup outside");
    assert_eq!(errors[0].fields["handled_by"], "global exception handler");
}
