//! Helpers shared by the integration tests.
//!
//! - [`Steps`]: kotlinx's `expect(n)` / `finish(n)`: each step asserts it is the n-th thing to
//!   happen, so a test states an ordering, not just an outcome.
//! - [`Recorder`]: a `CoroutineExceptionHandler` that records what it receives.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::{CoroutineContext, CoroutineError, CoroutineExceptionHandler, CoroutineName};

/// Step-order assertions. `expect(n)` must be the n-th call; a violation is recorded (a panic
/// inside a coroutine would only fail that coroutine) and reported by `finish`.
#[derive(Default)]
pub struct Steps {
    count: AtomicUsize,
    violations: Mutex<Vec<String>>,
}

impl Steps {
    /// A fresh counter, shared with the coroutines of a test.
    pub fn new() -> Arc<Steps> {
        Arc::new(Steps::default())
    }

    /// Asserts that this is step `n` (counting from 1).
    #[track_caller]
    pub fn expect(&self, n: usize) {
        let actual = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        if actual != n {
            let at = std::panic::Location::caller();
            let message = format!("step {n} at {at} happened as step {actual}");
            self.violations.lock().unwrap().push(message.clone());
            panic!("{message}");
        }
    }

    /// Asserts that this is step `n` and the last one, and that no step was out of order.
    #[track_caller]
    pub fn finish(&self, n: usize) {
        let violations = self.violations.lock().unwrap().clone();
        assert!(violations.is_empty(), "steps out of order: {violations:#?}");
        self.expect(n);
    }

    /// Asserts that no step is expected here: marks code that must not run.
    #[track_caller]
    pub fn unreachable(&self, what: &str) {
        let at = std::panic::Location::caller();
        let message = format!("must not run: {what} at {at}");
        self.violations.lock().unwrap().push(message.clone());
        panic!("{message}");
    }

    /// How many steps happened so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// One failure a [`Recorder`] received.
#[derive(Clone, Debug)]
pub struct Received {
    /// The name in the failed coroutine's context, if any.
    pub name: Option<String>,
    /// The error.
    pub error: CoroutineError,
}

/// A `CoroutineExceptionHandler` that keeps everything it receives.
#[derive(Clone, Default)]
pub struct Recorder {
    received: Arc<Mutex<Vec<Received>>>,
    notify: Arc<tokio::sync::Notify>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// The handler to put in a context.
    pub fn handler(&self) -> CoroutineExceptionHandler {
        let me = self.clone();
        CoroutineExceptionHandler::new(move |ctx: &CoroutineContext, err: &CoroutineError| {
            let name = ctx.get::<CoroutineName>().map(|n| n.to_string());
            me.received.lock().unwrap().push(Received {
                name,
                error: err.clone(),
            });
            me.notify.notify_waiters();
        })
    }

    /// What was received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The error messages received so far.
    pub fn messages(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|r| r.error.to_string())
            .collect()
    }

    /// Waits until at least `n` failures arrived (at most 10 s of real time, then panics).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.notify.notified();
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited for {n} failures, got {received:?}"
            );
            // Re-check at least every 10 ms of the *test's* clock; paused clocks auto-advance.
            let _ = tokio::time::timeout(Duration::from_millis(10), notified).await;
        }
    }
}

/// A test error type, so tests can check `downcast_ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestError(pub &'static str);

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for TestError {}

/// Inside a coroutine: true if `with_context(dispatcher, ..)` ran its body on this very thread
/// (no hop).
pub async fn with_context_stays_on_thread(dispatcher: scopes::Dispatcher) -> bool {
    let before = std::thread::current().id();
    let inside = scopes::with_context(dispatcher, async { std::thread::current().id() })
        .await
        .expect("the body returns a value");
    before == inside
}
