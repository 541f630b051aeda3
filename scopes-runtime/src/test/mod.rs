//! Testing coroutine code: virtual time on every dispatcher, one scheduler per test,
//! deterministic orders (feature `test-util`).
//!
//! [`run_test`] (or the `#[scopes::test]` attribute) runs a test body in a [`TestScope`] on a
//! scheduler of its own:
//!
//! - **Virtual time.** `delay`, `with_timeout`, and tokio's `sleep`, `timeout` and `interval`
//!   inside the test run on a paused clock that jumps to the next timer whenever every
//!   coroutine is idle: an hour of retries takes milliseconds. [`TestScope::advance_time_by`],
//!   [`advance_until_idle`](TestScope::advance_until_idle) and
//!   [`run_current`](TestScope::run_current) step it by hand.
//! - **Every dispatcher is the test's.** Inside a test, `Dispatchers::default()`, `io()`, their
//!   `limited_parallelism` views, `main()`, `main_immediate()` and `unconfined()` (and so the
//!   dispatchers named in `#[dispatched(on = ..)]` and `#[coroutine_scope(context = ..)]`) all run
//!   on the test's one thread, so production code runs unchanged; so do dispatchers made before
//!   the test (a `static` view) or in another test. Names, contracts (`require_dispatcher`) and
//!   hops stay as in production; a view still queues its coroutines behind its own limit, in
//!   its own order (never more than `n` of them at once; one thread runs them all, so one at a
//!   time). The test thread is the test's main thread, and the body runs on `main()`.
//! - **Per test.** Each test has its own thread, scheduler and main dispatcher: tests in one
//!   binary run in parallel (cargo's default) with nothing to install or reset.
//! - **Nothing lost.** A failure of any coroutine of the test that nobody handled (its
//!   children, the background scope's, a scope made by the code under test) fails the test
//!   with the coroutine's name. Coroutines still running after the body (outside
//!   [`background_scope`](TestScope::background_scope)) are awaited while virtual time moves
//!   them; if they have not ended a virtual hour later, the test fails with a dump of them.
//! - **A real-time limit.** A test that does not end within 60 s of *real* time (a deadlock on
//!   a real thread, a busy loop) fails with a dump of its live coroutines instead of hanging
//!   `cargo test`: [`Test::time_limit`], or `SCOPES_TEST_TIME_LIMIT` (`"90"`, `"90s"`,
//!   `"500ms"`).
//! - **Deterministic, and beyond.** The same test runs the same interleaving every time: ready
//!   coroutines run in the order they became ready. With a seed ([`Test::seed`], or
//!   `SCOPES_TEST_SEED=n`) the scheduler picks among the ready coroutines with a seeded
//!   generator instead: another legal order, the same for the same seed. `SCOPES_TEST_SEEDS=k`
//!   tries `k` seeds in a row (from `SCOPES_TEST_SEED`, else 0); a failure names its seed so
//!   that it can be replayed. The coroutines of one `limited_parallelism` view start in their
//!   view's FIFO order; a seed reorders them against everything else, not among themselves.
//!
//! ```
//! use std::time::Duration;
//! use scopes_runtime::{CoroutineScope, Dispatchers, delay, with_context, with_timeout};
//! use scopes_runtime::test::run_test;
//!
//! run_test(|scope| async move {
//!     // Ten seconds of io work, and a timeout, in no real time at all.
//!     let answer = with_context(Dispatchers::io(), async {
//!         delay(Duration::from_secs(10)).await;
//!         42
//!     });
//!     assert_eq!(answer.await.unwrap(), 42);
//!     let slow = with_timeout(Duration::from_secs(30), delay(Duration::from_secs(60))).await;
//!     assert!(slow.unwrap_err().is_timeout());
//!     assert_eq!(scope.current_time(), Duration::from_secs(40));
//!
//!     let ticker = scope.launch(async {
//!         delay(Duration::from_secs(5)).await;
//!     });
//!     scope.advance_time_by(Duration::from_secs(4)).await;
//!     assert!(ticker.is_active());
//!     scope.advance_time_by(Duration::from_secs(1)).await;
//!     assert!(ticker.is_completed());
//! });
//! ```
//!
//! # From kotlinx-coroutines-test
//!
//! | kotlinx-coroutines-test | scopes |
//! |---|---|
//! | `runTest { }` | [`run_test(\|scope\| async move { })`](run_test), or `#[scopes::test] async fn t(scope: TestScope)` |
//! | `runTest(timeout = 10.seconds)` | [`Test::new().time_limit(d).run(..)`](Test::time_limit), `SCOPES_TEST_TIME_LIMIT` |
//! | `TestScope`, `this.launch { }` in the body | [`TestScope`], `scope.launch(..)` |
//! | `currentTime` | [`scope.current_time()`](TestScope::current_time) (a `Duration`) |
//! | `advanceTimeBy(d)` | [`scope.advance_time_by(d).await`](TestScope::advance_time_by): also runs what is due exactly at the new time |
//! | `runCurrent()` | [`scope.run_current().await`](TestScope::run_current) |
//! | `advanceUntilIdle()` | [`scope.advance_until_idle().await`](TestScope::advance_until_idle) |
//! | `backgroundScope` | [`scope.background_scope()`](TestScope::background_scope) |
//! | `StandardTestDispatcher(testScheduler)`, injecting dispatchers | nothing to do: every dispatcher is the test's |
//! | `Dispatchers.setMain(..)` / `resetMain()` | nothing to do: `main()` is the test's own |
//! | `UnconfinedTestDispatcher` | `Dispatchers::unconfined()`, as in production |
//! | (none) | [`Test::seed`], `SCOPES_TEST_SEED`, `SCOPES_TEST_SEEDS`: other legal orders |
//!
//! The controls are `async` (they let the other coroutines run while the body waits), where
//! kotlinx's are plain calls.
//!
//! # What is not virtual
//!
//! - Real blocking calls (`std::thread::sleep`, a blocking client, a file read) block the test's
//!   one thread for their real duration: fake them, or keep them small.
//! - A tokio runtime you hand in (`Dispatchers::from_handle(other)`), threads you start, and
//!   `tokio::task::spawn_blocking` run in real time, on their own threads, outside the test's
//!   order. While the test waits for them it is idle, so its clock may jump: a
//!   `with_timeout(5s)` around a call to a real server can time out at once. Give such code a
//!   dispatcher you can replace, or wait for it outside a timeout.
//! - `std::time::Instant` and `SystemTime` are real; tokio's `Instant` is virtual.
//! - Virtual time moves in whole milliseconds, as tokio's timers do: a `delay` of 100 µs ends
//!   1 ms later, and `advance_time_by(1.4 ms)` runs what is due up to 2 ms.
//! - `advance_until_idle` waits for the timers of `delay` and `with_timeout`; a raw
//!   `tokio::time::sleep` is virtual but unseen by it (use `advance_time_by`, or await what
//!   you expect).
//! - `tokio::spawn` inside a test makes a tokio task on the test's runtime: virtual time, but
//!   outside the test's order and seeds, and `run_current` does not wait for it; its panic is
//!   tokio's (a `JoinError`), not the test's.
//! - A coroutine on a runtime you hand in reports its failures there (to its handler, or the
//!   global handler on that runtime's thread), not to the test.
//! - `Dispatchers::main()` is the test's on the test's thread (where every coroutine of the
//!   test runs); asked from another thread (`spawn_blocking`, a runtime you hand in) it is the
//!   process's, if any.
//! - Coroutines still alive when the test ends (in a scope the code under test never
//!   cancelled, say) are ended with it, their drops run inside the test; they are not awaited.

