//! Running one test: its thread, its runtime, the order of its ending, the real-time limit, and
//! the failure it ends in.
//!
//! ```text
//!   caller thread                      test thread (current-thread runtime, paused clock)
//!   -------------                      --------------------------------------------------
//!   spawn test thread  ------------->  block_on(Driver { orchestrate(), the ready queue })
//!   recv_timeout(limit)                  1. the body, until its code ends
//!     |                                  2. its children, while virtual time moves them
//!     |                                     (given up a virtual hour after the body ended)
//!     |                                  3. leaked children: dumped, cancelled
//!     |                                  4. the background scope: cancelled, awaited
//!     |  <-------- outcome ----------    5. failures collected
//!   timeout: dump the live tree        runtime dropped, scheduler shut down
//! ```

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use futures::future::{Either, select};
use futures::task::AtomicWaker;
use tokio::runtime::Builder;

use super::scheduler::{self, Driver, TestScheduler};
use super::{BackgroundWork, Test, TestFailure, TestScope};
use crate::context::CoroutineName;
use crate::coroutine::CoroutineStart;
use crate::error::LaunchResult;
use crate::exception::CoroutineExceptionHandler;
use crate::job::Job;
use crate::scope::{CoroutineScope, Scope, current_scope};
use crate::sync::lock_std as lock;

/// How long (virtual) the test waits for coroutines still running after its body ended, or
/// after they were cancelled, before it calls them leaked.
const LEAK_WAIT: Duration = Duration::from_secs(3600);

/// The jobs the real-time limit dumps, filled in as the test starts them.
#[derive(Default)]
struct Watch {
    body: Option<Job>,
    background: Option<Job>,
    body_ended: Arc<BodyEnded>,
    scheduler: Option<Arc<TestScheduler>>,
}

/// Set when the test body's own code returns (its children may run on).
#[derive(Default)]
struct BodyEnded {
    flag: AtomicBool,
    waker: AtomicWaker,
}

impl BodyEnded {
    fn set(&self) {
        self.flag.store(true, SeqCst);
        self.waker.wake();
    }

    fn get(&self) -> bool {
        self.flag.load(SeqCst)
    }
}

/// What a test's thread reports back.
#[derive(Default)]
struct Outcome {
    failures: Vec<String>,
    leaked: Option<String>,
    background_stuck: Option<String>,
}

pub(super) fn run_once<F, Fut>(
    test: &Test,
    body: Arc<F>,
    seed: Option<u64>,
) -> Result<(), TestFailure>
where
    F: Fn(TestScope) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: LaunchResult,
{
    let name = std::thread::current()
        .name()
        .unwrap_or("scopes test")
        .to_owned();
    let watch = Arc::new(Mutex::new(Watch::default()));
    let (tx, rx) = mpsc::channel();
    let thread = {
        let watch = watch.clone();
        std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let outcome = run_on_this_thread(body, seed, watch);
                let _ = tx.send(outcome);
            })
            .expect("scopes::test: cannot start the test's thread")
    };
    let limit = test.effective_time_limit();
    let failure = |message: String| TestFailure {
        name: name.clone(),
        message,
        seed,
        timed_out: false,
    };
    match rx.recv_timeout(limit) {
        Ok(outcome) => {
            let _ = thread.join();
            let mut lines = outcome.failures;
            if let Some(dump) = outcome.leaked {
                lines.push(format!(
                    "coroutines were still running a virtual hour after the test body ended \
                     (launch what should outlive the body in `background_scope()`); they were \
                     cancelled:\n{dump}"
                ));
            }
            if let Some(dump) = outcome.background_stuck {
                lines.push(format!(
                    "coroutines of the background scope did not end after it was cancelled:\n{dump}"
                ));
            }
            if lines.is_empty() {
                Ok(())
            } else {
                Err(failure(lines.join("\n")))
            }
        }
        Err(RecvTimeoutError::Disconnected) => {
            let message = match thread.join() {
                Err(panic) => crate::error::panic_message(&*panic),
                Ok(()) => "the test's thread ended without an outcome".to_owned(),
            };
            Err(failure(format!("the test scheduler panicked: {message}")))
        }
        Err(RecvTimeoutError::Timeout) => {
            // The test's thread is stuck (a blocking call, a busy loop, a deadlock that keeps
            // a real thread waiting) or still busy; it is left behind.
            let watch = lock(&watch);
            let state = if watch.body_ended.get() {
                "the test body had ended, but coroutines it launched had not"
            } else {
                "the test body had not ended"
            };
            let mut dump = watch.body.as_ref().map(Job::dump).unwrap_or_default();
            if let Some(background) = watch
                .background
                .as_ref()
                .filter(|b| !b.children().is_empty())
            {
                dump.push_str("the background scope:\n");
                dump.push_str(&background.dump());
            }
            // Only now: stopping the test ends the coroutines the dump shows.
            if let Some(scheduler) = &watch.scheduler {
                scheduler.stop();
            }
            let mut failure = failure(format!(
                "the test did not end within its real-time limit of {limit:?} \
                 ({}, or `Test::time_limit`): {state}. The live coroutines:\n{dump}",
                super::TIME_LIMIT_ENV
            ));
            failure.timed_out = true;
            Err(failure)
        }
    }
}

