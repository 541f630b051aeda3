//! `try_finally_with` (issue 13): the cleanup is told how the body ended (`Outcome`), runs to
//! its end in a `NonCancellable` section, and its own errors and panics are not lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::run_test;
use scopes::{Deadline, ErrorKind, JobState, Outcome, try_finally_with};
use scopes_tests::{Recorder, TestError};

const HOUR: Duration = Duration::from_secs(3600);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A root scope whose coroutines' failures go to `recorder` (not to the test).
fn supervised(recorder: &Recorder) -> Scope {
    Scope::new(Job::supervisor() + recorder.handler())
}

/// Panics, as a function that returns `()` (an `async` block that ends in `panic!` is of type
/// `!`, which is no coroutine result).
fn boom(message: &str) {
    panic!("{message}")
}

/// Where a cleanup leaves the outcome it was given (after a suspension: cleanup is async).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Option<Outcome>>>);

impl Seen {
    fn cleanup(
        &self,
    ) -> impl FnOnce(Outcome) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + use<>
    {
        let slot = self.0.clone();
        move |outcome| {
            Box::pin(async move {
                delay(secs(1)).await;
                *slot.lock().unwrap() = Some(outcome);
            })
        }
    }

    fn get(&self) -> Outcome {
        self.0
            .lock()
            .unwrap()
            .clone()
            .expect("the cleanup ran to its end")
    }
}

#[test]
fn a_body_that_finishes_gives_finished_and_its_value() {
    run_test(|scope| async move {
        let seen = Seen::default();
        let r = try_finally_with(async { Ok::<_, TestError>(5u8) }, seen.cleanup()).await;
        assert_eq!(r.unwrap(), 5);
        assert!(seen.get().is_finished());
        assert!(seen.get().error().is_none());
        assert_eq!(
            scope.current_time(),
            secs(1),
            "the value came after the cleanup"
        );
        // A plain value is a finished body too.
        let seen = Seen::default();
        let r = try_finally_with(async { "plain" }, seen.cleanup()).await;
        assert_eq!(r.unwrap(), "plain");
        assert!(matches!(seen.get(), Outcome::Finished));
    });
}

#[test]
fn a_returned_error_is_failed_with_the_same_error_the_caller_gets() {
    run_test(|_scope| async move {
        let seen = Seen::default();
        let r = try_finally_with(
            async { Err::<u8, _>(TestError("disk full")) },
            seen.cleanup(),
        )
        .await;
        let returned = r.unwrap_err();
        let Outcome::Failed(error) = seen.get() else {
            panic!("failed, got {:?}", seen.get())
        };
        assert!(error.ptr_eq(&returned));
        assert_eq!(error.kind(), ErrorKind::Failed);
        assert_eq!(
            error.downcast_ref::<TestError>(),
            Some(&TestError("disk full"))
        );
        // A timeout that escaped the body is a failure; a returned cancellation is `Cancelled`.
        let seen = Seen::default();
        let r = try_finally_with(with_timeout(secs(1), delay(HOUR)), seen.cleanup()).await;
        assert!(r.unwrap_err().is_timeout());
        assert!(seen.get().is_failed());
        let seen = Seen::default();
        let cancellation = CoroutineError::cancelled("gave up", None);
        let r = try_finally_with(async move { Err::<(), _>(cancellation) }, seen.cleanup()).await;
        assert!(r.unwrap_err().is_cancellation());
        assert!(seen.get().is_cancelled());
    });
}

#[test]
fn a_panicking_body_gives_failed_with_the_panic_then_the_panic_goes_on() {
    run_test(|scope| async move {
        let seen = Seen::default();
        let cleanup = seen.cleanup();
        let root = supervised(&Recorder::new());
        let c = root.launch(async move {
            let _ = try_finally_with(
                async {
                    delay(secs(1)).await;
                    boom("body broke");
                },
                cleanup,
            )
            .await;
            unreachable!("the panic goes on past try_finally_with");
        });
        c.join().await;
        let Outcome::Failed(error) = seen.get() else {
            panic!("failed, got {:?}", seen.get())
        };
        assert_eq!(error.panic_message(), Some("body broke"));
        let failure = c.final_error().expect("the coroutine failed");
        assert_eq!(failure.panic_message(), Some("body broke"));
        assert_eq!(scope.current_time(), secs(2), "failed after its cleanup");
    });
}

#[test]
fn a_cancelled_body_gives_cancelled_with_the_cause() {
    run_test(|scope| async move {
        // Cancelled from outside.
        let seen = Seen::default();
        let cleanup = seen.cleanup();
        let c = scope.launch(async move {
            let _ = try_finally_with(delay(HOUR), cleanup).await;
        });
        scope.advance_time_by(secs(1)).await;
        c.job().cancel();
        c.join().await;
        assert!(seen.get().is_cancelled());
        assert_eq!(
            scope.current_time(),
            secs(2),
            "the cancellation waited for the cleanup"
        );
        // Cancelled by a failing sibling: the cause is the sibling's failure.
        let seen = Seen::default();
        let cleanup = seen.cleanup();
        let r = coroutine_scope(|s| async move {
            s.launch(async move {
                let _ = try_finally_with(delay(HOUR), cleanup).await;
            });
            s.launch(async {
                delay(secs(1)).await;
                Err::<(), _>(TestError("sibling broke"))
            });
        })
        .await;
        assert_eq!(r.unwrap_err().to_string(), "sibling broke");
        let Outcome::Cancelled(cancellation) = seen.get() else {
            panic!("cancelled, got {:?}", seen.get())
        };
        assert!(cancellation.is_cancellation());
        let cause = cancellation.cause().expect("a cause");
        assert_eq!(cause.to_string(), "sibling broke", "{cancellation:?}");
        // Cancelled by a deadline: the cause is the timeout.
        let seen = Seen::default();
        let cleanup = seen.cleanup();
        let r = Deadline::after(secs(2))
            .coroutine_scope(|_| try_finally_with(delay(HOUR), cleanup))
            .await;
        assert!(r.unwrap_err().is_timeout());
        let error = seen.get().error().cloned().expect("cancelled");
        assert!(error.is_cancellation());
        let mut chain = std::iter::successors(Some(&error), |e| e.cause());
        assert!(chain.any(|e| e.is_timeout()), "{error:?}");
    });
}

