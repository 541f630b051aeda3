//! `Dispatchers::unconfined()`: a coroutine runs in place, in the thread that starts it until its
//! first suspension, then in whatever thread wakes it.
//!
//! Running a woken task inside `wake` could recurse without bound (a task that wakes another
//! that wakes the first...). As in kotlinx, a per-thread event loop prevents it: a wake that
//! arrives while this thread is already running unconfined tasks is queued and run by the outer
//! loop when the current task yields, so the stack stays flat.
//!
//! A wake from a tokio runtime's own machinery (its scheduler waking deferred tasks, its timer
//! or I/O driver), outside any task's poll, does not run the coroutine inside that call: the
//! runtime may hold its state borrowed there. The coroutine goes on in a tokio task instead
//! (a *continuation*, below), on the same runtime.
//!
//! # tokio's cooperative budget
//!
//! The loop runs inside whatever tokio task started or woke it, and spends that task's budget
//! (128 operations per poll). Once the budget is spent, tokio's resources answer "not now" and
//! wake their caller at once, expecting it to give the thread back; a loop that re-ran the woken
//! coroutine in place would spin forever, since the budget is only renewed between tokio task
//! polls. So the loop stops when the budget is spent (or after `MAX_RUNS` tasks, for wakers that
//! spend none) and hands what is left of its queue to a tokio task of its own (a
//! *continuation*) on the coroutine's runtime, which runs it with a fresh budget, and gives the
//! thread back. The coroutines then go on there: where they run
//! changes, which an unconfined coroutine does not promise, and none is lost or spins.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::runtime::Handle;
use tokio::task::coop;

use super::task::{BoxFuture, Schedule, Task};

type Queue = VecDeque<Arc<Task>>;

thread_local! {
    static EVENT_LOOP: RefCell<Option<Queue>> = const { RefCell::new(None) };
}

/// The scheduler of one unconfined coroutine: it remembers the runtime to enter when a wake
/// comes from a thread outside any runtime (timers and I/O need one), and where a continuation
/// goes.
struct InPlace {
    runtime: Handle,
}

impl Schedule for InPlace {
    /// A wake: the task runs here, unless the waker was called by a tokio runtime's own
    /// machinery (see [`may_run_here`]).
    fn schedule(self: Arc<Self>, task: Arc<Task>) {
        if may_run_here() {
            run_in_place(task, &self.runtime);
        } else {
            continue_elsewhere(Queue::from([task]), &self.runtime);
        }
    }
}

/// Starts `future` in place on this thread.
pub(super) fn spawn(future: BoxFuture, runtime: Handle) {
    let scheduler: Arc<dyn Schedule> = Arc::new(InPlace {
        runtime: runtime.clone(),
    });
    run_in_place(Task::new(future, scheduler), &runtime);
}

/// Whether a wake may run the coroutine right here, inside the waker's call: in a loop of ours
/// (it queues), in a task's or coroutine's poll (user code woke it), or on a thread without a
/// runtime. Not from a runtime's scheduler or drivers between task polls: they may wake with
/// their own state borrowed (tokio wakes its deferred wakers, those of `yield_now`, with their
/// list borrowed), and the coroutine's next tokio call would find it so.
fn may_run_here() -> bool {
    EVENT_LOOP.with(|l| l.borrow().is_some())
        || tokio::task::try_id().is_some()
        || crate::frame::with_current(|f| f.is_some())
        || Handle::try_current().is_err()
}

fn run_in_place(task: Arc<Task>, runtime: &Handle) {
    let mut task = Some(task);
    let nested = EVENT_LOOP.with(|l| match l.borrow_mut().as_mut() {
        Some(queue) => {
            queue.push_back(task.take().expect("not queued yet"));
            true
        }
        None => false,
    });
    if nested {
        return;
    }
    let _enter = Handle::try_current().is_err().then(|| runtime.enter());
    let first = task.take().expect("not queued");
    let left = run_loop(Queue::from([first]), true);
    if !left.is_empty() {
        continue_elsewhere(left, runtime);
    }
}

/// The most tasks one loop runs before it hands the rest to a continuation, whatever the budget
/// says: wakers that spend no budget (a `futures` channel, say) must not keep a loop, and the
/// thread under it, forever.
const MAX_RUNS: usize = 128;

/// Runs this thread's event loop over `queue` and whatever the tasks wake meanwhile, until it is
/// empty, the current tokio task's budget is spent, or it ran `MAX_RUNS` tasks; returns what is
/// left. `start_first` runs the first task even without budget (a coroutine starts in place).
fn run_loop(queue: Queue, mut start_first: bool) -> Queue {
    struct EndLoop;
    impl Drop for EndLoop {
        fn drop(&mut self) {
            // Normally taken below; after a panic (which `Task::run` should make impossible) the
            // rest is dropped here, outside the borrow.
            let rest = EVENT_LOOP.with(|l| l.borrow_mut().take());
            drop(rest);
        }
    }
    EVENT_LOOP.with(|l| *l.borrow_mut() = Some(queue));
    let end = EndLoop;
    for _ in 0..MAX_RUNS {
        if !start_first && !coop::has_budget_remaining() {
            break;
        }
        start_first = false;
        let next = EVENT_LOOP.with(|l| l.borrow_mut().as_mut().and_then(VecDeque::pop_front));
        match next {
            Some(task) => task.run(),
            None => break,
        }
    }
    let left = EVENT_LOOP
        .with(|l| l.borrow_mut().take())
        .unwrap_or_default();
    drop(end);
    left
}

/// Hands `queue` to a tokio task on `runtime` that runs it with budgets of its own.
fn continue_elsewhere(queue: Queue, runtime: &Handle) {
    // On a runtime that shut down the continuation is dropped at once: its drop aborts the
    // tasks, so their coroutines end cancelled.
    drop(runtime.spawn(Continuation { queue }));
}

/// What an event loop left when its tokio task's budget ran out.
struct Continuation {
    queue: Queue,
}

impl Future for Continuation {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A loop may run on this thread already (this task polled from inside one): then the
        // queue joins it.
        let queue = std::mem::take(&mut self.queue);
        let queue = EVENT_LOOP.with(|l| match l.borrow_mut().as_mut() {
            Some(running) => {
                running.extend(queue);
                None
            }
            None => Some(queue),
        });
        let Some(queue) = queue else {
            return Poll::Ready(());
        };
        let left = run_loop(queue, false);
        if left.is_empty() {
            return Poll::Ready(());
        }
        // Budget spent again: yield to the runtime and go on at the next poll.
        self.queue = left;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Continuation {
    fn drop(&mut self) {
        for task in self.queue.drain(..) {
            task.abort();
        }
    }
}
