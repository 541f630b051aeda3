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
//! the enqueuer, which found every slot taken, relies on that.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;

use super::task::{BoxFuture, Schedule, Task};
use crate::sync::lock_std;

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
}

pub(crate) struct Limited {
    base: Base,
    parallelism: usize,
    workers: AtomicUsize,
    queue: Mutex<VecDeque<Arc<Task>>>,
}

impl Limited {
    pub(crate) fn new(base: Base, parallelism: usize) -> Arc<Limited> {
        Arc::new(Limited {
            base,
            parallelism,
            workers: AtomicUsize::new(0),
            queue: Mutex::new(VecDeque::new()),
        })
    }

    pub(crate) fn parallelism(&self) -> usize {
        self.parallelism
    }

    /// The runtime whose context the view's tasks run in.
    pub(crate) fn handle(&self) -> &Handle {
        match &self.base {
            Base::Runtime(handle) | Base::Blocking(handle) => handle,
            Base::View(parent) => parent.handle(),
        }
    }

    /// Runs `future` as a task of this view.
    pub(crate) fn spawn(self: &Arc<Self>, future: BoxFuture) {
        let scheduler: Arc<dyn Schedule> = self.clone();
        self.enqueue(Task::new(future, scheduler));
    }

    fn enqueue(self: &Arc<Self>, task: Arc<Task>) {
        lock_std(&self.queue).push_back(task);
        if self.try_take_slot() {
            self.start_worker();
        }
    }

    fn try_take_slot(&self) -> bool {
        let mut current = self.workers.load(Ordering::Acquire);
        while current < self.parallelism {
            match self.workers.compare_exchange(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
        false
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
        }
    }

    /// The next task, or `None` when the worker should retire.
    fn next_task(&self) -> Option<Arc<Task>> {
        loop {
            if let Some(task) = lock_std(&self.queue).pop_front() {
                return Some(task);
            }
            self.workers.fetch_sub(1, Ordering::AcqRel);
            // A task may have been queued after our look but before we gave the slot back.
            if lock_std(&self.queue).is_empty() || !self.try_take_slot() {
                return None;
            }
        }
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
        while let Some(task) = self.view.next_task() {
            task.run();
        }
        self.retired = true;
    }

    async fn work_async(mut self) {
        let mut ran = 0;
        while let Some(task) = self.view.next_task() {
            task.run();
            ran += 1;
            if ran % BATCH == 0 {
                // Fairness: let the base run its other tasks between batches.
                tokio::task::yield_now().await;
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
        self.view.workers.fetch_sub(1, Ordering::AcqRel);
        let queued = std::mem::take(&mut *lock_std(&self.view.queue));
        // Outside the lock: dropping a coroutine ends its job.
        for task in queued {
            task.abort();
        }
    }
}

impl Schedule for Limited {
    fn schedule(self: Arc<Self>, task: Arc<Task>) {
        self.enqueue(task);
    }
}