#[test]
fn a_coroutine_cancelled_while_in_the_cleanup_finishes_the_cleanup() {
    run_test(|scope| async move {
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let l = log.clone();
        let c = scope.launch(async move {
            let l2 = l.clone();
            let r = try_finally_with(async { 1u8 }, move |outcome| async move {
                l2.lock()
                    .unwrap()
                    .push(format!("cleanup got finished={}", outcome.is_finished()));
                delay(secs(10)).await; // cancelled at 1 s: runs on, NonCancellable
                l2.lock().unwrap().push("cleanup done".into());
            })
            .await;
            l.lock().unwrap().push(format!("returned {r:?}"));
            delay(HOUR).await; // the next suspension ends it
            l.lock().unwrap().push("never".into());
        });
        scope.advance_time_by(secs(1)).await;
        c.job().cancel();
        c.join().await;
        assert_eq!(scope.current_time(), secs(10));
        assert_eq!(
            *log.lock().unwrap(),
            [
                "cleanup got finished=true",
                "cleanup done",
                "returned Ok(1)"
            ]
        );
        assert_eq!(c.state(), JobState::Cancelled);
    });
}

#[test]
fn a_panicking_cleanup_fails_the_coroutine_with_its_panic() {
    run_test(|_scope| async move {
        let recorder = Recorder::new();
        let root = supervised(&recorder);
        let c = root.launch(async {
            let _ = try_finally_with(async { 1u8 }, |_| async {
                delay(secs(1)).await;
                boom("cleanup broke");
            })
            .await;
            unreachable!("the cleanup's panic goes on");
        });
        c.join().await;
        assert_eq!(
            c.final_error().unwrap().panic_message(),
            Some("cleanup broke")
        );
        // Panicking while making the cleanup is the same.
        let root = supervised(&recorder);
        let c = root.launch(async {
            let _ = try_finally_with(async { 1u8 }, |_| -> std::future::Ready<()> {
                panic!("no cleanup made")
            })
            .await;
            unreachable!("the panic goes on");
        });
        c.join().await;
        assert_eq!(
            c.final_error().unwrap().panic_message(),
            Some("no cleanup made")
        );
        assert_eq!(recorder.received().len(), 2, "each reported once");
    });
}

#[test]
fn a_panicking_body_and_a_panicking_cleanup_lose_neither_panic() {
    for finally_with in [false, true] {
        run_test(move |_scope| async move {
            let recorder = Recorder::new();
            let root = supervised(&recorder);
            let c = root.launch(async move {
                let body = async {
                    delay(secs(1)).await;
                    boom("body broke");
                };
                let cleanup = async {
                    delay(secs(1)).await;
                    boom("cleanup broke");
                };
                if finally_with {
                    let _ = try_finally_with(body, |_| cleanup).await;
                } else {
                    try_finally(body, cleanup).await;
                }
            });
            c.join().await;
            let failure = c.final_error().unwrap();
            assert_eq!(
                failure.panic_message(),
                Some("body broke"),
                "the first wins"
            );
            let suppressed = failure.suppressed();
            assert_eq!(suppressed.len(), 1, "{failure:?}");
            assert_eq!(suppressed[0].panic_message(), Some("cleanup broke"));
            assert_eq!(recorder.received().len(), 1, "reported once");
        });
    }
}

#[test]
fn a_cleanup_error_fails_the_coroutine_and_the_body_value_is_returned() {
    run_test(|_scope| async move {
        let recorder = Recorder::new();
        let returned: Arc<Mutex<Option<u8>>> = Arc::default();
        let slot = returned.clone();
        let root = supervised(&recorder);
        let c = root.launch(async move {
            let r = try_finally_with(async { 3u8 }, |_| async {
                Err::<(), _>(TestError("cleanup failed"))
            })
            .await;
            *slot.lock().unwrap() = r.ok();
        });
        c.join().await;
        assert_eq!(*returned.lock().unwrap(), Some(3));
        assert_eq!(c.final_error().unwrap().to_string(), "cleanup failed");
        assert_eq!(recorder.messages(), ["cleanup failed"]);
    });
}

#[test]
fn outside_coroutines_it_works_on_a_plain_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let seen = Seen::default();
        let r = try_finally_with(async { Err::<(), _>("plain failure") }, seen.cleanup()).await;
        assert_eq!(r.unwrap_err().to_string(), "plain failure");
        assert!(seen.get().is_failed());
    });
}
