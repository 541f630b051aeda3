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

/// Runs `f` on a thread of its own and returns its result, or panics if it has not returned
/// after `limit` of real time: a hang becomes a failure. On a timeout the thread is abandoned
/// (it may spin on; the test process ends anyway). A panic in `f` is re-raised here.
#[track_caller]
pub fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(what.to_owned())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("spawn the bounded thread");
    match rx.recv_timeout(limit) {
        Ok(value) => {
            let _ = thread.join();
            value
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: still not done after {limit:?} of real time (hang)")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the thread sends its result before it ends"),
        },
    }
}

/// The flavours of runtime [`on_runtime`] builds.
#[derive(Clone, Copy, Debug)]
pub enum Rt {
    /// A current-thread runtime.
    CurrentThread,
    /// A current-thread runtime whose clock starts paused (auto-advancing).
    Paused,
    /// A multi-thread runtime with this many workers.
    MultiThread(usize),
}

/// Builds a fresh runtime of flavour `rt` on a thread of its own, runs the future `make` builds
/// inside a tokio task there (`tokio::spawn`, so the task's coop budget applies), and returns
/// its output; panics after `limit` of real time. The runtime is dropped (shut down) at the end.
#[track_caller]
pub fn on_runtime<T, Fut>(
    rt: Rt,
    limit: Duration,
    what: &str,
    make: impl FnOnce() -> Fut + Send + 'static,
) -> T
where
    T: Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    run_on_runtime(rt, limit, what, true, make)
}

/// Like [`on_runtime`], but runs the future in `block_on` itself, not in a spawned task (as the
/// body of `#[tokio::test]` runs; on a multi-thread runtime that is outside every worker).
#[track_caller]
pub fn on_runtime_main<T, Fut>(
    rt: Rt,
    limit: Duration,
    what: &str,
    make: impl FnOnce() -> Fut + Send + 'static,
) -> T
where
    T: Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    run_on_runtime(rt, limit, what, false, make)
}

#[track_caller]
fn run_on_runtime<T, Fut>(
    rt: Rt,
    limit: Duration,
    what: &str,
    spawn: bool,
    make: impl FnOnce() -> Fut + Send + 'static,
) -> T
where
    T: Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    within(limit, what, move || {
        let runtime = match rt {
            Rt::CurrentThread => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
            Rt::Paused => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build(),
            Rt::MultiThread(n) => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(n)
                .enable_all()
                .build(),
        }
        .expect("build a runtime");
        let out = runtime.block_on(async move {
            if !spawn {
                return make().await;
            }
            match tokio::spawn(make()).await {
                Ok(out) => out,
                Err(e) => match e.try_into_panic() {
                    Ok(payload) => std::panic::resume_unwind(payload),
                    Err(e) => panic!("the test task did not finish: {e}"),
                },
            }
        });
        drop(runtime);
        out
    })
}

/// The bound every hang-prone test gets: generous for a loaded 2-core machine.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Polls `future` once, in the current task, and gives what it returned.
pub async fn poll_once<F: std::future::Future + Unpin>(
    future: &mut F,
) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut *future).poll(cx)))
        .await
}

/// Waits, yielding, until `done` holds: at least `tries` yields, and for at most `deadline` of
/// real time after them. For conditions nothing signals, like tokio's count of live tasks (a
/// coroutine's job is final, and its joiners wake, a moment before tokio tears its task down),
/// or work on another runtime. A paused clock does not move meanwhile.
pub async fn eventually(tries: usize, deadline: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + deadline;
    let mut tried = 0;
    while !done() {
        if tried >= tries && std::time::Instant::now() > deadline {
            return false;
        }
        tried += 1;
        tokio::task::yield_now().await;
    }
    true
}

/// What became of coroutines parked when their runtime shut down.
pub struct ShutDown {
    /// Their final states.
    pub states: Vec<scopes::JobState>,
    /// What their exception handler received.
    pub reports: Vec<String>,
}

/// Launches 64 coroutines under a supervisor, on the dispatcher `on` makes for a new
/// current-thread runtime, each parked on an hour's `delay` (its timer registered before it
/// says so), then drops the runtime with them parked, and waits for their jobs elsewhere.
pub fn park_64_and_shut_down(
    what: &str,
    on: impl FnOnce(&tokio::runtime::Handle) -> scopes::Dispatcher + Send + 'static,
) -> ShutDown {
    use scopes::prelude::*;
    let (recorder, jobs, scope) = within(LIMIT, what, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let recorder = Recorder::new();
        let scope = Scope::new(Job::supervisor() + on(runtime.handle()) + recorder.handler());
        let (tx, rx) = std::sync::mpsc::channel();
        let jobs: Vec<Job> = runtime.block_on(async {
            let jobs = (0..64)
                .map(|_| {
                    let tx = tx.clone();
                    let parked = scope.launch(async move {
                        let mut sleep = Box::pin(delay(Duration::from_secs(3600)));
                        let _ = poll_once(&mut sleep).await;
                        tx.send(()).unwrap();
                        sleep.await;
                    });
                    parked.job().clone()
                })
                .collect();
            for _ in 0..64 {
                // The senders may be on other threads: wait without blocking this runtime.
                while rx.try_recv().is_err() {
                    tokio::task::yield_now().await;
                }
            }
            jobs
        });
        drop(runtime); // shuts down with 64 coroutines parked on its timer
        (recorder, jobs, scope)
    });
    let states = on_runtime(Rt::CurrentThread, LIMIT, what, move || async move {
        for j in &jobs {
            j.join().await;
        }
        jobs.iter().map(Job::state).collect()
    });
    drop(scope);
    ShutDown {
        states,
        reports: recorder.messages(),
    }
}

/// A body that waits `after`, then ends with `outcome`; its cleanup (one second, virtual time
/// in a test) sets the returned flag. For the joiners' tests: what they cancel, they await.
pub fn tracked<T: Send + 'static>(
    after: Duration,
    outcome: Result<T, TestError>,
) -> (
    impl std::future::Future<Output = Result<T, TestError>> + Send + 'static,
    Arc<std::sync::atomic::AtomicBool>,
) {
    let cleaned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cleaned.clone();
    let body = scopes::try_finally(
        async move {
            scopes::delay(after).await;
            outcome
        },
        async move {
            scopes::delay(Duration::from_secs(1)).await;
            flag.store(true, Ordering::SeqCst);
        },
    );
    (body, cleaned)
}

/// A capturing `tracing` layer for the observability tests.
#[cfg(feature = "tracing")]
pub mod capture;
