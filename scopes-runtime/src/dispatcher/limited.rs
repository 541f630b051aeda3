//! `limited_parallelism(n)`: a view that never runs more than `n` of its coroutines at once,
//! on its base's threads (kotlinx's `LimitedDispatcher`).
//!
//! The view keeps a queue of runnable tasks and at most `n` *workers*. A worker runs on the
//! base (a tokio task on a runtime, a thread of tokio's blocking pool, or a task of the parent
//! view) and polls queued tasks one after another until the queue is empty, then retires. So at
//! most `n` tasks are being polled at any moment, parked coroutines hold no worker, and an idle
//! view costs nothing.
//!
//! On the blocking pool, a new worker starts only when no worker is looking for work (see
//! `RunQueue`), and a worker that finds the queue empty looks again a few times before it
//! retires (`LINGER`), so a burst of wake-ups is taken by the workers already there instead of
//! waking a thread for each. The queue and its slots are a `RunQueue`,
//! apart from where workers run, so that loom checks them alone (`dispatcher/loom_tests.rs`).

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::runtime::Handle;

use super::task::{BoxFuture, Schedule, Task};
use crate::sync::{Mutex, lock};

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
        // On a runtime, a worker started by a worker would sit in that thread's LIFO slot,
        // which no other thread steals, behind the task it is about to run (which may block):
        // there, a worker starts for every push while a slot is free. On the blocking pool a
        // start wakes a thread, so only when nobody is searching.
        let policy = match base {
            Base::Blocking(_) => StartPolicy::WhenNoneSearching,
            _ => StartPolicy::WhileSlotsFree,
        };
        Arc::new(Limited {
            base,
            queue: RunQueue::new(parallelism, policy),
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
            phase: WorkerPhase::Searching,
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

/// When a new worker starts (see `Limited::new` for which base takes which).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum StartPolicy {
    /// Whenever an item is queued and a slot is free.
    WhileSlotsFree,
    /// Only when no worker is searching.
    WhenNoneSearching,
}

/// A view's queue and its worker slots: at most `parallelism` workers hold a slot, and a queued
/// item always has one coming.
///
/// A worker is *searching* from the moment its start is decided until it takes an item, and
/// again each time it comes back for the next one; otherwise it is *running* an item. Under
/// `WhenNoneSearching`, a new worker is started only when nobody is searching: a burst of items
/// (a cancelled scope waking 2,000 coroutines) is taken by the workers already there instead of
/// waking `parallelism` threads at once, which on the blocking pool cost ten times the work
/// itself. A worker that takes an item and leaves others behind with nobody searching starts
/// the next worker before it runs its own, so items that block still reach `parallelism`
/// workers, one start at a time.
///
/// Everything is counted under the queue's one lock, so a push and a retiring worker are
/// ordered: a worker retires only on an empty queue, and a push after that finds nobody
/// searching and starts one.
pub(super) struct RunQueue<T> {
    parallelism: usize,
    policy: StartPolicy,
    slots: Mutex<Slots<T>>,
}

struct Slots<T> {
    queue: VecDeque<T>,
    /// Workers holding a slot (searching or running).
    workers: usize,
    searching: usize,
}

impl<T> Slots<T> {
    /// Takes a slot for a new worker, counted as searching, if one is needed and free.
    #[must_use]
    fn start_if_needed(&mut self, parallelism: usize, policy: StartPolicy) -> bool {
        let wanted = match policy {
            StartPolicy::WhileSlotsFree => true,
            StartPolicy::WhenNoneSearching => self.searching == 0,
        };
        let needed = wanted && !self.queue.is_empty() && self.workers < parallelism;
        if needed {
            self.workers += 1;
            self.searching += 1;
        }
        needed
    }
}

/// What a worker finds when it looks for work.
pub(super) enum Next<T> {
    Item(Taken<T>),
    /// Nothing queued; the worker still holds its slot and is still searching.
    Empty,
    /// Nothing queued; the worker gave its slot back.
    Retired,
}

/// An item a worker took, and whether it must start another worker before running it.
#[must_use = "a worker to start must be started"]
pub(super) struct Taken<T> {
    pub(super) item: T,
    pub(super) start_worker: bool,
}

impl<T> RunQueue<T> {
    pub(super) fn new(parallelism: usize, policy: StartPolicy) -> RunQueue<T> {
        RunQueue {
            parallelism,
            policy,
            slots: Mutex::new(Slots {
                queue: VecDeque::new(),
                workers: 0,
                searching: 0,
            }),
        }
    }

    /// Queues `item`. True if the caller took a slot for a new worker: it must start one, which
    /// calls `next(false)`, then `next(true)` after each item, until it returns `None`.
    #[must_use]
    pub(super) fn push(&self, item: T) -> bool {
        let mut slots = lock(&self.slots);
        slots.queue.push_back(item);
        slots.start_if_needed(self.parallelism, self.policy)
    }

    /// For a worker: the next item (`ran`: it comes back from running one). On an empty queue
    /// it retires (gives its slot back) if `retire_if_empty`, else it stays searching, its slot
    /// held, to look again.
    pub(super) fn next(&self, ran: bool, retire_if_empty: bool) -> Next<T> {
        let mut slots = lock(&self.slots);
        if ran {
            slots.searching += 1;
        }
        match slots.queue.pop_front() {
            Some(item) => {
                slots.searching -= 1;
                let start_worker = slots.start_if_needed(self.parallelism, self.policy);
                Next::Item(Taken { item, start_worker })
            }
            None if retire_if_empty => {
                slots.searching -= 1;
                slots.workers -= 1;
                Next::Retired
            }
            None => Next::Empty,
        }
    }

    /// For a worker that ends without retiring (`searching`: before it took its first item):
    /// gives its slot back and empties the queue.
    pub(super) fn abandon(&self, searching: bool) -> VecDeque<T> {
        let mut slots = lock(&self.slots);
        slots.workers -= 1;
        if searching {
            slots.searching -= 1;
        }
        std::mem::take(&mut slots.queue)
    }

    #[cfg(all(test, scopes_loom))]
    pub(super) fn workers(&self) -> usize {
        lock(&self.slots).workers
    }
}

/// One worker slot, running on the base. Dropped without retiring (its runtime shut down), it
/// gives its slot back and drops the queued tasks, so their coroutines end cancelled and their
/// joiners return instead of waiting for a worker that will never come.
struct Worker {
    view: Arc<Limited>,
    phase: WorkerPhase,
}

/// Where a worker is: searching (counted as such: started and not yet given an item, or
/// lingering on an empty queue), running items (it only awaits between them), or retired.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WorkerPhase {
    Searching,
    Working,
    Retired,
}

