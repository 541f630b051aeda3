//! The test scheduler: one per test, the executor and the clock behind [`run_test`](super::run_test).
//!
//! A test runs on a thread of its own, in `block_on` of a current-thread tokio runtime whose
//! clock starts paused. The scheduler is what that `block_on` drives (the [`Driver`]): a ready
//! queue of our own tasks (`dispatcher::task::Task`), run one at a time on the test thread. Every
//! dispatcher a coroutine of the test names resolves to that queue (`dispatcher/in_test.rs`), so the whole
//! test is one thread, and tokio's paused clock is the test's virtual time: when nothing is
//! ready, the runtime parks, and a paused clock jumps to the next timer instead of waiting.
//!
//! # Who runs next
//!
//! Without a seed the queue is FIFO: the same test runs the same way every time. With a seed,
//! the next task is drawn from the ready queue by a seeded generator: another legal order, the
//! same one for the same seed.
//!
//! # Idle at the current time
//!
//! `run_current` (and so `advance_time_by`) waits until nothing is ready *and* no timer is due
//! at the current virtual time, without moving the clock. The driver knows its queue; for the
//! timers it asks tokio: it wakes itself and returns, and a runtime that parks with its
//! `block_on` future woken processes the due timers but does not advance a paused clock
//! (tokio's `park_thread_timeout`: "the park completed before the duration elapsed ... we
//! don't advance the clock"). A poll that then finds the queue still empty, at the same
//! instant, is idle: the waiters are released. Any task run in between restarts the probe.
//!
//! # Foreground timers
//!
//! `advance_until_idle` must know whether a timer is still pending, which tokio does not tell.
//! So the timers of `delay` and `with_timeout` register here (`Registration`), unless their
//! coroutine belongs to the background scope; a raw `tokio::time::sleep` is virtual too but
//! unregistered (the docs say so).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use futures::task::AtomicWaker;
use tokio::runtime::Handle;
use tokio::time::Instant;

use crate::context::CoroutineContext;
use crate::dispatcher::Dispatcher;
use crate::dispatcher::limited::{Base, Limited};
use crate::dispatcher::task::{BoxFuture, Schedule, Task};
use crate::error::CoroutineError;
use crate::job::Job;
use crate::sync::lock_std as lock;

/// Tasks the driver runs before it lets tokio turn its driver (timers, I/O) once.
const BATCH: usize = 256;

thread_local! {
    /// The scheduler of the test running on this thread.
    static CURRENT: RefCell<Option<Arc<TestScheduler>>> = const { RefCell::new(None) };
}

/// The scheduler of the test whose thread this is, if any.
pub(crate) fn current() -> Option<Arc<TestScheduler>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Makes `scheduler` this thread's test scheduler until the guard drops.
pub(super) fn enter(scheduler: Arc<TestScheduler>) -> Entered {
    CURRENT.with(|c| *c.borrow_mut() = Some(scheduler));
    Entered
}

pub(super) struct Entered;

