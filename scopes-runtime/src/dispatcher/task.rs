//! A task that our own schedulers run: the views of `limited_parallelism` and `Unconfined`.
//! (Plain runtime dispatchers hand coroutines to tokio, which has its own tasks.)
//!
//! # States
//!
//! ```text
//!              wake                     run                    Pending, not woken
//!   IDLE -------------> SCHEDULED -------------> RUNNING ---------------------------> IDLE
//!                           ^                       |
//!                           | Pending               | wake
//!                           +------------------ NOTIFIED
//!
//!   RUNNING, NOTIFIED --Ready, or panicked--> DONE
//!   any --abort--> DONE
//! ```
//!
//! | state     | queue entries        | runner | drops the future on abort             |
//! |-----------|----------------------|--------|---------------------------------------|
//! | IDLE      | none                 | none   | the aborter                           |
//! | SCHEDULED | one (or its creator) | none   | the aborter; the entry's `run` no-ops |
//! | RUNNING   | none                 | one    | the runner, after its poll            |
//! | NOTIFIED  | none yet             | one    | the runner, after its poll            |
//! | DONE      | maybe a stale one    | none   | - (dropped once already)              |
//!
//! Each transition is one atomic step of the state word (`State`) and returns what its caller
//! must do (`#[must_use]`, as tokio's `runtime/task/state.rs`).
//!
//! # Invariants
//!
//! 1. **One runner at a time.** A poll starts only by the compare-and-swap SCHEDULED ->
//!    RUNNING, and a task enters SCHEDULED only from IDLE (the wake that did it queues the task)
//!    or from NOTIFIED (its runner re-queues it after the poll).
//! 2. **At most one queue entry.** A wake queues the task only when it moves it out of IDLE;
//!    a task woken a thousand times while queued is polled once.
//! 3. **No lost wake.** A wake during the poll leaves NOTIFIED, so the runner re-queues the
//!    task instead of parking it.
//! 4. **A wake happens-before the next poll.** Every wake that does not find DONE writes the
//!    state word, the same value if nothing changes (as tokio's `transition_to_notified_by_ref`),
//!    and the runner's claim reads it: the poll sees what the waker published before waking.
//!    A wake that only read SCHEDULED could be missed by the poll it relies on.
//! 5. **DONE is final.** Nothing leaves it: later wakes do nothing, and a stale queue entry's
//!    `run` returns at once, so no poll starts after an abort (one under way finishes). The
//!    future is dropped exactly once, by the party the transition into DONE names, outside the
//!    mutex and with its panic caught (a coroutine reports its own panics; this only guards the
//!    scheduler's thread).
//!
//! The future sits behind a mutex that only its runner takes, or an aborter when no poll runs,
//! so it is never contended; it is a mutex because this crate has no `unsafe`.
//!
//! The races (wake against run, against abort) are model-checked in
//! `loom_tests.rs`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::task::{Context, Poll, Wake, Waker};

use crate::sync::{AtomicUsize, Mutex, lock};
use crate::user;

const IDLE: usize = 0;
const SCHEDULED: usize = 1;
const RUNNING: usize = 2;
const NOTIFIED: usize = 3;
const DONE: usize = 4;

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where a woken task goes.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queues `task`, whose entry the caller hands over: the scheduler must `run` it once.
    fn schedule(self: Arc<Self>, task: Arc<Task>);
}

pub(crate) struct Task {
    state: State,
    future: Mutex<Option<BoxFuture>>,
    scheduler: Arc<dyn Schedule>,
}

impl Task {
    /// A task, already `SCHEDULED`: the caller holds its queue entry and hands it to its
    /// scheduler (or runs it).
    pub(crate) fn new(future: BoxFuture, scheduler: Arc<dyn Schedule>) -> Arc<Task> {
        let task = Arc::new(Task {
            state: State(AtomicUsize::new(SCHEDULED)),
            future: Mutex::new(Some(future)),
            scheduler,
        });
        // A test ends every task made on its thread (a coroutine of a scope nobody cancelled
        // would otherwise outlive it, unreported).
        #[cfg(feature = "test-util")]
        if let Some(test) = crate::test::scheduler::current() {
            test.track(&task);
        }
        task
    }

    /// Polls the task once. Only the holder of its queue entry (from `schedule` or `new`) may
    /// call this.
    pub(crate) fn run(self: Arc<Self>) {
        match self.state.transition_to_running() {
            TransitionToRunning::Success => {}
            // Aborted while queued: the aborter dropped the future.
            TransitionToRunning::Done => return,
        }
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        let polled = {
            let mut slot = lock(&self.future);
            let future = slot.as_mut().expect(
                "the future leaves only on a transition to DONE, after which no run starts",
            );
            user::catch(|| future.as_mut().poll(&mut cx))
        };
        match polled {
            Ok(Poll::Pending) => match self.state.transition_to_idle() {
                TransitionToIdle::Ok => {}
                // Woken while running: poll again, after whatever else is queued.
                TransitionToIdle::Notified => self.scheduler.clone().schedule(self),
                TransitionToIdle::Aborted => drop_quietly(self.take_future()),
            },
            Ok(Poll::Ready(())) | Err(_) => {
                self.state.transition_to_complete();
                drop_quietly(self.take_future());
            }
        }
    }

    /// Drops the future (its coroutine ends cancelled) and ignores later wakes: for tasks whose
    /// scheduler can no longer run them. If a poll is running, its runner drops the future when
    /// the poll returns, so this never waits for a poll.
    pub(crate) fn abort(&self) {
        match self.state.transition_to_done() {
            TransitionToDone::DropFuture => drop_quietly(self.take_future()),
            TransitionToDone::RunnerDrops | TransitionToDone::AlreadyDone => {}
        }
    }

