//! Model checks of the dispatcher task (`task.rs`) and of a view's worker slots (`limited.rs`)
//! with loom: every interleaving (within loom's preemption bound) keeps their invariants.
//!
//! ```sh
//! RUSTFLAGS="--cfg scopes_loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p scopes-runtime --release --lib loom
//! ```
//!
//! Tasks run under a test scheduler that queues them; "a worker" is a thread that drains the
//! queue. The future is a probe that stays `Pending` until its flag is set, counts its polls
//! and drops, and fails on two polls at once. No tokio: the view's slots are checked through
//! `RunQueue`, which does not know where its workers run.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Waker};

use loom::sync::Mutex;
use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::thread;

use super::limited::{Next, RunQueue, StartPolicy, Taken};
use super::task::{Schedule, Task};

/// A scheduler that queues its tasks for the test's workers.
struct TestScheduler {
    queue: Mutex<VecDeque<Arc<Task>>>,
    scheduled: AtomicUsize,
}

impl TestScheduler {
    fn new() -> Arc<TestScheduler> {
        Arc::new(TestScheduler {
            queue: Mutex::new(VecDeque::new()),
            scheduled: AtomicUsize::new(0),
        })
    }

    /// Runs whatever is queued, as a worker does.
    fn drain(&self) {
        loop {
            let next = self.queue.lock().unwrap().pop_front();
            match next {
                Some(task) => task.run(),
                None => return,
            }
        }
    }
}

impl Schedule for TestScheduler {
    fn schedule(self: Arc<Self>, task: Arc<Task>) {
        self.scheduled.fetch_add(1, SeqCst);
        let mut queue = self.queue.lock().unwrap();
        assert!(
            !queue.iter().any(|queued| Arc::ptr_eq(queued, &task)),
            "a second queue entry for one task"
        );
        queue.push_back(task);
    }
}

#[derive(Default)]
struct Counts {
    /// Set before a wake: the next poll returns `Ready`.
    ready: AtomicBool,
    polls: AtomicUsize,
    polling: AtomicBool,
    drops: AtomicUsize,
}

struct Probe(Arc<Counts>);

impl Future for Probe {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let counts = &self.0;
        assert!(!counts.polling.swap(true, SeqCst), "two runners at once");
        counts.polls.fetch_add(1, SeqCst);
        let ready = counts.ready.load(SeqCst);
        counts.polling.store(false, SeqCst);
        if ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.drops.fetch_add(1, SeqCst);
    }
}

/// A new task (SCHEDULED, its entry held by the caller) with a probe for its future.
fn probe_task(scheduler: &Arc<TestScheduler>) -> (Arc<Task>, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let task = Task::new(Box::pin(Probe(counts.clone())), scheduler.clone());
    (task, counts)
}

/// A task polled once, now IDLE (parked), and a waker for it.
fn parked_task(scheduler: &Arc<TestScheduler>) -> (Arc<Task>, Arc<Counts>, Waker) {
    let (task, counts) = probe_task(scheduler);
    task.clone().run();
    assert_eq!(counts.polls.load(SeqCst), 1);
    let waker = Waker::from(task.clone());
    (task, counts, waker)
}

/// A wake racing the first run, from another worker: the wake is never lost (the future ends
/// `Ready`), it queues the task at most once, and two workers never poll it at once.
#[test]
fn wake_races_run() {
    loom::model(|| {
        let scheduler = TestScheduler::new();
        let (task, counts) = probe_task(&scheduler);
        let waker = Waker::from(task.clone());
        let (s, c) = (scheduler.clone(), counts.clone());
        let t = thread::spawn(move || {
            c.ready.store(true, SeqCst);
            waker.wake();
            s.drain();
        });
        task.clone().run();
        scheduler.drain();
        t.join().unwrap();
        scheduler.drain();
        assert!(task.is_done(), "the wake was lost");
        assert_eq!(counts.drops.load(SeqCst), 1);
        let polls = counts.polls.load(SeqCst);
        assert_eq!(polls, 1 + scheduler.scheduled.load(SeqCst));
        assert!(polls <= 2, "{polls} polls");
    });
}

/// A wake racing an abort, the woken task run (and left `Pending`) by another worker: no poll
/// starts after the abort (one under way may finish, and its runner drops the future), the
/// future is dropped exactly once, and later wakes do nothing.
#[test]
fn wake_races_abort() {
    loom::model(|| {
        let scheduler = TestScheduler::new();
        let (task, counts, waker) = parked_task(&scheduler);
        let later = waker.clone();
        let s = scheduler.clone();
        let t = thread::spawn(move || {
            waker.wake();
            s.drain();
        });
        task.abort();
        let polls_at_abort = counts.polls.load(SeqCst);
        t.join().unwrap();
        scheduler.drain();
        assert!(task.is_done());
        assert_eq!(counts.drops.load(SeqCst), 1);
        let polls = counts.polls.load(SeqCst);
        assert!(
            polls - polls_at_abort <= 1,
            "a poll started after the abort"
        );
        later.wake();
        assert!(scheduler.queue.lock().unwrap().is_empty());
        assert_eq!(counts.polls.load(SeqCst), polls);
    });
}