impl Drop for Entered {
    fn drop(&mut self) {
        // `try_with`: the thread may be tearing its locals down.
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}

pub(crate) struct TestScheduler {
    ready: Mutex<Ready>,
    driver: AtomicWaker,
    idle: Mutex<Idle>,
    timers: Mutex<Timers>,
    /// Views made outside the test (or on a real runtime) and their twins on this scheduler, by
    /// the view's address; the original is kept so that the address stays its own.
    twins: Mutex<HashMap<usize, Twin>>,
    handle: Handle,
    start: Instant,
    seed: Option<u64>,
    main: OnceLock<Dispatcher>,
    /// Failures nobody handled, one line each, in the order they came.
    failures: Mutex<Vec<String>>,
    /// Every task made on the test's thread, to end those still alive when the test does.
    tasks: Mutex<Vec<std::sync::Weak<Task>>>,
    /// Set when the test was given up (its real-time limit): the driver stops at its next turn.
    stopped: std::sync::atomic::AtomicBool,
    /// The coroutine each failure started in (a failure is reported by the root it reached).
    origins: Mutex<Vec<(CoroutineError, Job)>>,
}

/// A view made elsewhere (kept, so that its address stays its own) and its twin here.
type Twin = (Dispatcher, Arc<Limited>);

struct Ready {
    queue: VecDeque<Arc<Task>>,
    rng: Option<SplitMix64>,
}

struct Idle {
    /// Bumped each time the scheduler is found idle; a waiter is released by a bump.
    epoch: u64,
    waiters: Vec<Waker>,
    /// The instant a probe started at, while one is under way.
    probe: Option<Instant>,
}

struct Timers {
    next: u64,
    pending: BTreeSet<(Instant, u64)>,
}

impl TestScheduler {
    /// A scheduler on `handle` (a current-thread runtime whose clock is paused), in FIFO order
    /// without a seed.
    pub(super) fn new(handle: Handle, seed: Option<u64>) -> Arc<TestScheduler> {
        let _enter = handle.enter();
        Arc::new(TestScheduler {
            ready: Mutex::new(Ready {
                queue: VecDeque::new(),
                rng: seed.map(SplitMix64),
            }),
            driver: AtomicWaker::new(),
            idle: Mutex::new(Idle {
                epoch: 0,
                waiters: Vec::new(),
                probe: None,
            }),
            timers: Mutex::new(Timers {
                next: 0,
                pending: BTreeSet::new(),
            }),
            twins: Mutex::new(HashMap::new()),
            start: Instant::now(),
            handle,
            seed,
            main: OnceLock::new(),
            failures: Mutex::new(Vec::new()),
            origins: Mutex::new(Vec::new()),
            stopped: std::sync::atomic::AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    pub(super) fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// The virtual time since the test began.
    pub(super) fn now(&self) -> std::time::Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    /// This test's `Dispatchers::main()`: the test thread, which is also where the body runs.
    pub(crate) fn main(&self) -> Dispatcher {
        self.main
            .get_or_init(|| Dispatcher::main_for(self.handle.clone(), std::thread::current().id()))
            .clone()
    }

    /// Records a failure that reached a handler of the test, or the global handler from the
    /// test's thread.
    pub(crate) fn record_failure(&self, context: &CoroutineContext, error: &CoroutineError) {
        let reporter = context.job();
        let origin = lock(&self.origins)
            .iter()
            .find(|(e, _)| e.ptr_eq(error))
            .map(|(_, job)| job.clone());
        // Names are user code (a `Display`).
        let who = crate::user::call(|| match (origin.as_ref(), reporter) {
            (Some(origin), Some(reporter)) if !Arc::ptr_eq(origin.inner(), reporter.inner()) => {
                format!("{} (reported by {})", origin.label(), reporter.label())
            }
            (Some(job), _) | (None, Some(job)) => job.label(),
            (None, None) => "a coroutine".to_owned(),
        })
        .unwrap_or_else(|_| "a coroutine".to_owned());
        // The error's `Display` is user code.
        let line = crate::user::call(|| match error.panic_message() {
            Some(message) => format!("{who} panicked: {message}"),
            None => format!("{who} failed: {error}"),
        })
        .unwrap_or_else(|_| format!("{who} failed (its error's `Display` panicked)"));
        lock(&self.failures).push(line);
    }

    /// Remembers that `error` started in `job`'s body.
    pub(crate) fn record_origin(&self, error: &CoroutineError, job: &Job) {
        lock(&self.origins).push((error.clone(), job.clone()));
    }

    pub(super) fn take_failures(&self) -> Vec<String> {
        std::mem::take(&mut lock(&self.failures))
    }

    pub(crate) fn track(&self, task: &Arc<Task>) {
        let mut tasks = lock(&self.tasks);
        if tasks.len() == tasks.capacity() {
            tasks.retain(|t| t.strong_count() > 0);
        }
        tasks.push(Arc::downgrade(task));
    }

    /// Breaks the cycles between the scheduler and what it runs (queued tasks, idle waiters,
    /// views on it) once the test is over: their coroutines end cancelled, also those of
    /// scopes nobody cancelled, whose drops then run (and may fail) inside the test.
    pub(super) fn shut_down(&self) {
        loop {
            let tasks = std::mem::take(&mut *lock(&self.tasks));
            if tasks.is_empty() {
                break;
            }
            for task in tasks.iter().filter_map(std::sync::Weak::upgrade) {
                task.abort();
            }
        }
        loop {
            let queued = std::mem::take(&mut lock(&self.ready).queue);
            if queued.is_empty() {
                break;
            }
            for task in queued {
                task.abort();
            }
        }
        // Each taken out under its lock and dropped after it: a drop may run user code.
        let waiters = std::mem::take(&mut lock(&self.idle).waiters);
        drop(waiters);
        let origins = std::mem::take(&mut *lock(&self.origins));
        drop(origins);
        let twins = std::mem::take(&mut *lock(&self.twins));
        drop(twins);
        self.driver.take();
    }

    /// The view that stands for the view `dispatcher` in this test, on `base`: made on first
    /// use.
    pub(crate) fn twin(
        &self,
        dispatcher: &Dispatcher,
        base: Base,
        parallelism: usize,
    ) -> Arc<Limited> {
        let key = dispatcher.address();
        let mut twins = lock(&self.twins);
        let (_, twin) = twins
            .entry(key)
            .or_insert_with(|| (dispatcher.clone(), Limited::new(base, parallelism)));
        twin.clone()
    }

    /// Queues a new task running `future`.
    pub(crate) fn spawn(self: &Arc<Self>, future: BoxFuture) {
        let scheduler: Arc<dyn Schedule> = self.clone();
        self.clone().schedule(Task::new(future, scheduler));
    }

    fn pop(&self) -> Option<Arc<Task>> {
        let mut ready = lock(&self.ready);
        let Ready { queue, rng } = &mut *ready;
        match rng {
            None => queue.pop_front(),
            Some(_) if queue.is_empty() => None,
            Some(rng) => {
                let i = (rng.next() % queue.len() as u64) as usize;
                queue.remove(i)
            }
        }
    }

    // --- idle ---------------------------------------------------------------------------

    /// A future that ends once the scheduler is idle at the current virtual time.
    pub(super) fn until_idle(self: &Arc<Self>) -> UntilIdle {
        UntilIdle {
            scheduler: self.clone(),
            epoch: None,
        }
    }

    /// The driver found its queue empty: releases the idle waiters if a probe confirms it,
    /// starts a probe if some wait, else nothing.
    fn idle_step(&self) -> IdleStep {
        let now = Instant::now();
        let released = {
            let mut idle = lock(&self.idle);
            if idle.waiters.is_empty() {
                idle.probe = None;
                return IdleStep::Nothing;
            }
            match idle.probe {
                Some(start) if start == now => {
                    idle.probe = None;
                    idle.epoch += 1;
                    std::mem::take(&mut idle.waiters)
                }
                _ => {
                    idle.probe = Some(now);
                    return IdleStep::Probe;
                }
            }
        };
        crate::user::wake_all(released);
        IdleStep::Released
    }

    /// Gives the test up: its driver returns at its next turn (a thread stuck in a blocking
    /// call never takes one), so an abandoned test does not spin on.
    pub(super) fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.driver.wake();
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Tasks ran: a probe under way proves nothing any more.
    fn restart_probe(&self) {
        lock(&self.idle).probe = None;
    }

    // --- foreground timers --------------------------------------------------------------

    pub(crate) fn register_timer(&self, deadline: Instant) -> u64 {
        let mut timers = lock(&self.timers);
        timers.next += 1;
        let key = timers.next;
        timers.pending.insert((deadline, key));
        key
    }

    pub(crate) fn deregister_timer(&self, deadline: Instant, key: u64) {
        lock(&self.timers).pending.remove(&(deadline, key));
    }

    /// The earliest registered timer after the current instant.
    pub(super) fn next_timer(&self) -> Option<Instant> {
        let now = Instant::now();
        lock(&self.timers)
            .pending
            .iter()
            .map(|&(deadline, _)| deadline)
            .find(|&deadline| deadline > now)
    }
}

impl Schedule for TestScheduler {
    fn schedule(self: Arc<Self>, task: Arc<Task>) {
        lock(&self.ready).queue.push_back(task);
        self.driver.wake();
    }
}

#[must_use]
enum IdleStep {
    /// Nobody waits for idleness.
    Nothing,
    /// A probe started: the driver must wake itself and let tokio process due timers.
    Probe,
    /// The waiters were released (their tasks are queued).
    Released,
}

/// See [`TestScheduler::until_idle`].
pub(super) struct UntilIdle {
    scheduler: Arc<TestScheduler>,
    epoch: Option<u64>,
}

impl Future for UntilIdle {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let scheduler = self.scheduler.clone();
        let mut idle = lock(&scheduler.idle);
        match self.epoch {
            Some(epoch) if idle.epoch > epoch => return Poll::Ready(()),
            Some(_) => {}
            None => self.epoch = Some(idle.epoch),
        }
        if !idle.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            idle.waiters.push(cx.waker().clone());
        }
        drop(idle);
        // From another thread the driver may be parked: let it see the waiter.
        scheduler.driver.wake();
        Poll::Pending
    }
}

/// What the test thread's `block_on` runs: `main` (the test's orchestration) and every queued
/// task, until `main` ends (`Some`) or the test is given up (`None`).
pub(super) struct Driver<F> {
    pub(super) scheduler: Arc<TestScheduler>,
    pub(super) main: Pin<Box<F>>,
}

impl<F: Future> Future for Driver<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        self.scheduler.driver.register(cx.waker());
        loop {
            if self.scheduler.is_stopped() {
                return Poll::Ready(None);
            }
            if let Poll::Ready(output) = self.main.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            let mut ran = 0;
            while let Some(task) = self.scheduler.pop() {
                task.run();
                ran += 1;
                if ran == BATCH
                    || !tokio::task::coop::has_budget_remaining()
                    || self.scheduler.is_stopped()
                {
                    // Let tokio fire due timers and give a fresh budget; a yield does not
                    // advance a paused clock.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
            if ran > 0 {
                self.scheduler.restart_probe();
                continue;
            }
            match self.scheduler.idle_step() {
                IdleStep::Released => continue,
                IdleStep::Probe => {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                IdleStep::Nothing => return Poll::Pending,
            }
        }
    }
}

/// The generator behind a seeded order (splitmix64: small, fast, and the same everywhere).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