pub(crate) mod run;
pub(crate) mod scheduler;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::context::{ContextElement, CoroutineContext};
use crate::error::LaunchResult;
use crate::scope::{CoroutineScope, ScopeHandle};
pub(crate) use scheduler::TestScheduler;

/// The environment variable that picks a seed for tests without one of their own.
pub const SEED_ENV: &str = "SCOPES_TEST_SEED";
/// The environment variable that makes each test without a seed of its own run under that many
/// seeds, from `SCOPES_TEST_SEED` (else 0) on.
pub const SEEDS_ENV: &str = "SCOPES_TEST_SEEDS";
/// The environment variable that sets the real-time limit of tests without one of their own:
/// seconds (`"90"`), or with a unit (`"90s"`, `"500ms"`, `"2m"`).
pub const TIME_LIMIT_ENV: &str = "SCOPES_TEST_TIME_LIMIT";

/// The real-time limit of a test that sets none.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Runs `body` as a test on a scheduler of its own, with virtual time, and panics with what
/// went wrong if it fails: see the [module docs](self).
///
/// The body is a closure that makes the test's future, so that a test can run once per seed
/// (`SCOPES_TEST_SEEDS`); it ends in `()` or `Result<(), E>` (an error fails the test). Make
/// the state a run changes inside the future: what the closure captures is shared by the runs.
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{delay, test::run_test};
///
/// run_test(|scope| async move {
///     delay(Duration::from_secs(60)).await;
///     assert_eq!(scope.current_time(), Duration::from_secs(60));
///     Ok::<(), std::io::Error>(())
/// });
/// ```
///
/// # Panics
///
/// If the test failed (the message says how), or if called inside another test's body.
pub fn run_test<F, Fut>(body: F)
where
    F: Fn(TestScope) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: LaunchResult,
{
    Test::new().run(body)
}

