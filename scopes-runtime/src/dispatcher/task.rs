//! A task that our own schedulers run: the views of `limited_parallelism` and `Unconfined`.
//! (Plain runtime dispatchers hand coroutines to tokio, which has its own tasks.)
//!
//! ```text
//!            wake                 run                  Pending, not woken
//!   IDLE ------------> SCHEDULED ------> RUNNING ---------------------------> IDLE
//!                          ^                |  wake while running
//!                          |                v
//!                          +------------ NOTIFIED     (re-scheduled after the poll)
//!   RUNNING --Ready--> DONE (the future is dropped; later wakes do nothing)
//!   any --abort--> DONE     (its scheduler is gone: the future is dropped at once)
//! ```
//!
//! The state word guarantees one runner at a time and at most one queue entry per task, so a
//! task woken a thousand times while queued is polled once. The future sits behind a mutex that
//! only the runner takes, so it is never contended.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::sync::lock_std;

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const RUNNING: u8 = 2;
const NOTIFIED: u8 = 3;
const DONE: u8 = 4;

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where a woken task goes.
pub(crate) trait Schedule: Send + Sync + 'static {
    fn schedule(self: Arc<Self>, task: Arc<Task>);
}

pub(crate) struct Task {
    state: AtomicU8,
    future: Mutex<Option<BoxFuture>>,
    scheduler: Arc<dyn Schedule>,
}

impl Task {
    /// A task, already `SCHEDULED`: the caller hands it to its scheduler (or runs it).
    pub(crate) fn new(future: BoxFuture, scheduler: Arc<dyn Schedule>) -> Arc<Task> {
        Arc::new(Task {
            state: AtomicU8::new(SCHEDULED),
            future: Mutex::new(Some(future)),
            scheduler,
        })
    }

    /// Polls the task once. Only a scheduler that got the task from `schedule` (or `new`) may
    /// call this.
    pub(crate) fn run(self: Arc<Self>) {
        self.state.store(RUNNING, Ordering::Release);
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        let mut slot = lock_std(&self.future);
        let Some(future) = slot.as_mut() else {
            return;
        };
        // A coroutine's body catches its own panics; this only guards the scheduler's thread.
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            future.as_mut().poll(&mut cx)
        }));
        match polled {
            Ok(Poll::Pending) => {
                drop(slot);
                if self
                    .state
                    .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
                {
                    // Woken while running: poll again, after whatever else is queued.
                    self.state.store(SCHEDULED, Ordering::Release);
                    self.scheduler.clone().schedule(self.clone());
                }
            }
            Ok(Poll::Ready(())) | Err(_) => {
                self.state.store(DONE, Ordering::Release);
                let finished = slot.take();
                drop(slot);
                drop(finished);
            }
        }
    }

    /// Drops the future now (its coroutine ends cancelled) and ignores later wakes: for tasks
    /// whose scheduler can no longer run them.
    pub(crate) fn abort(&self) {
        self.state.store(DONE, Ordering::Release);
        let future = lock_std(&self.future).take();
        drop(future);
    }

    fn wake_task(self: &Arc<Self>) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return,
            };
            match self
                .state
                .compare_exchange(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if next == SCHEDULED => return self.scheduler.clone().schedule(self.clone()),
                Ok(_) => return,
                Err(actual) => state = actual,
            }
        }
    }
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_task();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wake_task();
    }
}