    /// Takes the future out under the lock, to be dropped after it.
    fn take_future(&self) -> Option<BoxFuture> {
        lock(&self.future).take()
    }

    #[cfg(all(test, scopes_loom))]
    pub(super) fn is_done(&self) -> bool {
        self.state.0.load(Acquire) == DONE
    }
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        match self.state.transition_to_notified() {
            TransitionToNotified::Submit => self.scheduler.clone().schedule(self),
            TransitionToNotified::DoNothing => {}
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        match self.state.transition_to_notified() {
            TransitionToNotified::Submit => self.scheduler.clone().schedule(self.clone()),
            TransitionToNotified::DoNothing => {}
        }
    }
}

/// Drops a future (or what it left), keeping its panic from the scheduler's thread.
fn drop_quietly<T>(value: T) {
    let _ = user::catch(move || drop(value));
}

/// The state word: one of `IDLE`..`DONE`.
struct State(AtomicUsize);

#[must_use]
enum TransitionToRunning {
    /// The caller is the runner: poll.
    Success,
    /// Aborted while queued: nothing to run.
    Done,
}

#[must_use]
enum TransitionToIdle {
    /// Parked until a wake queues it.
    Ok,
    /// Woken during the poll: the runner queues it again.
    Notified,
    /// Aborted during the poll: the runner drops the future.
    Aborted,
}

#[must_use]
enum TransitionToNotified {
    /// The waker queues the task.
    Submit,
    /// Queued, running (the runner re-queues it) or done already.
    DoNothing,
}

#[must_use]
enum TransitionToDone {
    /// No poll runs: the aborter drops the future.
    DropFuture,
    /// A poll runs: its runner drops the future when it returns.
    RunnerDrops,
    AlreadyDone,
}

impl State {
    /// SCHEDULED -> RUNNING, by the holder of the queue entry.
    fn transition_to_running(&self) -> TransitionToRunning {
        match self.0.compare_exchange(SCHEDULED, RUNNING, AcqRel, Acquire) {
            Ok(_) => TransitionToRunning::Success,
            Err(actual) => {
                debug_assert_eq!(actual, DONE, "only a queued task is run");
                TransitionToRunning::Done
            }
        }
    }

    /// After a `Pending` poll: RUNNING -> IDLE, NOTIFIED -> SCHEDULED; DONE stays.
    fn transition_to_idle(&self) -> TransitionToIdle {
        let mut current = self.0.load(Acquire);
        loop {
            let (next, outcome) = match current {
                RUNNING => (IDLE, TransitionToIdle::Ok),
                NOTIFIED => (SCHEDULED, TransitionToIdle::Notified),
                _ => return TransitionToIdle::Aborted,
            };
            match self.0.compare_exchange(current, next, AcqRel, Acquire) {
                Ok(_) => return outcome,
                Err(actual) => current = actual,
            }
        }
    }

    /// A wake: IDLE -> SCHEDULED, RUNNING -> NOTIFIED; the other states stay.
    fn transition_to_notified(&self) -> TransitionToNotified {
        let mut current = self.0.load(Acquire);
        loop {
            let (next, outcome) = match current {
                IDLE => (SCHEDULED, TransitionToNotified::Submit),
                RUNNING => (NOTIFIED, TransitionToNotified::DoNothing),
                // The same value, written all the same (invariant 4).
                SCHEDULED | NOTIFIED => (current, TransitionToNotified::DoNothing),
                _ => return TransitionToNotified::DoNothing,
            };
            match self.0.compare_exchange(current, next, AcqRel, Acquire) {
                Ok(_) => return outcome,
                Err(actual) => current = actual,
            }
        }
    }

    /// An abort: any state -> DONE.
    fn transition_to_done(&self) -> TransitionToDone {
        match self.0.swap(DONE, AcqRel) {
            IDLE | SCHEDULED => TransitionToDone::DropFuture,
            RUNNING | NOTIFIED => TransitionToDone::RunnerDrops,
            _ => TransitionToDone::AlreadyDone,
        }
    }

    /// The runner's end (Ready, a panic): RUNNING, NOTIFIED or DONE (an
    /// abort during the poll left the drop to the runner) -> DONE. The runner drops the future.
    /// A swap, not a store: it must land after a wake's NOTIFIED, which it may not have seen.
    fn transition_to_complete(&self) {
        self.0.swap(DONE, AcqRel);
    }
}

#[cfg(all(test, not(scopes_loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;

    /// Runs nothing: the tests call `run` themselves.
    struct Never;

    impl Schedule for Never {
        fn schedule(self: Arc<Self>, _: Arc<Task>) {}
    }

    /// Ready at once, or never; its drop panics.
    struct PanicsOnDrop(bool, Arc<AtomicUsize>);

    impl Future for PanicsOnDrop {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            self.1.fetch_add(1, SeqCst);
            if self.0 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("a future's drop panicked");
        }
    }

    fn task(ready: bool) -> (Arc<Task>, Arc<AtomicUsize>) {
        let polls = Arc::new(AtomicUsize::new(0));
        let scheduler = Arc::new(Never);
        let future = Box::pin(PanicsOnDrop(ready, polls.clone()));
        (Task::new(future, scheduler), polls)
    }

    #[test]
    fn a_panicking_drop_stays_in_the_task() {
        let (ready, polls) = task(true);
        ready.clone().run();
        assert_eq!(polls.load(SeqCst), 1);
        assert_eq!(ready.state.0.load(SeqCst), DONE);

        let (parked, _) = task(false);
        parked.clone().run();
        parked.abort();
        assert_eq!(parked.state.0.load(SeqCst), DONE);
    }
}