/// A test's settings: a seed, a real-time limit. [`run_test`] is `Test::new().run(..)`.
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::test::Test;
///
/// Test::new()
///     .seed(7)
///     .time_limit(Duration::from_secs(5))
///     .run(|scope| async move { assert_eq!(scope.seed(), Some(7)) });
/// ```
#[derive(Clone, Debug, Default)]
pub struct Test {
    order: Order,
    time_limit: Option<Duration>,
}

/// Which order ready coroutines run in.
#[derive(Clone, Copy, Debug, Default)]
enum Order {
    /// As the environment says (`SCOPES_TEST_SEED`, `SCOPES_TEST_SEEDS`), else FIFO.
    #[default]
    FromEnv,
    Fifo,
    Seed(u64),
}

impl Test {
    /// Settings from the environment (`SCOPES_TEST_SEED`, `SCOPES_TEST_SEEDS`,
    /// `SCOPES_TEST_TIME_LIMIT`), else FIFO order and a 60 s limit.
    pub fn new() -> Test {
        Test::default()
    }

    /// Runs ready coroutines in the order this seed draws, whatever the environment says.
    pub fn seed(mut self, seed: u64) -> Test {
        self.order = Order::Seed(seed);
        self
    }

    /// Runs ready coroutines in the order they became ready (the default), whatever the
    /// environment says: for a test that checks that order itself.
    pub fn fifo(mut self) -> Test {
        self.order = Order::Fifo;
        self
    }

    /// Fails the test if it has not ended after `limit` of real time, whatever the environment
    /// says.
    ///
    /// # Panics
    ///
    /// If `limit` is zero: no test could pass.
    pub fn time_limit(mut self, limit: Duration) -> Test {
        assert!(
            !limit.is_zero(),
            "scopes::test: a time limit of zero fails every test; give the test time to run"
        );
        self.time_limit = Some(limit);
        self
    }

    /// Runs the test; panics with the failure if it fails.
    ///
    /// # Panics
    ///
    /// If the test failed, or if called inside another test's body.
    pub fn run<F, Fut>(self, body: F)
    where
        F: Fn(TestScope) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: LaunchResult,
    {
        if let Err(failure) = self.try_run(body) {
            panic!("{failure}");
        }
    }

