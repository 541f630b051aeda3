//! How a test ends: what it gives up, and what it still reports.

use std::sync::mpsc;
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::Test;
use scopes_tests::LIMIT;

/// Sends when dropped.
struct Dropped(mpsc::Sender<()>);

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
fn a_test_given_up_at_its_real_time_limit_stops_running() {
    let (tx, rx) = mpsc::channel();
    let failure = Test::new()
        .time_limit(Duration::from_millis(300))
        .try_run(move |scope| {
            let tx = tx.clone();
            async move {
                scope.launch(async move {
                    let _dropped = Dropped(tx);
                    loop {
                        delay(Duration::from_secs(1)).await; // virtual time never runs out
                    }
                });
                scope.advance_until_idle().await; // never idle: a foreground loop
            }
        })
        .unwrap_err();
    assert!(failure.timed_out(), "{failure}");
    // The abandoned test's thread stops at its next turn and drops what it ran.
    rx.recv_timeout(LIMIT)
        .expect("the given-up test stopped and dropped its coroutines");
}

struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("a coroutine's state panicked in its drop");
    }
}

#[test]
fn a_failure_while_the_test_tears_down_still_fails_it() {
    let failure = Test::new()
        .try_run(|_| async {
            // Code under test that leaks a scope: nothing cancels its coroutine but the end
            // of the test, and its state panics when dropped.
            let leaked = Scope::new(Job::supervisor() + CoroutineName::new("leaked"));
            leaked.launch(async {
                let _state = PanicsOnDrop;
                std::future::pending::<()>().await;
            });
            std::mem::forget(leaked);
            yield_now().await;
        })
        .unwrap_err();
    assert!(
        failure
            .message()
            .contains("a coroutine's state panicked in its drop"),
        "{failure}"
    );
    assert!(failure.message().contains("\"leaked\""), "{failure}");
}
