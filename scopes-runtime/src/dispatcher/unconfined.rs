//! `Dispatchers::unconfined()`: a coroutine runs in place, in the thread that starts it until its
//! first suspension, then in whatever thread wakes it.
//!
//! Running a woken task inside `wake` could recurse without bound (a task that wakes another
//! that wakes the first...). As in kotlinx, a per-thread event loop prevents it: a wake that
//! arrives while this thread is already running unconfined tasks is queued and run by the outer
//! loop when the current task yields, so the stack stays flat.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

use tokio::runtime::Handle;

use super::task::{BoxFuture, Schedule, Task};

thread_local! {
    static EVENT_LOOP: RefCell<Option<VecDeque<Arc<Task>>>> = const { RefCell::new(None) };
}

/// The scheduler of one unconfined coroutine: it remembers the runtime to enter when a wake
/// comes from a thread outside any runtime (timers and I/O need one).
struct InPlace {
    runtime: Handle,
}

impl Schedule for InPlace {
    fn schedule(self: Arc<Self>, task: Arc<Task>) {
        run_in_place(task, &self.runtime);
    }
}

/// Starts `future` in place on this thread.
pub(super) fn spawn(future: BoxFuture, runtime: Handle) {
    let scheduler: Arc<dyn Schedule> = Arc::new(InPlace {
        runtime: runtime.clone(),
    });
    run_in_place(Task::new(future, scheduler), &runtime);
}

fn run_in_place(task: Arc<Task>, runtime: &Handle) {
    let nested = EVENT_LOOP.with(|l| match l.borrow_mut().as_mut() {
        Some(queue) => {
            queue.push_back(task.clone());
            true
        }
        None => false,
    });
    if nested {
        return;
    }
    struct EndLoop;
    impl Drop for EndLoop {
        fn drop(&mut self) {
            let _rest = EVENT_LOOP.with(|l| l.borrow_mut().take());
        }
    }
    EVENT_LOOP.with(|l| *l.borrow_mut() = Some(VecDeque::new()));
    let _end = EndLoop;
    let _enter = Handle::try_current().is_err().then(|| runtime.enter());
    task.run();
    while let Some(next) =
        EVENT_LOOP.with(|l| l.borrow_mut().as_mut().and_then(VecDeque::pop_front))
    {
        next.run();
    }
}