    /// Runs the test and returns how it failed, for tests of tests (a seed search, a
    /// deadlock's report).
    ///
    /// ```
    /// use std::time::Duration;
    /// use scopes_runtime::test::Test;
    ///
    /// let failure = Test::new()
    ///     .time_limit(Duration::from_millis(200))
    ///     .try_run(|_| async {
    ///         let (_tx, rx) = std::sync::mpsc::channel::<()>();
    ///         let _ = rx.recv(); // blocks the test's thread: no virtual time helps
    ///     })
    ///     .unwrap_err();
    /// assert!(failure.timed_out());
    /// ```
    ///
    /// # Errors
    ///
    /// The test's failure: its unhandled failures, leaked coroutines, or the real-time limit.
    ///
    /// # Panics
    ///
    /// If called inside another test's body (the outer test's thread would block).
    pub fn try_run<F, Fut>(self, body: F) -> Result<(), TestFailure>
    where
        F: Fn(TestScope) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: LaunchResult,
    {
        assert!(
            scheduler::current().is_none(),
            "scopes::test: `run_test` cannot be nested: it was called inside a test's body"
        );
        let body = Arc::new(body);
        for seed in self.seeds() {
            run::run_once(&self, body.clone(), seed)?;
        }
        Ok(())
    }

    /// The runs' seeds, lazily (`SCOPES_TEST_SEEDS` may be large); they wrap around `u64`.
    fn seeds(&self) -> Box<dyn Iterator<Item = Option<u64>>> {
        match self.order {
            Order::Seed(seed) => return Box::new(std::iter::once(Some(seed))),
            Order::Fifo => return Box::new(std::iter::once(None)),
            Order::FromEnv => {}
        }
        let from = env_number(SEED_ENV);
        match env_number(SEEDS_ENV) {
            Some(count) => {
                let from = from.unwrap_or(0);
                Box::new((0..count.max(1)).map(move |i| Some(from.wrapping_add(i))))
            }
            None => Box::new(std::iter::once(from)),
        }
    }

    fn effective_time_limit(&self) -> Duration {
        self.time_limit
            .or_else(|| {
                let value = std::env::var(TIME_LIMIT_ENV).ok()?;
                let parsed = parse_duration(&value);
                if parsed.is_none() {
                    eprintln!(
                        "scopes::test: {TIME_LIMIT_ENV} must be seconds or a duration like \
                         \"90s\", \"500ms\", \"2m\", but it is {value:?}; using {DEFAULT_TIME_LIMIT:?}"
                    );
                }
                parsed
            })
            .unwrap_or(DEFAULT_TIME_LIMIT)
    }
}

/// A number from the environment; a malformed one is reported and ignored.
fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => {
            eprintln!("scopes::test: {name} must be a number, but it is {value:?}; ignored");
            None
        }
    }
}

/// `"90"`, `"90s"`, `"500ms"`, `"2m"`; not zero.
fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let (number, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => value.split_at(i),
        None => (value, "s"),
    };
    let n: u64 = number.parse().ok().filter(|&n| n > 0)?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

/// How a test failed: its message lists every unhandled failure (with the coroutine's name),
/// the leaked coroutines, or the live tree when the real-time limit was hit, and names the seed
/// to replay it with.
#[derive(Clone, Debug)]
pub struct TestFailure {
    name: String,
    message: String,
    seed: Option<u64>,
    timed_out: bool,
}

impl TestFailure {
    /// What went wrong, without the test's name and seed.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The seed the failing run used (`None`: the default order).
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// True if the test hit its real-time limit.
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }
}

impl fmt::Display for TestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scopes::test `{}` failed", self.name)?;
        match self.seed {
            Some(seed) => write!(f, " with seed {seed} (replay it with {SEED_ENV}={seed})")?,
            None => write!(f, " (default order)")?,
        }
        write!(f, ":\n{}", self.message)
    }
}

impl std::error::Error for TestFailure {}

/// The scope of a test body: launch into it as into any scope (its coroutines are children of
/// the body, awaited at the end), and step the test's virtual time. Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{CoroutineScope, delay};
/// use scopes_runtime::test::{TestScope, run_test};
///
/// run_test(|scope: TestScope| async move {
///     let poller = scope.launch(async {
///         loop {
///             delay(Duration::from_secs(10)).await; // poll every 10 s
///         }
///     });
///     scope.advance_time_by(Duration::from_secs(25)).await;
///     assert_eq!(scope.current_time(), Duration::from_secs(25));
///     assert!(poller.is_active());
///     poller.cancel(); // or launch it in `scope.background_scope()`
/// });
/// ```
#[derive(Clone)]
pub struct TestScope {
    pub(crate) scheduler: Arc<TestScheduler>,
    pub(crate) scope: ScopeHandle,
    pub(crate) background: ScopeHandle,
}