fn run_on_this_thread<F, Fut>(body: Arc<F>, seed: Option<u64>, watch: Arc<Mutex<Watch>>) -> Outcome
where
    F: Fn(TestScope) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: LaunchResult,
{
    let runtime = Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("scopes::test: cannot build the test's runtime");
    let scheduler = TestScheduler::new(runtime.handle().clone(), seed);
    lock(&watch).scheduler = Some(scheduler.clone());
    let entered = scheduler::enter(scheduler.clone());
    let main = Box::pin(orchestrate(scheduler.clone(), body, watch));
    let outcome = runtime.block_on(Driver {
        scheduler: scheduler.clone(),
        main,
    });
    // What is still alive ends inside the runtime (a drop may need it), then tokio's own tasks
    // and timers go with the runtime, and what that released. Their drops may fail (a
    // panicking `Drop`): those failures count too.
    {
        let _runtime = runtime.enter();
        scheduler.shut_down();
    }
    drop(runtime);
    scheduler.shut_down();
    let mut outcome = outcome.unwrap_or_default();
    outcome.failures.extend(scheduler.take_failures());
    drop(entered);
    outcome
}

async fn orchestrate<F, Fut>(
    scheduler: Arc<TestScheduler>,
    body: Arc<F>,
    watch: Arc<Mutex<Watch>>,
) -> Outcome
where
    F: Fn(TestScope) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: LaunchResult,
{
    let handler = {
        let scheduler = scheduler.clone();
        CoroutineExceptionHandler::new(move |context, error| {
            scheduler.record_failure(context, error)
        })
    };
    let root = Scope::new(Job::new() + scheduler.main() + handler.clone());
    let background = Scope::new(
        Job::supervisor()
            + scheduler.main()
            + handler
            + BackgroundWork
            + CoroutineName::new("background_scope"),
    );
    let body_ended = lock(&watch).body_ended.clone();
    let started = {
        let scheduler = scheduler.clone();
        let background = background.handle();
        let body_ended = body_ended.clone();
        root.launch_with(
            CoroutineName::new("test body"),
            CoroutineStart::Default,
            async move {
                let scope = TestScope {
                    scheduler,
                    scope: current_scope(),
                    background,
                };
                let output = body(scope).await;
                body_ended.set();
                output
            },
        )
    };
    let body_job = started.job().clone();
    {
        let mut watch = lock(&watch);
        watch.body = Some(body_job.clone());
        watch.background = Some(background.job());
    }

    // 1. The body's own code: as long as it takes.
    let mut join = pin!(body_job.join());
    let ended = futures::future::poll_fn(|cx| {
        body_ended.waker.register(cx.waker());
        if join.as_mut().poll(cx).is_ready() {
            Poll::Ready(true)
        } else if body_ended.get() {
            Poll::Ready(false)
        } else {
            Poll::Pending
        }
    })
    .await;

    // 2. Its children, while virtual time moves them.
    let leaked = if ended || within(LEAK_WAIT, join.as_mut()).await {
        None
    } else {
        // 3. Leaked: show them, then cancel them.
        let dump = body_job.dump();
        body_job.cancel();
        within(LEAK_WAIT, join.as_mut()).await;
        Some(dump)
    };

    // 4. The background scope: cancelled, not awaited as work.
    background.cancel();
    let background_job = background.job();
    let background_stuck = if within(LEAK_WAIT, pin!(background_job.join())).await {
        None
    } else {
        Some(background_job.dump())
    };
    drop(background);
    drop(root);

    Outcome {
        failures: scheduler.take_failures(),
        leaked,
        background_stuck,
    }
}

/// Runs `future` for at most `limit` of virtual time; true if it ended.
async fn within<F: Future + Unpin>(limit: Duration, future: F) -> bool {
    let timer = pin!(tokio::time::sleep(limit));
    matches!(select(future, timer).await, Either::Left(_))
}