/// Many wakes of a parked task, from two threads: one queue entry, one poll.
#[test]
fn many_wakes_queue_once() {
    loom::model(|| {
        let scheduler = TestScheduler::new();
        let (task, counts, waker) = parked_task(&scheduler);
        let other = waker.clone();
        let t = thread::spawn(move || {
            other.wake_by_ref();
            other.wake();
        });
        waker.wake_by_ref();
        waker.wake();
        t.join().unwrap();
        assert_eq!(scheduler.scheduled.load(SeqCst), 1);
        scheduler.drain();
        assert_eq!(counts.polls.load(SeqCst), 2);
        assert!(!task.is_done());
        task.abort();
        assert_eq!(counts.drops.load(SeqCst), 1);
    });
}

/// Runs a worker on `queue`: takes items until it retires, checking that no more than
/// `parallelism` workers hold an item at once.
fn work(queue: &RunQueue<usize>, parallelism: usize, busy: &AtomicUsize, ran: &AtomicUsize) {
    work_from(queue, parallelism, busy, ran, false);
}

/// `work` for a worker that already ran an item (`came_back`) or was just started.
fn work_from(
    queue: &RunQueue<usize>,
    parallelism: usize,
    busy: &AtomicUsize,
    ran: &AtomicUsize,
    came_back: bool,
) {
    let mut came_back = came_back;
    // Looks once more at an empty queue before retiring, as a lingering worker does.
    let mut looked = false;
    loop {
        let taken = match queue.next(came_back, looked) {
            Next::Item(taken) => taken,
            Next::Empty => {
                came_back = false;
                looked = true;
                continue;
            }
            Next::Retired => break,
        };
        came_back = true;
        looked = false;
        if taken.start_worker {
            // Another worker, inline: the model checks the slots, not where workers run.
            work(queue, parallelism, busy, ran);
        }
        let before = busy.fetch_add(1, SeqCst);
        assert!(before < parallelism, "{} workers at once", before + 1);
        ran.fetch_add(1, SeqCst);
        busy.fetch_sub(1, SeqCst);
    }
}

/// Two enqueuers racing a worker that is retiring (it holds a slot and found the queue empty):
/// never more than `parallelism` workers, and no item is stranded in the queue without one.
fn enqueuers_race_retiring_worker(parallelism: usize, policy: StartPolicy) {
    loom::model(move || {
        let queue = Arc::new(RunQueue::new(parallelism, policy));
        let busy = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        // The worker that ran item 0 and will find the queue empty.
        assert!(queue.push(0));
        let Next::Item(first) = queue.next(false, true) else {
            panic!("item 0 is queued")
        };
        assert_eq!((first.item, first.start_worker), (0, false));
        let spawn = |f: fn(&RunQueue<usize>, &AtomicUsize, &AtomicUsize, usize)| {
            let (q, b, r) = (queue.clone(), busy.clone(), ran.clone());
            thread::spawn(move || f(&q, &b, &r, parallelism))
        };
        let retiring = spawn(|q, b, r, p| work_from(q, p, b, r, true));
        let enqueuer = spawn(|q, b, r, p| {
            if q.push(1) {
                work(q, p, b, r);
            }
        });
        if queue.push(2) {
            work(&queue, parallelism, &busy, &ran);
        }
        retiring.join().unwrap();
        enqueuer.join().unwrap();
        assert_eq!(ran.load(SeqCst), 2, "a queued item was stranded");
        assert_eq!(queue.workers(), 0);
    });
}

#[test]
fn view_slots_parallelism_1() {
    enqueuers_race_retiring_worker(1, StartPolicy::WhileSlotsFree);
    enqueuers_race_retiring_worker(1, StartPolicy::WhenNoneSearching);
}

#[test]
fn view_slots_parallelism_2() {
    enqueuers_race_retiring_worker(2, StartPolicy::WhileSlotsFree);
    enqueuers_race_retiring_worker(2, StartPolicy::WhenNoneSearching);
}

/// A worker abandoning the view (its runtime went away) while an item is queued: the item is
/// either handed to the abandoning worker (which aborts it) or gets a worker of its own; never
/// both, never neither.
#[test]
fn view_slots_abandoned_worker() {
    loom::model(|| {
        let queue = Arc::new(RunQueue::new(1, StartPolicy::WhenNoneSearching));
        let busy = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        assert!(queue.push(0));
        assert!(matches!(
            queue.next(false, true),
            Next::Item(Taken { item: 0, .. })
        ));
        let q = queue.clone();
        let abandoning = thread::spawn(move || q.abandon(false).len());
        if queue.push(1) {
            work(&queue, 1, &busy, &ran);
        }
        let aborted = abandoning.join().unwrap();
        assert_eq!(aborted + ran.load(SeqCst), 1);
        assert_eq!(queue.workers(), 0);
    });
}
