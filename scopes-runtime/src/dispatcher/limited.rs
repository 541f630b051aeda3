//! `limited_parallelism(n)`: a view that never runs more than `n` of its coroutines at once,
//! on its base's threads (kotlinx's `LimitedDispatcher`).
//!
//! The view keeps a queue of runnable tasks and at most `n` *workers*. A worker runs on the
//! base (a tokio task on a runtime, a thread of tokio's blocking pool, or a task of the parent
//! view) and polls queued tasks one after another until the queue is empty, then retires. So at
//! most `n` tasks are being polled at any moment, parked coroutines hold no worker, and an idle
//! view costs nothing.
//!
//! Retiring is the one race: a task queued just as the last worker finds the queue empty. The
//! worker gives up its slot *then* looks at the queue again, and takes the slot back if it can;
//! the enqueuer, which found every slot taken, relies on that. The queue and its slots are a
//! `RunQueue`, apart from where workers run, so that loom checks them alone
//! (`dispatcher/loom_tests.rs`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::{AcqRel, Acquire};

use tokio::runtime::Handle;

use super::task::{BoxFuture, Schedule, Task};
use crate::sync::{AtomicUsize, Mutex, lock};

/// Tasks a worker runs before it lets its base run something else.
const BATCH: usize = 32;

/// Where a view's workers run.
pub(crate) enum Base {
    /// As tokio tasks on a runtime (the view shares the runtime's worker threads).
    Runtime(Handle),
    /// On tokio's blocking pool (views of `io()`: blocking is allowed).
    Blocking(Handle),
    /// As tasks of another view (a view of a view is capped by both).
    View(Arc<Limited>),
    /// As tasks of a test's scheduler (`scopes::test`): one thread, virtual time.
    #[cfg(feature = "test-util")]
    Test(Arc<crate::test::TestScheduler>),
}

pub(crate) struct Limited {
    base: Base,
    queue: RunQueue<Arc<Task>>,
}

impl Limited {
    pub(crate) fn new(base: Base, parallelism: usize) -> Arc<Limited> {
        Arc::new(Limited {
            base,
            queue: RunQueue::new(parallelism),
        })
    }

    pub(crate) fn parallelism(&self) -> usize {
        self.queue.parallelism
    }

    /// The runtime whose context the view's tasks run in.
    pub(crate) fn handle(&self) -> &Handle {
        match &self.base {
            Base::Runtime(handle) | Base::Blocking(handle) => handle,
            Base::View(parent) => parent.handle(),
            #[cfg(feature = "test-util")]
            Base::Test(scheduler) => scheduler.handle(),
        }
    }

    #[cfg(feature = "test-util")]
    pub(crate) fn base(&self) -> &Base {
        &self.base
    }

    /// Runs `future` as a task of this view.
    pub(crate) fn spawn(self: &Arc<Self>, future: BoxFuture) {
        let scheduler: Arc<dyn Schedule> = self.clone();
        self.enqueue(Task::new(future, scheduler));
    }

    fn enqueue(self: &Arc<Self>, task: Arc<Task>) {
        if self.queue.push(task) {
            self.start_worker();
        }
    }

    fn start_worker(self: &Arc<Self>) {
        let worker = Worker {
            view: self.clone(),
            retired: false,
        };
        match &self.base {
            Base::Runtime(handle) => drop(handle.spawn(worker.work_async())),
            Base::Blocking(handle) => drop(handle.spawn_blocking(move || worker.work_blocking())),
            Base::View(parent) => parent.spawn(Box::pin(worker.work_async())),
            #[cfg(feature = "test-util")]
            Base::Test(scheduler) => scheduler.spawn(Box::pin(worker.work_async())),
        }
    }
}

/// A view's queue and its worker slots: at most `parallelism` workers hold a slot, and a queued
/// item always has one coming (a worker holding a slot will look at the queue again).
pub(super) struct RunQueue<T> {
    parallelism: usize,
    workers: AtomicUsize,
    queue: Mutex<VecDeque<T>>,
}

impl<T> RunQueue<T> {
    pub(super) fn new(parallelism: usize) -> RunQueue<T> {
        RunQueue {
            parallelism,
            workers: AtomicUsize::new(0),
            queue: Mutex::new(VecDeque::new()),
        }
    }

    /// Queues `item`. True if the caller took a free slot: it must start a worker, which calls
    /// `next` until it returns `None`.
    #[must_use]
    pub(super) fn push(&self, item: T) -> bool {
        lock(&self.queue).push_back(item);
        self.try_take_slot()
    }

    /// For a worker: the next item, or `None` once the worker gave its slot back (retired).
    pub(super) fn next(&self) -> Option<T> {
        loop {
            if let Some(item) = lock(&self.queue).pop_front() {
                return Some(item);
            }
            self.workers.fetch_sub(1, AcqRel);
            // An item may have been queued after our look, by a `push` that found every slot
            // taken (ours too); whoever takes the slot back now runs it.
            if lock(&self.queue).is_empty() || !self.try_take_slot() {
                return None;
            }
        }
    }

    /// For a worker that ends without retiring: gives its slot back and empties the queue.
    pub(super) fn abandon(&self) -> VecDeque<T> {
        self.workers.fetch_sub(1, AcqRel);
        std::mem::take(&mut *lock(&self.queue))
    }

    fn try_take_slot(&self) -> bool {
        let mut current = self.workers.load(Acquire);
        while current < self.parallelism {
            match self
                .workers
                .compare_exchange(current, current + 1, AcqRel, Acquire)
            {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
        false
    }

    #[cfg(all(test, scopes_loom))]
    pub(super) fn workers(&self) -> usize {
        self.workers.load(Acquire)
    }
}

/// One worker slot, running on the base. Dropped without retiring (its runtime shut down), it
/// gives its slot back and drops the queued tasks, so their coroutines end cancelled and their
/// joiners return instead of waiting for a worker that will never come.
struct Worker {
    view: Arc<Limited>,
    retired: bool,
}

impl Worker {
    fn work_blocking(mut self) {
        while let Some(task) = self.view.queue.next() {
            task.run();
        }
        self.retired = true;
    }

    async fn work_async(mut self) {
        // In a test, one task per turn, so that the test's order (and its seeds) reach the
        // view's tasks too.
        #[cfg(feature = "test-util")]
        let (batch, in_test) = match self.view.base {
            Base::Test(_) => (1, true),
            _ => (BATCH, false),
        };
        #[cfg(not(feature = "test-util"))]
        let (batch, in_test) = (BATCH, false);
        let mut ran = 0;
        while let Some(task) = self.view.queue.next() {
            task.run();
            ran += 1;
            if ran % batch == 0 {
                if in_test {
                    // Behind every ready task of the test, at once.
                    YieldOnce(false).await;
                } else {
                    // Fairness: let the base run its other tasks between batches.
                    tokio::task::yield_now().await;
                }
            }
        }
        self.retired = true;
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.retired {
            return;
        }
        // Outside the lock: dropping a coroutine ends its job.
        for task in self.view.queue.abandon() {
            task.abort();
        }
    }
}

/// Wakes itself once and returns on the next poll.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

impl Schedule for Limited {
    fn schedule(self: Arc<Self>, task: Arc<Task>) {
        self.enqueue(task);
    }
}