/// How many times a worker on the blocking pool looks again at an empty queue (yielding its
/// thread in between) before it retires. A burst of wake-ups (a cancelled scope) arrives a
/// few microseconds apart: a worker that retired between two would cost a thread wake-up for
/// the next, which is most of the work of a cancelled coroutine.
const LINGER: usize = 64;

impl Worker {
    /// The next task, starting another worker first if the queue asks for one. `linger`: how
    /// many times to look again at an empty queue before retiring.
    fn next(&mut self, linger: usize) -> Option<Arc<Task>> {
        let mut looked = 0;
        loop {
            let ran = self.phase == WorkerPhase::Working;
            match self.view.queue.next(ran, looked >= linger) {
                Next::Item(taken) => {
                    self.phase = WorkerPhase::Working;
                    if taken.start_worker {
                        self.view.start_worker();
                    }
                    return Some(taken.item);
                }
                Next::Empty => {
                    self.phase = WorkerPhase::Searching;
                    looked += 1;
                    std::thread::yield_now();
                }
                Next::Retired => {
                    self.phase = WorkerPhase::Retired;
                    return None;
                }
            }
        }
    }

    fn work_blocking(mut self) {
        while let Some(task) = self.next(LINGER) {
            task.run();
        }
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
        while let Some(task) = self.next(0) {
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
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.phase == WorkerPhase::Retired {
            return;
        }
        // Outside the lock: dropping a coroutine ends its job.
        let searching = self.phase == WorkerPhase::Searching;
        for task in self.view.queue.abandon(searching) {
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