impl TestScope {
    /// The virtual time since the test began.
    pub fn current_time(&self) -> Duration {
        // The test's clock, also when asked from another runtime's thread.
        let _clock = self.scheduler.handle().enter();
        self.scheduler.now()
    }

    /// Moves virtual time `by` ahead (from when it is first awaited), running every coroutine
    /// and timer due up to and *including* the new time, and returns once all is idle there.
    /// A duration past tokio's range goes about 30 years ahead, as tokio's `sleep`. (kotlinx's
    /// `advanceTimeBy` leaves what is due exactly at the new time for `runCurrent`.)
    ///
    /// ```
    /// use std::time::Duration;
    /// use scopes_runtime::{CoroutineScope, delay, test::run_test};
    /// use std::sync::{Arc, atomic::{AtomicU32, Ordering::SeqCst}};
    ///
    /// run_test(|scope| async move {
    ///     let ticks = Arc::new(AtomicU32::new(0));
    ///     let counter = ticks.clone();
    ///     scope.background_scope().launch(async move {
    ///         loop {
    ///             delay(Duration::from_secs(1)).await;
    ///             counter.fetch_add(1, SeqCst);
    ///         }
    ///     });
    ///     scope.advance_time_by(Duration::from_millis(3500)).await;
    ///     assert_eq!(ticks.load(SeqCst), 3);
    /// });
    /// ```
    pub fn advance_time_by(&self, by: Duration) -> impl Future<Output = ()> + Send + 'static {
        let scheduler = self.scheduler.clone();
        async move {
            // From the first poll, on the test's clock (not where the future was made, nor
            // the clock of the thread that polls it).
            let timer = {
                let _clock = scheduler.handle().enter();
                tokio::time::sleep(by)
            };
            timer.await;
            scheduler.until_idle().await;
        }
    }

    /// Runs every coroutine that is ready, and every timer due, at the current virtual time,
    /// until none is left; the clock does not move.
    pub fn run_current(&self) -> impl Future<Output = ()> + Send + 'static {
        self.scheduler.until_idle()
    }

    /// Runs coroutines and moves virtual time from timer to timer until nothing is left to
    /// do: no coroutine ready, no `delay` or `with_timeout` of a coroutine outside the
    /// background scope pending. A coroutine that waits forever for a message is idle; one
    /// that loops on `delay` keeps this going forever.
    pub fn advance_until_idle(&self) -> impl Future<Output = ()> + Send + 'static {
        let scheduler = self.scheduler.clone();
        async move {
            loop {
                scheduler.until_idle().await;
                match scheduler.next_timer() {
                    Some(deadline) => {
                        let timer = {
                            let _clock = scheduler.handle().enter();
                            tokio::time::sleep_until(deadline)
                        };
                        timer.await;
                    }
                    None => return,
                }
            }
        }
    }

    /// A scope for coroutines that should run as long as the test does (a collector, a
    /// ticker): not a child of the body, so the test does not wait for it; cancelled when the
    /// body and its children are done. Its failures still fail the test, and its timers do
    /// not keep `advance_until_idle` going.
    pub fn background_scope(&self) -> ScopeHandle {
        self.background.clone()
    }

    /// The seed of this run (`None`: the default FIFO order).
    pub fn seed(&self) -> Option<u64> {
        self.scheduler.seed()
    }
}

impl CoroutineScope for TestScope {
    fn coroutine_context(&self) -> &CoroutineContext {
        self.scope.coroutine_context()
    }
}

impl fmt::Debug for TestScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestScope")
            .field("current_time", &self.current_time())
            .field("seed", &self.seed())
            .finish()
    }
}

/// Marks the background scope's context: its timers are not foreground work.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BackgroundWork;

impl ContextElement for BackgroundWork {}
crate::__context_add!(BackgroundWork);

/// True inside a coroutine of a test's background scope.
pub(crate) fn in_background() -> bool {
    crate::frame::with_current(|frame| {
        frame.is_some_and(|f| f.job().bare_context().contains::<BackgroundWork>())
    })
}
