//! `#[scopes::test]` in each of its forms: the body runs as a test coroutine with virtual time,
//! a panic or an `Err` fails the test, and the arguments reach `Test`.

use std::fmt;
use std::time::{Duration, Instant};

use scopes::prelude::*;
use scopes::test::TestScope;

#[scopes::test]
async fn an_hour_of_delay_takes_no_real_time(scope: TestScope) {
    let started = Instant::now();
    delay(Duration::from_secs(3600)).await;
    assert_eq!(scope.current_time(), Duration::from_secs(3600));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the clock is virtual"
    );
}

#[scopes::test]
async fn without_a_parameter() {
    let started = tokio::time::Instant::now();
    let answer = with_context(Dispatchers::io(), async {
        delay(Duration::from_secs(10)).await;
        42
    });
    assert_eq!(answer.await.unwrap(), 42);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(10),
        "tokio's clock is the test's"
    );
}

#[scopes::test]
async fn with_an_unused_parameter(_scope: scopes::test::TestScope) {
    assert!(is_active());
}

/// The doc comment and `#[allow]` stay on the generated `#[test]`.
#[allow(clippy::bool_assert_comparison)]
#[scopes::test]
async fn children_are_awaited_in_virtual_time(scope: TestScope) {
    let child = scope.async_(async {
        delay(Duration::from_secs(5)).await;
        true
    });
    scope.advance_time_by(Duration::from_secs(4)).await;
    assert_eq!(child.is_active(), true);
    scope.advance_time_by(Duration::from_secs(1)).await;
    assert_eq!(child.await.unwrap(), true);
}

#[derive(Debug)]
struct DiskFull;

impl fmt::Display for DiskFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the disk is full")
    }
}

impl std::error::Error for DiskFull {}

fn write(fits: bool) -> Result<usize, DiskFull> {
    if fits { Ok(3) } else { Err(DiskFull) }
}

#[scopes::test]
async fn returns_ok(scope: TestScope) -> Result<(), DiskFull> {
    let written = write(true)?;
    assert_eq!(written, 3);
    if scope.current_time() == Duration::ZERO {
        return Ok(());
    }
    unreachable!("an early `return` ends the body")
}

#[scopes::test]
#[should_panic(expected = "the disk is full")]
async fn an_err_fails_the_test() -> Result<(), DiskFull> {
    delay(Duration::from_secs(1)).await;
    write(false)?;
    Ok(())
}

#[scopes::test]
#[should_panic(expected = "boom at 2s")]
async fn a_panic_fails_the_test(scope: TestScope) {
    delay(Duration::from_secs(2)).await;
    panic!("boom at {:?}", scope.current_time());
}

#[should_panic(expected = "child gave up")]
#[scopes::test]
async fn a_child_failure_fails_the_test(scope: TestScope) {
    scope.launch(async {
        delay(Duration::from_secs(1)).await;
        panic!("child gave up");
    });
}

#[scopes::test(seed = 7)]
async fn takes_a_seed(scope: TestScope) {
    assert_eq!(scope.seed(), Some(7));
}

#[scopes::test(seed = 3, time_limit_ms = 5_000)]
async fn takes_a_seed_and_a_time_limit(scope: TestScope) -> Result<(), DiskFull> {
    assert_eq!(scope.seed(), Some(3));
    delay(Duration::from_secs(600)).await; // virtual: far beyond the real-time limit
    Ok(())
}

#[scopes::test(time_limit_ms = 200)]
#[should_panic(expected = "real-time limit of 200ms")]
async fn the_time_limit_is_real_time() {
    // Blocks the test's one thread for good: virtual time cannot help, the real-time limit
    // ends the test (its thread stays parked).
    let (_keep_open, never) = std::sync::mpsc::channel::<()>();
    let _ = never.recv();
}

/// The example of `scopes::test`'s docs, which a doc test cannot run (it is built without
/// `--test`, so `#[test]` functions are left out).
#[scopes::test]
async fn the_docs_example(scope: TestScope) {
    let reminder = scope.async_(async {
        delay(Duration::from_secs(3600)).await;
        "time's up"
    });
    assert_eq!(reminder.await.unwrap(), "time's up");
    assert_eq!(scope.current_time(), Duration::from_secs(3600));
}
