//! Inside a test every dispatcher is the test's, also those made before the test began.

use std::sync::LazyLock;
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::run_test;
use scopes::{Dispatcher, current_dispatcher, require_dispatcher};

/// A view a program keeps in a static, made before any test (on scopes' own runtime).
static WRITERS: LazyLock<Dispatcher> = LazyLock::new(|| Dispatchers::io().limited_parallelism(2));

#[test]
fn a_view_made_outside_the_test_runs_on_the_test_thread_in_virtual_time() {
    let outside = Dispatchers::default().limited_parallelism(3);
    LazyLock::force(&WRITERS);
    run_test(move |scope| {
        let outside = outside.clone();
        async move {
            let test_thread = std::thread::current().id();
            for view in [outside, WRITERS.clone()] {
                let expected = view.to_string();
                let (thread, name) = with_context(view, async {
                    delay(Duration::from_secs(10)).await;
                    (
                        std::thread::current().id(),
                        current_dispatcher().unwrap().to_string(),
                    )
                })
                .await
                .unwrap();
                assert_eq!(thread, test_thread, "{expected} runs on the test's thread");
                assert_eq!(name, expected, "and keeps its name");
            }
            assert_eq!(scope.current_time(), Duration::from_secs(20));
        }
    });
}

#[test]
fn contracts_hold_inside_a_test() {
    run_test(|_| async {
        let view = Dispatchers::io().limited_parallelism(4);
        let checked = with_context(view, async { require_dispatcher(&Dispatchers::io()) });
        assert!(checked.await.is_ok());
        let wrong = with_context(Dispatchers::default(), async {
            require_dispatcher(&Dispatchers::io())
        });
        assert_eq!(
            wrong.await.unwrap_err().to_string(),
            "expected Dispatchers.IO, but running on Dispatchers.Default"
        );
        assert_eq!(
            current_dispatcher().unwrap().to_string(),
            "Dispatchers.Main",
            "the body runs on main()"
        );
    });
}

#[test]
fn a_scope_made_by_the_code_under_test_is_the_tests_too() {
    run_test(|scope| async move {
        // Production code that makes its own scope inside whatever runtime it is called in.
        let service = Scope::new(Job::supervisor());
        let done = service.async_(async {
            delay(Duration::from_secs(90)).await;
            std::thread::current().id()
        });
        assert_eq!(done.await.unwrap(), std::thread::current().id());
        assert_eq!(scope.current_time(), Duration::from_secs(90));
    });
}

#[test]
fn tokio_timers_inside_coroutines_are_virtual() {
    run_test(|scope| async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        for _ in 0..5 {
            ticks.tick().await;
        }
        assert_eq!(scope.current_time(), Duration::from_secs(4));
        let late = tokio::time::timeout(Duration::from_secs(5), std::future::pending::<()>()).await;
        assert!(late.is_err());
        assert_eq!(scope.current_time(), Duration::from_secs(9));
    });
}

#[test]
fn dispatchers_kept_from_one_test_are_the_next_tests_own() {
    use std::sync::{Arc, Mutex};
    let kept: Arc<Mutex<Vec<Dispatcher>>> = Arc::default();
    let keep = kept.clone();
    run_test(move |_| {
        let keep = keep.clone();
        async move {
            let default = Dispatchers::default();
            let mut kept = keep.lock().unwrap();
            kept.extend([
                Dispatchers::main(),
                default.clone(),
                Dispatchers::io(),
                default.limited_parallelism(2),
            ]);
        }
    });
    let kept = kept.lock().unwrap().clone();
    run_test(move |scope| {
        let kept = kept.clone();
        async move {
            let test_thread = std::thread::current().id();
            for dispatcher in kept {
                let thread = with_context(dispatcher, async {
                    delay(Duration::from_secs(1)).await;
                    std::thread::current().id()
                });
                assert_eq!(thread.await.unwrap(), test_thread);
            }
            assert_eq!(scope.current_time(), Duration::from_secs(4));
            assert!(Dispatchers::io().same_as(&Dispatchers::io()));
        }
    });
}
